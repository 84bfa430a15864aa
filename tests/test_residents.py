"""Residents without passwords: personal links, identity checks, the roster and the QR slips — over
HTTP on SQLite and PostgreSQL, plus the pure token, cookie and validation rules.

The estate is 锦绣苑小区 (tests.factories.make_council) under the 三方联席会议 practice, which asks
for the last four digits of the phone on file.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
import segno
from pypdf import PdfReader

from core.audit import verify as audit_verify
from core.audit.tables import AuditEvent
from core.meetings.tables import Meeting
from core.org.tables import Council, CouncilMember, Unit
from core.practices import Practice
from core.residents import services
from core.residents.controllers import safe_next
from core.residents.identity import IdentityCheck, gather, mask_name, verify_phone_last4, verify_room
from core.residents.tables import RosterEntry
from core.residents.tokens import (
    make_token,
    make_verified_cookie,
    parse_token,
    verified_cookie_name,
    verified_cookie_valid,
)
from core.settings import PROJECT_ROOT, Settings
from tests.conftest import database_state, http_client, login
from tests.factories import make_council, make_meeting, make_user

INVALID = "链接无效或已失效，请联系社区重新领取"
HX = {"HX-Request": "true"}
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SECRET = "test-secret-不要在生产环境使用"

#: (楼栋, 单元, 房号, 姓名, 身份, 面积, 手机尾号)
PEOPLE = [
    ("3栋", "2", "1502", "朱秀英", "owner", "126.40", "4460"),
    ("3栋", "1", "301", "张桂芳", "owner", "89.50", "3721"),
    ("3栋", "1", "801", "马晓东", "tenant", None, "7305"),
    ("6栋", "1", "402", "何志明", "owner", "143.60", "6075"),
    ("6栋", "2", "601", "宋小军", "tenant", None, ""),
]


# -------------------------------------------------------------------------------------------------
# Helpers
# -------------------------------------------------------------------------------------------------


async def seed(council: Council | None = None) -> tuple[Council, dict[str, dict[str, Any]]]:
    """A council (with a meeting coming up) and its estate's roster, entries by name."""
    council = council or await make_council()
    meeting = await make_meeting(3, council=council)
    await Meeting.update({Meeting.starts_at: datetime.now(UTC) + timedelta(days=3)}).where(Meeting.id == meeting.id)
    entries = {}
    for building, unit_no, room, name, kind, area, phone in PEOPLE:
        row = await RosterEntry.objects().create(
            unit=council.unit, name=name, building=building, unit_no=unit_no, room=room, kind=kind,
            household=f"{building[0]}-{unit_no}-{room}", phone_last4=phone,
            area=Decimal(area) if area else None)
        entries[name] = (await RosterEntry.select().where(RosterEntry.id == row.id).first())
    return council, entries


def link_of(settings: Settings, entry: dict[str, Any], generation: int | None = None) -> str:
    return f"/r/{make_token(settings.secret(), entry['id'], generation or entry['token_generation'])}"


async def events(action: str) -> list[dict[str, Any]]:
    return await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.seq)


def other_address(client: httpx.AsyncClient, host: str) -> httpx.AsyncClient:
    """A second phone, on another network: same app, another client address, its own cookies."""
    transport = httpx.ASGITransport(app=client.app, client=(host, 40000))  # type: ignore[attr-defined]
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def answer(client: httpx.AsyncClient, link: str, value: str) -> httpx.Response:
    """Post an identity answer as the form does (the CSRF token from the page's cookie)."""
    if not client.cookies.get("yishi_csrf"):
        await client.get(link)
    return await client.post(link, data={"answer": value},
                             headers={"x-csrftoken": client.cookies.get("yishi_csrf") or ""})


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


# -------------------------------------------------------------------------------------------------
# Pure rules: tokens, cookies, checks, names, areas
# -------------------------------------------------------------------------------------------------


def test_token_round_trip_and_shape() -> None:
    token = make_token(SECRET, 17, 3)
    entry_id, generation, mac = token.split(".")
    assert (entry_id, generation, len(mac)) == ("17", "3", 22)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", mac)
    claim = parse_token(SECRET, token)
    assert claim is not None and (claim.entry_id, claim.generation) == (17, 3)
    assert make_token(SECRET, 17, 4) != token and make_token(SECRET, 18, 3) != token


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),   # forged mac
    lambda t: t.replace("17.", "18.", 1),                 # another entry's id with this mac
    lambda t: t.replace(".3.", ".4.", 1),                 # another generation with this mac
    lambda t: "017." + t.split(".", 1)[1],                # a second spelling of the id
    lambda t: t + ".1",
    lambda t: t.rsplit(".", 1)[0],
    lambda t: t[:-2],
    lambda t: t + "AA",
    lambda t: t.replace(".", "-"),
    lambda t: "0.3." + t.rsplit(".", 1)[1],
    lambda t: "-17.3." + t.rsplit(".", 1)[1],
    lambda t: "１７.3." + t.rsplit(".", 1)[1],             # full-width digits
    lambda t: t[:-1] + "=",
    lambda t: t[:-1] + "界",
    lambda t: "",
    lambda t: "." * 2,
    lambda t: "9" * 40 + ".3." + t.rsplit(".", 1)[1],
    lambda t: t * 3,
])
def test_malformed_or_forged_tokens_are_refused(mangle: Any) -> None:
    assert parse_token(SECRET, mangle(make_token(SECRET, 17, 3))) is None


def test_a_token_from_another_deployment_is_refused() -> None:
    assert parse_token("another-secret", make_token(SECRET, 17, 3)) is None


def test_ids_past_the_database_range_are_refused_before_any_query() -> None:
    assert parse_token(SECRET, make_token(SECRET, 2**31 - 1, 1)) is not None
    assert parse_token(SECRET, make_token(SECRET, 2**31, 1)) is None


def test_verified_cookie_is_bound_to_token_check_and_time() -> None:
    token = make_token(SECRET, 17, 3)
    value = make_verified_cookie(SECRET, token, "phone_last4", now=1_800_000_000)
    assert verified_cookie_valid(SECRET, token, "phone_last4", value, now=1_800_000_000 + 29 * 86400)
    assert not verified_cookie_valid(SECRET, token, "phone_last4", value, now=1_800_000_000 + 31 * 86400)
    assert not verified_cookie_valid(SECRET, make_token(SECRET, 18, 3), "phone_last4", value, now=1_800_000_000)
    assert not verified_cookie_valid(SECRET, make_token(SECRET, 17, 4), "phone_last4", value, now=1_800_000_000)
    assert not verified_cookie_valid(SECRET, token, "room", value, now=1_800_000_000)
    assert not verified_cookie_valid("another-secret", token, "phone_last4", value, now=1_800_000_000)
    expires, mac = value.split(".")
    longer = f"{int(expires) + 86400 * 365}.{mac}"  # pushing the expiry out breaks the mac
    assert not verified_cookie_valid(SECRET, token, "phone_last4", longer, now=1_800_000_000)
    for junk in (None, "", "x", ".", "1.", "abc.def", "9" * 200, f"{expires}.{mac[:-1]}"):
        assert not verified_cookie_valid(SECRET, token, "phone_last4", junk, now=1_800_000_000)


def test_identity_checks_normalise_what_people_type() -> None:
    entry = {"room": "1502", "phone_last4": "4460"}
    for typed in ("1502", " 1502 ", "１５０２", "1502室", "1502号"):
        assert verify_room(entry, typed), typed
    for typed in ("150", "15020", "", "1501", "3栋1502"):
        assert not verify_room(entry, typed), typed
    for typed in ("4460", "４４６０", " 4460"):
        assert verify_phone_last4(entry, typed), typed
    for typed in ("446", "44600", "", "446O", "٤٤٦٠"):
        assert not verify_phone_last4(entry, typed), typed
    assert not verify_phone_last4({"room": "1", "phone_last4": ""}, "")


def test_first_plugin_to_declare_a_check_keeps_it() -> None:
    mine = IdentityCheck("room", "门牌号", "?", "text", lambda e, v: True)
    theirs = IdentityCheck("room", "假的", "?", "text", lambda e, v: True)
    face = IdentityCheck("face", "人脸", "?", "text", lambda e, v: False)
    checks = gather([("core", [mine]), ("county", [theirs, face])])
    assert checks["room"] is mine and checks["face"] is face


def test_names_are_masked_for_the_greeting() -> None:
    assert [mask_name(n) for n in ("王建华", "赵敏", "欧阳小明", "李", " 朱秀英 ")] == \
        ["王*华", "赵*", "欧**明", "李", "朱*英"]


@pytest.mark.parametrize(("raw", "value", "ok"), [
    ("89.5", Decimal("89.50"), True), ("112.30㎡", Decimal("112.30"), True), ("１２６.４", Decimal("126.40"), True),
    ("96.8 平方米", Decimal("96.80"), True), ("", None, True), ("0", None, False), ("-3", None, False),
    ("abc", None, False), ("89.555", None, False), ("1e3", None, False), ("NaN", None, False),
    ("123456789", None, False), ("89.500", Decimal("89.50"), True),
])
def test_area_is_a_positive_number_or_empty(raw: str, value: Decimal | None, ok: bool) -> None:
    parsed, error = services.parse_area(raw)
    assert (error is None) == ok, (raw, error)
    if ok:
        assert parsed == value


# -------------------------------------------------------------------------------------------------
# The personal link
# -------------------------------------------------------------------------------------------------


async def test_personal_link_asks_the_check_then_shows_the_residents_page(client: httpx.AsyncClient,
                                                                          settings: Settings) -> None:
    _council, entries = await seed()
    zhu = entries["朱秀英"]
    link = link_of(settings, zhu)
    r = await client.get(link)
    assert r.status_code == 200 and "请先核对身份" in r.text and "手机号码后四位" in r.text
    assert r.headers["cache-control"] == "no-store"
    # nothing personal before the check: not the name, not the room, not the meetings
    for secret_bit in ("朱秀英", "朱*英", "1502", "三方联席会议</h2>"):
        assert secret_bit not in r.text
    assert 'inputmode="numeric"' in r.text

    r = await answer(client, link, "４４６０")  # full-width digits from a Chinese keyboard
    assert r.status_code == 303 and r.headers["location"] == link
    cookie = r.headers["set-cookie"]
    assert f"{verified_cookie_name(zhu['id'])}=" in cookie
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=lax" in lowered and f"path={link.lower()}" in lowered
    assert "max-age=2592000" in lowered  # 30 days

    page = await client.get(link)
    assert page.status_code == 200
    assert "您好，朱*英" in page.text and "朱秀英" not in page.text
    assert "锦绣苑小区三方联席会议" in page.text and "2026年11月三方联席会议" in page.text
    assert "电动自行车集中充电棚选址及收费" in page.text  # the agenda
    assert "登录" not in page.text and "/login" not in page.text  # no staff navigation

    verified = await events("resident.verified")
    assert len(verified) == 1 and verified[0]["actor"] == f"resident:{zhu['id']}"
    assert verified[0]["entity"] == f"roster_entry:{zhu['id']}"
    assert (await audit_verify()).ok


async def test_wrong_or_stale_links_get_the_same_clear_404(client: httpx.AsyncClient, settings: Settings) -> None:
    council, entries = await seed()
    zhu, zhang = entries["朱秀英"], entries["张桂芳"]
    good = make_token(settings.secret(), zhu["id"], 1)
    mac = good.rsplit(".", 1)[1]
    bad = [
        good[:-1] + ("x" if good[-1] != "x" else "y"),          # forged
        f"{zhang['id']}.1.{mac}",                                 # another entry with this mac
        make_token("another-deployment", zhu["id"], 1),          # another secret
        make_token(settings.secret(), 99999, 1),                 # no such entry (a valid mac)
        make_token(settings.secret(), zhu["id"], 2),             # a generation not issued yet
        "abc", "1.1", "1..", "%E4%B8%AD%E6%96%87", "1.1." + "A" * 200, "<img src=x onerror=alert(1)>",
    ]
    before = await database_state()
    for token in bad:
        r = await client.get(f"/r/{token}")
        assert r.status_code == 404, (token, r.status_code)
        assert INVALID in r.text and "onerror=alert(1)" not in r.text
        r = await client.post(f"/r/{token}", data={"answer": "4460"})
        assert r.status_code == 404 and INVALID in r.text, token
    assert await database_state() == before  # nothing written, not even an audit event

    # revoked, then re-issued: the old link stays dead, the new one works
    await login(client, "chair")
    assert (await client.post(f"/councils/{council.id}/roster/{zhu['id']}/revoke")).status_code == 303
    r = await client.get(f"/r/{good}")
    assert r.status_code == 404 and INVALID in r.text
    assert (await client.post(f"/councils/{council.id}/roster/{zhu['id']}/reissue")).status_code == 303
    r = await client.get(f"/r/{good}")
    assert r.status_code == 404 and INVALID in r.text
    assert (await client.get(f"/r/{make_token(settings.secret(), zhu['id'], 2)}")).status_code == 200


async def test_invalid_links_are_rate_limited_per_address(client: httpx.AsyncClient, settings: Settings) -> None:
    _council, entries = await seed()
    limit = client.app.state.resident_limits["address"].limit  # type: ignore[attr-defined]
    forged = f"{entries['朱秀英']['id']}.1.{'A' * 22}"
    statuses = [(await client.get(f"/r/{forged}")).status_code for _ in range(limit + 2)]
    assert statuses[:limit] == [404] * limit and statuses[limit:] == [429, 429]
    r = await client.get(link_of(settings, entries["朱秀英"]))  # this address is slowed down for now
    assert r.status_code == 429 and "尝试次数过多" in r.text
    async with other_address(client, "203.0.113.9") as phone:  # another phone is not
        assert (await phone.get(link_of(settings, entries["朱秀英"]))).status_code == 200
        assert (await phone.get(f"/r/{forged}")).status_code == 404


async def test_wrong_answers_are_limited_per_link(client: httpx.AsyncClient, settings: Settings) -> None:
    _council, entries = await seed()
    zhu = entries["朱秀英"]
    link = link_of(settings, zhu)
    before = await database_state()
    for left in (4, 3, 2, 1):
        r = await answer(client, link, "1234")
        assert r.status_code == 422 and f"还可以再试 {left} 次" in r.text
        assert 'value="1234"' in r.text  # what was typed stays in the box
    r = await answer(client, link, "5678")
    assert r.status_code == 429 and "回答错误次数过多" in r.text
    r = await answer(client, link, "4460")  # even the right answer waits now
    assert r.status_code == 429 and "set-cookie" not in {k.lower() for k in r.headers if "yishi_rv" in r.headers[k]}
    async with other_address(client, "198.51.100.7") as phone:  # the limit follows the link, not the phone
        r = await answer(phone, link, "4460")
        assert r.status_code == 429
    assert await database_state() == before  # wrong answers change nothing
    # another resident is not affected
    zhang = entries["张桂芳"]
    assert (await answer(client, link_of(settings, zhang), "3721")).status_code == 303
    # after the window the right answer works again
    await client.app.state.resident_limits["answer"].reset(str(zhu["id"]))  # type: ignore[attr-defined]
    assert (await answer(client, link, "4460")).status_code == 303


async def test_a_verified_cookie_opens_only_its_own_link_and_generation(client: httpx.AsyncClient,
                                                                        settings: Settings) -> None:
    council, entries = await seed()
    zhu, zhang = entries["朱秀英"], entries["张桂芳"]
    link = link_of(settings, zhu)
    r = await answer(client, link, "4460")
    value = r.cookies.get(verified_cookie_name(zhu["id"]))
    assert value and "您好，朱*英" in (await client.get(link)).text

    async with other_address(client, "192.0.2.1") as phone:
        # the same cookie value offered for another resident's link
        zhang_link = link_of(settings, zhang)
        phone.cookies.set(verified_cookie_name(zhang["id"]), value, domain="testserver", path=zhang_link)
        phone.cookies.set(verified_cookie_name(zhu["id"]), value, domain="testserver", path=zhang_link)
        r = await phone.get(zhang_link)
        assert "请先核对身份" in r.text and "张*芳" not in r.text
        # a forged cookie for this link
        phone.cookies.set(verified_cookie_name(zhu["id"]), "4102444800." + "A" * 43, domain="testserver", path=link)
        r = await phone.get(link)
        assert "请先核对身份" in r.text and "朱*英" not in r.text

    # re-issued: the new link asks again, whatever cookie the phone still holds
    await login(client, "chair")
    await client.post(f"/councils/{council.id}/roster/{zhu['id']}/reissue")
    new_link = link_of(settings, zhu, generation=2)
    client.cookies.set(verified_cookie_name(zhu["id"]), value, domain="testserver", path=new_link)
    r = await client.get(new_link)
    assert r.status_code == 200 and "请先核对身份" in r.text


async def test_no_phone_on_file_falls_back_to_the_room(client: httpx.AsyncClient, settings: Settings) -> None:
    _council, entries = await seed()
    song = entries["宋小军"]  # a tenant who left no phone
    link = link_of(settings, song)
    r = await client.get(link)
    assert "请输入您家的房号" in r.text
    assert (await answer(client, link, "6602")).status_code == 422
    assert (await answer(client, link, "601室")).status_code == 303
    assert "您好，宋*军" in (await client.get(link)).text
    assert (await events("resident.verified"))[0]["after"] == '{"check":"room","generation":1}'


async def test_a_practice_without_a_check_opens_at_once_and_a_missing_check_fails_closed(
        client: httpx.AsyncClient, settings: Settings) -> None:
    plugins = client.app.state.plugins  # type: ignore[attr-defined]
    plugins.practices["jiedao"] = Practice(id="jiedao", name="街巷议事会")
    plugins.practices["face"] = Practice(id="face", name="刷脸议事", identity_check="face_scan")
    council, entries = await seed(await make_council(practice="jiedao"))
    link = link_of(settings, entries["何志明"])
    r = await client.get(link)
    assert r.status_code == 200 and "您好，何*明" in r.text and "街巷议事会" in r.text
    await Council.update({Council.practice: "face"}).where(Council.id == council.id)
    r = await client.get(link)
    assert r.status_code == 503 and "face_scan" in r.text and "何*明" not in r.text
    assert (await client.post(link, data={"answer": "x"})).status_code == 503


async def test_councils_above_the_entry_are_the_residents_too(client: httpx.AsyncClient, settings: Settings) -> None:
    """An entry on a building (楼栋) unit sees the estate's council; a council elsewhere is not theirs."""
    council, _entries = await seed()
    building = await Unit.objects().create(name="3栋", kind="楼栋", parent=council.unit)
    wang = await RosterEntry.objects().create(unit=building.id, name="王立平", building="3栋", unit_no="1",
                                              room="1101", kind="owner", phone_last4="5521")
    other = await make_council(suffix="_b")
    await Council.update({Council.name: "西园小区议事会"}).where(Council.id == other.id)
    entry = await RosterEntry.select().where(RosterEntry.id == wang.id).first()
    link = link_of(settings, entry)
    await answer(client, link, "5521")
    page = (await client.get(link)).text
    assert "锦绣苑小区三方联席会议" in page and "西园小区议事会" not in page


# -------------------------------------------------------------------------------------------------
# After the identity check: back to where the resident was going (``next``), never elsewhere
# -------------------------------------------------------------------------------------------------

TOKEN = "17.1.AbCdEfGhIjKlMnOpQrStUv"


@pytest.mark.parametrize("target", [f"/r/{TOKEN}", f"/r/{TOKEN}/tishi", f"/r/{TOKEN}/topics/5/rate",
                                    f"/r/{TOKEN}/topics/5"])
def test_next_accepts_the_residents_own_pages(target: str) -> None:
    assert safe_next(TOKEN, target) == target


@pytest.mark.parametrize("target", [
    None, "", "https://evil.example/", "http://evil.example/r/" + TOKEN, "//evil.example", "///evil.example",
    f"//evil.example/r/{TOKEN}", "/\\evil.example", f"/r/{TOKEN}\\..\\..\\evil", f"/r/{TOKEN}//evil.example",
    f"/r/{TOKEN}/../18.1.AbCdEfGhIjKlMnOpQrStUv", f"/r/{TOKEN}/%2e%2e/x", f"/r/{TOKEN}/tishi?next=//evil.example",
    f"/r/{TOKEN}/tishi#x", f"/r/{TOKEN}evil", f"/r/{TOKEN}x/tishi", "/r/18.1.AbCdEfGhIjKlMnOpQrStUv/tishi",
    "/login", "javascript:alert(1)", f" /r/{TOKEN}", f"/r/{TOKEN}/tishi\n", f"/r/{TOKEN}/" + "a" * 200,
])
def test_next_refuses_everything_else(target: str | None) -> None:
    assert safe_next(TOKEN, target) is None


async def test_the_check_returns_to_the_page_asked_for(client: httpx.AsyncClient, settings: Settings) -> None:
    _council, entries = await seed()
    link = link_of(settings, entries["朱秀英"])
    r = await client.get(link, params={"next": f"{link}/tishi"})  # on a phone that has not answered
    assert r.status_code == 200 and "请先核对身份" in r.text
    assert f'name="next" value="{link}/tishi"' in r.text
    r = await client.post(link, data={"answer": "4460", "next": f"{link}/tishi"},
                          headers={"x-csrftoken": client.cookies.get("yishi_csrf") or ""})
    assert r.status_code == 303 and r.headers["location"] == f"{link}/tishi"
    r = await client.get(r.headers["location"])
    assert r.status_code == 200 and "请先核对身份" not in r.text


async def test_a_page_opened_before_the_check_is_where_the_check_leads(client: httpx.AsyncClient,
                                                                       settings: Settings) -> None:
    _council, entries = await seed()
    link = link_of(settings, entries["朱秀英"])
    r = await client.get(f"{link}/tishi")  # straight from the QR slip to the form, not yet answered
    assert r.status_code == 200 and "请先核对身份" in r.text and "居民提事表" not in r.text
    assert f'name="next" value="{link}/tishi"' in r.text


async def test_the_check_is_no_open_redirect(client: httpx.AsyncClient, settings: Settings) -> None:
    _council, entries = await seed()
    link = link_of(settings, entries["朱秀英"])
    other = link_of(settings, entries["张桂芳"])
    bad = ["https://evil.example/", "//evil.example", "/\\evil.example", f"{link}/../..{other}", f"{other}/tishi",
           f"{link}//evil.example", f"{link}evil", "/login"]
    # shown on the check's page only when it is safe
    r = await client.get(link, params={"next": f"{link}/tishi"})
    assert f'name="next" value="{link}/tishi"' in r.text
    for target in bad:
        r = await client.get(link, params={"next": target})
        form = r.text[r.text.index('<form method="post" action="' + link):]
        form = form[:form.index("</form>")]
        assert r.status_code == 200 and 'name="next"' not in form and "evil" not in form, target
    # answered with a bad target: the resident's own page, not the target
    r = await client.post(link, data={"answer": "4460", "next": "//evil.example"},
                          headers={"x-csrftoken": client.cookies.get("yishi_csrf") or ""})
    assert r.status_code == 303 and r.headers["location"] == link
    # already verified: the same rule on every way through
    for target in bad:
        r = await client.post(link, data={"answer": "4460", "next": target},
                              headers={"x-csrftoken": client.cookies.get("yishi_csrf") or ""})
        assert r.status_code == 303 and r.headers["location"] == link, target
        r = await client.get(link, params={"next": target})
        assert r.status_code == 200 and "您好，朱*英" in r.text, target
    r = await client.get(link, params={"next": f"{link}/tishi"})
    assert r.status_code == 303 and r.headers["location"] == f"{link}/tishi"


# -------------------------------------------------------------------------------------------------
# The roster pages
# -------------------------------------------------------------------------------------------------


async def test_adding_with_bad_values_shows_errors_and_adds_nothing(client: httpx.AsyncClient) -> None:
    council, _entries = await seed()
    await login(client, "chair")
    url = f"/councils/{council.id}/roster"
    before = await database_state()
    bad = {"name": "", "building": "3栋", "unit_no": "2", "room": "", "phone_last4": "12a4", "area": "-3",
           "kind": "owner", "household": "3-2-1503"}
    r = await client.post(url, data=bad)
    assert r.status_code == 422
    for message in ("请填写姓名", "请填写房号", "手机尾号须为 4 位数字", "面积请填写大于 0 的数字"):
        assert message in r.text, message
    assert 'value="12a4"' in r.text and 'value="-3"' in r.text and 'value="3-2-1503"' in r.text
    assert 'aria-invalid="true" aria-describedby="err-phone_last4"' in r.text
    r = await client.post(url, data={**bad, "name": "<script>alert(1)</script>", "room": "1503",
                                     "phone_last4": "1234", "area": "abc", "kind": "king"})
    assert r.status_code == 422 and "请选择身份" in r.text and "<script>alert(1)" not in r.text
    r = await client.post(url, data={**bad, "name": "周建平", "room": "1503", "phone_last4": "", "area": "",
                                     "unit": "999999"}, headers=HX)
    assert r.status_code == 422 and r.text.lstrip().startswith('<div id="roster"') and "请从列表中选择" in r.text
    assert await database_state() == before

    r = await client.post(url, data={**bad, "name": "周建平", "room": "1503", "phone_last4": "８８１２",
                                     "area": "96.8㎡"})
    assert r.status_code == 303
    row = await RosterEntry.select().where(RosterEntry.name == "周建平").first()
    assert row["phone_last4"] == "8812" and Decimal(row["area"]) == Decimal("96.8") and row["unit"] == council.unit
    added = await events("roster.entry_added")
    assert len(added) == 1 and added[0]["entity"] == f"roster_entry:{row['id']}"
    chair = (await make_user_id("chair"))
    assert added[0]["actor"] == f"user:{chair}"
    assert "8812" not in (added[0]["after"] or "")  # the phone stays out of the append-only log

    before = await database_state()
    r = await client.post(url, data={**bad, "name": "周建平", "room": "1503", "phone_last4": "", "area": ""})
    assert r.status_code == 422 and "名册中已有此人" in r.text
    assert await database_state() == before
    page = await client.get(url)
    assert "周建平" in page.text and "3栋 2单元 1503室" in page.text and "96.8" in page.text
    assert page.headers["cache-control"] == "no-store"  # it carries every resident's link


async def make_user_id(username: str) -> int:
    from core.accounts.tables import User

    return (await User.select(User.id).where(User.username == username).first())["id"]


async def test_revoke_and_reissue_are_audited(client: httpx.AsyncClient, settings: Settings) -> None:
    council, entries = await seed()
    zhu = entries["朱秀英"]
    await login(client, "recorder")
    recorder = await make_user_id("recorder")
    base = f"/councils/{council.id}/roster/{zhu['id']}"
    r = await client.post(f"{base}/revoke", headers=HX)
    assert r.status_code == 200 and r.text.lstrip().startswith('<div id="roster"') and "已停用" in r.text
    assert (await client.post(f"{base}/revoke")).status_code == 303  # again: nothing more to record
    revoked = await events("resident.token_revoked")
    assert len(revoked) == 1 and revoked[0]["actor"] == f"user:{recorder}"
    assert (await RosterEntry.select(RosterEntry.revoked).where(RosterEntry.id == zhu["id"]).first())["revoked"]
    assert (await client.get(f"{base}/qr.svg")).status_code == 404  # no QR for a switched-off link

    r = await client.post(f"{base}/reissue", headers=HX)
    assert r.status_code == 200 and "旧链接和旧二维码已失效" in r.text
    await client.post(f"{base}/reissue")
    reissued = await events("resident.token_reissued")
    assert [(e["before"], e["after"]) for e in reissued] == [
        ('{"generation":1,"revoked":true}', '{"generation":2,"revoked":false}'),
        ('{"generation":2,"revoked":false}', '{"generation":3,"revoked":false}')]
    assert all(e["actor"] == f"user:{recorder}" for e in reissued)
    for old in (1, 2):
        assert (await client.get(link_of(settings, zhu, generation=old))).status_code == 404
    assert (await client.get(link_of(settings, zhu, generation=3))).status_code == 200
    assert (await audit_verify()).ok


async def test_roster_permissions(client: httpx.AsyncClient) -> None:
    council, entries = await seed()
    other, other_entries = await seed(await make_council(suffix="_b"))
    url = f"/councils/{council.id}/roster"
    zhu = entries["朱秀英"]
    urls = [("GET", url), ("POST", url), ("POST", f"{url}/{zhu['id']}/revoke"),
            ("POST", f"{url}/{zhu['id']}/reissue"), ("GET", f"{url}/{zhu['id']}/qr.svg"), ("GET", f"{url}/slips.pdf")]
    member = await CouncilMember.select(CouncilMember.person).where(
        (CouncilMember.council == council.id) & (CouncilMember.role == "property_rep")).first()
    await make_user("wuht", "吴海涛", person=member["person"])
    async with http_client(client.app) as member_client, http_client(client.app) as chair_b:  # type: ignore[attr-defined]
        await login(member_client, "wuht")  # a member of the council without roster.manage (物业代表)
        await login(chair_b, "chair_b")  # the chair of another council
        before = await database_state()
        for method, target in urls:
            data = {"name": "赵六", "room": "101"} if method == "POST" else None
            r = await client.request(method, target, data=data)  # anonymous: to the login page
            assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), (method, target)
            for c in (member_client, chair_b):
                r = await c.request(method, target, data=data)
                assert r.status_code == 403 and "没有权限" in r.text, (method, target)
        assert await database_state() == before
    # street staff hold roster.manage for every council below them
    street = (await Unit.select(Unit.parent).where(Unit.id == council.unit).first())["parent"]
    await make_user("street", "荷叶地街道", unit=street)
    async with http_client(client.app) as c:  # type: ignore[attr-defined]
        await login(c, "street")
        assert (await c.get(url)).status_code == 200
    # the chair may not reach another council's entry through their own council's pages
    await login(client, "chair")
    song_b = other_entries["宋小军"]
    for method, path in [("POST", "revoke"), ("POST", "reissue"), ("GET", "qr.svg")]:
        r = await client.request(method, f"{url}/{song_b['id']}/{path}")
        assert r.status_code == 404, path
    assert (await client.get(f"{url}/slips.pdf?entry={song_b['id']}")).status_code == 404
    assert not (await RosterEntry.select(RosterEntry.revoked).where(RosterEntry.id == song_b["id"]).first())["revoked"]
    assert (await client.get(f"/councils/{other.id}/roster")).status_code == 403
    assert (await client.get("/councils/99999/roster")).status_code == 404  # no such council: a stale link
    await make_user("admin", is_admin=True)
    async with http_client(client.app) as admin:  # type: ignore[attr-defined]
        await login(admin, "admin")
        huge = "100000000000000000000"
        for method, target in [("GET", f"/councils/{huge}/roster"), ("GET", f"{url}/{huge}/qr.svg"),
                               ("POST", f"{url}/{huge}/revoke"), ("GET", f"{url}/slips.pdf?entry={huge}"),
                               ("GET", "/councils/99999/roster"), ("GET", f"{url}/2147483648/qr.svg")]:
            assert (await admin.request(method, target)).status_code == 404, target
    # the home page links to the roster for those who may manage it
    assert url in (await client.get("/")).text


# -------------------------------------------------------------------------------------------------
# QR codes and slips
# -------------------------------------------------------------------------------------------------


def svg_dark_modules(svg: str) -> tuple[set[tuple[int, int]], int]:
    """The dark modules (row, column) segno drew as one path of horizontal runs, and the scale."""
    scale = int(re.search(r'transform="scale\((\d+)\)"', svg).group(1))  # type: ignore[union-attr]
    d = re.search(r' d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    for cmd, a, b in re.findall(r"([Mmh])(-?\d+(?:\.\d+)?)(?:[ ,](-?\d+(?:\.\d+)?))?", d):
        if cmd == "M":
            x, y = float(a), float(b)
        elif cmd == "m":
            x, y = x + float(a), y + float(b)
        else:
            run = int(float(a))
            dark.update((int(y), int(x) + i) for i in range(run))
            x += run
    return dark, scale


async def test_qr_code_holds_the_absolute_personal_link(client: httpx.AsyncClient, settings: Settings) -> None:
    council, entries = await seed()
    zhu = entries["朱秀英"]
    await login(client, "chair")
    r = await client.get(f"/councils/{council.id}/roster/{zhu['id']}/qr.svg")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.headers["cache-control"] == "no-store"
    expected = f"http://testserver{link_of(settings, zhu)}"
    dark, _scale = svg_dark_modules(r.text)
    border = 4
    qr = segno.make(expected, error="m", micro=False)  # re-encoded here from the expected URL
    want = {(row + border, col + border) for row, bits in enumerate(qr.matrix) for col, bit in enumerate(bits) if bit}
    assert dark == want, "the QR code does not encode the personal link"
    other = segno.make(f"http://testserver{link_of(settings, entries['张桂芳'])}", error="m", micro=False)
    assert dark != {(row + border, col + border)
                    for row, bits in enumerate(other.matrix) for col, bit in enumerate(bits) if bit}
    # and the link in it opens the page
    assert (await client.get(expected.removeprefix("http://testserver"))).status_code == 200


async def test_slips_pdf_has_a_sheet_per_building(client: httpx.AsyncClient, settings: Settings,
                                                  database_url: str) -> None:
    council, entries = await seed()
    await login(client, "chair")
    await client.post(f"/councils/{council.id}/roster/{entries['马晓东']['id']}/revoke")
    r = await client.get(f"/councils/{council.id}/roster/slips.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "no-store" and "attachment" in r.headers["content-disposition"]
    pdf = r.content
    ARTIFACTS.mkdir(exist_ok=True)
    kind = database_url.split(":")[0]
    (ARTIFACTS / f"slips-{kind}.pdf").write_bytes(pdf)
    if kind == "sqlite" and shutil.which("pdftoppm"):  # to look at: test-artifacts/slips-sqlite-1.png
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(ARTIFACTS / "slips-sqlite.pdf"),
                        str(ARTIFACTS / "slips-sqlite")], check=True, timeout=120)

    reader = PdfReader(io.BytesIO(pdf))
    pages = [squash(p.extract_text() or "") for p in reader.pages]
    assert len(pages) == 2, "one sheet for 3栋, one for 6栋"
    assert "3栋" in pages[0] and "6栋" not in pages[0].replace("锦绣苑", "")
    for building, unit_no, room, name, _kind, _area, _phone in PEOPLE:
        page = pages[0] if building == "3栋" else pages[1]
        if name == "马晓东":
            assert name not in "".join(pages)  # revoked: no slip
            continue
        assert name in page and f"{building}{unit_no}单元{room}室" in page, name
        assert squash(link_of(settings, entries[name])) in page  # the printed link, under the code
    assert pages[0].count("请用手机扫码参与议事") == 2 and pages[1].count("请用手机扫码参与议事") == 2

    fonts = _fonts(reader)
    assert any("WenQuanYi" in str(f.get("/BaseFont", "")) for f in fonts), [str(f.get("/BaseFont")) for f in fonts]
    for font in fonts:
        if font.get("/Subtype") == "/Type0":
            continue
        descriptor = font["/FontDescriptor"].get_object()
        assert descriptor.get("/FontFile2") or descriptor.get("/FontFile3"), f"{font.get('/BaseFont')} not embedded"

    # one building, one person
    r = await client.get(f"/councils/{council.id}/roster/slips.pdf", params={"building": "6栋"})
    text = squash("".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(r.content)).pages))
    assert "何志明" in text and "朱秀英" not in text
    r = await client.get(f"/councils/{council.id}/roster/slips.pdf", params={"entry": entries["朱秀英"]["id"]})
    text = squash("".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(r.content)).pages))
    assert "朱秀英" in text and "张桂芳" not in text
    r = await client.get(f"/councils/{council.id}/roster/slips.pdf", params={"building": "9栋"})
    assert r.status_code == 404 and "没有可打印的二维码条" in r.text


def _fonts(reader: PdfReader) -> list[Any]:
    fonts = {}
    for page in reader.pages:
        resources = page.get("/Resources")
        for ref in ((resources.get_object() if resources else {}).get("/Font") or {}).values():
            font = ref.get_object()
            fonts[id(font)] = font
            for descendant in font.get("/DescendantFonts") or []:
                fonts[id(descendant.get_object())] = descendant.get_object()
    return list(fonts.values())


async def test_demo_roster_is_seeded(engine: Any) -> None:
    from core.sanfang import demo

    await demo.seed()
    rows = await RosterEntry.select()
    assert len(rows) == len(demo.ROSTER) >= 20
    assert {r["building"] for r in rows} == {"3栋", "6栋"} and {r["unit_no"] for r in rows} == {"1", "2"}
    assert {r["kind"] for r in rows} == {"owner", "tenant", "landlord", "resident"}
    assert all(r["area"] is not None for r in rows if r["kind"] == "owner")
    estate = await Unit.select(Unit.id).where(Unit.name == "翠竹园小区").first()
    assert {r["unit"] for r in rows} == {estate["id"]}
