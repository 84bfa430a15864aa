"""Building the rollup tables (core.dashboard.tables) from the topics, tasks, ratings and meetings.

The rules (docs/units.md, "统计口径"):

- a topic counts in the month it was raised (local time, Asia/Shanghai); merged topics (已合并) are
  duplicates and are not counted;
- solved (已办结): the topic is now done, rated or answered; its days from raise to close run to
  its first step into done or answered;
- overdue (逾期): one of its tasks is still open (not done, not cancelled) after its deadline —
  this depends on today, so the rollup is rebuilt on the first read of each new day;
- satisfaction: the proposer's latest rating of the topic (满意 / 基本满意 / 不满意);
- meetings held: meetings closed, approved or published, in the month they started.

A full rebuild runs in SQL (``INSERT … SELECT … GROUP BY``) in one transaction, so readers see the
old figures until the new ones are complete. The server rebuilds in the background when the rollup
is missing, from another day or older than :data:`MAX_AGE` (:func:`keep_fresh`, started with the
app); a topic, task or meeting step made through the web app refreshes its council's rows at once
(:func:`on_transition`); ``yishi stats refresh`` and the admin's button rebuild on demand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from piccolo.engine.sqlite import SQLiteEngine

from core import db
from core.dashboard.tables import StatsBuild, StatsMonth

logger = logging.getLogger(__name__)

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
#: The longest the figures may lag behind changes made outside a workflow step.
MAX_AGE = timedelta(minutes=10)
SOLVED = ("done", "rated", "answered")
CLOSING = ("done", "answered")
HELD = ("closed", "approved", "published")



def today() -> str:
    return datetime.now(LOCAL_TZ).date().isoformat()


def _sqlite() -> bool:
    return isinstance(StatsMonth._meta.db, SQLiteEngine)


def month_sql(column: str) -> str:
    """The local month of a timestamp column as an integer yyyymm."""
    if _sqlite():
        return f"CAST(strftime('%Y%m', {column}, '+8 hours') AS INTEGER)"
    return f"CAST(to_char({column} AT TIME ZONE 'Asia/Shanghai', 'YYYYMM') AS INTEGER)"


def days_sql(start: str, end: str) -> str:
    """Whole days from ``start`` to ``end``."""
    if _sqlite():
        return f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"
    return f"CAST(floor(EXTRACT(EPOCH FROM ({end} - {start})) / 86400) AS INTEGER)"


#: Days to close are kept exactly up to a week, then in buckets named by their first day (8 = 8–10
#: days …): a county's five years then need a few rows per council and year instead of a hundred.
DAY_BUCKETS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 15, 21, 31, 46, 61, 91, 181, 366)


def bucket_sql(days: str) -> str:
    """The bucket (its first day) of a number of days, as SQL."""
    cases = " ".join(f"WHEN {days} >= {b} THEN {b}" for b in reversed(DAY_BUCKETS[1:]))
    return f"CASE {cases} ELSE 0 END"


def _in(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _council_filter(column: str, councils: list[int] | None) -> str:
    if councils is None:
        return ""
    return f" AND {column} IN ({', '.join(str(int(c)) for c in councils) or 'NULL'})"


def _topics_cte(councils: list[int] | None, day: str) -> str:
    """The topics with what the rollup needs of each: month, category, solved, overdue, rating,
    created and closed times."""
    scope_topics = _council_filter("council", councils)
    topic_ids = f"SELECT id FROM yishi_topic WHERE 1=1{scope_topics}"
    limit = "" if councils is None else f" AND topic IN ({topic_ids})"
    return (
        "WITH closes AS (SELECT topic, MIN(at) AS closed_at FROM yishi_topic_event"
        f" WHERE to_state IN ({_in(CLOSING)}){limit} GROUP BY topic),"
        " late AS (SELECT DISTINCT topic FROM yishi_task"
        f" WHERE state NOT IN ('done', 'cancelled') AND deadline < '{day}'{limit}),"
        f" last_rating AS (SELECT topic, MAX(id) AS id FROM yishi_rating WHERE 1=1{limit} GROUP BY topic),"
        f" t AS (SELECT tp.council AS council, {month_sql('tp.created_at')} AS month,"
        " tp.category AS category,"
        f" CASE WHEN tp.state IN ({_in(SOLVED)}) THEN 1 ELSE 0 END AS solved,"
        " CASE WHEN late.topic IS NULL THEN 0 ELSE 1 END AS overdue,"
        " r.level AS level, tp.created_at AS created_at, closes.closed_at AS closed_at"
        " FROM yishi_topic tp LEFT JOIN closes ON closes.topic = tp.id"
        " LEFT JOIN late ON late.topic = tp.id"
        " LEFT JOIN last_rating lr ON lr.topic = tp.id LEFT JOIN yishi_rating r ON r.id = lr.id"
        f" WHERE tp.state <> 'merged'{_council_filter('tp.council', councils)})"
    )


def rebuild_statements(councils: list[int] | None, day: str) -> list[str]:
    """The SQL that replaces the rollup rows of ``councils`` (None: all) as of ``day``."""
    cte = _topics_cte(councils, day)
    where = _council_filter("council", councils) or " AND council IS NOT NULL"
    return [
        f"DELETE FROM yishi_stats_category WHERE 1=1{where}",
        f"DELETE FROM yishi_stats_days WHERE 1=1{where}",
        f"DELETE FROM yishi_stats_month WHERE 1=1{where}",
        "INSERT INTO yishi_stats_category (council, month, category, raised, solved, overdue, satisfied,"
        f" basic, unsatisfied) {cte} SELECT council, month, category, COUNT(*), SUM(solved), SUM(overdue),"
        " SUM(CASE WHEN level = 'satisfied' THEN 1 ELSE 0 END), SUM(CASE WHEN level = 'basic' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN level = 'unsatisfied' THEN 1 ELSE 0 END) FROM t GROUP BY council, month, category",
        f"INSERT INTO yishi_stats_days (council, month, days, n) {cte}"
        f" SELECT council, month, {bucket_sql(days_sql('created_at', 'closed_at'))} AS d, COUNT(*) FROM t"
        f" WHERE solved = 1 AND closed_at IS NOT NULL GROUP BY council, month, d",
        "INSERT INTO yishi_stats_month (council, month, meetings, raised, solved, overdue, satisfied, basic,"
        " unsatisfied) SELECT council, month, SUM(meetings), SUM(raised), SUM(solved), SUM(overdue),"
        " SUM(satisfied), SUM(basic), SUM(unsatisfied) FROM ("
        " SELECT council, month, 0 AS meetings, raised, solved, overdue, satisfied, basic, unsatisfied"
        f" FROM yishi_stats_category WHERE 1=1{where}"
        f" UNION ALL SELECT council, {month_sql('starts_at')}, 1, 0, 0, 0, 0, 0, 0 FROM yishi_meeting"
        f" WHERE state IN ({_in(HELD)}){where}) AS parts GROUP BY council, month",
        # Yearly rows (month = yyyy) summed from the monthly ones (yyyymm), for long periods.
        "INSERT INTO yishi_stats_category (council, month, category, raised, solved, overdue, satisfied, basic,"
        " unsatisfied) SELECT council, month / 100, category, SUM(raised), SUM(solved), SUM(overdue),"
        f" SUM(satisfied), SUM(basic), SUM(unsatisfied) FROM yishi_stats_category WHERE month > 9999{where}"
        " GROUP BY council, month / 100, category",
        "INSERT INTO yishi_stats_days (council, month, days, n) SELECT council, month / 100, days, SUM(n)"
        f" FROM yishi_stats_days WHERE month > 9999{where} GROUP BY council, month / 100, days",
        "INSERT INTO yishi_stats_month (council, month, meetings, raised, solved, overdue, satisfied, basic,"
        " unsatisfied) SELECT council, month / 100, SUM(meetings), SUM(raised), SUM(solved), SUM(overdue),"
        f" SUM(satisfied), SUM(basic), SUM(unsatisfied) FROM yishi_stats_month WHERE month > 9999{where}"
        " GROUP BY council, month / 100",
    ]


def totals_statements() -> list[str]:
    """The SQL that replaces the all-council rows (council NULL) by the sum of the councils' rows."""
    counts = "raised, solved, overdue, satisfied, basic, unsatisfied"
    sums = ", ".join(f"SUM({c})" for c in counts.split(", "))
    return [
        "DELETE FROM yishi_stats_category WHERE council IS NULL",
        "DELETE FROM yishi_stats_days WHERE council IS NULL",
        "DELETE FROM yishi_stats_month WHERE council IS NULL",
        f"INSERT INTO yishi_stats_category (council, month, category, {counts}) SELECT NULL, month, category,"
        f" {sums} FROM yishi_stats_category WHERE council IS NOT NULL GROUP BY month, category",
        "INSERT INTO yishi_stats_days (council, month, days, n) SELECT NULL, month, days, SUM(n)"
        " FROM yishi_stats_days WHERE council IS NOT NULL GROUP BY month, days",
        f"INSERT INTO yishi_stats_month (council, month, meetings, {counts}) SELECT NULL, month, SUM(meetings),"
        f" {sums} FROM yishi_stats_month WHERE council IS NOT NULL GROUP BY month",
    ]


async def _run(statements: list[str]) -> None:
    for statement in statements:
        await StatsMonth.raw(statement)


async def rebuild(councils: list[int] | None = None) -> None:
    """Recompute the rollup of ``councils`` (None: every council, and record the build)."""
    day = today()
    async with db.atomic(bulk=True):  # INSERT … SELECT over all topics: off the event loop's thread
        await _run(rebuild_statements(councils, day))
        if councils is not None:
            # The all-council rows are now behind: readers add up councils until the next pass.
            await StatsBuild.update({StatsBuild.totals_fresh: False}, force=True)
        else:
            await _run(totals_statements())
            await StatsBuild.delete(force=True)
            await StatsBuild.insert(StatsBuild(built_at=datetime.now(UTC), built_on=day, totals_fresh=True))
            # Fresh statistics let the planner read the covering indexes rather than the tables.
            await _run([f"ANALYZE {t}" for t in ("yishi_stats_month", "yishi_stats_category", "yishi_stats_days")])
    if councils is None and _sqlite():
        # A full rebuild rewrites a million rows: fold them into the database file now, or every
        # read would look each page up in a long write-ahead log until the next checkpoint.
        await StatsMonth.raw("PRAGMA wal_checkpoint(TRUNCATE)")


async def built_at() -> datetime | None:
    """When the rollup was last rebuilt in full; None if never (the pages say so)."""
    build = await StatsBuild.select().first()
    if build is None:
        return None
    at = build["built_at"]
    return at if at.tzinfo else at.replace(tzinfo=UTC)


async def is_stale() -> bool:
    build = await StatsBuild.select().first()
    if build is None or build["built_on"] != today():
        return True
    at = build["built_at"] if build["built_at"].tzinfo else build["built_at"].replace(tzinfo=UTC)
    return datetime.now(UTC) - at > MAX_AGE


async def rebuild_totals() -> None:
    """Recompute the all-council rows from the councils' rows (after councils were refreshed)."""
    async with db.atomic(bulk=True):
        # Flag first: the row lock makes a council refreshed meanwhile wait, then flag again.
        await StatsBuild.update({StatsBuild.totals_fresh: True}, force=True)
        await _run(totals_statements())


async def totals_fresh() -> bool:
    build = await StatsBuild.select(StatsBuild.totals_fresh).first()
    return bool(build and build["totals_fresh"])


async def keep_fresh(check_every: float = 60.0) -> None:
    """Run for the life of the server: rebuild whenever the rollup is missing, from another day, or
    older than MAX_AGE. Pages never write — reading a dashboard only reads."""
    while True:
        try:
            if await is_stale():
                await rebuild()
            elif not await totals_fresh():
                await rebuild_totals()
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("dashboard rollup rebuild failed; retrying later")
        await asyncio.sleep(check_every)


async def on_transition(event: object) -> None:
    """A topic, task or meeting of a council took a step: refresh that council's rows now."""
    council = getattr(event, "council_id", None)
    if council is not None and await StatsBuild.exists():
        await rebuild([int(council)])


_pending: set[asyncio.Task] = set()


def refresh_later(event: object) -> None:
    """Refresh the step's council in the background, so the person who acted does not wait for it
    (a council with years of topics takes tens of milliseconds, more on a busy server)."""

    async def run() -> None:
        try:
            await on_transition(event)
        except Exception:
            logger.exception("dashboard rollup refresh failed; the next background pass catches up")

    task = asyncio.get_running_loop().create_task(run())
    _pending.add(task)
    task.add_done_callback(_pending.discard)

