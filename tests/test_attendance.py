"""Sign-in and quorum over HTTP and in the services, on SQLite and PostgreSQL: the recorder's marks,
self sign-in by the meeting's QR code (members and residents), retries, refusals and the audit trail."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from core.audit import verify as audit_verify
from core.audit.tables import AuditEvent
from core.meetings import attendance
from core.meetings.attendance import AttendanceError
from core.meetings.tables import Attendance, Meeting
from core.org.tables import Council, CouncilMember, Person
from core.settings import Settings
from tests.conftest import database_state, login
from tests.factories import make_meeting, make_user
from tests.test_residents import answer, link_of, seed

HX = {"HX-Request": "true"}


async def people(meeting: Meeting) -> dict[str, int]:
    """The council's members by name → person id."""
    rows = await CouncilMember.select(CouncilMember.person, CouncilMember.person.name.as_alias("name")).where(
        CouncilMember.council == meeting.council)
    return {r["name"]: r["person"] for r in rows}


async def events(action: str) -> list[dict[str, Any]]:
    return await AuditEvent.select().where(AuditEvent.action == action).order_by(AuditEvent.seq)


async def test_summary_counts_proxies_as_present_and_observers_not_at_all(engine: object) -> None:
    meeting = await make_meeting(2, state="in_session")
    observer = await Person.objects().create(name="列席的人")
    await CouncilMember.objects().create(council=meeting.council, person=observer.id, role="observer", position=9)
    ids = await people(meeting)
    await attendance.mark(meeting.id, ids["张国庆"], "present", "", "user:1")
    await attendance.mark(meeting.id, ids["黄丽娟"], "proxy", " 李  四 ", "user:1")

    s = await attendance.summary(meeting.id)
    assert s is not None
    assert (s.expected, s.present, s.proxies, s.excused, s.absent, s.unmarked) == (3, 2, 1, 0, 0, 1)
    assert s.ratio == "66.7%" and s.quorum_met and s.rule_label == "超过半数（过半数）"
    assert s.statement == ("应到 3 人，实到 2 人（含委托 1 人），请假 0 人，缺席 1 人。"
                           "法定人数：超过半数（过半数），符合法定人数。")
    assert [m["proxy_name"] for m in s.members if m["status"] == "proxy"] == ["李 四"]
    try:
        await attendance.mark(meeting.id, observer.id, "present", "", "user:1")
        raise AssertionError("an observer is not expected and cannot be marked")
    except AttendanceError as exc:
        assert "不是本会议的应到成员" in str(exc)


async def test_two_thirds_rule_and_a_bad_rule(engine: object) -> None:
    meeting = await make_meeting(1, state="in_session")
    ids = await people(meeting)
    await Council.update({Council.quorum: ">=2/3"}).where(Council.id == meeting.council)
    await attendance.mark(meeting.id, ids["张国庆"], "present", "", "user:1")
    s = await attendance.summary(meeting.id)
    assert s is not None and not s.quorum_met and s.short_of == 1 and s.ratio == "33.3%"
    await attendance.mark(meeting.id, ids["黄丽娟"], "present", "", "user:1")
    s = await attendance.summary(meeting.id)
    assert s is not None and s.quorum_met and s.rule_label == "三分之二以上（含本数）"  # 2 of 3 is exactly 2/3

    await Council.update({Council.quorum: "most"}).where(Council.id == meeting.council)
    s = await attendance.summary(meeting.id)
    assert s is not None and not s.quorum_met and s.rule is None
    assert "法定人数规则有误" in s.statement and "无法识别" in s.statement


async def test_recorder_marks_and_corrects_with_audit(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(2, state="in_session")
    ids = await people(meeting)
    await login(client, "recorder")
    url = f"/meetings/{meeting.id}/attendance/{ids['吴海涛']}"

    page = await client.get(f"/meetings/{meeting.id}")
    assert 'id="attendance"' in page.text and "应到 <strong>3</strong>" in page.text
    assert f'action="{url}"' in page.text and "扫码签到" in page.text

    r = await client.post(url, data={"status": "present"}, headers=HX)
    assert r.status_code == 200 and r.text.lstrip().startswith('<section class="attendance panel" id="attendance"')
    assert 'id="attendance-present">1<' in r.text
    assert 'id="console"' not in r.text and 'id="current-item"' not in r.text  # only the sign-in panel is swapped
    r = await client.post(url, data={"status": "present"}, headers=HX)  # a retry changes nothing
    assert r.status_code == 200
    r = await client.post(url, data={"status": "excused"})  # no JS: back to the console
    assert r.status_code == 303 and r.headers["location"] == f"/meetings/{meeting.id}#attendance"

    rows = await Attendance.select().where(Attendance.meeting == meeting.id)
    assert [(r["person"], r["status"], r["method"]) for r in rows] == [(ids["吴海涛"], "excused", "recorder")]
    marks = await events("attendance.mark")
    assert len(marks) == 2
    before, after = (json.loads(v) if isinstance(v, str) else v for v in (marks[1]["before"], marks[1]["after"]))
    assert before["status"] == "present" and after["status"] == "excused"
    assert (await audit_verify()).ok


async def test_proxy_needs_a_name_and_bad_input_changes_nothing(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(1, state="in_session")
    ids = await people(meeting)
    await login(client, "recorder")
    before = await database_state()
    url = f"/meetings/{meeting.id}/attendance/{ids['吴海涛']}"
    r = await client.post(url, data={"status": "proxy", "proxy_name": "  "}, headers=HX)
    assert r.status_code == 422 and "委托出席请填写受托人姓名" in r.text
    r = await client.post(url, data={"status": "here"}, headers=HX)
    assert r.status_code == 422 and "请选择出席、请假、缺席或委托" in r.text
    r = await client.post(url, data={"status": "proxy", "proxy_name": "名" * 51}, headers=HX)
    assert r.status_code == 422 and "受托人姓名不能超过 50 个字" in r.text
    assert await database_state() == before

    r = await client.post(url, data={"status": "proxy", "proxy_name": "吴海涛的同事"}, headers=HX)
    assert r.status_code == 200 and "委托：吴海涛的同事" in r.text and "含委托 1 人" in r.text


async def test_a_member_cannot_mark_others_and_anonymous_is_sent_to_log_in(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(1, state="in_session")
    ids = await people(meeting)
    await make_user("wuht", "吴海涛", person=ids["吴海涛"])
    url = f"/meetings/{meeting.id}/attendance/{ids['张国庆']}"

    r = await client.post(url, data={"status": "absent"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login") and await Attendance.count() == 0

    await login(client, "wuht")
    r = await client.post(url, data={"status": "absent"}, headers=HX)
    assert r.status_code == 403 and await Attendance.count() == 0


async def test_member_signs_in_by_qr_once(client: httpx.AsyncClient, settings: Settings) -> None:
    meeting = await make_meeting(2, state="in_session")
    await Meeting.update({Meeting.current_position: 2}).where(Meeting.id == meeting.id)
    path = attendance.join_path(settings, meeting.id)

    anonymous = await client.get(path)
    assert anonymous.status_code == 200 and "登录后签到" in anonymous.text and 'id="sign-in"' not in anonymous.text
    assert 'data-live="/public/live/meetings/' in anonymous.text
    r = await client.post(path)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}" and await Attendance.count() == 0

    await login(client, "chair")
    page = await client.get(path)
    assert page.status_code == 200 and 'id="sign-in"' in page.text
    assert "2026年11月三方联席会议" in page.text and "社区会议室" in page.text
    assert 'class="current" aria-current="step">物业费由1.2元调整为1.5元' in page.text  # the current item
    assert 'id="phone-present">0<' in page.text

    r = await client.post(path)
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert "✓ 已签到" in page.text and 'id="phone-present">1<' in page.text
    again = await client.post(path)
    assert again.status_code == 200 and "您已签到" in again.text

    rows = await Attendance.select().where(Attendance.meeting == meeting.id)
    assert [(r["name"], r["status"], r["method"]) for r in rows] == [("张国庆", "present", "qr")]
    assert len(await events("attendance.sign_in")) == 1


async def test_two_identical_sign_ins_at_once_leave_one_row(engine: object) -> None:
    meeting = await make_meeting(1, state="in_session")
    ids = await people(meeting)
    results = await asyncio.gather(*(attendance.sign_in_member(meeting.id, ids["张国庆"], "user:1")
                                     for _ in range(2)))
    assert sorted(results) == [False, True]
    assert await Attendance.count().where(Attendance.meeting == meeting.id) == 1
    assert len(await events("attendance.sign_in")) == 1


async def test_closed_or_cancelled_meeting_refuses_sign_in(client: httpx.AsyncClient, settings: Settings) -> None:
    meeting = await make_meeting(1, state="closed")
    await login(client, "chair")
    path = attendance.join_path(settings, meeting.id)
    page = await client.get(path)
    assert "会议已结束，不能签到" in page.text and 'id="sign-in"' not in page.text
    r = await client.post(path)
    assert r.status_code == 422 and "会议已结束，不能签到" in r.text
    await Meeting.update({Meeting.state: "cancelled"}).where(Meeting.id == meeting.id)
    r = await client.post(path)
    assert r.status_code == 422 and "会议已取消，不能签到" in r.text
    assert await Attendance.count() == 0 and not await events("attendance.sign_in")


async def test_forged_or_altered_keys_open_nothing(client: httpx.AsyncClient, settings: Settings) -> None:
    meeting = await make_meeting(1, state="in_session")
    other = await make_meeting(1, state="in_session", council=await Council.objects().get(
        Council.id == meeting.council))
    await login(client, "chair")
    key = attendance.join_key(settings, meeting.id)
    flipped = key[:-1] + ("A" if key[-1] != "A" else "B")
    for path in (f"/m/{meeting.id}/{flipped}", f"/m/{other.id}/{key}", f"/m/{meeting.id}/{key}x",
                 f"/m/{meeting.id}/short", f"/m/99999/{key}"):
        for method in ("GET", "POST"):
            r = await client.request(method, path)
            assert r.status_code == 404, (method, path)
            assert "签到链接无效" in r.text
    assert attendance.key_valid(settings, meeting.id, key)
    assert not attendance.key_valid(Settings.from_env(data_dir=settings.data_dir, secret_key="another"),
                                    meeting.id, key)
    assert await Attendance.count() == 0


async def test_resident_signs_in_to_an_open_meeting_and_is_not_counted_for_quorum(
        client: httpx.AsyncClient, settings: Settings) -> None:
    council, entries = await seed()
    meeting = await Meeting.objects().get(Meeting.council == council.id)
    zhu = entries["朱秀英"]
    link = link_of(settings, zhu)
    path = f"{link}/m/{meeting.id}/{attendance.join_key(settings, meeting.id)}"

    r = await client.get(path)
    assert r.status_code == 200 and "请先核对身份" in r.text  # the personal link's identity check first
    r = await answer(client, link, "4460")
    assert r.status_code == 303

    page = await client.get(path)
    assert "这次会议不对居民开放签到" in page.text
    assert path not in (await client.get(link)).text  # the personal page offers no sign-in for it
    r = await client.post(path)
    assert r.status_code == 422 and "这次会议不对居民开放签到" in r.text and await Attendance.count() == 0

    await Meeting.update({Meeting.is_open: True, Meeting.state: "in_session"}).where(Meeting.id == meeting.id)
    assert f'href="{path}"' in (await client.get(link)).text  # 到场签到 on the resident's own page
    page = await client.get(path)
    assert "您好，朱*英" in page.text and 'id="sign-in"' in page.text
    r = await client.post(path)
    assert r.status_code == 303
    r = await client.post(path)
    assert r.status_code == 200 and "您已签到" in r.text

    rows = await Attendance.select().where(Attendance.meeting == meeting.id)
    assert [(r["entry"], r["person"], r["status"]) for r in rows] == [(zhu["id"], None, "present")]
    s = await attendance.summary(meeting.id)
    assert s is not None and s.residents == 1 and s.present == 0 and not s.quorum_met
    assert "列席居民 1 人" in s.statement
    signed = await events("attendance.resident_sign_in")
    assert len(signed) == 1 and signed[0]["actor"] == f"resident:{zhu['id']}"


def test_the_join_qr_scales_to_the_box_it_is_shown_in(settings: Settings) -> None:
    """The console shows the code at 132 px, the projector at 360 px: an SVG with a fixed width and
    height but no viewBox would be cropped by that CSS, not scaled, and no phone could read it."""
    svg = attendance.join_qr_svg(settings, 7)
    head = svg[:svg.index(">")]
    assert "viewBox=" in head and " width=" not in head and " height=" not in head
