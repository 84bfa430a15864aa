"""The chair's console over HTTP, on SQLite and PostgreSQL: editing the agenda (with its revision),
attachments, notes sent twice, speakers, outcomes, the item timer, who may do what, and two tablets
acting at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core.audit.tables import AuditEvent
from core.meetings.agenda import ATTACHMENT_MAX_BYTES
from core.meetings.tables import AgendaAttachment, AgendaItem, ItemNote, Meeting, Speaker
from core.org.tables import Council, CouncilMember, Person
from tests.conftest import database_state, http_client, login
from tests.factories import make_meeting, make_user

HX = {"HX-Request": "true"}
STALE = "议程已被修改，请刷新后再试"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200


async def _agenda(meeting_id: int) -> list[dict[str, Any]]:
    return await AgendaItem.select(AgendaItem.id, AgendaItem.position, AgendaItem.title,
                                   AgendaItem.duration_minutes).where(
        AgendaItem.meeting == meeting_id).order_by(AgendaItem.position)


async def _revision(meeting_id: int) -> int:
    return (await Meeting.select(Meeting.agenda_revision).where(Meeting.id == meeting_id).first())["agenda_revision"]


def _item(title: str, revision: int, **extra: str) -> dict[str, str]:
    return {"title": title, "proposer": "第三网格", "duration_minutes": "15", "description": "",
            "revision": str(revision), **extra}


async def _open(client: httpx.AsyncClient, meeting_id: int) -> list[dict[str, Any]]:
    r = await client.post(f"/meetings/{meeting_id}/open", headers=HX)
    assert r.status_code == 200 and "进行中" in r.text
    return await _agenda(meeting_id)


async def test_agenda_add_edit_reorder_delete(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(3)
    mid = meeting.id
    await login(client, "chair")
    page = await client.get(f"/meetings/{mid}")
    assert '<input type="hidden" name="revision" value="0">' in page.text
    assert "上移" in page.text and "下移" in page.text and "确定删除" in page.text
    # A second tablet follows the meeting's live stream and re-fetches this page (core/static/js/live.js).
    assert f'data-live="/live/meetings/{mid}" data-live-get="/meetings/{mid}"' in page.text
    assert '<script src="/static/js/live.js" defer></script>' in page.text and "/static/js/console.js" in page.text

    r = await client.post(f"/meetings/{mid}/agenda", data=_item("东门增设无障碍坡道", 0), headers=HX)
    assert r.status_code == 200 and "东门增设无障碍坡道" in r.text
    assert '<input type="hidden" name="revision" value="1">' in r.text  # the fresh fragment carries the new one
    items = await _agenda(mid)
    assert [i["position"] for i in items] == [1, 2, 3, 4] and items[3]["title"] == "东门增设无障碍坡道"
    new_id = items[3]["id"]

    page = await client.get(f"/meetings/{mid}?edit={new_id}")  # 编辑 is a link: the page opens that item's form
    assert f'action="/meetings/{mid}/agenda/{new_id}/edit"' in page.text and 'value="东门增设无障碍坡道"' in page.text
    assert page.text.count('/edit"') == 2  # action and hx-post of that one form; no other item's
    r = await client.post(f"/meetings/{mid}/agenda/{new_id}/edit",
                          data=_item("东门及北门增设无障碍坡道", 1, duration_minutes="20"), headers=HX)
    assert r.status_code == 200
    r = await client.post(f"/meetings/{mid}/agenda/{new_id}/move", data={"direction": "up", "revision": "2"},
                          headers=HX)
    assert r.status_code == 200
    items = await _agenda(mid)
    assert (items[2]["id"], items[2]["title"], items[2]["duration_minutes"]) == (new_id, "东门及北门增设无障碍坡道", 20)

    first = items[0]["id"]
    r = await client.post(f"/meetings/{mid}/agenda/{first}/delete", data={"revision": "3"}, headers=HX)
    assert r.status_code == 200
    items = await _agenda(mid)
    assert [i["position"] for i in items] == [1, 2, 3] and first not in [i["id"] for i in items]
    assert items[1]["id"] == new_id
    assert await _revision(mid) == 4

    # A stale page (rendered at revision 3) or a retried request changes nothing and says why.
    before = await database_state()
    for url, data in [(f"/meetings/{mid}/agenda/{new_id}/edit", _item("改名", 3)),
                      (f"/meetings/{mid}/agenda/{new_id}/move", {"direction": "down", "revision": "3"}),
                      (f"/meetings/{mid}/agenda/{new_id}/delete", {"revision": "3"}),
                      (f"/meetings/{mid}/agenda", _item("重复提交的议题", 3)),
                      (f"/meetings/{mid}/agenda", {**_item("没有版本号", 4), "revision": ""})]:
        r = await client.post(url, data=data, headers=HX)
        assert r.status_code == 422 and STALE in r.text, (url, r.status_code)
    assert await database_state() == before

    # Without JavaScript: POST then 303 back to the console.
    r = await client.post(f"/meetings/{mid}/agenda/{new_id}/move", data={"direction": "down", "revision": "4"})
    assert r.status_code == 303 and r.headers["location"] == f"/meetings/{mid}"
    assert (await _agenda(mid))[2]["id"] == new_id


async def test_agenda_bad_input_shown_beside_fields(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(1)
    await login(client, "chair")
    before = await database_state()
    r = await client.post(f"/meetings/{meeting.id}/agenda",
                          data=_item("  ", 0, duration_minutes="0", proposer="网" * 61), headers=HX)
    assert r.status_code == 422
    assert "请填写议题名称" in r.text and "建议时长须为 1–240 分钟的整数" in r.text and "提出人不能超过 60 字" in r.text
    assert 'value="0"' in r.text  # what was typed stays
    r = await client.post(f"/meetings/{meeting.id}/agenda", data=_item("议题", 0, duration_minutes="241"), headers=HX)
    assert r.status_code == 422 and "建议时长须为 1–240 分钟的整数" in r.text
    assert await database_state() == before


async def test_agenda_fixed_once_in_session_but_items_may_be_added(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(2)
    await login(client, "chair")
    items = await _open(client, meeting.id)
    rev = await _revision(meeting.id)
    r = await client.post(f"/meetings/{meeting.id}/agenda/{items[0]['id']}/delete", data={"revision": str(rev)},
                          headers=HX)
    assert r.status_code == 422 and "议程不能再修改" in r.text
    r = await client.post(f"/meetings/{meeting.id}/agenda", data=_item("临时动议：暖气试水安排", rev), headers=HX)
    assert r.status_code == 200 and "临时动议：暖气试水安排" in r.text
    assert [i["position"] for i in await _agenda(meeting.id)] == [1, 2, 3]
    assert (await Meeting.objects().get(Meeting.id == meeting.id)).current_position == 1


async def test_attachments_checked_by_content_and_served_to_viewers(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(1)
    await login(client, "chair")
    item = (await _agenda(meeting.id))[0]["id"]
    url = f"/meetings/{meeting.id}/items/{item}/attachments"

    r = await client.post(url, files={"file": ("充电棚选址.png", PNG, "image/png")}, headers=HX)
    assert r.status_code == 200 and "充电棚选址.png" in r.text
    r = await client.post(url, files={"file": ("报价单.pdf", PDF, "application/pdf")}, headers=HX)
    assert r.status_code == 200 and "报价单.pdf" in r.text
    r = await client.post(url, files={"file": ("报价单.pdf", PDF, "application/pdf")}, headers=HX)  # resent
    assert await AgendaAttachment.count() == 2

    before = await database_state()
    r = await client.post(url, files={"file": ("报价单2.pdf", EXE, "application/pdf")}, headers=HX)
    assert r.status_code == 422 and "Windows 程序" in r.text and "只接受 JPEG、PNG、WebP 图片和 PDF 文档" in r.text
    big = PDF + b"0" * (ATTACHMENT_MAX_BYTES - len(PDF) + 1)
    r = await client.post(url, files={"file": ("扫描件.pdf", big, "application/pdf")}, headers=HX)
    assert r.status_code == 422 and "超过 8 MB" in r.text
    assert await database_state() == before

    stored = await AgendaAttachment.select().order_by(AgendaAttachment.id)
    r = await client.get(f"/meetings/{meeting.id}/attachments/{stored[1]['id']}")
    assert r.status_code == 200 and r.content == PDF and r.headers["content-type"] == "application/pdf"
    r = await client.get(f"/meetings/{meeting.id}/attachments/{stored[0]['id']}")
    assert r.headers["content-type"] == "image/png" and r.headers["x-content-type-options"] == "nosniff"
    assert f'href="/meetings/{meeting.id}/attachments/{stored[0]["id"]}"' in (await client.get(
        f"/meetings/{meeting.id}")).text

    other = await make_meeting(1, council=await Council.objects().get(Council.id == meeting.council))
    assert (await client.get(f"/meetings/{other.id}/attachments/{stored[0]['id']}")).status_code == 404
    async with http_client(client.app) as anonymous:  # type: ignore[attr-defined]
        r = await anonymous.get(f"/meetings/{meeting.id}/attachments/{stored[0]['id']}")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


async def test_note_resent_with_same_nonce_is_stored_once(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(1)
    await login(client, "recorder")
    items = await _open(client, meeting.id)
    page = (await client.get(f"/meetings/{meeting.id}")).text
    assert 'name="nonce"' in page
    url = f"/meetings/{meeting.id}/items/{items[0]['id']}/notes"
    for attempt in range(3):
        r = await client.post(url, data={"body": "物业承诺本周内清理楼道杂物。", "nonce": "k-note-1"}, headers=HX)
        assert r.status_code == 200
        # Every answer, the first (after the write) and the retries (the meeting as read before the
        # action, which already had the note), shows the note once.
        assert r.text.count("物业承诺本周内清理楼道杂物。") == 1, attempt
    assert await AuditEvent.count().where(AuditEvent.action == "item.note_added") == 1
    await client.post(url, data={"body": "第二条记录", "nonce": "k-note-2"}, headers=HX)
    assert [n["body"] for n in await ItemNote.select(ItemNote.body).order_by(ItemNote.id)] == [
        "物业承诺本周内清理楼道杂物。", "第二条记录"]
    # A refused note keeps its key, so sending it again after fixing it still stores it once.
    r = await client.post(url, data={"body": " ", "nonce": "k-note-3"}, headers=HX)
    assert r.status_code == 422 and 'value="k-note-3"' in r.text


async def test_speakers_list(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(1)
    await login(client, "chair")
    item = (await _open(client, meeting.id))[0]["id"]
    url = f"/meetings/{meeting.id}/items/{item}/speakers"
    for _ in range(2):
        r = await client.post(url, data={"name": "李秀英", "affiliation": "6栋", "nonce": "s-1"}, headers=HX)
    await client.post(url, data={"name": "陈志强", "affiliation": "恒信物业", "nonce": "s-2"}, headers=HX)
    rows = await Speaker.select().order_by(Speaker.position)
    assert [(s["name"], s["position"], s["state"]) for s in rows] == [("李秀英", 1, "waiting"),
                                                                      ("陈志强", 2, "waiting")]

    await client.post(f"{url}/{rows[0]['id']}", data={"state": "speaking"}, headers=HX)
    r = await client.post(f"{url}/{rows[1]['id']}", data={"state": "speaking"}, headers=HX)
    assert "正在发言" in r.text
    states = {s["name"]: s["state"] for s in await Speaker.select()}
    assert states == {"李秀英": "done", "陈志强": "speaking"}  # one speaker at a time

    for _ in range(2):  # removing twice is fine
        r = await client.post(f"{url}/{rows[0]['id']}", data={"state": "removed"}, headers=HX)
        assert r.status_code == 200
    assert [s["name"] for s in await Speaker.select()] == ["陈志强"]

    r = await client.post(url, data={"name": "", "affiliation": "", "nonce": "s-3"}, headers=HX)
    assert r.status_code == 422 and "请填写发言人姓名" in r.text
    r = await client.post(f"{url}/{rows[1]['id']}", data={"state": "shouting"}, headers=HX)
    assert r.status_code == 422 and await Speaker.count() == 1


async def test_outcomes(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(2)
    await login(client, "chair")
    items = await _open(client, meeting.id)
    url = f"/meetings/{meeting.id}/items/{items[0]['id']}/outcome"
    r = await client.post(url, data={"outcome": "deferred", "outcome_note": "待业委会征求意见后再议"}, headers=HX)
    assert r.status_code == 200 and 'id="outcome-result">暂缓' in r.text
    row = await AgendaItem.select(AgendaItem.outcome, AgendaItem.outcome_note).where(
        AgendaItem.id == items[0]["id"]).first()
    assert row == {"outcome": "deferred", "outcome_note": "待业委会征求意见后再议"}

    r = await client.post(url, data={"outcome": "maybe"}, headers=HX)
    assert r.status_code == 422 and "请选择议题结果" in r.text

    # A show of hands makes the outcome 表决 (unless the chair chose another).
    second = items[1]["id"]
    await client.post(f"/meetings/{meeting.id}/goto", data={"position": "2"}, headers=HX)
    await client.post(f"/meetings/{meeting.id}/items/{second}/hands", data={"yes": "6", "no": "1", "abstain": "0"},
                      headers=HX)
    assert (await AgendaItem.select(AgendaItem.outcome).where(AgendaItem.id == second).first())["outcome"] == "vote"
    r = await client.post(f"/meetings/{meeting.id}/close", headers=HX)
    assert "暂缓" in r.text and "待业委会征求意见后再议" in r.text and "表决" in r.text


async def test_timer_start_pause_and_goto_pauses(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(2)
    await login(client, "chair")
    items = await _open(client, meeting.id)
    first = items[0]["id"]
    url = f"/meetings/{meeting.id}/items/{first}/timer"
    r = await client.post(url, data={"action": "start"}, headers=HX)
    assert r.status_code == 200 and "暂停计时" in r.text and 'data-running="1"' in r.text
    started = (await AgendaItem.select(AgendaItem.timer_started_at).where(AgendaItem.id == first).first())
    assert started["timer_started_at"] is not None
    await client.post(url, data={"action": "start"}, headers=HX)  # retried: the run is not restarted
    again = await AgendaItem.select(AgendaItem.timer_started_at).where(AgendaItem.id == first).first()
    assert again == started

    # Pretend the item has been discussed for 11 minutes (of 10): the page says it ran over.
    await AgendaItem.update({AgendaItem.timer_started_at: datetime.now(UTC) - timedelta(minutes=11)}).where(
        AgendaItem.id == first)
    page = (await client.get(f"/meetings/{meeting.id}")).text
    assert 'class="timer over running"' in page and "11:0" in page
    r = await client.post(url, data={"action": "pause"}, headers=HX)
    assert "继续计时" in r.text
    row = await AgendaItem.select(AgendaItem.timer_elapsed, AgendaItem.timer_started_at).where(
        AgendaItem.id == first).first()
    assert row["timer_started_at"] is None and 660 <= row["timer_elapsed"] < 700
    await client.post(url, data={"action": "pause"}, headers=HX)
    assert (await AgendaItem.select(AgendaItem.timer_elapsed).where(AgendaItem.id == first).first()) == {
        "timer_elapsed": row["timer_elapsed"]}

    await client.post(url, data={"action": "start"}, headers=HX)
    await client.post(f"/meetings/{meeting.id}/goto", data={"position": "2"}, headers=HX)
    row = await AgendaItem.select(AgendaItem.timer_started_at).where(AgendaItem.id == first).first()
    assert row["timer_started_at"] is None  # going to another item paused it


async def test_member_cannot_edit_and_anonymous_is_redirected(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(2)
    person = await Person.objects().create(name="赵敏")
    await CouncilMember.objects().create(council=meeting.council, person=person.id, role="member",
                                         affiliation="业主代表", position=9)
    await make_user("member", "赵敏", person=person.id)
    item = (await _agenda(meeting.id))[0]["id"]
    await login(client, "member")
    page = await client.get(f"/meetings/{meeting.id}")
    assert page.status_code == 200 and "上移" not in page.text and "添加议题" not in page.text
    before = await database_state()
    for url, data in [(f"/meetings/{meeting.id}/agenda", _item("越权添加", 0)),
                      (f"/meetings/{meeting.id}/agenda/{item}/delete", {"revision": "0"}),
                      (f"/meetings/{meeting.id}/items/{item}/speakers", {"name": "某人"}),
                      (f"/meetings/{meeting.id}/items/{item}/timer", {"action": "start"})]:
        r = await client.post(url, data=data, headers=HX)
        assert r.status_code == 403, url
    assert await database_state() == before

    async with http_client(client.app) as anonymous:  # type: ignore[attr-defined]
        r = await anonymous.get(f"/meetings/{meeting.id}")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
        r = await anonymous.post(f"/meetings/{meeting.id}/agenda", data=_item("匿名", 0))
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert await database_state() == before


async def test_two_chairs_at_once_leave_consistent_rows(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(2)
    mid = meeting.id
    await login(client, "chair")
    async with http_client(client.app) as other:  # type: ignore[attr-defined]
        await login(other, "recorder")
        # Both add an item from a page rendered at the same revision: one is added, one refused.
        a, b = await asyncio.gather(
            client.post(f"/meetings/{mid}/agenda", data=_item("议题甲", 0), headers=HX),
            other.post(f"/meetings/{mid}/agenda", data=_item("议题乙", 0), headers=HX))
        assert sorted([a.status_code, b.status_code]) == [200, 422]
        assert STALE in (a if a.status_code == 422 else b).text
        assert [i["position"] for i in await _agenda(mid)] == [1, 2, 3]
        # Both move items at once: positions stay 1..n with no duplicates.
        items = await _agenda(mid)
        rev = str(await _revision(mid))
        await asyncio.gather(
            client.post(f"/meetings/{mid}/agenda/{items[2]['id']}/move", data={"direction": "up", "revision": rev},
                        headers=HX),
            other.post(f"/meetings/{mid}/agenda/{items[0]['id']}/move", data={"direction": "down", "revision": rev},
                       headers=HX))
        assert sorted(i["position"] for i in await _agenda(mid)) == [1, 2, 3]

        items = await _open(client, mid)
        item = items[0]["id"]
        # Notes from both tablets are all kept; the same form resent by both is stored once.
        await asyncio.gather(*[
            c.post(f"/meetings/{mid}/items/{item}/notes", data={"body": body, "nonce": key}, headers=HX)
            for c, body, key in [(client, "甲的记录", "n-a"), (other, "乙的记录", "n-b"),
                                 (client, "同一条", "n-same"), (other, "同一条", "n-same")]])
        assert sorted(n["body"] for n in await ItemNote.select(ItemNote.body)) == ["乙的记录", "同一条", "甲的记录"]
        await asyncio.gather(*[
            c.post(f"/meetings/{mid}/items/{item}/speakers", data={"name": "周平", "nonce": "sp-same"}, headers=HX)
            for c in (client, other, client)])
        assert await Speaker.count() == 1
        # Both go to different items at once: the meeting is on one of them, no timer left running.
        await client.post(f"/meetings/{mid}/items/{item}/timer", data={"action": "start"}, headers=HX)
        await asyncio.gather(client.post(f"/meetings/{mid}/goto", data={"position": "2"}, headers=HX),
                             other.post(f"/meetings/{mid}/goto", data={"position": "3"}, headers=HX))
        stored = await Meeting.objects().get(Meeting.id == mid)
        assert stored.current_position in (2, 3)
        assert not await AgendaItem.exists().where(
            (AgendaItem.meeting == mid) & AgendaItem.timer_started_at.is_not_null())


async def test_item_actions_answer_with_the_item_panel_only(client: httpx.AsyncClient) -> None:
    """An htmx note, goto or refused count swaps only the current item (and, out of band, the agenda
    list and message line): the sign-in panel, where the recorder may be typing a proxy's name, and
    the lifecycle buttons are not in the answer, so htmx cannot wipe them."""
    meeting = await make_meeting(2)
    mid = meeting.id
    await login(client, "recorder")
    items = await _open(client, mid)
    page = (await client.get(f"/meetings/{mid}")).text
    assert 'id="attendance"' in page and "受托人姓名" in page
    assert 'hx-target="#current-item"' in page  # the item forms target the item panel

    r = await client.post(f"/meetings/{mid}/items/{items[0]['id']}/notes",
                          data={"body": "物业承诺本周内清理楼道杂物。", "nonce": "panel-1"}, headers=HX)
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section class="current-item" id="current-item"')
    assert f'id="current-title">{items[0]["title"]}<' in r.text and "物业承诺本周内清理楼道杂物。" in r.text
    assert 'id="attendance"' not in r.text and "受托人姓名" not in r.text  # the sign-in panel is left alone
    assert 'id="console"' not in r.text and "结束会议" not in r.text and "<html" not in r.text
    assert 'id="agenda-list"' in r.text and 'hx-swap-oob="true"' in r.text  # the item is marked done there

    r = await client.post(f"/meetings/{mid}/goto", data={"position": "2"}, headers=HX)
    assert r.status_code == 200 and f'id="current-title">{items[1]["title"]}<' in r.text
    assert 'aria-current="step"' in r.text and 'id="attendance"' not in r.text

    # Refused input: 422, the error beside the field, what was typed kept — still only the item panel.
    r = await client.post(f"/meetings/{mid}/items/{items[1]['id']}/hands",
                          data={"yes": "七", "no": "1", "abstain": "0"}, headers=HX)
    assert r.status_code == 422 and "赞成人数必须是 0 或正整数" in r.text and 'value="七"' in r.text
    assert 'id="attendance"' not in r.text
    # A refused action's reason goes to the console's message line (out of band).
    r = await client.post(f"/meetings/{mid}/goto", data={"position": "42"}, headers=HX)
    assert r.status_code == 422 and 'id="console-message" hx-swap-oob="true">没有这个议题' in r.text

    # Closed on another tablet meanwhile: the note is refused and the whole console comes back,
    # retargeted, so the chair sees the meeting is over.
    await login(client, "chair")
    await client.post(f"/meetings/{mid}/close", headers=HX)
    await login(client, "recorder")
    r = await client.post(f"/meetings/{mid}/items/{items[1]['id']}/notes",
                          data={"body": "补记一条", "nonce": "panel-2"}, headers=HX)
    assert r.status_code == 422 and r.headers["hx-retarget"] == "#console"
    assert r.text.lstrip().startswith('<div id="console"') and "会议已结束" in r.text and "会议不在进行中" in r.text
    assert await ItemNote.count() == 1


async def test_every_item_action_checks_the_item_and_the_state_and_changes_nothing_when_refused(
        client: httpx.AsyncClient) -> None:
    """Each item action reads the meeting, the item and what it compares with in one query: an item
    of another meeting is refused by every action, a closed meeting refuses every action but pausing
    a timer, and a refused action leaves every row as it was."""
    a = await make_meeting(2)
    await login(client, "chair")
    b = await make_meeting(1, suffix="b")
    items = await _open(client, a.id)
    other = (await _agenda(b.id))[0]["id"]
    actions = [
        ("notes", {"body": "补记", "nonce": "n-1"}), ("speakers", {"name": "李秀英", "nonce": "s-1"}),
        ("outcome", {"outcome": "deferred"}), ("hands", {"yes": "3", "no": "0", "abstain": "0"}),
        ("timer", {"action": "start"}), ("timer", {"action": "pause"}),
    ]
    before = await database_state()
    for path, form in actions:
        r = await client.post(f"/meetings/{a.id}/items/{other}/{path}", data=form, headers=HX)
        assert r.status_code == 422 and "这个议题不属于本次会议" in r.text, (path, form)
    assert await database_state() == before

    first = items[0]["id"]
    await client.post(f"/meetings/{a.id}/items/{first}/timer", data={"action": "start"}, headers=HX)
    await AgendaItem.update({AgendaItem.timer_started_at: datetime.now(UTC) - timedelta(minutes=3)}).where(
        AgendaItem.id == first)
    await client.post(f"/meetings/{a.id}/step", data={"transition": "close"}, headers=HX)
    before = await database_state()
    for path, form in actions[:-1]:
        r = await client.post(f"/meetings/{a.id}/items/{first}/{path}", data=form, headers=HX)
        assert r.status_code == 422 and "会议不在进行中" in r.text, (path, form)
    assert await database_state() == before
    # Closing stopped the timer and kept its three minutes; pausing again is allowed and changes nothing.
    row = await AgendaItem.select(AgendaItem.timer_elapsed, AgendaItem.timer_started_at).where(
        AgendaItem.id == first).first()
    assert row["timer_started_at"] is None and 180 <= row["timer_elapsed"] < 240
    r = await client.post(f"/meetings/{a.id}/items/{first}/timer", data={"action": "pause"}, headers=HX)
    assert r.status_code == 200
    assert await database_state() == before


async def test_speakers_added_in_order_and_a_resent_one_once(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(1)
    await login(client, "chair")
    item = (await _open(client, meeting.id))[0]["id"]
    url = f"/meetings/{meeting.id}/items/{item}/speakers"
    for name, nonce in [("李秀英", "k1"), ("王建华", "k2"), ("李秀英", "k1"), ("赵敏", "k3")]:
        r = await client.post(url, data={"name": name, "affiliation": "6栋", "nonce": nonce}, headers=HX)
        assert r.status_code == 200
    rows = await Speaker.select(Speaker.name, Speaker.position).where(Speaker.item == item).order_by(Speaker.position)
    assert rows == [{"name": "李秀英", "position": 1}, {"name": "王建华", "position": 2},
                    {"name": "赵敏", "position": 3}]
    assert r.text.index("李秀英") < r.text.index("王建华") < r.text.index("赵敏")


def test_console_labels_are_what_jinja_would_translate(tmp_path: Any) -> None:
    """The console's templates get a ``_`` that answers fixed labels from a per-locale dict: the text
    must be exactly Jinja's own new-style gettext (same catalogue, escaping, placeholders)."""
    from core.meetings.labels import gettext_for
    from core.templating import build_environment

    messages = ["上一项", "暂停计时", "如：下次会议再议；交物业一周内答复", "议题结果", "不在任何目录里的文字 <b>&"]
    for locale in ("zh_CN", "en"):
        env = build_environment(tmp_path, [], locale)
        fast = gettext_for(locale)
        for message in messages:
            template = env.from_string("{{ _(m) }}|{{ f(m) }}", globals={"f": fast})
            jinja, ours = template.render(m=message).split("|")
            assert ours == jinja, (locale, message)
        assert fast("上一项") == ("Previous" if locale == "en" else "上一项")
        assert fast("上一项") is fast("上一项")  # computed once
        page = env.from_string("{{ _('共 %(n)s 项', n=x) }}|{{ f('共 %(n)s 项', n=x) }}", globals={"f": fast})
        jinja, ours = page.render(x="<3>").split("|")
        assert ours == jinja and "&lt;3&gt;" in ours


async def test_starting_one_items_timer_pauses_the_others(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(2)
    await login(client, "chair")
    first, second = (i["id"] for i in await _open(client, meeting.id))
    await client.post(f"/meetings/{meeting.id}/items/{first}/timer", data={"action": "start"}, headers=HX)
    await AgendaItem.update({AgendaItem.timer_started_at: datetime.now(UTC) - timedelta(minutes=2)}).where(
        AgendaItem.id == first)
    r = await client.post(f"/meetings/{meeting.id}/items/{second}/timer", data={"action": "start"}, headers=HX)
    assert r.status_code == 200
    rows = {r["id"]: r for r in await AgendaItem.select(
        AgendaItem.id, AgendaItem.timer_elapsed, AgendaItem.timer_started_at).where(AgendaItem.meeting == meeting.id)}
    assert rows[first]["timer_started_at"] is None and 120 <= rows[first]["timer_elapsed"] < 180
    assert rows[second]["timer_started_at"] is not None
    actions = [e["action"] for e in await AuditEvent.select(AuditEvent.action).order_by(AuditEvent.seq)]
    assert actions[-2:] == ["item.timer_started", "item.timer_started"]


async def test_a_timer_press_answers_with_the_timer_row_only(client: httpx.AsyncClient) -> None:
    """Starting or pausing the current item's timer swaps only its row (#timer-row): a note or a
    count being typed in the item panel is not re-rendered. A press on an item that is no longer the
    current one gets the item panel, retargeted, so the chair sees where the meeting is; a plain post
    still gets a redirect to the page, which shows the timer running."""
    meeting = await make_meeting(2)
    mid = meeting.id
    await login(client, "chair")
    items = await _open(client, mid)
    page = (await client.get(f"/meetings/{mid}")).text
    assert 'id="timer-row"' in page and 'hx-target="#timer-row"' in page

    events = await AuditEvent.count()
    r = await client.post(f"/meetings/{mid}/items/{items[0]['id']}/timer", data={"action": "start"}, headers=HX)
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<div class="timer-row" id="timer-row">')
    assert 'data-running="1"' in r.text and "暂停计时" in r.text and "计时中" in r.text
    assert 'id="console-message" hx-swap-oob="true"' in r.text  # a stale message is cleared
    assert 'id="current-item"' not in r.text and 'id="agenda-list"' not in r.text and "添加记录" not in r.text
    assert await AuditEvent.count() == events + 1
    row = await AgendaItem.select(AgendaItem.timer_started_at).where(AgendaItem.id == items[0]["id"]).first()
    assert row["timer_started_at"] is not None

    r = await client.post(f"/meetings/{mid}/items/{items[0]['id']}/timer", data={"action": "pause"}, headers=HX)
    assert r.status_code == 200 and r.text.lstrip().startswith('<div class="timer-row"')
    assert 'data-running="0"' in r.text and "暂停计时" not in r.text  # paused within the second: 0:00
    assert 'value="start"' in r.text

    # Another tablet moved on to the second item: a press on the first gets the whole item panel.
    await client.post(f"/meetings/{mid}/goto", data={"position": "2"}, headers=HX)
    r = await client.post(f"/meetings/{mid}/items/{items[0]['id']}/timer", data={"action": "start"}, headers=HX)
    assert r.status_code == 200 and r.headers["hx-retarget"] == "#current-item"
    assert r.text.lstrip().startswith('<section class="current-item" id="current-item"')
    assert f'id="current-title">{items[1]["title"]}<' in r.text

    r = await client.post(f"/meetings/{mid}/items/{items[1]['id']}/timer", data={"action": "start"})
    assert r.status_code == 303
    page = (await client.get(f"/meetings/{mid}")).text
    assert 'data-running="1"' in page and "暂停计时" in page
