"""Votes per second over HTTP: residents voting from their phones, on SQLite and on PostgreSQL.

Why: the issue's figures are votes/s over HTTP with 2 workers — on PostgreSQL at least half of
pgbench's single-row INSERT rate on the same machine in the same run, on SQLite at least 500/s — and
the bench must check its own result: ballots in the database equal acknowledged votes, none twice.

What, for each database:

1. A fresh database (SQLite: a file in a temporary folder; PostgreSQL: a database ``yishi_bench``
   created on the server and dropped at the end), migrated, seeded directly: one estate, ``--voters``
   roster entries (each a resident with a personal link), a named yes/no poll on the whole roster,
   opened (the electorate snapshot), then ``ANALYZE`` (the statistics a database in use has).
2. ``yishi serve --workers 2`` on a free port of 127.0.0.1 (``python -m core.cli serve``).
3. Every resident votes once: ``POST /r/<token>/polls/<id>`` with the CSRF token and the cookie that
   says the phone passed the identity check, ``--concurrency`` at a time; a vote is acknowledged when
   the answer is the 303 to the receipt page (``?receipt=…``). The client (raw asyncio streams,
   keep-alive, requests built before the clock starts) runs on the same 2 cores and takes CPU from the
   server: the figure is a floor.
   CPU time over the load, per vote, from /proc: the server's processes, PostgreSQL's processes serving
   the bench database, and the client's own — unlike votes/s it depends little on what else runs on
   the machine. Then the rate of a bare page (``GET /healthz``: Litestar and its middleware, no
   database) on the same server with the same client, the ceiling of anything served there.
4. Counts the participations and ballots stored: they must equal the acknowledged votes, with no voter
   twice. Then every resident votes again: each must be answered "您已投票" and nothing more stored.

tests/test_voting_http.py uses the same seeding, server and load (``seed``, ``start_server``,
``vote_all``, ``kill_server``) for 100 concurrent submissions by one voter and for ``kill -9`` in the
middle of a load run.
5. PostgreSQL only: ``pgbench -n -f`` of a single-row ``INSERT`` into a scratch table of
   ``yishi_bench``, with the same number of clients, for ``--pgbench-seconds``.

    .venv/bin/python bench/votes.py                       # SQLite and PostgreSQL, 3000 voters each
    .venv/bin/python bench/votes.py --no-postgres --voters 1000
    .venv/bin/python bench/votes.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.common import ROOT, machine_line

HOST = "127.0.0.1"
PG_DB = "yishi_bench"
SQLITE_TARGET = 500
#: Seconds between opening one keep-alive connection and the next (see vote_all).
RAMP_SECONDS = 0.004
PG_RATIO_TARGET = 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


async def _pg_admin(admin_url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_url(admin_url: str, dbname: str) -> str:
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{dbname}"))


# -------------------------------------------------------------------------------------------------
# Seeding (in this process, straight through the ORM and the services)
# -------------------------------------------------------------------------------------------------


async def seed(url: str, data_dir: Path, voters: int, secret: str) -> tuple[int, list[dict[str, str]]]:
    """Migrate, seed the estate and its roster, open the poll; (poll id, [{path, cookie name, cookie}])."""
    from core import db
    from core.org.tables import Council, Unit
    from core.residents.tables import RosterEntry
    from core.residents.tokens import make_token, make_verified_cookie, verified_cookie_name
    from core.voting import polls

    engine = await db.connect(url)
    try:
        await db.migrate()
        street = await Unit.objects().create(name="荷叶地街道", kind="街道")
        estate = await Unit.objects().create(name="锦绣苑小区", kind="小区", parent=street.id)
        council = await Council.objects().create(name="锦绣苑小区居民议事会", unit=estate.id, practice="sanfang")
        batch = 400
        for start in range(0, voters, batch):
            await RosterEntry.insert(*[RosterEntry(
                unit=estate.id, name=f"居民{i:05d}", household=f"{i // 4 + 1}-{i % 4 + 1}",
                building=f"{i // 200 + 1}栋", unit_no=str(i // 40 % 5 + 1), room=f"{i % 40 + 101}",
                phone_last4=f"{i % 10000:04d}", kind="resident")
                for i in range(start, min(start + batch, voters))])
        poll_id = await polls.create_poll(
            council_id=council.id, item_id=None, title="小区东门加装电动自行车充电棚（书面征求意见）", method="yesno",
            options=[], rule_id="simple_majority", visibility="named",
            electorate={"kind": "roster", "unit_id": estate.id, "per": "person", "weight": "none"}, actor="bench")
        await polls.open_poll(poll_id, actor="bench")
        entries = await RosterEntry.select(RosterEntry.id, RosterEntry.token_generation).order_by(RosterEntry.id)
        # Statistics, as a database in use has them (autovacuum would gather them a minute later): without
        # them PostgreSQL plans for empty tables and scans the whole roster for every vote.
        await RosterEntry.raw("ANALYZE")
    finally:
        await db.disconnect(engine)
    out = []
    for e in entries:
        token = make_token(secret, e["id"], e["token_generation"])
        out.append({"path": f"/r/{token}/polls/{poll_id}", "cookie_name": verified_cookie_name(e["id"]),
                    "cookie": make_verified_cookie(secret, token, "phone_last4")})
    return poll_id, out


async def stored(url: str, poll_id: int) -> dict[str, int]:
    """What the database holds for the poll: participations, ballots, distinct voters."""
    from core import db
    from core.voting.tables import NamedBallot, Participation

    engine = await db.connect(url)
    try:
        keys = [r["voter_key"] for r in await Participation.select(Participation.voter_key).where(
            Participation.poll == poll_id)]
        ballots = await NamedBallot.count().where(NamedBallot.poll == poll_id)
    finally:
        await db.disconnect(engine)
    return {"participations": len(keys), "ballots": ballots, "voters": len(set(keys))}


# -------------------------------------------------------------------------------------------------
# The server and the load
# -------------------------------------------------------------------------------------------------


def start_server(url: str, data_dir: Path, secret: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = data_dir.parent / "server.log"  # a file, not a pipe: a full pipe would stall the server
    env = {**os.environ, "YISHI_DATA_DIR": str(data_dir), "YISHI_DATABASE_URL": url, "YISHI_SECRET_KEY": secret,
           "YISHI_DEBUG": "0"}
    with log.open("ab") as err:
        # Its own process group, so that kill_server() can SIGKILL the supervisor and its workers at once.
        proc = subprocess.Popen([sys.executable, "-m", "core.cli", "serve", "--host", HOST, "--port", str(port),
                                 "--workers", str(workers)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited ({proc.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                return proc, base
        except OSError:
            time.sleep(0.3)
    stop_server(proc)
    sys.exit("server did not answer /healthz within 60 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the uvicorn supervisor we started; it stops its own workers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_server(proc)


def kill_server(proc: subprocess.Popen[bytes]) -> None:
    """``kill -9`` of the server we started: SIGKILL to its process group (the supervisor and every
    worker, in the middle of whatever they were doing — no shutdown, no flush)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


class _Connection:
    """One keep-alive HTTP/1.1 connection of the load generator: raw asyncio streams, requests built
    in advance, answers read by Content-Length (or chunks). Why not httpx: on these 2 cores the client
    competes with the server for CPU, and httpx spent about as much per request as the server's lean
    vote; the client is the load, not what is measured."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes, timeout: float = 60) -> tuple[int, dict[str, str], bytes]:
        """Send ``raw`` (a whole request), return (status, headers lower-cased, body)."""
        for attempt in (0, 1):
            if self.writer is None:
                opening = asyncio.open_connection(self.host, self.port)
                self.reader, self.writer = await asyncio.wait_for(opening, timeout)
            assert self.reader is not None
            try:
                self.writer.write(raw)
                head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:  # a fresh connection failed too: the server is gone
                    raise
                continue  # a kept-alive connection the server had closed: once more on a new one
            lines = head.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            if headers.get("transfer-encoding", "").lower() == "chunked":
                body = b""
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                    body += await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
            else:
                body = await self.reader.readexactly(int(headers.get("content-length", "0")))
            if headers.get("connection", "").lower() == "close":
                self.close()
            return status, headers, body
        raise ConnectionError("unreachable")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def _vote_request(host: str, voter: dict[str, str], csrf: str) -> bytes:
    body = "choice=%E8%B5%9E%E6%88%90"  # 赞成
    return (f"POST {voter['path']} HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nx-csrftoken: {csrf}\r\n"
            f"Cookie: {voter['cookie_name']}={voter['cookie']}; yishi_csrf={csrf}\r\n\r\n{body}").encode()


def _csrf_token(base: str) -> str:
    """The CSRF cookie a phone gets with its first page (any page: the token is not per page)."""
    with urllib.request.urlopen(base + "/login", timeout=30) as answer:
        for header in answer.headers.get_all("set-cookie") or []:
            name, _sep, rest = header.partition("=")
            if name.strip() == "yishi_csrf":
                return rest.split(";", 1)[0]
    sys.exit("the server set no CSRF cookie")


async def vote_all(base: str, voters: list[dict[str, str]], concurrency: int,
                   receipts: dict[str, str] | None = None) -> dict[str, float]:
    """Each voter votes once, ``concurrency`` at a time: acknowledged votes, other answers, seconds.
    ``receipts`` (if given) gets each acknowledged voter's path and receipt code as the answers arrive,
    so a caller that cancels the run midway still knows every vote acknowledged until then."""
    parts = urlsplit(base)
    host, port = parts.hostname or HOST, parts.port or 80
    csrf = await asyncio.to_thread(_csrf_token, base)
    requests = [(v["path"], _vote_request(parts.netloc, v, csrf)) for v in voters]  # built before the clock starts
    queue = list(reversed(requests))
    acked = refused = failed = 0
    statuses: dict[int, int] = {}

    async def worker(i: int) -> None:
        nonlocal acked, refused, failed
        connection = _Connection(host, port)
        # One connection after another while the first ones are busy, so that each server worker
        # accepts some: all at once, the first worker to wake up would often take every one.
        await asyncio.sleep(i * RAMP_SECONDS)
        try:
            while queue:
                path, raw = queue.pop()
                try:
                    status, headers, _body = await connection.request(raw)
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                    connection.close()
                    failed += 1
                    continue
                statuses[status] = statuses.get(status, 0) + 1
                location = headers.get("location", "")
                if status == 303 and "receipt=" in location:
                    acked += 1
                    if receipts is not None:
                        receipts[path] = location.split("receipt=", 1)[1]
                elif status == 303:
                    refused += 1  # 您已投票: back to the page, no receipt
                else:
                    failed += 1
        finally:
            connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    seconds = time.perf_counter() - start
    return {"acked": acked, "refused": refused, "failed": failed, "seconds": seconds, "statuses": statuses}


async def bare_rate(base: str, concurrency: int, n: int) -> float:
    """Requests/s of ``GET /healthz`` (the cheapest page: Litestar and every middleware, no database)
    with the same client and concurrency: what the server can answer at all on this machine now."""
    parts = urlsplit(base)
    raw = f"GET /healthz HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    left = n

    async def worker() -> None:
        nonlocal left
        connection = _Connection(parts.hostname or HOST, parts.port or 80)
        try:
            while left > 0:
                left -= 1
                await connection.request(raw)
        finally:
            connection.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - start)


def _tree(pid: int) -> list[int]:
    """The process and its descendants (the uvicorn supervisor and its workers)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by the server's processes (from /proc/PID/stat). The
    figure that does not depend on how busy the machine is: the work the server did, not the time it
    waited for a core."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


async def _backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving the bench database (but the one asking)."""
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                "AND pid <> pg_backend_pid()")
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu(url: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL process serving the bench database (other
    sessions' databases on the same server are not counted)."""
    return {pid: _process_cpu(pid) for pid in asyncio.run(_backends(url))}


def pgbench_tps(url: str, clients: int, seconds: int) -> float:
    """pgbench's tps for a single-row INSERT into a scratch table of the bench database."""
    asyncio.run(_pg_admin(url, "CREATE TABLE IF NOT EXISTS bench_insert (id bigserial PRIMARY KEY, voter "
                               "text NOT NULL, choice text NOT NULL, at timestamptz NOT NULL DEFAULT now())"))
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        script.write("INSERT INTO bench_insert (voter, choice) VALUES ('entry:' || random(), '赞成');\n")
    try:
        out = subprocess.run(["pgbench", "-n", "-f", script.name, "-c", str(clients), "-j", "2", "-T", str(seconds),
                              url], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)
    found = re.search(r"tps = ([0-9.]+)", out)
    if not found:
        sys.exit(f"pgbench printed no tps:\n{out}")
    return float(found.group(1))


# -------------------------------------------------------------------------------------------------


def run(label: str, url: str, data_dir: Path, args: argparse.Namespace) -> dict[str, float]:
    secret = secrets.token_urlsafe(32)
    poll_id, voters = asyncio.run(seed(url, data_dir, args.voters, secret))
    proc, base = start_server(url, data_dir, secret, args.workers)
    try:
        postgres = not url.startswith("sqlite")
        db_before = database_cpu(url) if postgres else {}
        cpu_before, client_before = cpu_seconds(proc.pid), time.process_time()
        load = asyncio.run(vote_all(base, voters, args.concurrency))
        cpu, client = cpu_seconds(proc.pid) - cpu_before, time.process_time() - client_before
        db_cpu = sum(used - db_before.get(pid, 0.0) for pid, used in database_cpu(url).items()) if postgres else 0.0
        again = asyncio.run(vote_all(base, voters[: min(len(voters), 200)], args.concurrency))
        bare_before, bare_client_before = cpu_seconds(proc.pid), time.process_time()
        bare = asyncio.run(bare_rate(base, args.concurrency, args.bare)) if args.bare else 0.0
        bare_cpu = (cpu_seconds(proc.pid) - bare_before) / max(args.bare, 1) * 1000
        bare_client = (time.process_time() - bare_client_before) / max(args.bare, 1) * 1000
    finally:
        stop_server(proc)
    db_rows = asyncio.run(stored(url, poll_id))
    rate = load["acked"] / load["seconds"]
    ok = (db_rows["participations"] == db_rows["ballots"] == db_rows["voters"] == load["acked"]
          and again["acked"] == 0 and again["refused"] == min(len(voters), 200))
    print(f"{label:<10} {args.workers} workers, {args.concurrency} concurrent: {load['acked']:.0f} votes "
          f"acknowledged in {load['seconds']:.2f} s = {rate:,.0f} votes/s   (answers {load['statuses']}, "
          f"failed {load['failed']:.0f})")
    per_vote = cpu / max(load["acked"], 1) * 1000
    print(f"{'':<10} server CPU {per_vote:.2f} ms per vote (user + system, supervisor and workers; the database "
          f"server's own CPU not included) → at most {(os.cpu_count() or 1) * 1000 / per_vote:,.0f} votes/s if "
          f"the server had all {os.cpu_count()} cores to itself")
    acked = max(load["acked"], 1)
    print(f"{'':<10} the client's CPU {client / acked * 1000:.2f} ms per vote" + (
        f"; PostgreSQL's (its processes serving this database) {db_cpu / acked * 1000:.2f} ms per vote"
        if postgres else ""))
    if bare:
        print(f"{'':<10} bare endpoint (GET /healthz: Litestar and its middleware, no database), same server and "
              f"client: {bare:,.0f} requests/s (server CPU {bare_cpu:.2f} ms, client {bare_client:.2f} ms per request)")
    print(f"{'':<10} load average during the run: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'':<10} stored: {db_rows['participations']} participations, {db_rows['ballots']} ballots, "
          f"{db_rows['voters']} distinct voters; voting again: {again['refused']:.0f} × 您已投票, "
          f"{again['acked']:.0f} accepted → {'OK' if ok else 'MISMATCH'}")
    return {"rate": rate, "ok": float(ok), "cpu_ms": per_vote, "db_cpu_ms": db_cpu / acked * 1000,
            "client_ms": client / acked * 1000, "bare_cpu_ms": bare_cpu if bare else 0.0}


def print_budget(result: dict[str, float], tps: float) -> None:
    """What the PostgreSQL target leaves per vote: every process shares the machine's cores, so at
    ``PG_RATIO_TARGET × tps`` votes/s a vote may cost ``cores / rate`` of CPU in all — the server, the
    database and the client together. Printed beside what a vote costs now, and what the server's
    cheapest page (no database) costs, so a run shows how far the target is from this machine."""
    cores = os.cpu_count() or 1
    budget = cores * 1000 / (PG_RATIO_TARGET * tps)
    spent = result["cpu_ms"] + result["db_cpu_ms"] + result["client_ms"]
    left = budget - result["db_cpu_ms"] - result["client_ms"]
    print(f"{'':<10} CPU budget at the target ({PG_RATIO_TARGET} × {tps:,.0f} = {PG_RATIO_TARGET * tps:,.0f} votes/s on "
          f"{cores} cores): {budget:.3f} ms per vote in all; spent now {spent:.3f} ms (server {result['cpu_ms']:.3f}, "
          f"PostgreSQL {result['db_cpu_ms']:.3f}, client {result['client_ms']:.3f}); with the database's and the "
          f"client's share as measured, {left:.3f} ms is left for the server, whose bare GET /healthz alone "
          f"costs {result['bare_cpu_ms']:.3f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voters", type=int, default=3000, help="residents who vote, once each (default 3000)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (default 2)")
    parser.add_argument("--postgres", default=os.environ.get("YISHI_TEST_POSTGRES_URL",
                                                             "postgresql://postgres@127.0.0.1:5432/postgres"),
                        help="an admin URL of the PostgreSQL server (its database is only used to connect)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--bare", type=int, default=3000,
                        help="GET /healthz requests for the bare endpoint's rate (0: skip)")
    args = parser.parse_args()
    if shutil.which("pgbench") is None and not args.no_postgres:
        sys.exit("pgbench is required for the PostgreSQL figure (apt-get install postgresql-client), "
                 "or run with --no-postgres")
    print(machine_line())
    ok = True
    if not args.no_sqlite:
        tmp = Path(tempfile.mkdtemp(prefix="yishi-votes-bench-"))
        try:
            data = tmp / "data"
            result = run("SQLite", f"sqlite:///{data / 'yishi.sqlite3'}", data, args)
            ok &= bool(result["ok"])
            met = "met" if result["rate"] >= SQLITE_TARGET else "NOT met"
            print(f"{'':<10} target ≥ {SQLITE_TARGET} votes/s: {met}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if not args.no_postgres:
        tmp = Path(tempfile.mkdtemp(prefix="yishi-votes-bench-"))
        url = _pg_url(args.postgres, PG_DB)
        asyncio.run(_pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
        asyncio.run(_pg_admin(args.postgres, f'CREATE DATABASE "{PG_DB}"'))
        try:
            result = run("PostgreSQL", url, tmp / "data", args)
            ok &= bool(result["ok"])
            tps = pgbench_tps(url, args.concurrency, args.pgbench_seconds)
            ratio = result["rate"] / tps
            print(f"{'':<10} pgbench single-row INSERT, {args.concurrency} clients: {tps:,.0f} tps; votes/s ÷ tps = "
                  f"{ratio:.2f} (target ≥ {PG_RATIO_TARGET}: {'met' if ratio >= PG_RATIO_TARGET else 'NOT met'})")
            print_budget(result, tps)
        finally:
            asyncio.run(_pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
