"""The projector page (投屏), on SQLite and PostgreSQL: what the TV shows, and who may open it — members
by login, a TV browser by its keyed screen link, nobody with a forged key.
"""

from __future__ import annotations

import re

import httpx
import pytest

from core.meetings import attendance
from core.meetings.projector import screen_key
from core.meetings.tables import AgendaItem, Attendance, HandCount, Meeting
from core.org.tables import Person
from core.residents.tokens import make_token
from tests.conftest import login
from tests.factories import TOPICS, make_council, make_meeting, make_user


def settings_of(client: httpx.AsyncClient):
    return client.app.state.settings  # type: ignore[attr-defined]


async def sitting_meeting(current: int = 2) -> Meeting:
    """In session on item ``current`` of four; item 1 passed by show of hands (7:1:1)."""
    meeting = await make_meeting(n_items=4, state="in_session")
    await Meeting.update({Meeting.current_position: current}).where(Meeting.id == meeting.id)
    first = await AgendaItem.select(AgendaItem.id).where(
        (AgendaItem.meeting == meeting.id) & (AgendaItem.position == 1)).first()
    await HandCount.objects().create(item=first["id"], yes=7, no=1, abstain=1)
    return meeting


def text_of(html: str, element_id: str) -> str:
    """The visible text inside the element with ``element_id`` (tags dropped, spaces squashed)."""
    start = html.index(f'id="{element_id}"')
    body = html[start:].split(">", 1)[1]
    depth, out, i = 1, [], 0
    for m in re.finditer(r"<(/?)(\w+)[^>]*?(/?)>", body):
        if m.group(2) in ("br", "img", "input", "path", "rect"):
            continue
        depth += -1 if m.group(1) else (0 if m.group(3) else 1)
        if depth == 0:
            out.append(body[i:m.start()])
            break
    text = re.sub(r"<[^>]+>", " ", out[0] if out else body)
    return re.sub(r"\s+", " ", text).strip()


async def test_member_sees_agenda_current_item_counts_and_signin(client: httpx.AsyncClient) -> None:
    meeting = await sitting_meeting(current=2)
    chair = await Person.select(Person.id).where(Person.name == "张国庆").first()
    await Attendance.objects().create(meeting=meeting.id, person=chair["id"], name="张国庆", status="present")
    await login(client, "chair")
    r = await client.get(f"/meetings/{meeting.id}/screen")
    assert r.status_code == 200
    html = r.text
    assert text_of(html, "screen-current") == f"当前议题 2 / 4 {TOPICS[1]}"
    assert "讨论中" in text_of(html, "screen-counts")
    agenda = text_of(html, "screen-agenda")
    assert agenda.index(TOPICS[0]) < agenda.index(TOPICS[1]) < agenda.index(TOPICS[3])
    current_li = re.search(r'<li class="current"[^>]*aria-current="step">(.*?)</li>', html, re.S)
    assert current_li and TOPICS[1] in current_li.group(1)
    assert "通过" in agenda  # item 1's result
    # 应到: chair, recorder and the property representative; 实到: the chair.
    assert text_of(html, "screen-signin") == "应到 3 实到 1"
    assert f'data-live="/live/meetings/{meeting.id}"' in html and 'data-live-on="state item hands' in html
    assert f'data-live-get="/meetings/{meeting.id}/screen"' in html
    assert html.split('id="screen-qr"', 1)[1].lstrip(">").lstrip().startswith("<svg")
    key = screen_key(settings_of(client), meeting.id)
    assert f"/public/screen/{key}" in text_of(html, "screen-link")


async def test_screen_styles_come_from_a_static_file(client: httpx.AsyncClient) -> None:
    """No inline <style>: the CSP allows styles from 'self' and the page's own nonce, and a live
    re-fetch of the screen must not bring a style the browser then refuses (a console error)."""
    meeting = await sitting_meeting()
    await login(client, "chair")
    html = (await client.get(f"/meetings/{meeting.id}/screen")).text
    assert "<style" not in html and ' style="' not in html
    assert '<link rel="stylesheet" href="/static/css/projector.css">' in html
    css = await client.get("/static/css/projector.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "#screen {" in css.text and "ol.agenda li.current" in css.text and "font-size: 60px" in css.text


async def test_hand_count_and_outcome_of_the_current_item(client: httpx.AsyncClient) -> None:
    meeting = await sitting_meeting(current=1)
    await AgendaItem.update({AgendaItem.outcome: "vote"}).where(
        (AgendaItem.meeting == meeting.id) & (AgendaItem.position == 1))
    await login(client, "recorder")
    counts = text_of((await client.get(f"/meetings/{meeting.id}/screen")).text, "screen-counts")
    assert counts == "赞成 7 反对 1 弃权 1 通过 表决"


async def test_closed_meeting_says_so_and_offers_no_sign_in(client: httpx.AsyncClient) -> None:
    meeting = await make_meeting(n_items=2, state="closed")
    await login(client, "chair")
    html = (await client.get(f"/meetings/{meeting.id}/screen")).text
    assert text_of(html, "screen-current") == "会议已结束"
    assert 'id="screen-qr"' not in html and 'aria-current="step"' not in html


async def test_screen_link_opens_without_login_and_shows_no_names(client: httpx.AsyncClient) -> None:
    meeting = await sitting_meeting()
    key = screen_key(settings_of(client), meeting.id)
    r = await client.get(f"/public/screen/{key}")
    assert r.status_code == 200
    html = r.text
    assert TOPICS[1] in text_of(html, "screen-current")
    assert f'data-live="/public/live/meetings/{meeting.id}"' in html
    assert f'data-live-get="/public/screen/{key}"' in html
    assert 'id="screen-link"' not in html  # the TV is not handed the link again
    for name in ("张国庆", "黄丽娟", "吴海涛"):
        assert name not in html


def forged_keys(settings, meeting_id: int, other_id: int) -> list[str]:
    key = screen_key(settings, meeting_id)
    entry, generation, mac = key.split(".")
    flipped = mac[:-1] + ("A" if mac[-1] != "A" else "B")
    return [
        f"{entry}.{generation}.{flipped}",  # one character of the mac changed
        key[:-1],  # cut short
        f"{other_id}.{generation}.{mac}",  # another meeting's id with this meeting's mac
        f"{entry}.2.{mac}",
        attendance.join_key(settings, meeting_id),  # the sign-in QR's key opens no screen
        make_token(settings.secret(), meeting_id, 1),  # nor does a resident's token
        make_token("another-deployment", meeting_id, 1, purpose="yishi-meeting-screen"),
        "x" * 30,
    ]


async def test_forged_or_borrowed_keys_are_refused(client: httpx.AsyncClient) -> None:
    meeting = await sitting_meeting()
    other = await make_meeting(n_items=1, council=await make_council(suffix="_b"), suffix="_b")
    for key in forged_keys(settings_of(client), meeting.id, other.id):
        r = await client.get(f"/public/screen/{key}")
        assert r.status_code == 404, key
        assert TOPICS[1] not in r.text and "投屏链接无效" in r.text, key


@pytest.mark.parametrize("who", ["anonymous", "outsider"])
async def test_screen_without_the_permission_is_refused(client: httpx.AsyncClient, who: str) -> None:
    meeting = await sitting_meeting()
    if who == "outsider":
        await make_user("outsider")
        await login(client, "outsider")
        r = await client.get(f"/meetings/{meeting.id}/screen")
        assert r.status_code == 403
    else:
        r = await client.get(f"/meetings/{meeting.id}/screen", follow_redirects=False)
        assert r.status_code in (303, 401) and TOPICS[1] not in r.text
