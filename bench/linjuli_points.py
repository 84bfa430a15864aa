"""邻聚力·月月谈 volunteer points: ledger lines per second, and redemptions that race for one balance.

Why: the points ledger is a ledger kind of core's record engine (records/linjuli_jifen.toml,
core/records/ledger.py): every line is written under a lock on the person's roster row, after reading
their last line (so a balance can never go below zero). The figure says what that lock and read cost
beside the machine's own ceiling: the same audited record and ledger line inserted without them.

What, for each database (SQLite in a temporary folder; PostgreSQL in a database ``yishi_bench_linjuli``
created on the server and dropped at the end), migrated with core's and the plugin's apps, in this process:

1. ceiling: ``--lines`` audited inserts of a record and its ledger line (one ``db.atomic()`` each, an
   audit event each, no lock, no read) — lines/s;
2. ledger: ``--lines`` lines through ``core.records.service.create`` (the validated form, as the page
   stores it) spread over 50 people, one at a time — lines/s and the ratio to the ceiling;
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


def _specs() -> object:
    from core.plugins import load_plugins

    registry = Path(tempfile.mkdtemp(prefix="yishi-bench-registry-")) / "plugin_registry.toml"
    registry.write_text("[plugins.linjuli]\nenabled = true\n", encoding="utf-8")
    return load_plugins(registry).specs


async def run(url: str, lines: int, racers: int) -> None:
    from core import audit, db
    from core.lowcode.forms import validate
    from core.records import ledger as ledgers
    from core.records import links, service
    from core.records.tables import Record, RecordLedgerLine

    specs = _specs()
    kind = specs.records["linjuli_jifen"]
    workflow = kind.workflow_of(specs)
    engine = await db.connect(url, APPS)
    try:
        await db.migrate()
        council, people = await _seed(51)
        ceiling_person, ledger_people, racer = people[0], people[1:50], people[50]
        choices = await links.choices(kind, council["id"])

        def line(person: int, points: int, reason: str) -> object:
            return validate(specs.form(kind.form), {
                "person": [str(person)], "direction": ["earn" if points > 0 else "redeem"],
                "points": [str(abs(points))], "reason": [reason], "happened_on": [DAY.isoformat()]}, None, choices)

        start = time.perf_counter()
        for n in range(lines):
            async with db.atomic():
                row = (await Record.insert(Record(
                    council=council["id"], kind=kind.id, state="recorded", title="基准", form_id=kind.form,
                    data="{}", day=DAY)).returning(Record.id))[0]
                await RecordLedgerLine.insert(RecordLedgerLine(record=row["id"], kind=kind.id, council=council["id"],
                                                               person=ceiling_person, seq=n + 1, amount=1,
                                                               balance=n + 1, day=DAY))
                await audit.record(actor="bench", action=f"record.{kind.id}.create", entity=f"record:{row['id']}",
                                   after={"points": 1})
        ceiling = lines / (time.perf_counter() - start)

        forms = [line(ledger_people[n % len(ledger_people)], 1, "巡防") for n in range(lines)]
        start = time.perf_counter()
        for result in forms:
            await service.create(kind, council["id"], result, actor="bench", spec=workflow, nonce=None)
        ledger = lines / (time.perf_counter() - start)

        await service.create(kind, council["id"], line(racer, racers // 2, "积分"), actor="bench", spec=workflow,
                             nonce=None)

        async def redeem() -> bool:
            try:
                await service.create(kind, council["id"], line(racer, -1, "兑换"), actor="bench", spec=workflow,
                                     nonce=None)
                return True
            except service.Refused:
                return False

        start = time.perf_counter()
        results = await asyncio.gather(*(redeem() for _ in range(racers)))
        race_seconds = time.perf_counter() - start
        passed, balance = sum(results), (await ledgers.balances(kind.id, council["id"]))[racer]["balance"]
        ok = passed == racers // 2 and balance == 0
        print(f"  ceiling (audited insert, no lock, no read): {ceiling:8.0f} lines/s")
        print(f"  ledger  (service.create, 50 people):        {ledger:8.0f} lines/s  "
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
