"""A real server and a real browser for the chair's flow.

The server is ``python -m core.cli demo`` in a subprocess: the demo seeds its own SQLite file in a
temporary folder and serves it with uvicorn, so the app's real lifespan (database connect and
disconnect) runs, unlike the in-process ``client`` fixture. The browser is Debian's chromium
driven by Playwright's sync API — no browser download.

``YISHI_TEST_BROWSER=skip`` turns a missing chromium into a skip (a laptop without it); otherwise
these tests fail, as the PostgreSQL tests do.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TABLET = {"width": 1024, "height": 768}  # a 10" tablet in landscape
STARTUP_TIMEOUT = 30.0
ARTIFACTS = PROJECT_ROOT / "test-artifacts"  # git-ignored


@dataclass
class DemoServer:
    url: str
    data_dir: Path
    process: subprocess.Popen
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as r:
            return r.status == 200 and r.read() == b"ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@contextmanager
def running_server(data_dir: Path, what: str = "yishi demo", *, env: dict[str, str] | None = None,
                   command: Callable[[int], list[str]] | None = None,
                   timeout: float = STARTUP_TIMEOUT) -> Iterator[DemoServer]:
    """A server in a subprocess on a free port, answering /healthz before this yields; stopped after.

    By default ``yishi demo`` with its database in ``data_dir``; ``command(port)`` starts another
    server (a test plugin's). ``env`` is added to this process's environment. The server's output
    goes to ``data_dir``; a server that exits or stays silent fails the test with its stderr.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    argv = command(port) if command else [sys.executable, "-m", "core.cli", "demo", "--data-dir", str(data_dir),
                                          "--port", str(port)]
    out_path, err_path = data_dir / "server.stdout", data_dir / "server.stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        process = subprocess.Popen(argv, cwd=PROJECT_ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                                   stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    server = DemoServer(url=url, data_dir=data_dir, process=process, stderr_path=err_path)
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if process.poll() is not None:
                pytest.fail(f"{what} exited with status {process.returncode} before answering "
                            f"/healthz.\n--- stderr ---\n{server.stderr()}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not answer {url}/healthz within {timeout:.0f} s."
                            f"\n--- stderr ---\n{server.stderr()}", pytrace=False)
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextmanager
def launched_chromium() -> Iterator[Any]:
    """Debian's chromium through Playwright's sync API (no browser download); closed after."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} not found: apt-get install chromium"
        if os.environ.get("YISHI_TEST_BROWSER") == "skip":
            pytest.skip(message)
        pytest.fail(message, pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """``yishi demo`` on a free port with a fresh database; stopped at the end of the session."""
    with running_server(tmp_path_factory.mktemp("demo")) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium for one test module (module scope: the sync API's event loop ends with it)."""
    with launched_chromium() as b:
        yield b


@pytest.fixture
def page(browser, demo_server: DemoServer) -> Iterator[object]:
    """A fresh tablet-sized page (its own context) whose relative URLs go to the demo server."""
    context = browser.new_context(viewport=TABLET, base_url=demo_server.url, accept_downloads=True,
                                  locale="zh-CN")
    context.set_default_timeout(10_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def log_in(page: Any, username: str = "wangjh") -> None:
    """Log a demo account in through the login form (password ``yishi-demo``) and land on home."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", "yishi-demo")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
