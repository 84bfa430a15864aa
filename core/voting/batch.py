"""Group commit for the lean vote (core.voting.lean): the votes waiting in one worker, read and
stored together, each answered only once what it wrote has committed.

Why: a vote's own work in the database is small (a few index lookups, two rows); what costs is
around it — a round trip per statement, the driver's work per statement in Python, the commit.
Under load many votes wait in the same worker at the same moment, so they share all of that.

PostgreSQL, one round per batch on one pooled connection (kept while votes keep coming):

1. one statement reads every vote's context (core.voting.lean_sql);
2. each vote is decided in Python (the link, the identity check, the choices);
3. one statement stores every accepted vote — participations and ballots — and, being a single
   statement outside any transaction block, is its own transaction: when it returns it has
   committed, and only then are the votes answered. Durable as before.

SQLite, the same round: one statement reads every context (outside the write lock — in WAL mode
readers never wait), and the accepted votes are written together in one ``BEGIN IMMEDIATE``.

The guarantees of core.voting.polls stay:

- **Exactly once**: the participation's unique index (poll, voter key) decides, in the database;
  the insert skips a voter who already has one (``ON CONFLICT DO NOTHING``) and that vote is handed
  back (None) — the full handler then answers it (您已投票). Two votes of one voter in the same round:
  the first is stored, the second hears 您已投票 once the first has committed.
- **No ballot after the close**: PostgreSQL — the insert locks the poll's row (KEY SHARE, as the
  ballots' foreign keys lock it anyway) where it is still open; closing holds that row FOR UPDATE
  (core.voting.polls.close_poll), so an insert meeting a close waits for it and then finds the poll
  closed, and a close meeting an insert waits for it and counts its ballots. SQLite — the write lock
  serialises them; the batch reads the poll's state under it.
- **Secrecy**: a secret poll's ballots go to their table with a random id and the choices only, in
  no particular order; the participations (with the receipt) to theirs, in the same transaction.

One round in flight per worker: votes that arrive meanwhile form the next one (under light load a
round is one vote; under heavy load, as many as are waiting, up to :data:`MAX_BATCH`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core import db, live
from core.voting import lean_sql
from core.voting.polls import POLL_LOCK_CLASS, _as_datetime, _aware, _dumps, _now, _table, _writer_turn, new_receipt
from core.voting.tables import NamedBallot, Participation, Poll, SecretBallot

log = logging.getLogger(__name__)

#: Votes per round at most.
MAX_BATCH = 100
#: SQLite: fewer (a statement of its own for each round size; SQLite caps a statement's parameters).
SQLITE_BATCH = 32


@dataclass
class Vote:
    """One phone vote, checked and ready to store."""

    poll_id: int
    owner: str
    """The voter key that votes (the snapshot's owner key)."""
    cast_by: str
    """The roster entry that pressed the button (``entry:N``)."""
    actor: str
    choices: list[str]
    secret: bool
    meeting: int | None
    page: str = ""
    """The poll page of the resident's link (the receipt page adds ``?receipt=…``)."""
    receipt: str = field(default_factory=new_receipt)


@dataclass
class Ask:
    """A vote waiting for its round: whose link, which poll, and how to decide once its context is read.

    ``decide(context)`` gets what core.voting.lean_sql reads (None: no such entry) and returns the
    :class:`Vote` to store, a location to answer at once (the poll page: 您已投票), or None — the full
    handler answers."""

    entry_id: int
    poll_id: int
    voter_key: str
    decide: Callable[[Any], Awaitable[Vote | str | None]]


class Stage:
    """Group work of one kind per event loop: items that arrive while a run is under way wait for the
    next run, which takes all of them (up to ``limit``). ``handler(items, held)`` returns one result per
    item; when it raises, every item of that run gets None (the full handler then answers each request
    itself). ``session()``, if given, is entered once for a series of runs and its value passed as
    ``held`` (PostgreSQL: one pooled connection kept while votes keep coming, given back when none
    wait — not taken, reset and given back for every run)."""

    def __init__(self, name: str, handler: Callable[[list[Any], Any], Awaitable[list[Any]]],
                 session: Callable[[], Any] | None = None, limit: int = MAX_BATCH) -> None:
        self.name, self.handler, self.session, self.limit = name, handler, session, limit
        #: Runs made and items they took (how much grouping the load brought: items / runs).
        self.runs = self.items = 0
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue] = weakref.WeakKeyDictionary()

    async def submit(self, item: Any) -> Any:
        loop = asyncio.get_running_loop()
        queue = self._loops.get(loop)
        if queue is None:
            queue = self._loops[loop] = _Queue()
        future: asyncio.Future[Any] = loop.create_future()
        queue.waiting.append((item, future))
        if queue.lingering is not None:
            queue.lingering.set()
        if not queue.running:
            queue.running = True
            queue.task = loop.create_task(self._run(queue))  # kept: a task nobody holds may be collected
        return await future

    async def _run(self, queue: _Queue) -> None:
        try:
            async with self.session() if self.session else contextlib.nullcontext() as held:
                while queue.waiting or (self.session is not None and await _linger(queue)):
                    await asyncio.sleep(0)  # the requests already parsed in this loop join this run
                    taken, queue.waiting = queue.waiting[:self.limit], queue.waiting[self.limit:]
                    self.runs += 1
                    self.items += len(taken)
                    try:
                        results = await self.handler([item for item, _f in taken], held)
                    except Exception:  # nothing committed: each request goes the long way
                        log.warning("lean votes: %s of %d failed", self.name, len(taken), exc_info=True)
                        _settle(taken, [None] * len(taken))
                        break  # a fresh session for what waits (the pool replaces a broken connection)
                    _settle(taken, results)
        except BaseException:
            log.warning("lean votes: %s stopped", self.name, exc_info=True)
            waiting, queue.waiting = queue.waiting, []
            _settle(waiting, [None] * len(waiting))
            queue.running = False
            raise
        queue.running = False
        if queue.waiting:  # left after a failure
            queue.running = True
            queue.task = asyncio.get_running_loop().create_task(self._run(queue))


#: How long a session (a pooled connection) is kept after the last round, for the next votes: taking
#: it again costs the pool's reset and a round trip.
LINGER_SECONDS = 0.05


async def _linger(queue: _Queue) -> bool:
    """Wait up to :data:`LINGER_SECONDS` for more work; whether some came."""
    queue.lingering = asyncio.Event()
    try:
        await asyncio.wait_for(queue.lingering.wait(), LINGER_SECONDS)
    except TimeoutError:
        pass
    finally:
        queue.lingering = None
    return bool(queue.waiting)


def _settle(taken: list[tuple[Any, asyncio.Future[Any]]], results: list[Any]) -> None:
    for (_item, future), result in zip(taken, results, strict=True):
        if not future.done():
            future.set_result(result)


class _Queue:
    __slots__ = ("lingering", "running", "task", "waiting")

    def __init__(self) -> None:
        self.waiting: list[tuple[Any, asyncio.Future[Any]]] = []
        self.running = False
        self.lingering: asyncio.Event | None = None
        self.task: asyncio.Task[None] | None = None


async def submit(app: Any, ask: Ask) -> tuple[str | None, int]:
    """Read, decide and (for a vote) store ``ask`` with the others waiting in this worker: (where to
    send the resident, the live version of the poll's ``cast`` event or 0). The location is None when
    the full handler must answer: the vote was refused or not stored (the poll closed meanwhile, the
    voter voted meanwhile, the database failed)."""
    import core.piccolo_conf as conf

    if conf.DB.engine_type != "sqlite" and getattr(conf.DB, "pool", None) is not None:
        return await _ROUNDS.submit((app, ask)) or (None, 0)
    return await _SQLITE_ROUNDS.submit((app, ask)) or (None, 0)


async def _sqlite_round(items: list[tuple[Any, Ask]], _held: Any) -> list[tuple[str | None, int]]:
    """SQLite (and PostgreSQL without a pool): one statement reading every context (outside the write
    lock: readers never wait in WAL mode), each decided, the accepted votes in one transaction, then
    the news."""
    asks = [ask for _app, ask in items]
    contexts = await lean_sql.vote_contexts([(a.entry_id, a.poll_id, a.voter_key) for a in asks])
    decided = [await a.decide(c) for a, c in zip(asks, contexts, strict=True)]
    votes = [d for d in decided if isinstance(d, Vote)]
    unique = _unique(votes)
    stored = await _write_piccolo(unique) if unique else set()
    return _merge(decided, await _answers(items[0][0], votes, stored))


def _merge(decided: list[Vote | str | None], written: list[tuple[str | None, int]]) -> list[tuple[str | None, int]]:
    """Each request's answer: its vote's (in order), or what was decided without a vote."""
    answers, votes_answered = [], iter(written)
    for d in decided:
        answers.append(next(votes_answered) if isinstance(d, Vote) else (d, 0))
    return answers


async def _pg_round(items: list[tuple[Any, Ask]], connection: Any) -> list[tuple[str | None, int]]:
    """PostgreSQL: the waiting requests in two round trips on one connection — one statement reading
    every context; each decided; one statement storing every vote, which is its own transaction
    (committed when it returns) — then the news."""
    app = items[0][0]
    asks = [ask for _app, ask in items]
    contexts = await lean_sql.contexts_on(connection, [(a.entry_id, a.poll_id, a.voter_key) for a in asks])
    decided = [await a.decide(c) for a, c in zip(asks, contexts, strict=True)]
    votes = _unique([d for d in decided if isinstance(d, Vote)])
    stored = await _insert_postgres(connection, votes) if votes else set()
    return _merge(decided, await _answers(app, [d for d in decided if isinstance(d, Vote)], stored))


def _unique(votes: list[Vote]) -> list[Vote]:
    """The first vote of each voter (a nervous thumb sends two in one round)."""
    seen: set[tuple[int, str]] = set()
    out = []
    for vote in votes:
        if (vote.poll_id, vote.owner) not in seen:
            seen.add((vote.poll_id, vote.owner))
            out.append(vote)
    return out


async def _answers(app: Any, votes: list[Vote], stored: set[tuple[int, str]]) -> list[tuple[str | None, int]]:
    """Once committed: the live pages told (once per poll, and its meeting), and each vote's answer —
    the receipt page for the vote stored, the poll page (您已投票) for the same voter's other votes of
    the round, None (the full handler) for a vote not stored."""
    versions: dict[int, int] = {}
    for poll_id in sorted({v.poll_id for v in votes if (v.poll_id, v.owner) in stored}):
        versions[poll_id] = await live.publish(app, f"poll:{poll_id}", "cast", {}) or 0
        meeting = next(v.meeting for v in votes if v.poll_id == poll_id)
        if meeting is not None:
            await live.publish(app, f"meeting:{meeting}", "poll", {"poll": poll_id})
    answered: set[tuple[int, str]] = set()
    out: list[tuple[str | None, int]] = []
    for vote in votes:
        key = (vote.poll_id, vote.owner)
        if key not in stored:
            out.append((None, 0))
        elif key in answered:
            out.append((vote.page, versions.get(vote.poll_id, 0)))
        else:
            answered.add(key)
            out.append((f"{vote.page}?receipt={vote.receipt}", versions.get(vote.poll_id, 0)))
    return out


async def write(votes: list[Vote]) -> set[tuple[int, str]]:
    """Insert the participations and ballots of ``votes`` (at most one per voter) in one transaction of
    their own; the (poll, voter) pairs stored. A vote for a poll no longer open, or of a voter who has
    voted, is left out."""
    import core.piccolo_conf as conf

    votes = _unique(votes)
    if not votes:
        return set()
    pool = getattr(conf.DB, "pool", None) if conf.DB.engine_type != "sqlite" else None
    if pool is None:
        return await _write_piccolo(votes)
    async with pool.acquire() as connection:
        return await _insert_postgres(connection, votes)


def _open_now(state: str, closes_at: Any, now: datetime) -> bool:
    closes = _aware(_as_datetime(closes_at))
    return state == "open" and (closes is None or closes > now)


# -------------------------------------------------------------------------------------------------
# PostgreSQL: BEGIN and the advisory locks in one round trip, one statement for every row, COMMIT
# -------------------------------------------------------------------------------------------------

_PG_INSERT = None


def _pg_insert() -> str:
    global _PG_INSERT
    if _PG_INSERT is None:
        _PG_INSERT = (
            "WITH v AS (SELECT * FROM unnest($1::int[], $2::text[], $3::text[], $4::text[], $5::text[], "
            "$6::bool[], $7::text[], $8::uuid[]) AS v(poll, voter_key, cast_by, recorded_by, choices, secret, "
            "receipt, ballot_id)), "
            # The polls still open, each row locked (KEY SHARE, as the foreign keys lock it anyway): a close
            # under way holds it FOR UPDATE, so this waits for the close and then sees the poll closed.
            f"p AS (SELECT id FROM {_table(Poll)} WHERE id IN (SELECT poll FROM v) AND state = 'open' "
            "AND (closes_at IS NULL OR closes_at > $9) FOR KEY SHARE), "
            f"ins AS (INSERT INTO {_table(Participation)} (poll, voter_key, cast_by, channel, acting, receipt, "
            "cast_at, recorded_by) "
            "SELECT v.poll, v.voter_key, v.cast_by, 'phone', '', CASE WHEN v.secret THEN v.receipt END, $9, "
            "v.recorded_by FROM v JOIN p ON p.id = v.poll "
            "ON CONFLICT DO NOTHING RETURNING poll, voter_key), "
            f"named AS (INSERT INTO {_table(NamedBallot)} (poll, voter_key, acting, channel, choices, receipt, "
            "cast_at) SELECT v.poll, v.voter_key, '', 'phone', v.choices::json, v.receipt, $9 "
            "FROM v JOIN ins ON ins.poll = v.poll AND ins.voter_key = v.voter_key WHERE NOT v.secret), "
            f"secret AS (INSERT INTO {_table(SecretBallot)} (id, poll, choices) "
            "SELECT v.ballot_id, v.poll, v.choices::json "
            "FROM v JOIN ins ON ins.poll = v.poll AND ins.voter_key = v.voter_key WHERE v.secret) "
            "SELECT poll, voter_key FROM ins")
    return _PG_INSERT


async def _insert_postgres(connection: Any, votes: list[Vote]) -> set[tuple[int, str]]:
    """The one statement storing every vote of a round (inside its transaction, after the locks)."""
    secret = [v for v in votes if v.secret]
    random.shuffle(secret)  # the ballot rows of a secret poll in no particular order
    ordered = [v for v in votes if not v.secret] + secret
    rows = await connection.fetch(
        _pg_insert(), [v.poll_id for v in ordered], [v.owner for v in ordered], [v.cast_by for v in ordered],
        [v.actor for v in ordered], [_dumps(v.choices) for v in ordered], [v.secret for v in ordered],
        [v.receipt for v in ordered], [uuid.uuid4() for _v in ordered], _now())
    return {(r["poll"], r["voter_key"]) for r in rows}


# -------------------------------------------------------------------------------------------------
# SQLite (and PostgreSQL without a pool): one transaction through the engine, under its write lock
# -------------------------------------------------------------------------------------------------


async def _open_polls(poll_ids: list[int]) -> set[int]:
    now = _now()
    rows = await Poll.select(Poll.id, Poll.state, Poll.closes_at).where(Poll.id.is_in(poll_ids))
    return {r["id"] for r in rows if _open_now(r["state"], r["closes_at"], now)}


async def _write_piccolo(votes: list[Vote]) -> set[tuple[int, str]]:
    import core.piccolo_conf as conf

    now = _now()
    async with _writer_turn(), db.atomic():
        if conf.DB.engine_type != "sqlite":
            for poll_id in sorted({v.poll_id for v in votes}):
                await Poll.raw("SELECT pg_advisory_xact_lock_shared({}, {})", POLL_LOCK_CLASS, poll_id)
        open_polls = await _open_polls(sorted({v.poll_id for v in votes}))
        votes = [v for v in votes if v.poll_id in open_polls]
        if not votes:
            return set()
        rows = await Participation.raw(
            f"INSERT INTO {_table(Participation)} (poll, voter_key, cast_by, channel, acting, receipt, cast_at, "
            "recorded_by) VALUES " + ", ".join(["({}, {}, {}, 'phone', '', {}, {}, {})"] * len(votes))
            + " ON CONFLICT DO NOTHING RETURNING poll, voter_key",
            *[x for v in votes for x in (v.poll_id, v.owner, v.cast_by, v.receipt if v.secret else None, now,
                                         v.actor)])
        stored = {(r["poll"], r["voter_key"]) for r in rows}
        done = [v for v in votes if (v.poll_id, v.owner) in stored]
        named = [v for v in done if not v.secret]
        secret = [v for v in done if v.secret]
        random.shuffle(secret)
        if named:
            await NamedBallot.raw(
                f"INSERT INTO {_table(NamedBallot)} (poll, voter_key, acting, channel, choices, receipt, cast_at) "
                "VALUES " + ", ".join(["({}, {}, '', 'phone', {}, {}, {})"] * len(named)),
                *[x for v in named for x in (v.poll_id, v.owner, _dumps(v.choices), v.receipt, now)])
        if secret:
            await SecretBallot.raw(
                f"INSERT INTO {_table(SecretBallot)} (id, poll, choices) VALUES "
                + ", ".join(["({}, {}, {})"] * len(secret)),
                *[x for v in secret for x in (uuid.uuid4(), v.poll_id, _dumps(v.choices))])
    return stored


@contextlib.asynccontextmanager
async def _pooled_connection() -> AsyncIterator[Any]:
    """A pooled connection for a series of rounds, asking for generic plans (core.voting.lean_sql.GENERIC);
    the pool resets the setting when it is given back."""
    import core.piccolo_conf as conf

    async with conf.DB.pool.acquire() as connection:
        await connection.execute(lean_sql.GENERIC)
        yield connection


_ROUNDS = Stage("PostgreSQL rounds", _pg_round, session=_pooled_connection)
_SQLITE_ROUNDS = Stage("SQLite rounds", _sqlite_round, limit=SQLITE_BATCH)

__all__ = ["MAX_BATCH", "Ask", "Stage", "Vote", "submit", "write"]
