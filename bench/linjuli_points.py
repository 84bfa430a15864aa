"""邻聚力·月月谈 volunteer points: ledger lines per second, and redemptions that race for one balance.

Why: every line of the points ledger is written under a lock on the person's roster row, after
reading their last line (so a balance can never go below zero). The figure says what that lock and
read cost beside the machine's own ceiling: the same audited insert into the same table without them.

What, for each database (SQLite in a temporary folder; PostgreSQL in a database ``yishi_bench_linjuli``
created on the server and dropped at the end), migrated with the plugin's tables, in this process:

1. ceiling: ``--lines`` audited single-row inserts into ``linjuli_points_entry`` (one ``db.atomic()``
   each, an audit event each, no lock, no read) — lines/s;
2. ledger: ``--lines`` lines through ``points.add_line`` spread over 50 people, one at a time — lines/s
   and the ratio to the ceiling;
3. contention: ``--racers`` concurrent redemptions of 1 point against one person holding half as many
   points: exactly half must pass, the rest be refused, and the balance end at 0 (checked, printed).

    .venv/bin/python bench/linjuli_points.py                 # SQLite and PostgreSQL
    .venv/bin/python bench/linjuli_points.py --no-postgres --lines 500
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine_line

APPS = ["yishi_linjuli.piccolo_app"]
PG_DB = "yishi_bench_linjuli"
DAY = date(2026, 11, 20)


async def _pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _seed(people: int) -> tuple[dict, list[int]]:
    from core.org.tables import Council, Unit
    from core.residents.tables import RosterEntry

    unit = await Unit.objects().create(name="沥林新村出租屋片区", kind="片区")
    council = await Council.objects().create(name="沥林新村邻聚力·月月谈议事会", unit=unit.id, practice="linjuli")
    ids = []
    for n in range(people):
        entry = await RosterEntry.objects().create(unit=unit.id, name=f"租户{n}", building=f"新村{n % 12 + 1}栋",
                                                   room=str(100 + n), kind="tenant")
        ids.append(entry.id)
    return {"id": council.id, "unit": unit.id}, ids


async def run(url: str, lines: int, racers: int) -> None:
    from yishi_linjuli import points
    from yishi_linjuli.tables import PointsEntry

    from core import audit, db

    engine = await db.connect(url, APPS)
    try:
        await db.migrate()
        council, people = await _seed(51)
        ceiling_person, ledger_people, racer = people[0], people[1:50], people[50]

        start = time.perf_counter()
        for n in range(lines):
            async with db.atomic():
                row = (await PointsEntry.insert(PointsEntry(
                    council=council["id"], person=ceiling_person, seq=n + 1, points=1, balance=n + 1, reason="基准",
                    happened_on=DAY)).returning(PointsEntry.id))[0]
                await audit.record(actor="bench", action="linjuli.points.earned", entity=f"linjuli_points:{row['id']}",
                                   after={"points": 1})
        ceiling = lines / (time.perf_counter() - start)

        start = time.perf_counter()
        for n in range(lines):
            await points.add_line(council, points.Line(ledger_people[n % len(ledger_people)], 1, "巡防", DAY), "bench")
        ledger = lines / (time.perf_counter() - start)

        await points.add_line(council, points.Line(racer, racers // 2, "积分", DAY), "bench")

        async def redeem() -> bool:
            try:
                await points.add_line(council, points.Line(racer, -1, "兑换", DAY), "bench")
                return True
            except points.PointsError:
                return False

        start = time.perf_counter()
        results = await asyncio.gather(*(redeem() for _ in range(racers)))
        race_seconds = time.perf_counter() - start
        passed, balance = sum(results), await points.balance(racer)
        ok = passed == racers // 2 and balance == 0
        print(f"  ceiling (audited insert, no lock, no read): {ceiling:8.0f} lines/s")
        print(f"  ledger  (points.add_line, 50 people):       {ledger:8.0f} lines/s  "
              f"= {ledger / ceiling:.2f} x ceiling")
        print(f"  race    ({racers} redemptions of 1 at once on {racers // 2} points): {passed} passed, "
              f"{racers - passed} refused, balance {balance} — {'OK' if ok else 'WRONG'} ({race_seconds:.2f} s)")
    finally:
        await db.disconnect(engine)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--racers", type=int, default=40)
    parser.add_argument("--postgres", default=os.environ.get("YISHI_TEST_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(machine_line())
    tmp = Path(tempfile.mkdtemp(prefix="yishi-bench-linjuli-"))
    try:
        print("SQLite (WAL, one file):")
        asyncio.run(run(f"sqlite:///{tmp / 'bench.sqlite3'}", args.lines, args.racers))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.no_postgres:
        parts = urlsplit(args.postgres)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            print("PostgreSQL: skipped, only 127.0.0.1 is benchmarked")
            return 0
        url = urlunsplit(parts._replace(path=f"/{PG_DB}"))
        asyncio.run(_pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{PG_DB}"'))
        asyncio.run(_pg_admin(args.postgres, f'CREATE DATABASE "{PG_DB}"'))
        try:
            print("PostgreSQL:")
            asyncio.run(run(url, args.lines, args.racers))
        finally:
            asyncio.run(_pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
