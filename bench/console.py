"""Chair console benchmark: what a console action costs, and what the first load weighs.

Why: on a weak tablet the chair presses a button and waits for the fragment; the issue's target is
that a console action's p50 stays within 2x of a bare ~5 KB Jinja page served by the same app in the
same run, and that the console's first load (HTML + CSS + JS) stays under 60 KB transferred.

What: seeds a fresh demo database (as bench/pages.py does: SQLite in a temp dir; with ``--postgres
URL`` also its own database ``yishi_bench_console`` on that server, dropped afterwards), starts uvicorn
(1 worker) on 127.0.0.1, logs in as the demo chair, opens the draft meeting (2) and adds up its
first load twice: as served raw (no Accept-Encoding) and as a browser receives it (Accept-Encoding:
gzip; the body bytes on the wire, compressed only where the server compressed them, plus the
headers). Then, one request at a time over one keep-alive connection, it times each console action
as htmx sends it (POST with HX-Request, the CSRF header and Accept-Encoding: gzip; the answer is the
swapped part: the item panel for item actions) and the bare page. The actions are the ones a chair
presses through a meeting; each is sent with an explicit target, so repeating it is what a retried
press on weak Wi-Fi does — ``goto`` alternates between two items so that it really changes something
every time. Prints p50/p90 per action, p50 / bare p50, the server's CPU time per request (from
/proc/PID/stat: it counts the server's work, not its wait for a core on a busy machine) and the
answer's size. No wrk needed.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip as gzip_mod
import http.client
import re
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

if __package__ in (None, ""):  # run as a script: python bench/console.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine_line
from bench.pages import (
    BARE,
    _pg_admin,
    cpu_seconds,
    login_cookie,
    seed_postgres,
    seed_sqlite,
    start_server,
    stop_server,
)

MEETING = 2  # the demo's draft meeting
TARGET_RATIO = 2.0
TARGET_FIRST_LOAD = 60 * 1024


@dataclass
class Answer:
    """One response: status, the body as the page sees it (decompressed), and what crossed the wire."""

    status: int
    body: bytes
    wire: int  # body bytes as sent: compressed if the server compressed them
    headers: int  # status line and header bytes
    encoding: str  # Content-Encoding ("" for none)


class Client:
    """One keep-alive connection, as a tablet's browser keeps one. Like a browser it sends
    ``Accept-Encoding: gzip`` unless ``gzip=False``."""

    def __init__(self, base: str, cookie: str, gzip: bool = True) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.cookie = cookie
        self.gzip = gzip
        csrf = re.search(r"yishi_csrf=([^;]+)", cookie)
        self.csrf = csrf.group(1) if csrf else ""

    def fetch(self, method: str, path: str, form: dict[str, str] | None = None, htmx: bool = False,
              gzip: bool | None = None) -> Answer:
        headers = {"Cookie": self.cookie}
        if self.gzip if gzip is None else gzip:
            headers["Accept-Encoding"] = "gzip"
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "x-csrftoken": self.csrf}
        if htmx:
            headers |= {"HX-Request": "true"}
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        wire = response.read()  # http.client does not decompress: these are the bytes sent
        encoding = response.getheader("Content-Encoding", "") or ""
        head = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + 2 + sum(
            len(f"{k}: {v}\r\n".encode()) for k, v in response.getheaders())
        return Answer(response.status, gzip_mod.decompress(wire) if encoding == "gzip" else wire, len(wire), head,
                      encoding)

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                htmx: bool = False) -> tuple[int, bytes]:
        answer = self.fetch(method, path, form, htmx)
        return answer.status, answer.body

    def timed(self, method: str, path: str, form: dict[str, str] | None, n: int, htmx: bool = False,
              forms: list[dict[str, str]] | None = None) -> tuple[list[float], int]:
        """Times of ``n`` requests, and the wire size of the last answer's body."""
        times = []
        wire = 0
        for i in range(n):
            start = time.perf_counter()
            answer = self.fetch(method, path, forms[i % len(forms)] if forms else form, htmx)
            times.append((time.perf_counter() - start) * 1e3)
            if answer.status not in (200, 303):
                sys.exit(f"{method} {path}: HTTP {answer.status}: {answer.body[:300]!r}")
            wire = answer.wire
        return times, wire


@dataclass
class Part:
    """One file of the first load: its size as served raw, and as a browser receives it."""

    url: str
    raw: int
    wire: int
    headers: int
    encoding: str


def first_load(client: Client) -> list[Part]:
    """The console page and every stylesheet and script it loads, fetched twice: without
    Accept-Encoding (raw size) and with ``Accept-Encoding: gzip`` as a browser sends it (the bytes
    that cross the wire, compressed only where the server really compressed them)."""
    html = client.fetch("GET", f"/meetings/{MEETING}", gzip=False)
    if html.status != 200 or b'id="console"' not in html.body:
        sys.exit(f"/meetings/{MEETING}: HTTP {html.status}, not the console")
    urls = [f"/meetings/{MEETING}"] + [u.decode() for u in re.findall(
        rb'<(?:link rel="stylesheet" href|script src)="([^"]+)"', html.body)]
    parts = []
    for url in urls:
        raw = client.fetch("GET", url, gzip=False)
        sent = client.fetch("GET", url, gzip=True)
        if raw.status != 200 or sent.status != 200:
            sys.exit(f"{url}: HTTP {raw.status} / {sent.status}")
        if sent.body != raw.body and not url.startswith("/meetings/"):  # the page carries fresh nonces
            sys.exit(f"{url}: the gzip answer does not decompress to the same file")
        parts.append(Part(url, len(raw.body), sent.wire, sent.headers, sent.encoding))
    return parts


def run_console(label: str, database_url: str, data_dir: Path, args: argparse.Namespace) -> None:
    """Start a server on ``database_url``, measure the first load and time every console action."""
    proc, base = start_server(database_url, data_dir)
    try:
        client = Client(base, login_cookie(base, args.user), gzip=not args.identity)
        parts = first_load(client)
        print(f"\n[{label}] first load of the console (draft meeting {MEETING}), raw and as transferred "
              "with Accept-Encoding: gzip:")
        print(f"  {'':<40}{'raw':>9}{'on wire':>9}  encoding  (+ headers)")
        for p in parts:
            print(f"  {p.url:<40}{p.raw:>9}{p.wire:>9}  {p.encoding or 'none':<8}  (+{p.headers})")
        raw = sum(p.raw for p in parts)
        wire = sum(p.wire for p in parts)
        head = sum(p.headers for p in parts)
        met = "met" if wire + head <= TARGET_FIRST_LOAD else "NOT met"
        print(f"  {'total':<40}{raw:>9}{wire:>9}  bodies; {wire + head} bytes with headers "
              f"(target ≤ {TARGET_FIRST_LOAD // 1024} KB transferred: {met})")

        status, body = client.request("POST", f"/meetings/{MEETING}/step", {"transition": "open"}, htmx=True)
        if status != 200:
            sys.exit(f"could not open meeting {MEETING}: HTTP {status} {body[:200]!r}")
        items = [int(i) for i in re.findall(rb'/meetings/%d/items/(\d+)/notes' % MEETING, body)]
        item = items[0]
        m = f"/meetings/{MEETING}"
        cases = [
            ("bare ~5 KB Jinja page", "GET", BARE, None, None),
            ("console page (in session)", "GET", m, None, None),
            ("goto (下一项/上一项, alternating)", "POST", f"{m}/goto", None,
             [{"position": "2"}, {"position": "1"}]),
            ("timer start/pause (alternating)", "POST", f"{m}/items/{item}/timer", None,
             [{"action": "start"}, {"action": "pause"}]),
            ("outcome (same again)", "POST", f"{m}/items/{item}/outcome",
             {"outcome": "consensus", "outcome_note": "物业一周内答复"}, None),
            ("hand count (same again)", "POST", f"{m}/items/{item}/hands",
             {"yes": "7", "no": "1", "abstain": "1"}, None),
            ("note resent (same nonce)", "POST", f"{m}/items/{item}/notes",
             {"body": "物业承诺本周内清理楼道杂物。", "nonce": "bench-note"}, None),
            ("speaker resent (same nonce)", "POST", f"{m}/items/{item}/speakers",
             {"name": "李秀英", "affiliation": "6栋", "nonce": "bench-speaker"}, None),
        ]
        if args.only:  # the bare page always runs: every ratio is against it
            cases = [cases[0]] + [c for c in cases[1:] if any(w in c[0] for w in args.only.split(","))]
        results = []
        for case_label, method, path, form, forms in cases:
            htmx = method == "POST"
            client.timed(method, path, form, 20, htmx, forms)  # warm-up: templates compiled, caches warm
            cpu = cpu_seconds(proc.pid)
            times, size = client.timed(method, path, form, args.n, htmx, forms)
            cpu = (cpu_seconds(proc.pid) - cpu) * 1e3 / args.n  # the server's own work, whatever the load
            results.append((case_label, statistics.median(times), statistics.quantiles(times, n=10)[-1], cpu,
                            size))
        bare = results[0][1]
        print(f"\n[{label}] console actions, {args.n} requests each, one at a time on one keep-alive connection "
              f"(htmx POST → fragment; {'no Accept-Encoding' if args.identity else 'Accept-Encoding: gzip'}; "
              "bytes: the answer's body on the wire):")
        bare_cpu = results[0][3]
        print(f"{'action':<38}{'p50 ms':>9}{'p90 ms':>9}{'p50/bare':>10}{'CPU ms':>8}{'CPU/bare':>10}{'bytes':>8}")
        for case_label, p50, p90, cpu, size in results:
            print(f"{case_label:<38}{p50:>9.2f}{p90:>9.2f}{p50 / bare:>9.2f}x{cpu:>8.2f}"
                  f"{cpu / bare_cpu:>9.2f}x{size:>8}")
        worst = max((r for r in results[2:] if r[0] != "console page (in session)"), key=lambda r: r[1],
                    default=None)
        if worst is not None:
            verdict = "met" if worst[1] / bare <= TARGET_RATIO else "NOT met"
            print(f"target: each console action's p50 within {TARGET_RATIO:.1f}x of the bare page's p50: "
                  f"{verdict} (slowest: {worst[0]}, {worst[1] / bare:.2f}x)")
    finally:
        stop_server(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="requests per action (default 300)")
    parser.add_argument("--user", default="wangjh", help="demo account (default wangjh, the chair)")
    parser.add_argument("--identity", action="store_true",
                        help="time the actions without Accept-Encoding (uncompressed answers, as before gzip)")
    parser.add_argument("--only", metavar="WORDS", help="time only the actions whose label contains one of "
                        "these comma-separated words (e.g. goto,note), beside the bare page")
    parser.add_argument("--postgres", metavar="URL", help="also benchmark on PostgreSQL, e.g. "
                        "postgresql://postgres@127.0.0.1:5432/test (only used to create --pg-db)")
    parser.add_argument("--pg-db", default="yishi_bench_console", help="database created, used and dropped "
                        "on that server (default yishi_bench_console)")
    parser.add_argument("--skip-sqlite", action="store_true", help="with --postgres: PostgreSQL only")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="yishi-bench-console-") as tmp:
        data_dir = Path(tmp) / "demo"
        if not (args.skip_sqlite and args.postgres):
            run_console("SQLite", seed_sqlite(data_dir), data_dir, args)
        if args.postgres:
            pg_dir = Path(tmp) / "pg"
            url = seed_postgres(args.postgres, args.pg_db, pg_dir)
            try:
                run_console("PostgreSQL", url, pg_dir, args)
            finally:
                asyncio.run(_pg_admin(args.postgres, f'DROP DATABASE IF EXISTS "{args.pg_db}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
