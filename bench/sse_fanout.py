"""Live-update fan-out: how long a published change takes to reach N browsers following a meeting.

Why: on a meeting day the projector, the chair's tablet and residents' phones follow one meeting's
stream; a change (the next agenda item, a hand count) should reach all of them within a second.

What: seeds a fresh demo database (``yishi demo --no-serve`` in a temp dir), starts uvicorn (1
worker) on a free port on 127.0.0.1 serving the real app plus this module's small plugin, whose
``POST /p/sse_bench/publish/{meeting_id}`` publishes one change through ``core.live.publish`` (the
call the meeting services make). Then it opens SSE subscribers to the public stream
``/public/live/meetings/1`` in steps up to ``--max`` (2,000; raw asyncio sockets, uvloop), and at
each step publishes ``--publishes`` changes one after another, timing from just before the POST
until each subscriber has read the event. It prints p50/p99/max of those times and how many
subscribers each change reached, beside the ceiling: the p50 of ``/healthz`` (a plain-text
endpoint) on the same server, measured the same way, before any subscriber and again at the top.

With ``--redis URL`` it runs the ramp again with TWO server processes sharing that Redis
(subscribers split between them, changes published through the first), so every event crosses
Redis. Bounded: at most ``--max`` subscribers, ``--timeout`` seconds per change, loopback only; it
raises the soft file-descriptor limit to what it needs and stops every process it started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: python bench/sse_fanout.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from litestar import Request, post
from litestar.response import Response

import core
from bench.common import ROOT, machine_line
from core import live
from core.plugin_meta import PluginMeta, hookimpl

HOST = "127.0.0.1"  # never anything else
MEETING = 1
STREAM = f"/public/live/meetings/{MEETING}"
CEILING = "/healthz"

# -------------------------------------------------------------------------------------------------
# The server side: the real app plus a route that publishes (never an entry point)
# -------------------------------------------------------------------------------------------------

meta = PluginMeta(id="sse_bench", name="实时推送基准", version=core.__version__, core=f"=={core.__version__}",
                  description="基准测试用：发布一条实时消息。", author="Yishi")


# Public and without a CSRF token: fine here, as this plugin is loaded only by create_fanout_app.
@post("/publish/{meeting_id:int}", name="sse_bench_publish", status_code=200,
      opt={"permission": "public", "exclude_from_csrf": True})
async def publish(request: Request, meeting_id: int) -> Response[str]:
    version = await live.publish(request, f"meeting:{meeting_id}", "state", {"item": 3, "state": "in_session"})
    return Response(str(version), media_type="text/plain")


@hookimpl
def yishi_routes() -> list:
    return [publish]


def create_fanout_app() -> object:
    """uvicorn --factory: the real app (settings from YISHI_*) plus this module as a plugin."""
    from core.app import create_app
    from core.plugins import load_plugins
    from core.settings import Settings

    settings = Settings.from_env()
    return create_app(settings, load_plugins(settings.plugin_registry, extra_modules=[sys.modules[__name__]]))


# -------------------------------------------------------------------------------------------------
# Processes
# -------------------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def raise_fd_limit(needed: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(data_dir: Path, redis_url: str, log: Path) -> Server:
    port = free_port()
    env = {**os.environ, "YISHI_DATA_DIR": str(data_dir), "YISHI_REDIS_URL": redis_url, "YISHI_DEBUG": "0"}
    env.pop("YISHI_DATABASE_URL", None)
    with log.open("ab") as err:  # a file, not a pipe: a full pipe would stall the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.sse_fanout:create_fanout_app", "--factory", "--host", HOST,
             "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log",
             "--backlog", "4096", "--timeout-graceful-shutdown", "2", "--app-dir", str(ROOT)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited ({proc.returncode}):\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}{CEILING}", timeout=1):
                return Server(proc, port, log)
        except OSError:
            time.sleep(0.2)
    stop_server(Server(proc, port, log))
    sys.exit("server did not answer /healthz within 30 s")


def stop_server(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()


# -------------------------------------------------------------------------------------------------
# Clients: raw sockets, so 2,000 of them cost the load generator little
# -------------------------------------------------------------------------------------------------

EVENT = re.compile(rb"id: (\d+)\nevent: state\n")


@dataclass
class Subscriber:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    arrivals: dict[int, float] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None


class Fanout:
    """Subscribers spread over one or more servers, and the bookkeeping of who got what when."""

    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []
        self.waiting: dict[int, tuple[int, asyncio.Event]] = {}  # version → (still missing, all here)
        self.errors: dict[str, int] = {}

    def _error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    async def add(self, port: int) -> bool:
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(f"GET {STREAM} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: text/event-stream\r\n\r\n".encode())
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            if not head.startswith(b"HTTP/1.1 200"):
                self._error(head.split(b"\r\n", 1)[0].decode(errors="replace"))
                writer.close()
                return False
            opening = await asyncio.wait_for(reader.readuntil(b"\n\n"), 30)  # subscribed from here on
            if b"id: " not in opening:
                self._error("no opening block")
                return False
        except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
            self._error(type(exc).__name__ + (f" {exc.errno}" if isinstance(exc, OSError) and exc.errno else ""))
            return False
        sub = Subscriber(reader, writer)
        sub.task = asyncio.create_task(self._read(sub))
        self.subscribers.append(sub)
        return True

    async def _read(self, sub: Subscriber) -> None:
        tail = b""
        try:
            while data := await sub.reader.read(65536):
                now = time.perf_counter()
                chunk = tail + data
                for match in EVENT.finditer(chunk):
                    version = int(match.group(1))
                    if version in sub.arrivals:
                        continue
                    sub.arrivals[version] = now
                    if version in self.waiting:
                        missing, done = self.waiting[version]
                        self.waiting[version] = (missing - 1, done)
                        if missing == 1:
                            done.set()
                tail = chunk[-64:]
        except (OSError, asyncio.CancelledError):
            pass

    async def close(self) -> None:
        for sub in self.subscribers:
            if sub.task:
                sub.task.cancel()
            sub.writer.close()
        await asyncio.gather(*(s.task for s in self.subscribers if s.task), return_exceptions=True)
        self.subscribers.clear()


async def http_request(port: int, method: str, path: str) -> tuple[int, bytes]:
    """One HTTP/1.1 request on a fresh connection; (status, body)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n".encode())
        data = await reader.read()
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def ceiling_p50(port: int, n: int = 200) -> float:
    """p50 in ms of GET /healthz, one keep-alive connection, one request at a time."""
    reader, writer = await asyncio.open_connection(HOST, port)
    times = []
    try:
        request = f"GET {CEILING} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
        for _ in range(n):
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
            await reader.readexactly(length)
            times.append((time.perf_counter() - t0) * 1e3)
    finally:
        writer.close()
    return statistics.median(times[n // 10:])  # the first tenth warms up


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def ramp(label: str, servers: list[Server], args: argparse.Namespace) -> None:
    publish_port = servers[0].port
    status, _ = await http_request(publish_port, "POST", f"/p/sse_bench/publish/{MEETING}")
    if status != 200:
        sys.exit(f"publish route answered {status}")
    ceiling = await ceiling_p50(publish_port)
    print(f"\n[{label}] ceiling: {CEILING} p50 {ceiling:.2f} ms (one connection, one request at a time, "
          "no subscribers)")
    print(f"{'subscribers':>11}{'connect s':>10}{'reached':>14}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'p50/ceil':>10}{'RSS MB':>9}{'CPU ms/pub':>11}")
    fanout = Fanout()
    try:
        for target in args.steps:
            t0 = time.perf_counter()
            batch = []
            while len(fanout.subscribers) + len(batch) < target:
                port = servers[(len(fanout.subscribers) + len(batch)) % len(servers)].port
                batch.append(fanout.add(port))
                if len(batch) == 100:
                    await asyncio.gather(*batch)
                    batch = []
            await asyncio.gather(*batch)
            connect_s = time.perf_counter() - t0
            n = len(fanout.subscribers)
            if n == 0:
                print(f"{target:>11}  no subscriber could connect: {fanout.errors}")
                break
            latencies: list[float] = []
            reached: list[int] = []
            cpu0 = sum(s.cpu_seconds() for s in servers)
            for _ in range(args.publishes):
                done = asyncio.Event()
                start = time.perf_counter()
                status, body = await http_request(publish_port, "POST", f"/p/sse_bench/publish/{MEETING}")
                version = int(body)
                already = sum(1 for s in fanout.subscribers if version in s.arrivals)
                fanout.waiting[version] = (n - already, done)
                if already == n:
                    done.set()
                try:
                    await asyncio.wait_for(done.wait(), args.timeout)
                except TimeoutError:
                    pass
                got = [s.arrivals[version] - start for s in fanout.subscribers if version in s.arrivals]
                reached.append(len(got))
                latencies += [g * 1e3 for g in got]
                del fanout.waiting[version]
            cpu_ms = (sum(s.cpu_seconds() for s in servers) - cpu0) * 1e3 / args.publishes
            rss = sum(s.rss_mb() for s in servers)
            p50 = statistics.median(latencies) if latencies else float("nan")
            print(f"{n:>11}{connect_s:>10.2f}{f'{min(reached)}/{n}':>14}{p50:>9.1f}"
                  f"{percentile(latencies, 99) if latencies else float('nan'):>9.1f}"
                  f"{max(latencies) if latencies else float('nan'):>9.1f}{p50 / ceiling:>9.0f}x{rss:>9.0f}"
                  f"{cpu_ms:>11.1f}")
            if fanout.errors:
                print(f"{'':>11}  ! connection errors so far: {fanout.errors}")
            if min(reached) < n:
                print(f"{'':>11}  ! some subscribers missed a change within {args.timeout:.0f} s")
        ceiling_top = await ceiling_p50(publish_port)
        print(f"[{label}] ceiling again with {len(fanout.subscribers)} idle subscribers connected: "
              f"{CEILING} p50 {ceiling_top:.2f} ms")
    finally:
        await fanout.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=lambda s: [int(c) for c in s.split(",")],
                        default=[1, 10, 100, 500, 1000, 2000],
                        help="subscriber counts, at most 2000 (default 1,10,100,500,1000,2000)")
    parser.add_argument("--publishes", type=int, default=5, help="changes published per step (default 5)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each change (default 10)")
    parser.add_argument("--redis", metavar="URL", help="also run with two servers sharing this Redis, e.g. "
                        "redis://127.0.0.1:6379/0 (a prefix of this run's own is added; its keys are removed)")
    args = parser.parse_args()
    args.steps = [s for s in args.steps if 0 < s <= 2000] or [1]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks stop the servers
    limit = raise_fd_limit(max(args.steps) * 2 + 256)  # this process's sockets and the servers' (inherited)
    print(machine_line())
    print(f"file descriptors (soft limit, also the servers'): {limit}")
    try:
        import uvloop
    except ImportError:
        uvloop = None

    with tempfile.TemporaryDirectory(prefix="yishi-bench-") as tmp:
        data_dir = Path(tmp) / "demo"
        subprocess.run([sys.executable, "-m", "core.cli", "demo", "--no-serve", "--data-dir", str(data_dir)],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       env={k: v for k, v in os.environ.items() if k != "YISHI_DATABASE_URL"})
        runs: list[tuple[str, str, int]] = [("in-memory, 1 server", "", 1)]
        prefix = f"yishi-bench-{uuid.uuid4().hex[:8]}"
        if args.redis:
            sep = "&" if "?" in args.redis else "?"
            runs.append(("Redis pub/sub, 2 servers", f"{args.redis}{sep}prefix={prefix}", 2))
        for label, redis_url, count in runs:
            servers: list[Server] = []
            try:
                for i in range(count):
                    servers.append(start_server(data_dir, redis_url, Path(tmp) / f"server{i}.log"))
                runner = uvloop.run if uvloop else asyncio.run
                runner(ramp(label, servers, args))
            finally:
                for server in servers:
                    stop_server(server)
        if args.redis:
            from redis import Redis

            client = Redis.from_url(args.redis)
            for key in client.scan_iter(match=f"{prefix}:*"):
                client.delete(key)
            client.close()
    print("\ntimes: from just before the publishing POST until the subscriber has read the event (the load "
          "generator shares the machine's cores with the servers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
