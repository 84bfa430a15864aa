"""HTTP page benchmark: throughput and latency of real pages against a bare Jinja page.

Why: the meeting console is the page a chair reloads all through a meeting on a weak tablet; the
issue's target is that its p50 stays within 2x of a bare ~5 KB Jinja page served by the same app
(so the database and the console's logic cost at most as much again as rendering a page at all).

What: seeds a fresh demo database (``yishi demo --no-serve`` on SQLite in a temp dir; with
``--postgres URL`` also a database ``yishi_bench`` on that server, migrated and seeded the same
way), starts uvicorn (1 worker) on a free port on 127.0.0.1 with :func:`bench.app.create_bench_app`,
and runs ``wrk`` against each endpoint in turn. Prints requests/s, p50, p99 and each page's p50
divided by the bare page's, and the server's CPU time per request (from /proc, so it holds up
better than latency on a machine busy with other work). Needs wrk: ``apt-get install -y wrk``.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

if __package__ in (None, ""):  # run as a script: python bench/pages.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, machine_line

HOST = "127.0.0.1"  # never anything else
BARE = "/p/bench/page"
# (path, what it is, a string its HTML must contain: the demo's meeting 2 is the draft one)
ENDPOINTS = [
    ("/healthz", "plain endpoint (ceiling)", "ok"),
    (BARE, "bare ~5 KB Jinja page", "<table"),
    ("/p/bench/open/2/page", "the same page, public, with the same path parameter", "<table"),
    ("/p/bench/meeting/2/page", "the same page behind the permission check (meeting.view)", "<table"),
    ("/meetings/2", "meeting console, draft, 5 items", "state-draft"),
    ("/meetings/1", "meeting console, closed, 3 items", "state-closed"),
]
TARGET_RATIO = 2.0
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def seed_sqlite(data_dir: Path) -> str:
    subprocess.run([sys.executable, "-m", "core.cli", "demo", "--no-serve", "--data-dir", str(data_dir)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return f"sqlite:///{data_dir / 'yishi.sqlite3'}"


async def _pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _seed_demo(url: str, data_dir: Path) -> None:
    from core import db
    from core.cli import seed_demo
    from core.plugins import load_plugins
    from core.settings import Settings

    settings = Settings.from_env(data_dir=data_dir, database_url=url)
    plugins = load_plugins(settings.plugin_registry)
    apps = [a for _pid, apps in plugins.call_each("yishi_piccolo_apps") for a in apps]
    engine = await db.connect(url, apps)
    try:
        await seed_demo(plugins, settings)
    finally:
        await db.disconnect(engine)


def seed_postgres(admin_url: str, dbname: str, data_dir: Path) -> str:
    """Recreate our own database (never the admin URL's), `yishi migrate` it, seed the demo."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", dbname) or dbname == urlsplit(admin_url).path.strip("/"):
        sys.exit(f"--pg-db {dbname!r}: choose a separate database name such as yishi_bench")
    asyncio.run(_pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
    asyncio.run(_pg_admin(admin_url, f'CREATE DATABASE "{dbname}"'))
    url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{dbname}"))
    env = {**os.environ, "YISHI_DATA_DIR": str(data_dir), "YISHI_DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "core.cli", "migrate"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    asyncio.run(_seed_demo(url, data_dir))
    return url


def start_server(database_url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = data_dir.parent / "server.log"  # a file, not a pipe: a full pipe would stall the server
    env = {**os.environ, "YISHI_DATA_DIR": str(data_dir), "YISHI_DATABASE_URL": database_url,
           "YISHI_DEBUG": "0"}
    with log.open("ab") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.app:create_bench_app", "--factory", "--host", HOST,
             "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log",
             "--no-proxy-headers", "--app-dir", str(ROOT)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited ({proc.returncode}):\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                return proc, base
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    sys.exit("server did not answer /healthz within 30 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 303 is an answer to look at, not to follow


def login_cookie(base: str, username: str) -> str:
    """Log in through the real form (CSRF token and all) as a demo user; the Cookie header to send.

    Empty when the meeting page needs no login (a core without accounts)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    try:
        opener.open(base + "/meetings/2", timeout=10).close()
        return ""
    except urllib.error.HTTPError as exc:
        if exc.code not in (303, 401):
            raise
    from core.sanfang.demo import DEMO_PASSWORD

    page = opener.open(base + "/login", timeout=10).read().decode()
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    form = {"username": username, "password": DEMO_PASSWORD, "next": "/",
            "_csrf_token": token.group(1) if token else ""}
    try:
        opener.open(base + "/login", data=urlencode(form).encode(), timeout=30).close()
    except urllib.error.HTTPError as exc:
        if exc.code != 303:
            sys.exit(f"login as {username} failed: HTTP {exc.code}")
    cookies = {c.name: c.value for c in jar}
    if "yishi_session" not in cookies:
        sys.exit(f"login as {username} failed: no session cookie")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def body_size(url: str, cookie: str, marker: str) -> int:
    """The page's size; stop unless it is a 200 showing what the table will say it is."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as r:
        body = r.read()
        if r.status != 200 or r.url != url or marker.encode() not in body:
            sys.exit(f"{url}: HTTP {r.status} at {r.url}, {marker!r} not in the page: not the page expected")
        return len(body)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _ms(value: str, unit: str) -> float:
    return float(value) * UNITS[unit]


def run_wrk(url: str, connections: int, seconds: int, cookie: str, server_pid: int) -> dict[str, float]:
    header = ["-H", f"Cookie: {cookie}"] if cookie else []
    cpu_before = cpu_seconds(server_pid)
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", *header, url],
                         capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(server_pid) - cpu_before
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    result: dict[str, float] = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
                                "cpu_ms": cpu * 1e3 / max(requests, 1)}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        result[f"p{pct}"] = _ms(m.group(1), m.group(2))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    result["non2xx"] = float(bad.group(1)) if bad else 0.0
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = errors.group(1) if errors else ""  # type: ignore[assignment]
    return result


def bench_database(label: str, database_url: str, data_dir: Path, args: argparse.Namespace) -> None:
    proc, base = start_server(database_url, data_dir)
    try:
        cookie = login_cookie(base, args.user)
        print(f"\n[{label}] " + (f"logged in as {args.user}; every request sends its session and CSRF cookies"
                                 if cookie else "no login needed"))
        sizes = {path: body_size(base + path, cookie, marker) for path, _what, marker in ENDPOINTS}
        for connections in args.connections:
            rows = []
            for path, _what, _marker in ENDPOINTS:
                run_wrk(base + path, connections, args.warmup, cookie, proc.pid)  # compiled, caches warm
                rows.append((path, run_wrk(base + path, connections, args.duration, cookie, proc.pid)))
            bare = dict(rows)[BARE]
            print(f"[{label}] wrk -t1 -c{connections} -d{args.duration}s --latency "
                  f"(after {args.warmup}s warm-up each), server: uvicorn 1 worker")
            print(f"{'endpoint':<15}{'what':<35}{'bytes':>7}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
                  f"{'p50/bare':>10}{'CPU ms/req':>12}{'CPU/bare':>10}")
            for (path, what, _marker), (_p, r) in zip(ENDPOINTS, rows, strict=True):
                print(f"{path:<15}{what:<35}{sizes[path]:>7}{r['rps']:>8.0f}{r['p50']:>9.2f}{r['p99']:>9.2f}"
                      f"{r['p50'] / bare['p50']:>9.2f}x{r['cpu_ms']:>12.2f}{r['cpu_ms'] / bare['cpu_ms']:>9.2f}x")
                if r["non2xx"] or r["socket_errors"]:
                    print(f"    ! non-2xx: {r['non2xx']:.0f}; socket errors: {r['socket_errors']}")
            print(f"target: meeting console p50 within {TARGET_RATIO:.1f}x of the bare page's p50")
    finally:
        stop_server(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per endpoint (default 2)")
    parser.add_argument("--connections", type=lambda s: [int(c) for c in s.split(",")], default=[8],
                        help="wrk connections, comma-separated for several runs (default 8)")
    parser.add_argument("--user", default="wangjh", help="demo account to log in as (default wangjh, "
                        "the chair)")
    parser.add_argument("--postgres", metavar="URL", help="also benchmark on PostgreSQL, e.g. "
                        "postgresql://postgres@127.0.0.1:5432/test (only used to create --pg-db)")
    parser.add_argument("--pg-db", default="yishi_bench", help="database created, used and dropped "
                        "on that server (default yishi_bench)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks stop the server
    if shutil.which("wrk") is None:
        print("wrk is needed for this benchmark and was not found.\n"
              "Install it (Debian/Ubuntu): apt-get install -y wrk", file=sys.stderr)
        return 2
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    print(machine_line())
    print(f"wrk: {wrk_version.split(' Copyright')[0]}")

    with tempfile.TemporaryDirectory(prefix="yishi-bench-") as tmp:
        data_dir = Path(tmp) / "demo"
        bench_database("SQLite", seed_sqlite(data_dir), data_dir, args)
        if args.postgres:
            url = seed_postgres(args.postgres, args.pg_db, data_dir)
            try:
                bench_database("PostgreSQL", url, data_dir, args)
            finally:
                asyncio.run(_pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{args.pg_db}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
