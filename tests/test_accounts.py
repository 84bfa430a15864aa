"""Logins, lock-out, sessions, password change, staff scope and the admin's user list — over
HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from core.accounts import sessions
from core.accounts.services import MAX_FAILURES
from core.accounts.tables import User, UserSession
from tests.conftest import http_client, login
from tests.factories import PASSWORD, make_meeting, make_user

HX = {"HX-Request": "true"}


async def test_login_logout_and_session_cookie_flags(client: httpx.AsyncClient) -> None:
    await make_user("zhaomin", "赵敏", is_admin=True)
    r = await client.post("/login", data={"username": "ZhaoMin ", "password": PASSWORD, "next": "/admin/users"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/users"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "yishi_session=" in cookie
    assert await UserSession.count() == 1
    page = await client.get("/admin/users")
    assert page.status_code == 200 and "赵敏" in page.text
    r = await client.post("/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert await UserSession.count() == 0
    assert (await client.get("/admin/users")).status_code == 303  # back to the login page


async def test_wrong_password_and_unknown_user_get_the_same_answer(client: httpx.AsyncClient) -> None:
    await make_user("zhaomin")
    a = await client.post("/login", data={"username": "zhaomin", "password": "wrong-password"})
    b = await client.post("/login", data={"username": "nobody", "password": "wrong-password"})
    assert a.status_code == b.status_code == 422
    assert "用户名或密码不正确" in a.text and "用户名或密码不正确" in b.text
    assert 'value="zhaomin"' in a.text  # what was typed is kept (never the password)
    assert "wrong-password" not in a.text


async def test_repeated_failures_lock_the_account(client: httpx.AsyncClient) -> None:
    user = await make_user("zhaomin")
    for _ in range(MAX_FAILURES):
        r = await client.post("/login", data={"username": "zhaomin", "password": "not-the-password"})
    assert "锁定" in r.text
    r = await client.post("/login", data={"username": "zhaomin", "password": PASSWORD})
    assert r.status_code == 422 and "锁定" in r.text  # even the right password waits
    stored = await User.objects().get(User.id == user.id)
    assert stored.locked_until is not None and stored.locked_until > datetime.now(UTC)
    await User.update({User.locked_until: datetime.now(UTC) - timedelta(seconds=1)}).where(User.id == user.id)
    await login(client, "zhaomin")


async def test_login_is_rate_limited_per_name(client: httpx.AsyncClient) -> None:
    statuses = [(await client.post("/login", data={"username": "ghost", "password": "x" * 8})).status_code
                for _ in range(12)]
    assert statuses[:10] == [422] * 10 and statuses[10:] == [429, 429]


async def test_a_meeting_room_behind_one_address_all_gets_in(client: httpx.AsyncClient) -> None:
    """Forty members logging in from the room's one Wi-Fi address: successful logins are not rationed."""
    for n in range(40):
        await make_user(f"member{n}")
        r = await client.post("/login", data={"username": f"member{n}", "password": PASSWORD})
        assert r.status_code == 303, (n, r.status_code)


async def test_next_never_leaves_the_site(client: httpx.AsyncClient) -> None:
    await make_user("zhaomin")
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        r = await client.post("/login", data={"username": "zhaomin", "password": PASSWORD, "next": evil})
        assert r.headers["location"] == "/"


async def test_post_without_csrf_token_is_refused_and_changes_nothing(client: httpx.AsyncClient) -> None:
    await make_user("zhaomin")
    r = await client.post("/login", data={"username": "zhaomin", "password": PASSWORD},
                          headers={"x-csrftoken": "forged"})
    assert r.status_code == 403 and "页面已过期" in r.text
    assert await UserSession.count() == 0
    bare = httpx.AsyncClient(transport=httpx.ASGITransport(app=client.app), base_url="http://testserver")
    async with bare:
        r = await bare.post("/login", data={"username": "zhaomin", "password": PASSWORD})
    assert r.status_code == 403 and await UserSession.count() == 0


async def test_password_change_ends_other_sessions(client: httpx.AsyncClient) -> None:
    await make_user("zhaomin")
    await login(client, "zhaomin")
    async with http_client(client.app) as other:  # the same person on a second device
        await login(other, "zhaomin")
        assert await UserSession.count() == 2
        r = await client.post("/account/password", data={"current": "wrong", "new": "short", "confirm": "x"})
        assert r.status_code == 422
        assert "当前密码不正确" in r.text and "密码至少需要 8 个字符" in r.text
        r = await client.post("/account/password", data={"current": PASSWORD, "new": "新的密码-2026",
                                                         "confirm": "新的密码-2027"})
        assert r.status_code == 422 and "两次输入的新密码不一致" in r.text
        r = await client.post("/account/password", data={"current": PASSWORD, "new": "新的密码-2026",
                                                         "confirm": "新的密码-2026"})
        assert r.status_code == 200 and "密码已修改" in r.text
        assert await UserSession.count() == 1
        sessions.forget()  # another server process would notice within CACHE_SECONDS
        assert (await other.get("/account/password")).status_code == 303
    await client.post("/logout")
    await login(client, "zhaomin", "新的密码-2026")


async def test_expired_session_is_not_accepted(client: httpx.AsyncClient) -> None:
    await make_user("zhaomin")
    await login(client, "zhaomin")
    await UserSession.update({UserSession.expires_at: datetime.now(UTC) - timedelta(minutes=1)}).where(
        UserSession.id > 0)
    sessions.forget()
    assert (await client.get("/account/password")).status_code == 303


async def test_roles_decide_what_a_member_may_do(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(1)
    outsider = await make_user("outsider", "外人")
    assert outsider.id
    # the recorder may run the meeting
    await login(client, "recorder")
    assert (await client.post(f"/meetings/{meeting.id}/open", headers=HX)).status_code == 200
    await client.post("/logout")
    # someone with no seat may neither see nor run it
    await login(client, "outsider")
    assert (await client.get(f"/meetings/{meeting.id}")).status_code == 403
    r = await client.post(f"/meetings/{meeting.id}/close", headers=HX)
    assert r.status_code == 403 and "没有权限" in r.text
    home = await client.get("/")
    assert "锦绣苑小区三方联席会议" not in home.text  # the home page lists only councils one may see


async def test_staff_see_councils_in_their_subtree_only(client: httpx.AsyncClient) -> None:
    from core.org.tables import Council, Unit

    meeting = await make_meeting(1)
    council = await Council.objects().get(Council.id == meeting.council)
    estate = await Unit.objects().get(Unit.id == council.unit)
    await make_user("street", "荷叶地街道", unit=estate.parent)
    other_street = await Unit.objects().create(name="西园街道", kind="街道")
    await make_user("elsewhere", "西园街道", unit=other_street.id)

    await login(client, "street")
    assert (await client.get(f"/meetings/{meeting.id}")).status_code == 200
    assert "锦绣苑小区三方联席会议" in (await client.get("/")).text
    assert (await client.post(f"/meetings/{meeting.id}/open", headers=HX)).status_code == 403  # view only
    await client.post("/logout")
    await login(client, "elsewhere")
    assert (await client.get(f"/meetings/{meeting.id}")).status_code == 403


async def test_admin_creates_and_deactivates_accounts(client: httpx.AsyncClient) -> None:
    from core.audit.tables import AuditEvent

    admin = await make_user("admin", "管理员", is_admin=True)
    await login(client, "admin")
    r = await client.post("/admin/users", data={"username": "Bad Name", "display_name": "", "password": "123"})
    assert r.status_code == 422
    assert "用户名须为" in r.text and "请填写姓名" in r.text and "密码至少需要 8 个字符" in r.text
    assert 'value="Bad Name"' in r.text
    assert await User.count() == 1

    r = await client.post("/admin/users", data={"username": "zhouhy", "display_name": "周海燕",
                                                "password": "grid-worker-3", "unit": "999999"})
    assert r.status_code == 422 and "没有这个组织单元" in r.text
    r = await client.post("/admin/users", data={"username": "zhouhy", "display_name": "周海燕",
                                                "password": "grid-worker-3"})
    assert r.status_code == 303
    r = await client.post("/admin/users", data={"username": "zhouhy", "display_name": "又一个",
                                                "password": "grid-worker-3"})
    assert r.status_code == 422 and "已被使用" in r.text
    new = await User.objects().get(User.username == "zhouhy")
    assert new.password_hash.startswith("$argon2id$") and "grid-worker-3" not in new.password_hash

    async with http_client(client.app) as phone:
        await login(phone, "zhouhy", "grid-worker-3")
        r = await client.post(f"/admin/users/{new.id}/active", data={"active": "0"})
        assert r.status_code == 303
        sessions.forget()
        assert (await phone.get("/account/password")).status_code == 303  # logged out everywhere
        r = await phone.post("/login", data={"username": "zhouhy", "password": "grid-worker-3"})
        assert r.status_code == 422
    r = await client.post(f"/admin/users/{admin.id}/active", data={"active": "0"})
    assert r.status_code == 422 and "不能停用自己的账号" in r.text
    actions = [e["action"] for e in await AuditEvent.select(AuditEvent.action).order_by(AuditEvent.seq)]
    assert "account.created" in actions and "account.deactivated" in actions


async def test_member_cannot_manage_users(client: httpx.AsyncClient) -> None:
    await make_meeting(1)
    await login(client, "chair")
    assert (await client.get("/admin/users")).status_code == 403
    r = await client.post("/admin/users", data={"username": "sneaky", "display_name": "x", "password": "12345678"})
    assert r.status_code == 403 and await User.count() == 2


@pytest.mark.parametrize("header", ["content-security-policy", "x-content-type-options", "x-frame-options"])
async def test_security_headers(client: httpx.AsyncClient, header: str) -> None:
    r = await client.get("/login")
    assert header in r.headers
    if header == "content-security-policy":
        assert "script-src 'self'" in r.headers[header] and "unsafe-inline" not in r.headers[header]


def test_user_add_command(tmp_path, monkeypatch, capsys) -> None:
    import io

    from core.cli import main

    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("YISHI_DATABASE_URL", raising=False)
    assert main(["migrate"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a-strong-pass\n"))
    assert main(["user", "add", "admin", "--name", "管理员", "--admin", "--password-stdin"]) == 0
    assert "已创建账号" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "add", "second", "--name", "第二", "--password-stdin"]) == 2
    assert "密码至少需要 8 个字符" in capsys.readouterr().err


async def test_practice_roles_follow_their_councils_meetings(client: httpx.AsyncClient) -> None:
    """三方联席会议's own roles (物业代表 …) are granted viewing through the practice's hook."""
    from core.org.tables import CouncilMember

    meeting = await make_meeting(1)
    seat = await CouncilMember.select(CouncilMember.person).where(
        (CouncilMember.council == meeting.council) & (CouncilMember.role == "property_rep")).first()
    await make_user("wuht", "吴海涛", person=seat["person"])
    await login(client, "wuht")
    assert (await client.get(f"/meetings/{meeting.id}")).status_code == 200
    r = await client.post(f"/meetings/{meeting.id}/open", headers=HX)
    assert r.status_code == 403  # viewing, not running
