"""The one statement behind lean votes (core.voting.lean): who is voting, in which councils, on what —
for every vote waiting in a worker at once.

Why one: every statement is a round trip to the database and, in Python, a good part of a vote's
cost in driver work; the full handler asks for the entry, then its councils, then (in the
transaction) the poll and the voter's snapshot entry. Here one statement answers all of it for all
the votes of a round (core.voting.batch): the same text on SQLite and PostgreSQL but for how the
requests come in (PostgreSQL: three arrays, one prepared statement; SQLite: a VALUES list).

For each request, one row per council on the entry's unit or above it, nearest first (as
core.residents.services.councils_of orders them), each carrying the request's number, the entry, the
poll (NULLs when there is none), the voter's owner key in the poll's snapshot (NULL when outside it)
and whether that owner has voted. No row for a request: no such entry, or no council above it — the
full handler answers then.
"""

from __future__ import annotations

from typing import Any

from core.meetings.tables import AgendaItem
from core.org.tables import Council, Unit
from core.residents.tables import RosterEntry
from core.voting.tables import Elector, Participation, Poll

#: Our column names carry this prefix; every other column of a row is the roster entry's.
PREFIX = "zz_"


def _tables() -> dict[str, str]:
    return {name: table._meta.tablename for name, table in (
        ("entry", RosterEntry), ("unit", Unit), ("council", Council), ("poll", Poll), ("item", AgendaItem),
        ("elector", Elector), ("participation", Participation))}


#: The columns after the entry's, the same in both statements.
_COLUMNS = (
    "eu.name AS unit_name, "
    "c.id AS zz_c_id, c.name AS zz_c_name, c.unit AS zz_c_unit, c.practice AS zz_c_practice, "
    "cu.name AS zz_c_unit_name, "
    "p.id AS zz_p_id, p.state AS zz_p_state, p.closes_at AS zz_p_closes_at, p.method AS zz_p_method, "
    "p.options AS zz_p_options, p.min_choices AS zz_p_min_choices, p.max_choices AS zz_p_max_choices, "
    "p.visibility AS zz_p_visibility, p.council AS zz_p_council, i.meeting AS zz_p_meeting, "
    "el.owner_key AS zz_p_owner_key, "
    "(SELECT COUNT(*) FROM {participation} pa WHERE pa.poll = p.id AND pa.voter_key = el.owner_key) AS zz_p_voted ")


def _many(count: int = 0) -> str:
    """Many votes at once: each row says which request it answers (``zz_n``, from 1). PostgreSQL
    (``count`` 0): arrays of entries ($1), polls ($2), voter keys ($3); SQLite: ``count`` rows of
    VALUES (entry, poll, voter key)."""
    t = _tables()
    if count:
        requests = "r(entry, poll, voter_key, n) AS (VALUES " + ", ".join(
            f"(?, ?, ?, {n})" for n in range(1, count + 1)) + "), "
    else:
        requests = ("r AS (SELECT * FROM unnest($1::int[], $2::int[], $3::text[]) WITH ORDINALITY "
                    "AS r(entry, poll, voter_key, n)), ")
    return (
        f"WITH RECURSIVE {requests}"
        f"up(n, id, parent, depth) AS ("
        f"SELECT r.n, u.id, u.parent, 0 FROM r JOIN {t['entry']} e ON e.id = r.entry "
        f"JOIN {t['unit']} u ON u.id = e.unit "
        f"UNION ALL SELECT up.n, u.id, u.parent, up.depth + 1 FROM {t['unit']} u JOIN up ON u.id = up.parent) "
        f"SELECT up.n AS zz_n, e.*, {_COLUMNS.format(**t)}"
        f"FROM up JOIN {t['council']} c ON c.unit = up.id JOIN {t['unit']} cu ON cu.id = c.unit "
        f"JOIN r ON r.n = up.n JOIN {t['entry']} e ON e.id = r.entry JOIN {t['unit']} eu ON eu.id = e.unit "
        f"LEFT JOIN {t['poll']} p ON p.id = r.poll LEFT JOIN {t['item']} i ON i.id = p.item "
        f"LEFT JOIN {t['elector']} el ON el.poll = p.id AND el.voter_key = r.voter_key "
        f"ORDER BY up.n, up.depth, c.id")


_STATEMENTS: dict[int, str] = {}

#: PostgreSQL plans a statement with arrays anew on every call (its estimate for ``unnest`` is 100 rows,
#: so the plan it could keep never looks cheaper than a fresh one): about 1 ms each time for this one,
#: five times what running it costs. Its generic plan is right for every round — an index lookup per
#: vote — so the connection that runs the rounds asks for it, and for index lookups only: a plan kept
#: from when the ballot tables were nearly empty would otherwise scan them whole for every vote as
#: they fill up (0.04 → 0.3 ms per vote over 4,000 ballots). The pool resets both when it takes the
#: connection back.
GENERIC = "SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off"


def statement(count: int = 0) -> str:
    """PostgreSQL's (``count`` 0: arrays), or SQLite's for ``count`` votes; built once each."""
    text = _STATEMENTS.get(count)
    if text is None:
        text = _STATEMENTS[count] = _many(count)
    return text


Context = tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]


def _context(rows: list[dict[str, Any]]) -> Context | None:
    """(the entry as core.voting.gate reads it, its councils nearest first, the poll or None)."""
    if not rows:
        return None
    first = rows[0]
    entry = {k: v for k, v in first.items() if not k.startswith(PREFIX)}
    councils = [{"id": r["zz_c_id"], "name": r["zz_c_name"], "unit": r["zz_c_unit"],
                 "practice": r["zz_c_practice"], "unit_name": r["zz_c_unit_name"]} for r in rows]
    poll = None
    if first["zz_p_id"] is not None:
        poll = {k[len("zz_p_"):]: v for k, v in first.items() if k.startswith("zz_p_")}
        poll["voted"] = bool(poll["voted"])
    return entry, councils, poll


async def vote_contexts(requests: list[tuple[int, int, str]]) -> list[Context | None]:
    """For each (entry id, poll id, voter key): its context, or None when the entry does not exist or
    belongs to no council; one statement for all of them."""
    import core.piccolo_conf as conf

    engine = conf.DB
    pool = getattr(engine, "pool", None) if engine.engine_type != "sqlite" else None
    if engine.engine_type != "sqlite":
        return await _many_at_once(engine, pool, requests)
    rows = await engine._run_in_new_connection(statement(len(requests)),
                                               [x for request in requests for x in request])
    return _grouped(rows, len(requests))



async def _many_at_once(engine: Any, pool: Any, requests: list[tuple[int, int, str]]) -> list[Context | None]:
    if pool is not None:
        async with pool.acquire() as connection:
            await connection.execute(GENERIC)
            return await contexts_on(connection, requests)
    connection = await engine.get_new_connection()  # an engine without its pool (outside the app)
    try:
        await connection.execute(GENERIC)
        return await contexts_on(connection, requests)
    finally:
        await connection.close()


async def contexts_on(connection: Any, requests: list[tuple[int, int, str]]) -> list[Context | None]:
    """PostgreSQL: the contexts of many (entry id, poll id, voter key) in one statement on ``connection``
    (an asyncpg connection, in a transaction that asked for :data:`GENERIC` plans)."""
    rows = await connection.fetch(statement(), [r[0] for r in requests], [r[1] for r in requests],
                                  [r[2] for r in requests])
    return _grouped(rows, len(requests))


def _grouped(rows: Any, count: int) -> list[Context | None]:
    grouped: list[list[dict[str, Any]]] = [[] for _n in range(count)]
    for row in rows:
        record = dict(row)
        grouped[record.pop("zz_n") - 1].append(record)
    return [_context(g) for g in grouped]


__all__ = ["GENERIC", "Context", "contexts_on", "statement", "vote_contexts"]
