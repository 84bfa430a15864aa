"""The lean vote (core.voting.lean) answers exactly as the Litestar handler does, on SQLite and PostgreSQL.

The same requests go to the app as it runs (the lean vote in front) and to the app's Litestar handler
alone (what it was before): a vote, a second vote (您已投票), a forged token, a closed poll, a missing
or wrong CSRF token, an unverified phone, a bad choice. The status, the address the 303 leads to, the
headers and the page shown must be the same — and the lean vote must really have answered the plain
vote and the second vote itself (else this test would compare Litestar with Litestar).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from core.voting.lean import LeanVotes
from core.voting.tables import NamedBallot, Participation, SecretBallot
from tests.test_residents import answer, link_of
from tests.test_topics import resident, staff
from tests.test_voting_pages import RECEIPT, new_poll, open_, vote

#: Per-request values: the CSP nonce, the CSRF token in forms, receipt codes.
VOLATILE = re.compile(r"nonce-[A-Za-z0-9_-]+|nonce=\"[A-Za-z0-9_-]+\"|value=\"[0-9a-f]{64,}\"|receipt=[A-Z0-9]+")


def full_handler(app: Any) -> Any:
    """The app without the lean vote: what ``Litestar.__call__`` does, with the handler it wraps."""
    lean = app.asgi_handler
    assert isinstance(lean, LeanVotes)

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        scope["app"] = scope["litestar_app"] = app
        scope.setdefault("state", {})
        await lean.inner(scope, receive, send)

    return asgi


@asynccontextmanager
async def twin(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client with ``client``'s cookies as they are now (the same phone) that talks to the Litestar
    handler alone."""
    transport = httpx.ASGITransport(app=full_handler(client.app))  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=client.cookies) as c:
        c.event_hooks["request"] = list(client.event_hooks["request"])  # the CSRF header, as the page's htmx sends it
        yield c


def shape(r: httpx.Response, link: str = "") -> tuple[Any, ...]:
    """What a phone sees of an answer, without what changes on every request (and with the voter's
    own link written as ``LINK``, so two voters' answers compare)."""
    location = r.headers.get("location", "")
    text = VOLATILE.sub("…", r.text)
    if link:
        location, text = location.replace(link, "LINK"), text.replace(link, "LINK")
    headers = sorted((k, VOLATILE.sub("…", v)) for k, v in r.headers.items() if k not in ("location", "content-length"))
    return r.status_code, VOLATILE.sub("…", location), headers, text


async def test_the_lean_vote_answers_as_the_litestar_handler(client: httpx.AsyncClient, settings: Any) -> None:
    council, _entry, link_a, entries = await resident(client, settings)  # 朱秀英, verified on this phone
    link_b, link_c, link_d = (link_of(settings, entries[name]) for name in ("张桂芳", "何志明", "马晓东"))
    for link, phone in ((link_b, "3721"), (link_c, "6075"), (link_d, "7305")):  # verified on the same phone
        assert (await answer(client, link, phone)).status_code == 303
    chair = await staff(client, "chair")
    poll_id = await new_poll(chair, council)
    await open_(chair, poll_id)
    lean: LeanVotes = client.app.asgi_handler  # type: ignore[attr-defined]
    csrf = client.cookies.get("yishi_csrf") or ""

    async with twin(client) as full:
        # A vote: 朱秀英 through the lean vote, 张桂芳 through Litestar — the same 303 to the receipt.
        before = lean.answered
        fast, slow = await vote(client, link_a, poll_id, "赞成"), await vote(full, link_b, poll_id, "赞成")
        assert fast.status_code == 303 and "?receipt=" in fast.headers["location"]
        assert shape(fast, link_a) == shape(slow, link_b)
        assert lean.answered == before + 1
        for r in (fast, slow):
            page = await client.get(r.headers["location"])
            assert "您的投票已记录" in page.text
            code = RECEIPT.search(page.text)
            assert code is not None and r.headers["location"].endswith(code.group(1))
        stored = await NamedBallot.select(NamedBallot.choices, NamedBallot.receipt).order_by(NamedBallot.id)
        assert [s["choices"] for s in stored] == ['["赞成"]', '["赞成"]']
        assert {s["receipt"] for s in stored} == {fast.headers["location"][-8:], slow.headers["location"][-8:]}

        # Again, whatever the choice: 您已投票 — the 303 back to the poll page, nothing more stored.
        for link in (link_a, link_b):
            before = lean.answered
            fast, slow = await vote(client, link, poll_id, "反对"), await vote(full, link, poll_id, "反对")
            assert fast.status_code == 303 and fast.headers["location"] == f"{link}/polls/{poll_id}"
            assert shape(fast) == shape(slow)
            assert lean.answered == before + 1
            assert "您已投票" in (await client.get(fast.headers["location"])).text
        assert await Participation.count().where(Participation.poll == poll_id) == 2

        # Everything else goes to the Litestar handler: the same page, and the lean vote answered none.
        forged = link_c[:-3] + ("aaa" if not link_c.endswith("aaa") else "bbb")
        unverified = link_of(settings, entries["宋小军"])  # this phone never answered 宋小军's check
        cases = [
            ("forged token", lambda c: vote(c, forged, poll_id, "赞成")),
            ("unverified phone", lambda c: vote(c, unverified, poll_id, "赞成")),
            ("no such option", lambda c: vote(c, link_c, poll_id, "同意吧")),
            ("two choices", lambda c: vote(c, link_c, poll_id, "赞成", "反对")),
            ("nothing chosen", lambda c: vote(c, link_c, poll_id)),
            ("missing CSRF token", lambda c: c.post(f"{link_c}/polls/{poll_id}", data={"choice": "赞成"},
                                                    headers={"x-csrftoken": ""})),
            ("wrong CSRF token", lambda c: c.post(f"{link_c}/polls/{poll_id}", data={"choice": "赞成"},
                                                  headers={"x-csrftoken": csrf[:-4] + "0000"})),
            ("a poll that does not exist", lambda c: vote(c, link_c, 999_999, "赞成")),
        ]
        for name, send in cases:
            before = lean.answered
            fast, slow = await send(client), await send(full)
            assert fast.status_code != 303, name
            assert shape(fast) == shape(slow), name
            assert lean.answered == before, name
        assert await Participation.count().where(Participation.poll == poll_id) == 2

        # The CSRF token in the form field (as the page's form sends it) is as good as the header.
        form = {"choice": "弃权", "_csrf_token": csrf}
        r = await client.post(f"{link_c}/polls/{poll_id}", data=form, headers={"x-csrftoken": ""})
        assert r.status_code == 303 and "?receipt=" in r.headers["location"]

        # A closed poll: 投票已结束 from the Litestar handler, for both.
        assert (await chair.post(f"/polls/{poll_id}/close")).status_code == 303
        before = lean.answered
        fast, slow = await vote(client, link_d, poll_id, "赞成"), await vote(full, link_d, poll_id, "赞成")
        assert fast.status_code == 422 and "投票已结束" in fast.text
        assert shape(fast) == shape(slow) and lean.answered == before
        assert await Participation.count().where(Participation.poll == poll_id) == 3


async def test_a_secret_poll_through_the_lean_vote_keeps_ballot_and_voter_apart(client: httpx.AsyncClient,
                                                                              settings: Any) -> None:
    council, _entry, link, _entries = await resident(client, settings)
    chair = await staff(client, "chair")
    poll_id = await new_poll(chair, council, visibility="secret")
    await open_(chair, poll_id)
    lean: LeanVotes = client.app.asgi_handler  # type: ignore[attr-defined]
    r = await vote(client, link, poll_id, "反对")
    assert r.status_code == 303 and lean.answered == 1
    receipt = r.headers["location"].rsplit("?receipt=", 1)[1]
    assert "您的投票已记录" in (await client.get(r.headers["location"])).text
    assert await NamedBallot.count() == 0
    ballots = await SecretBallot.select().where(SecretBallot.poll == poll_id)
    assert len(ballots) == 1 and set(ballots[0]) == {"id", "poll", "choices"} and ballots[0]["choices"] == '["反对"]'
    taken = await Participation.select(Participation.receipt, Participation.voter_key).where(
        Participation.poll == poll_id)
    assert [t["receipt"] for t in taken] == [receipt] and taken[0]["voter_key"].startswith("entry:")
