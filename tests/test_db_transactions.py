"""Write transactions (core.db.atomic) on SQLite and PostgreSQL, as the pooled engines run them.

On SQLite a lent connection runs BEGIN and the statements inside a transaction on the caller's
thread (no hop to aiosqlite's thread) and falls back to that thread when another writer holds the
lock or a statement is slow; on PostgreSQL the pool gives connections back without a reset query.
Whatever path a statement takes, what a user sees must not change: writers take turns and both
land, a failed statement undoes the whole transaction, and the next transaction starts clean.
"""

from __future__ import annotations

import asyncio
import contextvars
import shutil
import sqlite3
from pathlib import Path

import pytest

from core import db
from core.org.tables import Unit


async def names() -> list[str]:
    return [r["name"] for r in await Unit.select(Unit.name).order_by(Unit.id)]


async def test_two_writers_take_turns_and_both_land(engine: object, database_url: str) -> None:
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with db.atomic():
            await Unit.raw("INSERT INTO yishi_unit (name, kind, code) VALUES ({}, 'street', '')", "甲街道")
            first_in.set()
            await release.wait()  # holds SQLite's write lock meanwhile

    async def second() -> None:
        async with db.atomic():
            await Unit.raw("INSERT INTO yishi_unit (name, kind, code) VALUES ({}, 'street', '')", "乙街道")

    a = asyncio.create_task(first())
    await first_in.wait()
    b = asyncio.create_task(second())
    await asyncio.sleep(0.2)
    if database_url.startswith("sqlite"):
        # the second writer waits for the lock (on the connection's thread, not the event loop's:
        # this test could not go on otherwise) and has written nothing yet
        assert not b.done()
        assert await names() == []
    release.set()
    await asyncio.gather(a, b)
    assert await names() == ["甲街道", "乙街道"]


async def test_a_failed_statement_undoes_the_whole_transaction(engine: object) -> None:
    async with db.atomic():
        await Unit.raw("INSERT INTO yishi_unit (id, name, kind, code) VALUES (1, {}, 'street', '')", "甲街道")
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        async with db.atomic():
            await Unit.raw("INSERT INTO yishi_unit (name, kind, code) VALUES ({}, 'street', '')", "乙街道")
            await Unit.raw("INSERT INTO yishi_unit (id, name, kind, code) VALUES (1, {}, 'street', '')", "重复")
    assert await names() == ["甲街道"]
    # the connection went back to the pool clean: the next transaction works and commits
    async with db.atomic():
        rows = await Unit.raw("INSERT INTO yishi_unit (name, kind, code) VALUES ({}, 'street', '') RETURNING name",
                              "丙街道")
    assert rows == [{"name": "丙街道"}]
    assert await names() == ["甲街道", "丙街道"]


async def test_reads_inside_a_transaction_see_its_own_writes_and_others_do_not(engine: object) -> None:
    seen_outside: list[list[str]] = []
    async with db.atomic():
        await Unit.raw("INSERT INTO yishi_unit (name, kind, code) VALUES ({}, 'street', '')", "甲街道")
        inside = [r["name"] for r in await Unit.raw("SELECT name FROM yishi_unit")]
        # another request's task (a fresh context: not inside this transaction)
        seen_outside.append(await asyncio.create_task(names(), context=contextvars.Context()))
    assert inside == ["甲街道"]
    assert seen_outside == [[]]
    assert await names() == ["甲街道"]


async def test_a_slow_statement_sends_the_rest_of_its_transaction_to_the_connection_thread(
        engine: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "INLINE_BUDGET_S", -1.0)  # every statement counts as slow
    async with db.atomic():
        for name in ("甲街道", "乙街道", "丙街道"):
            await Unit.raw("INSERT INTO yishi_unit (name, kind, code) VALUES ({}, 'street', '')", name)
        count = await Unit.raw("SELECT COUNT(*) AS n FROM yishi_unit")
    assert count == [{"n": 3}]
    assert await names() == ["甲街道", "乙街道", "丙街道"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the WAL is SQLite's
async def test_sqlite_commits_reach_the_database_file_not_only_the_wal(
        engine: object, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commits run in place skip SQLite's automatic checkpoint; the scheduled one must still copy
    them into the database file (what a copy of the file alone, without its -wal, holds)."""
    monkeypatch.setattr(db, "CHECKPOINT_EVERY", 3)
    engine._commits_in_place = 0  # type: ignore[attr-defined]
    for name in ("甲街道", "乙街道", "丙街道"):
        async with db.atomic():
            await Unit.raw("INSERT INTO yishi_unit (name, kind, code) VALUES ({}, 'street', '')", name)
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(database_url[len("sqlite:///"):], copy)
    with sqlite3.connect(copy) as alone:
        stored = [r[0] for r in alone.execute("SELECT name FROM yishi_unit ORDER BY id")]
    assert stored == ["甲街道", "乙街道", "丙街道"]


async def test_a_bulk_transaction_keeps_its_statements_off_the_event_loop(
        engine: object, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``atomic(bulk=True)`` (a dashboard rebuild: one INSERT … SELECT may run for seconds) never runs a
    statement on the event loop's thread, not even the first; an ordinary write on SQLite does. Both
    land alike."""
    ran_inline: list[bool] = []
    original = db._Lent.run_inline

    def spy(self: object, query: str, args: list[object]) -> object:
        rows = original(self, query, args)  # type: ignore[arg-type]
        ran_inline.append(rows is not None)
        return rows

    monkeypatch.setattr(db._Lent, "run_inline", spy)
    async with db.atomic(bulk=True):
        await Unit.raw("INSERT INTO yishi_unit (name, kind, code) VALUES ({}, 'street', '')", "甲街道")
    bulk = any(ran_inline)
    ran_inline.clear()
    async with db.atomic():
        await Unit.raw("INSERT INTO yishi_unit (name, kind, code) VALUES ({}, 'street', '')", "乙街道")
    assert not bulk
    assert any(ran_inline) == database_url.startswith("sqlite")
    assert await names() == ["甲街道", "乙街道"]
