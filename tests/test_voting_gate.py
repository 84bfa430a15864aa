"""The vote's fast link check (core.voting.gate) gives resident_gate's answers, on SQLite and PostgreSQL:
the same entry and councils for a valid link, and the residents pages' own refusal for a revoked or
re-issued link, an unverified phone and a forged token — and nothing is counted then."""

from __future__ import annotations

from typing import Any

import httpx

from core.org.tables import Council, Unit
from core.residents import services
from core.residents.tables import RosterEntry
from core.voting.gate import _councils, _entry
from core.voting.tables import Participation
from tests.test_residents import link_of
from tests.test_voting_pages import setup, vote


async def test_the_same_entry_and_councils_as_the_residents_services(client: httpx.AsyncClient,
                                                                    settings: Any) -> None:
    council, _link, _poll_id, _chair = await setup(client, settings)
    # A council higher up the tree too, so the order (nearest first) matters.
    estate = await Unit.select(Unit.parent).where(Unit.id == council.unit).first()
    if estate["parent"] is not None:
        await Council.objects().create(name="街道议事会", unit=estate["parent"], practice="sanfang")
    for row in await RosterEntry.select(RosterEntry.id):
        fast = await _entry(row["id"])
        slow = await RosterEntry.select(RosterEntry.all_columns(), RosterEntry.unit.name.as_alias("unit_name")).where(
            RosterEntry.id == row["id"]).first()
        for key in ("id", "unit", "name", "room", "phone_last4", "kind", "token_generation", "unit_name"):
            assert fast[key] == slow[key], key
        assert bool(fast["revoked"]) == bool(slow["revoked"])
        councils = await _councils(fast["unit"])
        assert councils == await services.councils_of(slow) and len(councils) >= 1
    assert await _entry(999_999) is None


async def test_every_refusal_is_the_resident_pages_own(client: httpx.AsyncClient, settings: Any) -> None:
    _council, link, poll_id, _chair = await setup(client, settings)
    entry_id = int((await RosterEntry.select(RosterEntry.id).where(RosterEntry.name == "朱秀英").first())["id"])

    # Another phone that has not answered the identity check: the question, not a vote.
    other = httpx.AsyncClient(transport=httpx.ASGITransport(app=client.app), base_url="http://testserver")  # type: ignore[attr-defined]
    async with other:
        await other.get(link)
        unverified = await other.post(f"{link}/polls/{poll_id}", data={"choice": "赞成"},
                                      headers={"x-csrftoken": other.cookies.get("yishi_csrf") or ""})
    assert unverified.status_code == 200 and 'name="answer"' in unverified.text

    # A revoked link: the resident pages' 链接无效, nothing counted.
    assert await services.revoke(entry_id, "user:1")
    revoked = await vote(client, link, poll_id, "赞成")
    assert revoked.status_code == 404 and "链接无效" in revoked.text
    assert await Participation.count().where(Participation.poll == poll_id) == 0

    # Re-issued: the old link stays dead; the new one asks the identity check again, like every resident page.
    await services.reissue(entry_id, "user:1")
    old = await vote(client, link, poll_id, "赞成")
    assert old.status_code == 404 and "链接无效" in old.text
    fresh = await RosterEntry.select().where(RosterEntry.id == entry_id).first()
    new = await vote(client, link_of(settings, fresh), poll_id, "赞成")
    assert new.status_code == 200 and 'name="answer"' in new.text
    assert await Participation.count().where(Participation.poll == poll_id) == 0
