"""Dashboard benchmark: the county root's dashboard figures on a large dataset, beside a plain
indexed query of the same run.

Why: issue #9 — with 1,000 councils × 5 years (about 60,000 meetings and 600,000 topics) the
county root's dashboard must answer in ≤ 300 ms p50, on SQLite and on PostgreSQL.

What: creates a fresh database (SQLite in a temp dir; with ``--postgres URL`` also a database
``yishi_bench_dash`` on that server), migrates it, seeds it with :mod:`core.dashboard.seed` (bulk
inserts), builds the rollup once (timed: what a nightly or ten-minutely rebuild costs), then times
:func:`core.dashboard.figures.unit_figures` for the root — everything the dashboard page reads:
headline, by month, by street, by practice, by category, by council and the median — over the last
twelve months and over all five years, then the whole page over HTTP (the app in-process, an
administrator logged in: figures, template, SVG charts); beside them a plain indexed query (the open
topics of one council, by the (council, state) index) as this machine's ceiling for one round trip.

    .venv/bin/python bench/dashboard.py [--councils 1000] [--runs 30] [--postgres postgresql://…]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine_line

TARGET_MS = 300.0


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def _time(runs: int, work) -> list[float]:
    await work()  # warm caches once
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await work()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def measure(url: str, label: str, scale, runs: int, seed_fn) -> bool:
    from core import db
    from core.dashboard import figures, rollup
    from core.org.tables import Unit

    engine = await db.connect(url)
    try:
        await db.migrate()
        t0 = time.perf_counter()
        counts = await seed_fn()
        seeded = time.perf_counter() - t0
        print(f"[{label}] seeded in {seeded:.1f} s: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        t0 = time.perf_counter()
        await rollup.rebuild()
        print(f"[{label}] full rollup rebuild: {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        await rollup.rebuild([17])
        print(f"[{label}] one council's rollup refresh (after a workflow step): "
              f"{(time.perf_counter() - t0) * 1000:.0f} ms")
        t0 = time.perf_counter()
        await rollup.rebuild_totals()  # what the server's background pass does within a minute
        print(f"[{label}] all-council sums brought up to date (background pass): "
              f"{(time.perf_counter() - t0) * 1000:.0f} ms")
        root = (await Unit.select(Unit.id).where(Unit.parent.is_null()).first())["id"]
        today = date.today()
        year = figures.last_months(12, today)
        five = figures.last_months(12 * scale.years + 1, today)

        async def plain() -> None:
            await Unit.raw("SELECT id, title FROM yishi_topic WHERE council = 17 AND state = 'assigned'")

        ok = True
        base = await _time(runs, plain)
        print(f"[{label}] plain indexed query (ceiling): p50 {_p(base, .5):.2f} ms, p99 {_p(base, .99):.2f} ms")
        for name, period in (("last 12 months", year), ("all 5 years", five)):
            result = await figures.unit_figures(root, period, {})
            times = await _time(runs, lambda p=period: figures.unit_figures(root, p, {}))
            p50 = _p(times, .5)
            ok &= p50 <= TARGET_MS
            print(f"[{label}] county root dashboard, {name} ({result.totals.councils} councils, "
                  f"{result.totals.meetings:,} meetings, {result.totals.raised:,} topics): "
                  f"p50 {p50:.1f} ms, p99 {_p(times, .99):.1f} ms, "
                  f"{p50 / max(_p(base, .5), 1e-6):.0f}x the plain query — target ≤ {TARGET_MS:.0f} ms "
                  f"{'OK' if p50 <= TARGET_MS else 'MISSED'}")
        ok &= await measure_page(url, root, year, five, runs, label, base)
        return ok
    finally:
        await db.disconnect(engine)


async def measure_page(url: str, root: int, year, five, runs: int, label: str, base: list[float]) -> bool:
    """The whole page over HTTP (the app in-process through ASGI, an administrator logged in):
    figures, template and the SVG charts."""
    import logging

    import httpx

    from core.accounts.passwords import hash_password
    from core.accounts.tables import User
    from core.app import create_app
    from core.plugins import load_plugins
    from core.settings import PROJECT_ROOT, Settings

    settings = Settings.from_env(data_dir=Path(tempfile.mkdtemp()), database_url=url,
                                 plugin_registry=PROJECT_ROOT / "plugin_registry.toml")
    app = create_app(settings, load_plugins(settings.plugin_registry))
    await User.insert(User(username="bench", display_name="bench", password_hash=hash_password("bench-pw-123"),
                           is_admin=True))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    ok = True
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        await client.get("/login")
        token = client.cookies.get("yishi_csrf")
        r = await client.post("/login", data={"username": "bench", "password": "bench-pw-123", "next": "/"},
                              headers={"x-csrftoken": token})
        assert r.status_code == 303, r.text
        for name, period in (("last 12 months", year), ("all 5 years", five)):
            path = f"/dashboard/units/{root}?from={period.start_text}&to={period.end_text}"

            async def get(p: str = path) -> None:
                response = await client.get(p)
                assert response.status_code == 200 and "<svg" in response.text, response.status_code

            times = await _time(runs, get)
            p50 = _p(times, .5)
            ok &= p50 <= TARGET_MS
            print(f"[{label}] county root dashboard page over HTTP, {name}: p50 {p50:.1f} ms, "
                  f"p99 {_p(times, .99):.1f} ms, {p50 / max(_p(base, .5), 1e-6):.0f}x the plain query — "
                  f"target ≤ {TARGET_MS:.0f} ms {'OK' if p50 <= TARGET_MS else 'MISSED'}")
    return ok


async def main() -> int:
    from core.dashboard import seed

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--councils", type=int, default=1000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (a database yishi_bench_dash is made)")
    args = parser.parse_args()
    scale = seed.Scale(councils=args.councils, years=args.years)
    print(machine_line())
    print(f"dataset: {scale.councils} councils × {scale.years} years ≈ {scale.meetings:,} meetings, "
          f"{scale.topics:,} topics")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/bench.sqlite3"

        async def seed_sqlite() -> dict[str, int]:
            return seed.seed_sqlite(path, scale, date.today())

        ok &= await measure(f"sqlite:///{path}", "SQLite", scale, args.runs, seed_sqlite)
    if args.postgres:
        import asyncpg

        admin = await asyncpg.connect(args.postgres)
        await admin.execute('DROP DATABASE IF EXISTS "yishi_bench_dash"')
        await admin.execute('CREATE DATABASE "yishi_bench_dash"')
        url = urlunsplit(urlsplit(args.postgres)._replace(path="/yishi_bench_dash"))

        async def seed_pg() -> dict[str, int]:
            return await seed.seed_postgres(url, scale, date.today())

        try:
            ok &= await measure(url, "PostgreSQL", scale, args.runs, seed_pg)
        finally:
            await admin.execute('DROP DATABASE IF EXISTS "yishi_bench_dash" WITH (FORCE)')
            await admin.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
