"""Votes over HTTP against a real server (``yishi serve --workers 2``), on SQLite and PostgreSQL.

- 100 concurrent submissions by one voter: every answer is "您的投票已记录" or "您已投票", and the
  database holds exactly one participation and one ballot.
- ``kill -9`` in the middle of a load run: after a restart, every vote the server acknowledged (the
  303 with a receipt) is in the database with that receipt, nothing is stored twice, and the voters
  who were cut off can vote.

The seeding, the server and the load are bench/votes.py's, so the bench and these tests measure the
same thing.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench import votes

VOTERS_KILL = 600
KILL_AFTER = 150


@pytest.fixture
def seeded(database_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A migrated database with an estate of residents and an open named yes/no poll on all of them."""
    secret = secrets.token_urlsafe(32)
    data_dir = tmp_path / "data"
    poll_id, voters = asyncio.run(votes.seed(database_url, data_dir, VOTERS_KILL, secret))
    yield {"url": database_url, "data_dir": data_dir, "secret": secret, "poll": poll_id, "voters": voters}


async def _rows(url: str, poll_id: int) -> dict[str, Any]:
    from core import db
    from core.voting.tables import NamedBallot, Participation

    engine = await db.connect(url)
    try:
        parts = await Participation.select(Participation.voter_key, Participation.cast_by).where(
            Participation.poll == poll_id)
        ballots = await NamedBallot.select(NamedBallot.voter_key, NamedBallot.receipt).where(
            NamedBallot.poll == poll_id)
    finally:
        await db.disconnect(engine)
    return {"participations": parts, "ballots": ballots}


async def _hammer(base: str, voter: dict[str, str], n: int, htmx: bool = True) -> list[httpx.Response]:
    """``n`` simultaneous submissions of one ballot from one phone (a nervous thumb, a bad network):
    HTMX ones (the Litestar handler answers), or plain form posts (the lean vote, core.voting.lean)."""
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        client.cookies.set(voter["cookie_name"], voter["cookie"])
        await client.get(voter["path"])
        headers = {"x-csrftoken": client.cookies.get("yishi_csrf") or ""}
        if htmx:
            headers["hx-request"] = "true"
        return await asyncio.gather(*(client.post(voter["path"], data={"choice": "赞成" if i % 2 else "反对"},
                                                  headers=headers) for i in range(n)))


def test_100_concurrent_submissions_by_one_voter_over_http_store_one_ballot(seeded: dict[str, Any]) -> None:
    proc, base = votes.start_server(seeded["url"], seeded["data_dir"], seeded["secret"], workers=2)
    try:
        voter = seeded["voters"][7]
        answers = asyncio.run(_hammer(base, voter, 100))
    finally:
        votes.stop_server(proc)
    recorded = [r for r in answers if r.status_code == 200 and "您的投票已记录" in r.text]
    already = [r for r in answers if r.status_code == 200 and "您已投票" in r.text and "您的投票已记录" not in r.text]
    assert len(recorded) == 1, [(r.status_code, r.text[:200]) for r in answers if r not in recorded][:3]
    assert len(already) == 99, [(r.status_code, r.text[:300]) for r in answers if r not in recorded + already][:3]
    rows = asyncio.run(_rows(seeded["url"], seeded["poll"]))
    assert len(rows["participations"]) == 1 and len(rows["ballots"]) == 1
    receipt = rows["ballots"][0]["receipt"]
    assert receipt in recorded[0].text  # the receipt shown is the one stored


def test_100_concurrent_plain_posts_by_one_voter_store_one_ballot(seeded: dict[str, Any]) -> None:
    """The same through the lean vote: one 303 to the receipt, 99 back to the poll page (您已投票)."""
    proc, base = votes.start_server(seeded["url"], seeded["data_dir"], seeded["secret"], workers=2)
    try:
        voter = seeded["voters"][8]
        answers = asyncio.run(_hammer(base, voter, 100, htmx=False))
    finally:
        votes.stop_server(proc)
    assert [r.status_code for r in answers] == [303] * 100
    recorded = [r.headers["location"] for r in answers if "?receipt=" in r.headers["location"]]
    assert len(recorded) == 1
    assert {r.headers["location"] for r in answers} == {recorded[0], voter["path"]}
    rows = asyncio.run(_rows(seeded["url"], seeded["poll"]))
    assert len(rows["participations"]) == 1 and len(rows["ballots"]) == 1
    assert recorded[0].endswith("?receipt=" + rows["ballots"][0]["receipt"])


def test_closing_mid_load_counts_every_acknowledged_vote_and_takes_none_after(seeded: dict[str, Any]) -> None:
    """The chair closes while residents vote: every vote acknowledged before the answer to the close is
    in the result, and no ballot is stored after it — whatever the lean vote had read before."""
    from core import db
    from core.voting import polls

    receipts: dict[str, str] = {}
    proc, base = votes.start_server(seeded["url"], seeded["data_dir"], seeded["secret"], workers=2)

    async def close_mid_load() -> tuple[dict[str, float], dict[str, Any]]:
        run = asyncio.create_task(votes.vote_all(base, seeded["voters"], 16, receipts))
        while len(receipts) < KILL_AFTER and not run.done():
            await asyncio.sleep(0.005)
        engine = await db.connect(seeded["url"])
        try:
            result = await polls.close_poll(seeded["poll"], actor="test")
        finally:
            await db.disconnect(engine)
        return await run, result

    try:
        load, result = asyncio.run(close_mid_load())
    finally:
        votes.stop_server(proc)
    rows = asyncio.run(_rows(seeded["url"], seeded["poll"]))
    stored = {b["receipt"] for b in rows["ballots"]}
    assert set(receipts.values()) == stored  # acknowledged = stored, before and after the close
    assert len(rows["participations"]) == len(stored) == result["cast"]  # all counted, none after
    assert KILL_AFTER <= len(stored) < len(seeded["voters"]) and load["failed"] > 0  # the rest: 投票已结束


def test_kill_9_mid_load_loses_no_acknowledged_vote(seeded: dict[str, Any]) -> None:
    voters = seeded["voters"]
    receipts: dict[str, str] = {}
    proc, base = votes.start_server(seeded["url"], seeded["data_dir"], seeded["secret"], workers=2)

    async def load_then_kill() -> dict[str, float]:
        run = asyncio.create_task(votes.vote_all(base, voters, 16, receipts))
        while len(receipts) < KILL_AFTER and not run.done():
            await asyncio.sleep(0.005)
        votes.kill_server(proc)  # SIGKILL to the supervisor and both workers, mid-request
        return await run

    try:
        load = asyncio.run(load_then_kill())
    finally:
        votes.kill_server(proc)
    acked = dict(receipts)
    assert KILL_AFTER <= len(acked) < len(voters), "the kill came after the load had finished"
    assert load["failed"] > 0  # requests were cut off

    # Restart on the same database (SQLite replays its WAL; PostgreSQL recovers on its own).
    proc, base = votes.start_server(seeded["url"], seeded["data_dir"], seeded["secret"], workers=2)
    try:
        rows = asyncio.run(_rows(seeded["url"], seeded["poll"]))
        by_path = {v["path"]: v for v in voters}
        stored = {b["receipt"] for b in rows["ballots"]}
        lost = [path for path, receipt in acked.items() if receipt not in stored]
        assert lost == [], f"{len(lost)} acknowledged votes lost"
        keys = [p["voter_key"] for p in rows["participations"]]
        assert len(keys) == len(set(keys)) == len(rows["ballots"]) >= len(acked)
        # Everyone votes (again): the acknowledged hear 您已投票, the cut-off ones are counted now.
        again = asyncio.run(votes.vote_all(base, voters, 16))
        assert again["failed"] == 0
        assert again["acked"] + again["refused"] == len(voters) and again["refused"] >= len(acked)
        assert all(by_path[p] for p in acked)
    finally:
        votes.stop_server(proc)
    final = asyncio.run(_rows(seeded["url"], seeded["poll"]))
    keys = [p["voter_key"] for p in final["participations"]]
    assert len(keys) == len(set(keys)) == len(final["ballots"]) == len(voters)
