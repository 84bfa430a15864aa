"""A large, realistic dataset for the dashboards and their bench: a county of streets,
communities and estates, one council per estate, five years of monthly meetings and the topics
residents raised, with their closing steps, tasks and ratings.

Rows go in by bulk multi-row inserts on the driver's own connection (SQLite: ``executemany`` in one
transaction; PostgreSQL: ``COPY``), far faster than row-by-row ORM inserts. Random but repeatable
(seeded): the same scale gives the same data.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

PRACTICES = ("sanfang", "jiexiang", "wuchang", "linjuli")
CATEGORIES = ("停车", "环境卫生", "物业服务", "治安消防", "邻里纠纷", "出租屋安全", "加装电梯", "其他")
TITLES = ("电动自行车充电棚选址", "楼道杂物清理", "地下车库照明维修", "小区停车位划线", "垃圾分类投放点调整",
          "高空抛物治理", "物业费收支公示", "加装电梯费用分摊", "夜间噪音扰民", "绿化带改停车位")
#: Topic states with their weights: most topics are closed and rated, some still under way.
STATES = (("rated", 52), ("done", 10), ("answered", 6), ("declined", 4), ("merged", 3),
          ("assigned", 9), ("decided", 4), ("scheduled", 4), ("accepted", 5), ("raised", 3))
LEVELS = (("satisfied", 70), ("basic", 22), ("unsatisfied", 8))


@dataclass
class Scale:
    councils: int = 1000
    years: int = 5
    meetings_per_year: int = 12
    topics_per_year: int = 120

    @property
    def meetings(self) -> int:
        return self.councils * self.years * self.meetings_per_year

    @property
    def topics(self) -> int:
        return self.councils * self.years * self.topics_per_year


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([w[0] for w in weighted], [w[1] for w in weighted])[0]


def generate(scale: Scale, today: date, seed: int = 9,
             base: dict[str, int] | None = None) -> dict[str, Any]:
    """Rows per table. Ids are given explicitly, after ``base`` (table → the largest id already
    there, so the county can be added to a database that has rows, e.g. the demo's)."""
    rng = random.Random(seed)
    base = base or {}
    ub, cb, db_, mb, tb = (base.get(t, 0) for t in ("units", "councils", "departments", "meetings", "topics"))
    streets = max(1, scale.councils // 50)
    communities_per_street = 5
    units: list[tuple] = [(ub + 1, "示范县", "县", None, f"SEED{ub + 1}")]
    estates: list[int] = []
    next_id = ub + 2
    community_ids = []
    for s in range(streets):
        street_id = next_id
        units.append((street_id, f"第{s + 1}街道", "街道", ub + 1, f"SEED{street_id}"))
        next_id += 1
        for c in range(communities_per_street):
            units.append((next_id, f"第{s + 1}街道第{c + 1}社区", "社区", street_id, f"SEED{next_id}"))
            community_ids.append(next_id)
            next_id += 1
    for e in range(scale.councils):
        community = community_ids[e % len(community_ids)]
        units.append((next_id, f"第{e + 1}小区", "小区", community, f"SEED{next_id}"))
        estates.append(next_id)
        next_id += 1
    councils = [(cb + i + 1, f"第{i + 1}小区议事会", estates[i], PRACTICES[i % len(PRACTICES)], "", "1/2")
                for i in range(scale.councils)]
    departments = [(db_ + i + 1, cb + i + 1, "物业服务中心", "物业", 1) for i in range(scale.councils)]
    start = datetime(today.year - scale.years, today.month, 1, 1, 0, tzinfo=UTC)
    span_days = (datetime(today.year, today.month, today.day, tzinfo=UTC) - start).days

    def meetings() -> Iterator[tuple]:
        mid = mb + 1
        for council in range(cb + 1, cb + scale.councils + 1):
            n = scale.years * scale.meetings_per_year
            for k in range(n):
                at = start + timedelta(days=span_days * k / n + rng.random() * 5, hours=11)
                state = "published" if k < n - 1 else "draft"
                yield (mid, council, "regular", f"{k + 1}月例会", "社区会议室", at, state, None, at, at,
                       False, 0, "", None)
                mid += 1

    event_rows: list[tuple] = []
    task_rows: list[tuple] = []
    rating_rows: list[tuple] = []

    def topics() -> Iterator[tuple]:
        tid = tb + 1
        for council in range(cb + 1, cb + scale.councils + 1):
            for _k in range(scale.years * scale.topics_per_year):
                created = start + timedelta(seconds=rng.random() * span_days * 86400)
                state = _pick(rng, STATES)
                age = (datetime.now(UTC) - created).days
                if age < 30 and state in ("rated", "done", "answered"):
                    state = "assigned"
                close = created + timedelta(days=rng.randint(1, min(60, max(1, age - 1))), hours=rng.random() * 8)
                if state in ("rated", "done", "answered"):
                    event_rows.append((tid, "finish", "assigned", "done" if state != "answered" else "answered",
                                       close))
                if state in ("rated", "done", "assigned"):
                    deadline = (created + timedelta(days=15)).date()
                    task_rows.append((tid, council - cb + db_, deadline, "done" if state != "assigned" else "assigned",
                                      created, close if state != "assigned" else None))
                if state == "rated":
                    rating_rows.append((tid, _pick(rng, LEVELS), close + timedelta(days=2)))
                category = CATEGORIES[rng.randrange(len(CATEGORIES))]
                yield (tid, council, TITLES[tid % len(TITLES)], category, "", state, "居民", created, close)
                tid += 1

    return {"units": units, "councils": councils, "departments": departments, "meetings": meetings,
            "topics": topics, "events": event_rows, "tasks": task_rows, "ratings": rating_rows}


TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "units": ("yishi_unit", ("id", "name", "kind", "parent", "code")),
    "councils": ("yishi_council", ("id", "name", "unit", "practice", "description", "quorum")),
    "departments": ("yishi_department", ("id", "council", "name", "kind", "token_generation")),
    "meetings": ("yishi_meeting", ("id", "council", "kind", "title", "place", "starts_at", "state",
                                   "current_position", "opened_at", "closed_at", "is_open", "agenda_revision",
                                   "recurrence", "series")),
    "topics": ("yishi_topic", ("id", "council", "title", "category", "description", "state", "proposer_name",
                               "created_at", "updated_at")),
    "events": ("yishi_topic_event", ("topic", "transition", "from_state", "to_state", "at")),
    "tasks": ("yishi_task", ("topic", "department", "deadline", "state", "created_at", "done_at")),
    "ratings": ("yishi_rating", ("topic", "level", "created_at")),
}
#: Columns the rows leave out, with the value every row gets.
DEFAULTS: dict[str, dict[str, Any]] = {
    "events": {"reason": "", "actor": "seed"},
    "tasks": {"requirement": ""},
    "ratings": {"comment": ""},
}
ORDER = ("units", "councils", "departments", "meetings", "topics", "events", "tasks", "ratings")


def _rows(data: dict[str, Any], name: str) -> Iterator[tuple]:
    rows = data[name]
    return rows() if callable(rows) else iter(rows)


def seed_sqlite(path: str, scale: Scale, today: date) -> dict[str, int]:
    """Add the county to a migrated SQLite database at ``path``; returns rows per table."""
    counts: dict[str, int] = {}
    conn = sqlite3.connect(path, timeout=30)
    try:
        base = {name: conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {TABLES[name][0]}").fetchone()[0]
                for name in ("units", "councils", "departments", "meetings", "topics")}
        data = generate(scale, today, base=base)
        conn.execute("BEGIN")
        for name in ORDER:
            table, columns = TABLES[name]
            extra = DEFAULTS.get(name, {})
            cols = [*columns, *extra]
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            tail = tuple(extra.values())
            n = 0
            batch: list[tuple] = []
            for row in _rows(data, name):
                batch.append(tuple(_sqlite_value(v) for v in row) + tail)
                if len(batch) >= 5000:
                    conn.executemany(sql, batch)
                    n += len(batch)
                    batch = []
            conn.executemany(sql, batch)
            counts[table] = n + len(batch)
        conn.commit()
    finally:
        conn.close()
    return counts


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


async def seed_postgres(url: str, scale: Scale, today: date) -> dict[str, int]:
    """Fill an empty, migrated PostgreSQL database by COPY; returns rows per table."""
    import asyncpg

    data = generate(scale, today)
    counts: dict[str, int] = {}
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            for name in ORDER:
                table, columns = TABLES[name]
                extra = DEFAULTS.get(name, {})
                tail = tuple(extra.values())
                records = [tuple(row) + tail for row in _rows(data, name)]
                await conn.copy_records_to_table(table, records=records, columns=[*columns, *extra])
                counts[table] = len(records)
                if "id" in columns:
                    await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                       f"(SELECT MAX(id) FROM {table}))")
    finally:
        await conn.close()
    return counts


def add_scaled_county(settings: Any, database: Any, councils: int) -> str:
    """``yishi demo --scale N``: add the county to the demo's SQLite file (once) and build the
    dashboards' rollup. Returns the line to print."""
    import asyncio
    import time

    from core.dashboard.rollup import LOCAL_TZ, rebuild

    with sqlite3.connect(database, timeout=30) as conn:
        if conn.execute("SELECT 1 FROM yishi_unit WHERE name = '示范县' AND parent IS NULL").fetchone():
            return "已有规模演示数据（示范县），未重复添加 / the scaled county is already there"
    started = time.perf_counter()
    counts = seed_sqlite(str(database), Scale(councils=councils), datetime.now(LOCAL_TZ).date())

    async def build() -> None:
        from core import db

        engine = await db.connect(settings.database_url)
        try:
            await rebuild()
        finally:
            await db.disconnect(engine)

    asyncio.run(build())
    return (f"已添加规模演示数据 / scaled county added ({time.perf_counter() - started:.0f} s): "
            + ", ".join(f"{table} {n:,}" for table, n in counts.items()))
