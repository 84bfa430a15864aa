"""Chair console benchmark: what a console action costs, and what the first load weighs.

Why: on a weak tablet the chair presses a button and waits for the fragment; the issue's target is
that a console action's p50 stays within 2x of a bare ~5 KB Jinja page served by the same app in the
same run, and that the console's first load (HTML + CSS + JS) stays under 60 KB.

What: seeds a fresh demo database (as bench/pages.py does, SQLite in a temp dir), starts uvicorn
(1 worker) on 127.0.0.1, logs in as the demo chair, opens the draft meeting (2) and then, one
request at a time over one keep-alive connection, times each console action as htmx sends it
(POST with HX-Request and the CSRF header; the answer is the swapped fragment) and the bare page.
The actions are the ones a chair presses through a meeting; each is sent with an explicit target,
so repeating it is what a retried press on weak Wi-Fi does — ``goto`` alternates between two items
so that it really changes something every time. Prints p50/p90 per action and p50 / bare p50.
No wrk needed.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import re
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

if __package__ in (None, ""):  # run as a script: python bench/console.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine_line
from bench.pages import BARE, login_cookie, seed_sqlite, start_server, stop_server

MEETING = 2  # the demo's draft meeting
TARGET_RATIO = 2.0
TARGET_FIRST_LOAD = 60 * 1024


class Client:
    """One keep-alive connection, as a tablet's browser keeps one."""

    def __init__(self, base: str, cookie: str) -> None:
        parts = urlsplit(base)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.cookie = cookie
        csrf = re.search(r"yishi_csrf=([^;]+)", cookie)
        self.csrf = csrf.group(1) if csrf else ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                htmx: bool = False) -> tuple[int, bytes]:
        headers = {"Cookie": self.cookie}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers |= {"Content-Type": "application/x-www-form-urlencoded", "x-csrftoken": self.csrf}
        if htmx:
            headers |= {"HX-Request": "true"}
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        return response.status, response.read()

    def timed(self, method: str, path: str, form: dict[str, str] | None, n: int, htmx: bool = False,
              forms: list[dict[str, str]] | None = None) -> list[float]:
        times = []
        for i in range(n):
            start = time.perf_counter()
            status, body = self.request(method, path, forms[i % len(forms)] if forms else form, htmx)
            times.append((time.perf_counter() - start) * 1e3)
            if status not in (200, 303):
                sys.exit(f"{method} {path}: HTTP {status}: {body[:300]!r}")
        return times


def first_load(client: Client) -> tuple[int, int, list[tuple[str, int]]]:
    """Bytes of the console page and every stylesheet and script it loads: raw, and gzip -6."""
    status, html = client.request("GET", f"/meetings/{MEETING}")
    if status != 200 or b'id="console"' not in html:
        sys.exit(f"/meetings/{MEETING}: HTTP {status}, not the console")
    parts = [(f"/meetings/{MEETING}", html)]
    for url in re.findall(rb'<(?:link rel="stylesheet" href|script src)="([^"]+)"', html):
        status, body = client.request("GET", url.decode())
        if status != 200:
            sys.exit(f"{url.decode()}: HTTP {status}")
        parts.append((url.decode(), body))
    raw = sum(len(b) for _u, b in parts)
    packed = sum(len(gzip.compress(b, 6)) for _u, b in parts)
    return raw, packed, [(u, len(b)) for u, b in parts]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="requests per action (default 300)")
    parser.add_argument("--user", default="wangjh", help="demo account (default wangjh, the chair)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="yishi-bench-console-") as tmp:
        data_dir = Path(tmp) / "demo"
        proc, base = start_server(seed_sqlite(data_dir), data_dir)
        try:
            client = Client(base, login_cookie(base, args.user))
            raw, packed, parts = first_load(client)
            print(f"\nfirst load of the console (draft meeting {MEETING}):")
            for url, size in parts:
                print(f"  {url:<40}{size:>8} bytes")
            print(f"  {'total':<40}{raw:>8} bytes raw, {packed} bytes gzip -6 "
                  f"(target ≤ {TARGET_FIRST_LOAD // 1024} KB: {'met' if raw <= TARGET_FIRST_LOAD else 'NOT met'} raw)")

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
            results = []
            for label, method, path, form, forms in cases:
                htmx = method == "POST"
                client.timed(method, path, form, 20, htmx, forms)  # warm-up: templates compiled, caches warm
                times = client.timed(method, path, form, args.n, htmx, forms)
                results.append((label, statistics.median(times), statistics.quantiles(times, n=10)[-1]))
            bare = results[0][1]
            print(f"\nconsole actions, {args.n} requests each, one at a time on one keep-alive connection "
                  "(htmx POST → fragment):")
            print(f"{'action':<38}{'p50 ms':>9}{'p90 ms':>9}{'p50/bare':>10}")
            for label, p50, p90 in results:
                print(f"{label:<38}{p50:>9.2f}{p90:>9.2f}{p50 / bare:>9.2f}x")
            print(f"target: each console action's p50 within {TARGET_RATIO:.1f}x of the bare page's p50")
        finally:
            stop_server(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
