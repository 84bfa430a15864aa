"""The voting pages over HTTP, on SQLite and PostgreSQL: a resident votes from their personal link
(once — a second try says 您已投票), the chair creates, opens and closes a poll and sees the result,
and who may open which page.

The estate is 锦绣苑小区 (tests.test_residents.seed: five roster entries, 三方联席会议 asks for the
phone's last four digits).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from core.meetings.tables import AgendaItem, Meeting
from core.org.tables import Council
from core.voting.tables import NamedBallot, Participation, Poll, SecretBallot
from tests.conftest import login
from tests.factories import make_council, make_meeting
from tests.test_residents import link_of
from tests.test_topics import add_member, resident, staff

HX = {"HX-Request": "true"}
RECEIPT = re.compile(r'id="vote-receipt">([A-Z0-9]+)<')


async def new_poll(chair: httpx.AsyncClient, council: Council, **values: str) -> int:
    """The chair creates a poll on the first item of a meeting of ``council`` through the form; its id."""
    meeting = await Meeting.select(Meeting.id).where(Meeting.council == council.id).first()
    item = await AgendaItem.select(AgendaItem.id).where(AgendaItem.meeting == meeting["id"]).order_by(
        AgendaItem.position).first()
    form = {"item": str(item["id"]), "title": "是否同意在3栋门前加装充电桩", "method": "yesno", "options": "",
            "min_choices": "1", "max_choices": "1", "rule": "simple_majority", "visibility": "named",
            "electorate": "roster_person", "days": "", **values}
    r = await chair.post(f"/meetings/{meeting['id']}/polls/new", data=form)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


async def open_(chair: httpx.AsyncClient, poll_id: int) -> None:
    r = await chair.post(f"/polls/{poll_id}/open")
    assert r.status_code == 303, r.text


async def vote(client: httpx.AsyncClient, link: str, poll_id: int, *choices: str,
               headers: dict[str, str] | None = None) -> httpx.Response:
    return await client.post(f"{link}/polls/{poll_id}", data={"choice": list(choices)}, headers=headers or {})


async def ballots(poll_id: int) -> int:
    return await Participation.count().where(Participation.poll == poll_id)


async def setup(client: httpx.AsyncClient, settings: Any, **poll: str) -> tuple[Council, str, int, httpx.AsyncClient]:
    council, _entry, link, _entries = await resident(client, settings)
    chair = await staff(client, "chair")
    poll_id = await new_poll(chair, council, **poll)
    await open_(chair, poll_id)
    return council, link, poll_id, chair


# -------------------------------------------------------------------------------------------------
# The resident
# -------------------------------------------------------------------------------------------------


async def test_resident_votes_once_and_a_second_try_says_already_voted(client: httpx.AsyncClient,
                                                                        settings: Any) -> None:
    _council, link, poll_id, _chair = await setup(client, settings)
    home = await client.get(link)
    assert f'href="{link}/polls/{poll_id}"' in home.text and "是否同意在3栋门前加装充电桩" in home.text

    page = await client.get(f"{link}/polls/{poll_id}")
    assert page.status_code == 200
    assert "是否同意在3栋门前加装充电桩" in page.text
    assert page.text.count('type="radio" name="choice"') == 3  # 赞成, 反对, 弃权
    assert "投票" in page.text and "您已投票" not in page.text

    r = await vote(client, link, poll_id, "赞成")
    assert r.status_code == 303
    done = await client.get(r.headers["location"])
    assert "您的投票已记录" in done.text
    receipt = RECEIPT.search(done.text)
    assert receipt is not None
    row = await NamedBallot.select().where(NamedBallot.poll == poll_id).first()
    assert row["receipt"] == receipt.group(1) and row["voter_key"].startswith("entry:")

    again = await client.get(f"{link}/polls/{poll_id}")
    assert "您已投票" in again.text and 'name="choice"' not in again.text
    second = await vote(client, link, poll_id, "反对")
    assert second.status_code == 303
    assert "您已投票" in (await client.get(second.headers["location"])).text
    hx = await vote(client, link, poll_id, "反对", headers=HX)
    assert hx.status_code == 200 and "您已投票" in hx.text and "<html" not in hx.text
    assert await ballots(poll_id) == 1
    stored = await NamedBallot.select(NamedBallot.choices).where(NamedBallot.poll == poll_id)
    assert [s["choices"] for s in stored] == ['["赞成"]']
    home = await client.get(link)
    assert "✓ 您已投票" in home.text


async def test_htmx_vote_swaps_in_the_receipt(client: httpx.AsyncClient, settings: Any) -> None:
    _council, link, poll_id, _chair = await setup(client, settings, visibility="secret")
    r = await vote(client, link, poll_id, "反对", headers=HX)
    assert r.status_code == 200 and "您的投票已记录" in r.text and "<html" not in r.text
    assert RECEIPT.search(r.text)
    assert await SecretBallot.count().where(SecretBallot.poll == poll_id) == 1
    assert await NamedBallot.count() == 0


async def test_bad_choices_are_answered_beside_the_options_and_nothing_counts(client: httpx.AsyncClient,
                                                                              settings: Any) -> None:
    _council, link, poll_id, _chair = await setup(client, settings)
    empty = await vote(client, link, poll_id)
    assert empty.status_code == 422 and "请选择后再提交" in empty.text and 'id="vote-error"' in empty.text
    unknown = await vote(client, link, poll_id, "同意吧", headers=HX)
    assert unknown.status_code == 422 and 'id="vote-error"' in unknown.text and "<html" not in unknown.text
    two = await vote(client, link, poll_id, "赞成", "反对")
    assert two.status_code == 422 and 'id="vote-error"' in two.text
    assert await ballots(poll_id) == 0
    # Still free to vote properly afterwards.
    assert (await vote(client, link, poll_id, "弃权")).status_code == 303
    assert await ballots(poll_id) == 1


async def test_multi_choice_shows_checkboxes_and_its_limits(client: httpx.AsyncClient, settings: Any) -> None:
    _council, link, poll_id, _chair = await setup(
        client, settings, method="multi", options="健身器材\n儿童滑梯\n休息座椅\n遮阳棚", min_choices="1",
        max_choices="2", title="小区公共收益优先用于哪些设施")
    page = await client.get(f"{link}/polls/{poll_id}")
    assert page.text.count('type="checkbox" name="choice"') == 4 and "请选 1 至 2 项" in page.text
    three = await vote(client, link, poll_id, "健身器材", "儿童滑梯", "遮阳棚")
    assert three.status_code == 422 and "2" in three.text and await ballots(poll_id) == 0
    assert (await vote(client, link, poll_id, "健身器材", "遮阳棚")).status_code == 303


async def test_forged_token_and_another_councils_poll_are_not_found(client: httpx.AsyncClient,
                                                                    settings: Any) -> None:
    _council, link, poll_id, _chair = await setup(client, settings)
    forged = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    for r in (await client.get(f"{forged}/polls/{poll_id}"), await vote(client, forged, poll_id, "赞成")):
        assert r.status_code == 404 and "链接无效" in r.text
    other = await make_council(suffix="_b")
    await make_meeting(1, council=other)
    chair_b = await staff(client, "chair_b")
    foreign = await new_poll(chair_b, other, electorate="members_present")
    assert (await client.get(f"{link}/polls/{foreign}")).status_code == 404
    assert (await vote(client, link, foreign, "赞成")).status_code == 404
    assert (await client.get(f"{link}/polls/999999")).status_code == 404
    assert await Participation.count() == 0


async def test_a_closed_poll_takes_no_vote(client: httpx.AsyncClient, settings: Any) -> None:
    _council, link, poll_id, chair = await setup(client, settings)
    assert (await chair.post(f"/polls/{poll_id}/close")).status_code == 303
    page = await client.get(f"{link}/polls/{poll_id}")
    assert "投票已结束" in page.text and 'name="choice"' not in page.text
    r = await vote(client, link, poll_id, "赞成")
    assert r.status_code == 422 and "投票已结束" in r.text
    assert await ballots(poll_id) == 0


async def test_outside_the_electorate_sees_why(client: httpx.AsyncClient, settings: Any) -> None:
    council, _entry, _link, entries = await resident(client, settings)  # 朱秀英, an owner
    chair = await staff(client, "chair")
    poll_id = await new_poll(chair, council, electorate="roster_area", rule="civil_code_278")
    await open_(chair, poll_id)
    tenant = link_of(settings, entries["马晓东"])  # a tenant: not in an owners' vote by area
    phone = await staff(client, "recorder")  # any other client: a second phone
    phone.cookies.clear()
    from tests.test_residents import answer

    assert (await answer(phone, tenant, "7305")).status_code == 303
    page = await phone.get(f"{tenant}/polls/{poll_id}")
    assert "您不在本次表决的范围内" in page.text and 'name="choice"' not in page.text
    r = await vote(phone, tenant, poll_id, "赞成")
    assert r.status_code == 422 and "范围" in r.text
    assert await ballots(poll_id) == 0


# -------------------------------------------------------------------------------------------------
# The chair
# -------------------------------------------------------------------------------------------------


async def test_chair_creates_opens_and_closes_and_sees_the_result(client: httpx.AsyncClient, settings: Any) -> None:
    _council, link, poll_id, chair = await setup(client, settings, electorate="roster_area", rule="civil_code_278")
    form = await chair.get(f"/meetings/{(await Meeting.select().first())['id']}/polls/new")
    assert "民法典" in form.text and "第二百七十八条" in form.text  # the rules with their citations
    page = await chair.get(f"/polls/{poll_id}")
    assert "投票中" in page.text and re.search(r'id="poll-cast">0<', page.text)
    assert re.search(r'id="poll-electorate">3<', page.text)  # three owners with area
    assert (await vote(client, link, poll_id, "赞成")).status_code == 303
    page = await chair.get(f"/polls/{poll_id}")
    assert re.search(r'id="poll-cast">1<', page.text)
    r = await chair.post(f"/polls/{poll_id}/paper", data={"voter": "张桂芳", "choice": "赞成"})
    assert r.status_code == 303
    r = await chair.post(f"/polls/{poll_id}/close", headers=HX)
    assert r.status_code == 200 and "表决结果" in r.text
    result = await chair.get(f"/polls/{poll_id}")
    text = result.text
    # Two owners of three took part (2/3 of heads: enough) but with 215.9 of 359.5 m² (not 2/3 of the area):
    # 第278条 needs both, so the poll fails although everyone who voted agreed.
    assert "已结束" in text and 'id="poll-outcome">未通过<' in text
    assert "第二百七十八条" in text and "专有部分面积占比三分之二以上" in text  # the citation and the article
    assert "✗ 参与表决的专有部分面积占比 ≥ 2/3：未达到（215.9/359.5 m²）" in text
    assert "✓ 参与表决的人数占比 ≥ 2/3：已达到（2/3 人）" in text
    assert text.count("poll-threshold met") == 3 and text.count("poll-threshold unmet") == 1
    assert 'name="voter"' not in text and "开始投票" not in text
    assert (await Poll.select(Poll.state).where(Poll.id == poll_id).first())["state"] == "closed"


async def test_secret_poll_never_shows_a_running_result(client: httpx.AsyncClient, settings: Any) -> None:
    _council, link, poll_id, chair = await setup(client, settings, visibility="secret")
    assert (await vote(client, link, poll_id, "反对")).status_code == 303
    page = await chair.get(f"/polls/{poll_id}")
    assert re.search(r'id="poll-cast">1<', page.text)
    assert "poll-result" not in page.text and "反对</td>" not in page.text
    await chair.post(f"/polls/{poll_id}/close")
    closed = await chair.get(f"/polls/{poll_id}")
    assert 'id="poll-outcome">未通过<' in closed.text


async def test_the_projector_counts_votes_on_the_current_item_and_shows_the_outcome(
        client: httpx.AsyncClient, settings: Any) -> None:
    council, link, poll_id, chair = await setup(client, settings, visibility="secret")
    meeting = await Meeting.select(Meeting.id).where(Meeting.council == council.id).first()
    await chair.post(f"/meetings/{meeting['id']}/open")  # the poll's item (the first) is now current
    screen = f"/meetings/{meeting['id']}/screen"
    assert re.search(r'已投<b>0</b>', (await chair.get(screen)).text)
    assert (await vote(client, link, poll_id, "反对")).status_code == 303
    shown = (await chair.get(screen)).text
    assert re.search(r'已投<b>1</b>', shown) and "反对" not in shown.split('id="screen-poll"')[1][:400]
    await chair.post(f"/polls/{poll_id}/close")
    assert "未通过" in (await chair.get(screen)).text.split('id="screen-poll"')[1][:600]


async def test_new_poll_form_errors_are_shown_and_nothing_is_created(client: httpx.AsyncClient) -> None:
    await make_meeting(2)
    await login(client, "chair")
    meeting = await Meeting.select().first()
    r = await client.post(f"/meetings/{meeting['id']}/polls/new", data={
        "title": "", "method": "single", "options": "只有一个", "rule": "no_such_rule", "visibility": "named",
        "electorate": "members_present"})
    assert r.status_code == 422
    assert "请填写表决事项" in r.text and "请至少填写两个选项" in r.text and "请选择表决规则" in r.text
    secret_area = await client.post(f"/meetings/{meeting['id']}/polls/new", data={
        "title": "加装电梯", "method": "yesno", "rule": "civil_code_278", "visibility": "secret",
        "electorate": "roster_area"})
    assert secret_area.status_code == 422 and "无记名" in secret_area.text
    assert await Poll.count() == 0


async def test_who_may_open_the_chairs_pages(client: httpx.AsyncClient, settings: Any) -> None:
    council, _link, poll_id, chair = await setup(client, settings)
    meeting = await Meeting.select(Meeting.id).where(Meeting.council == council.id).first()
    # A resident (no login) is sent to log in.
    phone = client
    for url in (f"/polls/{poll_id}", f"/meetings/{meeting['id']}/polls/new"):
        r = await phone.get(url)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), url
    r = await phone.post(f"/polls/{poll_id}/close")
    assert r.status_code in (303, 401) and await Poll.select(Poll.state).where(Poll.id == poll_id).first() == {
        "state": "open"}
    # Another council's chair is forbidden.
    other = await make_council(suffix="_b")
    await make_meeting(1, council=other)
    chair_b = await staff(client, "chair_b")
    for method, url in (("GET", f"/polls/{poll_id}"), ("POST", f"/polls/{poll_id}/close"),
                        ("GET", f"/meetings/{meeting['id']}/polls/new"), ("GET", f"/live/polls/{poll_id}")):
        r = await chair_b.request(method, url)
        assert r.status_code == 403, (method, url, r.status_code)
    assert (await Poll.select(Poll.state).where(Poll.id == poll_id).first())["state"] == "open"
    assert (await chair.get(f"/polls/{poll_id}")).status_code == 200


async def test_the_console_leads_the_chair_to_a_new_poll(client: httpx.AsyncClient, settings: Any) -> None:
    council, _entry, _link, _entries = await resident(client, settings)
    meeting = await Meeting.select(Meeting.id).where(Meeting.council == council.id).first()
    chair = await staff(client, "chair")
    console = (await chair.get(f"/meetings/{meeting['id']}")).text
    assert f'href="/meetings/{meeting["id"]}/polls/new"' in console and "发起表决" in console
    await add_member(council, "weiyuan")  # a member sees the meeting but runs nothing
    member = await staff(client, "weiyuan")
    assert "polls/new" not in (await member.get(f"/meetings/{meeting['id']}")).text
