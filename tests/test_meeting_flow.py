"""The chair's flow over HTTP, on SQLite and PostgreSQL: open, step, count hands, note, close."""

from __future__ import annotations

import httpx

from core.meetings.tables import HandCount, ItemNote, Meeting
from tests.conftest import login
from tests.factories import make_meeting

HX = {"HX-Request": "true"}


async def test_home_lists_councils_and_practice(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting()
    await login(client, "chair")
    page = await client.get("/")
    assert page.status_code == 200
    assert "锦绣苑小区三方联席会议" in page.text
    assert f'href="/meetings/{meeting.id}"' in page.text
    assert "三方联席会议" in page.text  # the practice from core's default plugin


async def test_full_chair_flow_with_htmx(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(3)
    await login(client, "chair")
    mid = meeting.id

    r = await client.post(f"/meetings/{mid}/open", headers=HX)
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<div id="console"')  # a fragment, not a page
    assert "<html" not in r.text
    assert "进行中" in r.text and "电动自行车集中充电棚" in r.text

    item_ids = [i["id"] for i in await Meeting.raw(
        "SELECT id FROM yishi_agenda_item WHERE meeting = {} ORDER BY position", mid)]
    r = await client.post(f"/meetings/{mid}/items/{item_ids[0]}/hands",
                          data={"yes": "7", "no": "1", "abstain": "1"}, headers=HX)
    assert r.status_code == 200
    assert "赞成 7，反对 1，弃权 1" in r.text and "通过" in r.text

    r = await client.post(f"/meetings/{mid}/items/{item_ids[0]}/notes",
                          data={"body": "物业同意在6栋北侧先建40个充电位。"}, headers=HX)
    assert "物业同意在6栋北侧先建40个充电位。" in r.text

    r = await client.post(f"/meetings/{mid}/goto", data={"position": "2"}, headers=HX)
    assert 'id="current-title">物业费由1.2元调整为1.5元' in r.text

    r = await client.post(f"/meetings/{mid}/items/{item_ids[1]}/hands",
                          data={"yes": "4", "no": "4", "abstain": "1"}, headers=HX)
    assert "未通过" in r.text  # 4 赞成, 4 反对: not more than half of the valid votes

    r = await client.post(f"/meetings/{mid}/close", headers=HX)
    assert "会议已结束" in r.text and "下载纪要 PDF" in r.text

    stored = await Meeting.objects().get(Meeting.id == mid)
    assert stored.state == "closed" and stored.closed_at is not None
    counts = await HandCount.select().order_by(HandCount.item)
    assert [(c["yes"], c["no"], c["abstain"]) for c in counts] == [(7, 1, 1), (4, 4, 1)]
    assert await ItemNote.count() == 1


async def test_plain_posts_redirect_and_page_shows_state(client: httpx.AsyncClient) -> None:
    """Without JavaScript every action still works: POST then 303 back to the page."""
    meeting = await make_meeting(2)
    await login(client, "chair")
    r = await client.post(f"/meetings/{meeting.id}/open")
    assert r.status_code == 303 and r.headers["location"] == f"/meetings/{meeting.id}"
    page = await client.get(f"/meetings/{meeting.id}")
    assert "<html" in page.text and "进行中" in page.text


async def test_retried_actions_apply_once(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(2)
    await login(client, "chair")
    for _ in range(3):
        r = await client.post(f"/meetings/{meeting.id}/open", headers=HX)
        assert r.status_code == 200
    item = (await Meeting.raw("SELECT id FROM yishi_agenda_item WHERE meeting = {} AND position = 1",
                              meeting.id))[0]["id"]
    for _ in range(3):
        await client.post(f"/meetings/{meeting.id}/items/{item}/hands",
                          data={"yes": "5", "no": "0", "abstain": "0"}, headers=HX)
    assert await HandCount.count() == 1
    stored = await Meeting.objects().get(Meeting.id == meeting.id)
    assert stored.state == "in_session" and stored.current_position == 1


async def test_bad_counts_show_errors_beside_fields_and_keep_input(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(1)
    await login(client, "chair")
    await client.post(f"/meetings/{meeting.id}/open", headers=HX)
    item = (await Meeting.raw("SELECT id FROM yishi_agenda_item WHERE meeting = {}", meeting.id))[0]["id"]
    r = await client.post(f"/meetings/{meeting.id}/items/{item}/hands",
                          data={"yes": "七", "no": "-1", "abstain": ""}, headers=HX)
    assert r.status_code == 422
    assert "赞成人数必须是 0 或正整数" in r.text
    assert "反对人数必须是 0 或正整数" in r.text
    assert "请填写弃权人数" in r.text
    assert 'value="七"' in r.text and 'value="-1"' in r.text  # what was typed is kept
    assert await HandCount.count() == 0

    r = await client.post(f"/meetings/{meeting.id}/items/{item}/hands",
                          data={"yes": "0", "no": "0", "abstain": "0"}, headers=HX)
    assert r.status_code == 422 and "至少要有一人表决" in r.text

    r = await client.post(f"/meetings/{meeting.id}/items/{item}/notes", data={"body": "   "}, headers=HX)
    assert r.status_code == 422 and "记录内容不能为空" in r.text
    long = "议" * 4001
    r = await client.post(f"/meetings/{meeting.id}/items/{item}/notes", data={"body": long}, headers=HX)
    assert r.status_code == 422 and "记录不能超过 4000 字" in r.text and long in r.text
    assert await ItemNote.count() == 0


async def test_actions_that_do_not_fit_the_state_are_refused(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(1)
    await login(client, "chair")
    item = (await Meeting.raw("SELECT id FROM yishi_agenda_item WHERE meeting = {}", meeting.id))[0]["id"]
    r = await client.post(f"/meetings/{meeting.id}/items/{item}/hands",
                          data={"yes": "3", "no": "0", "abstain": "0"}, headers=HX)
    assert r.status_code == 422 and "会议不在进行中" in r.text
    r = await client.post(f"/meetings/{meeting.id}/close", headers=HX)
    assert r.status_code == 422 and "会议尚未开始" in r.text

    await client.post(f"/meetings/{meeting.id}/open", headers=HX)
    await client.post(f"/meetings/{meeting.id}/close", headers=HX)
    r = await client.post(f"/meetings/{meeting.id}/items/{item}/notes", data={"body": "补记"}, headers=HX)
    assert r.status_code == 422 and "会议不在进行中" in r.text
    assert await ItemNote.count() == 0


async def test_items_of_other_meetings_and_unknown_ids(client: httpx.AsyncClient) -> None:
    a = await make_meeting(1)
    await login(client, "chair")
    b = await make_meeting(1, suffix="b")
    await client.post(f"/meetings/{a.id}/open", headers=HX)
    b_item = (await Meeting.raw("SELECT id FROM yishi_agenda_item WHERE meeting = {}", b.id))[0]["id"]
    r = await client.post(f"/meetings/{a.id}/items/{b_item}/hands",
                          data={"yes": "3", "no": "0", "abstain": "0"}, headers=HX)
    assert r.status_code == 422 and "这个议题不属于本次会议" in r.text
    assert (await client.get("/meetings/99999")).status_code == 404
    assert "页面不存在" in (await client.get("/meetings/99999")).text
    assert (await client.get("/meetings/abc")).status_code in (400, 404)
    r = await client.post(f"/meetings/{a.id}/goto", data={"position": "42"}, headers=HX)
    assert r.status_code == 422 and "没有这个议题" in r.text
