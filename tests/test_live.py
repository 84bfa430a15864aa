"""Live updates (core.live): a published change reaches the browsers following the meeting.

The streams are read from real uvicorn servers in subprocesses (streaming through httpx's
ASGITransport buffers the whole response), serving a seeded demo database:

- one server with the in-memory backend: a publish reaches a subscribed client, with its version
  as the SSE id; the public stream carries no names; a client that reconnects with Last-Event-ID
  after missing events gets one ``refresh``, and one that missed nothing gets none; in chromium, a
  page using core/static/js/live.js updates itself, but not under the fingers of someone typing;
- two servers sharing Redis (a unique prefix per run, keys removed afterwards): a publish on one
  reaches a client of the other, and the version counter is shared, so a reconnect to the other
  server still knows what was missed; a server whose Redis connection is killed keeps delivering.
  Redis unreachable: these tests skip, except under CI=true, where they fail.

Changes are published through a route of this module's own plugin (``live_probe``), loaded only
by :func:`create_probe_app` in the test servers — never an entry point, so no deployment has it.
The in-process tests below check what needs no server: the heartbeat's version check, parsing,
and that an app run without its lifespan (the suite's ``client``) neither publishes nor hangs.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from litestar import Litestar, Request, get, post
from litestar.response import Response

import core
from core import live
from core.accounts.permissions import PUBLIC
from core.live.hub import LiveHub
from core.live.redis_backend import redis_options
from core.live.streams import event_stream, parse_version
from core.plugin_meta import PluginMeta, hookimpl
from core.settings import PROJECT_ROOT, Settings
from core.web import form_of
from tests.conftest import redis_prefix

# -------------------------------------------------------------------------------------------------
# The probe plugin: a way to publish from a test, loaded only into the test servers
# -------------------------------------------------------------------------------------------------

meta = PluginMeta(id="live_probe", name="实时推送测试", version=core.__version__, core=f"=={core.__version__}",
                  description="测试用：发布一条实时消息。", author="Yishi")

#: What the probe publishes: names and notes, which a public stream must never carry.
PRIVATE = {"speaker": "张国庆", "note": "三号楼漏水"}


#: What the probe's board page shows: how many changes were published, per meeting (in the server).
BOARD: dict[int, int] = {}

BOARD_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>实时测试</title>
<link rel="stylesheet" href="/static/css/yishi.css">
<script src="/static/vendor/htmx/htmx-2.0.11.min.js" defer></script>
<script src="/static/js/live.js" defer></script></head>
<body><main id="main"><h1>大屏</h1>
<section id="board" class="card" data-live="/public/live/meetings/{m}" data-live-get="/p/live_probe/board/{m}">
<p>已发布 <strong id="count">{n}</strong> 次变更</p>
<label>备注 <input id="note" name="note"></label></section>
<button id="elsewhere" type="button">别处</button></main></body></html>"""


@post("/publish/{meeting_id:int}", name="live_probe_publish", status_code=200, opt={"permission": PUBLIC})
async def probe_publish(request: Request, meeting_id: int) -> Response[str]:
    form = await form_of(request)
    versions = []
    for n in range(int(form.get("count", "1"))):
        BOARD[meeting_id] = BOARD.get(meeting_id, 0) + 1  # the change, "committed" before the publish
        versions.append(await live.publish(request, f"meeting:{meeting_id}", form.get("event", "state"),
                                           {**PRIVATE, "n": n}))
    return Response(" ".join(str(v) for v in versions), media_type="text/plain")


@get("/board/{meeting_id:int}", name="live_probe_board", opt={"permission": PUBLIC})
async def probe_board(meeting_id: int) -> Response[str]:
    """A projector-like page that follows the public stream (see core/static/js/live.js)."""
    return Response(BOARD_PAGE.replace("{m}", str(meeting_id)).replace("{n}", str(BOARD.get(meeting_id, 0))),
                    media_type="text/html")


@hookimpl
def yishi_routes() -> list:
    return [probe_publish, probe_board]


def create_probe_app() -> Litestar:
    """The real app plus this module's probe plugin (uvicorn --factory, settings from YISHI_*)."""
    from core.app import create_app
    from core.plugins import load_plugins

    settings = Settings.from_env()
    return create_app(settings, load_plugins(settings.plugin_registry, extra_modules=[sys.modules[__name__]]))


# -------------------------------------------------------------------------------------------------
# Servers and a small SSE reader
# -------------------------------------------------------------------------------------------------

HOST = "127.0.0.1"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"  # git-ignored
PATIENCE = 15.0  # a bound so a broken stream fails the test instead of hanging it; never asserted
DEMO_USER = "wangjh"  # the demo council's chair: meeting.view on meetings 1 and 2
MEETING = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(data_dir: Path, log: Path, redis_url: str = "") -> Server:
    """uvicorn serving create_probe_app on a free port; returns once /healthz answers."""
    port = _free_port()
    env = {**os.environ, "YISHI_DATA_DIR": str(data_dir), "YISHI_REDIS_URL": redis_url, "YISHI_DEBUG": "0"}
    env.pop("YISHI_DATABASE_URL", None)
    with log.open("ab") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "tests.test_live:create_probe_app", "--factory", "--host", HOST,
             "--port", str(port), "--log-level", "warning", "--no-access-log", "--timeout-graceful-shutdown", "1"],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
    server = Server(f"http://{HOST}:{port}", process, log)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"the test server exited ({process.returncode}):\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1):
                return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                pytest.fail(f"the test server did not answer within 30 s:\n{log.read_text(errors='replace')}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded demo database (meetings 1 and 2 of 翠竹园's council, its chair wangjh)."""
    data_dir = tmp_path_factory.mktemp("live") / "demo"
    subprocess.run([sys.executable, "-m", "core.cli", "demo", "--no-serve", "--data-dir", str(data_dir)],
                   cwd=PROJECT_ROOT, check=True, stdout=subprocess.DEVNULL, env={
                       k: v for k, v in os.environ.items() if k != "YISHI_DATABASE_URL"})
    return data_dir


@pytest.fixture(scope="module")
def memory_server(demo_dir: Path) -> Iterator[Server]:
    server = start_server(demo_dir, demo_dir.parent / "memory.log")
    yield server
    server.stop()


@dataclass
class Block:
    """One SSE block as a browser reads it."""

    id: str | None = None
    event: str | None = None
    data: list[str] = field(default_factory=list)
    comment: list[str] = field(default_factory=list)
    retry: str | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.data)


class Stream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.opening = Block()  # the block sent on connect: retry and the current version

    async def next(self) -> Block:
        """The next block (comments included), or fail if none comes within PATIENCE."""
        block = Block()
        async with asyncio.timeout(PATIENCE):
            async for line in self._lines:
                if line == "":
                    return block
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "":
                    block.comment.append(value)
                elif name == "data":
                    block.data.append(value)
                else:
                    setattr(block, name, value)
        raise AssertionError("the stream ended")

    async def next_event(self) -> Block:
        """The next block that a browser dispatches as an event (skips the id-only opening, pings)."""
        while True:
            block = await self.next()
            if block.data:
                return block


async def logged_in(base: str, username: str = DEMO_USER) -> httpx.AsyncClient:
    """A client with the demo user's session and the CSRF cookie echoed in a header, as htmx does."""
    from core.sanfang.demo import DEMO_PASSWORD

    client = httpx.AsyncClient(base_url=base, timeout=PATIENCE)
    await client.get("/login")
    r = await client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "next": "/"},
                          headers={"x-csrftoken": client.cookies["yishi_csrf"]})
    assert r.status_code == 303, r.text
    return client


async def anonymous(base: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=PATIENCE)
    await client.get("/login")  # the CSRF cookie, for the probe's POST
    return client


async def publish(client: httpx.AsyncClient, meeting_id: int = MEETING, count: int = 1) -> list[int]:
    """Publish through the probe route; the versions the events got."""
    r = await client.post(f"/p/live_probe/publish/{meeting_id}", data={"count": str(count)},
                          headers={"x-csrftoken": client.cookies["yishi_csrf"]})
    assert r.status_code == 200, r.text
    return [int(v) for v in r.text.split()]


@asynccontextmanager
async def follow(client: httpx.AsyncClient, path: str, last_event_id: str | None = None) -> AsyncIterator[Stream]:
    """An open stream, after its opening block (so the subscription is in place); the opening
    block is in ``stream.opening``."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    async with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200, (await response.aread())[:300]
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        stream.opening = await stream.next()
        yield stream


# -------------------------------------------------------------------------------------------------
# One server, in-memory backend
# -------------------------------------------------------------------------------------------------


async def test_an_action_answer_says_which_version_it_already_shows(memory_server: Server) -> None:
    """The chair's own change comes back on the stream too; its answer carries the event's version
    (X-Live-Version) so live.js does not re-fetch over the answer it has just swapped in."""
    client = await logged_in(memory_server.url)
    try:
        console = (await client.get(f"/meetings/{MEETING}")).text
        revision = re.search(r'name="revision" value="(\d+)"', console)
        assert revision, "the agenda form carries the revision it was rendered at"
        async with follow(client, f"/live/meetings/{MEETING}") as stream:
            r = await client.post(f"/meetings/{MEETING}/agenda", data={
                "title": "小区东门增设非机动车停放点", "description": "", "proposer": "业委会",
                "duration_minutes": "10", "revision": revision.group(1)},
                headers={"x-csrftoken": client.cookies["yishi_csrf"], "HX-Request": "true"})
            assert r.status_code == 200, r.text
            event = await stream.next_event()
            assert r.headers["x-live-version"] == event.id
        page = await client.get(f"/meetings/{MEETING}")
        assert "x-live-version" not in page.headers  # a page that changed nothing publishes nothing
    finally:
        await client.aclose()


async def test_pages_are_gzipped_but_streams_never_are(memory_server: Server) -> None:
    """A tablet on weak Wi-Fi gets the console compressed; a compressed stream would hold events back."""
    client = await logged_in(memory_server.url)
    try:
        page = await client.get(f"/meetings/{MEETING}", headers={"Accept-Encoding": "gzip"})
        assert page.status_code == 200 and page.headers.get("content-encoding") == "gzip"
        assert 'id="console"' in page.text  # httpx has already inflated it
        async with follow(client, f"/live/meetings/{MEETING}") as stream:
            assert "content-encoding" not in stream.response.headers
    finally:
        await client.aclose()


async def test_a_published_change_reaches_a_member_following_the_meeting(memory_server: Server) -> None:
    client = await logged_in(memory_server.url)
    try:
        async with follow(client, f"/live/meetings/{MEETING}") as stream:
            assert stream.opening.retry and stream.opening.id is not None
            [version] = await publish(client)
            event = await stream.next_event()
            assert (event.event, event.id) == ("state", str(version))
            assert json.loads(event.text) == {**PRIVATE, "n": 0}
            assert version > int(stream.opening.id)
            # The next one is numbered after it.
            [later] = await publish(client)
            assert (await stream.next_event()).id == str(later) and later > version
    finally:
        await client.aclose()


async def test_the_public_stream_says_what_changed_but_carries_no_names(memory_server: Server) -> None:
    client = await anonymous(memory_server.url)
    try:
        async with follow(client, f"/public/live/meetings/{MEETING}") as stream:
            [version] = await publish(client)
            event = await stream.next_event()
            assert (event.event, event.id, event.text) == ("state", str(version), "{}")
            assert "张国庆" not in event.text and "漏水" not in event.text
    finally:
        await client.aclose()


async def test_a_reconnect_that_missed_events_gets_one_refresh(memory_server: Server) -> None:
    client = await logged_in(memory_server.url)
    try:
        async with follow(client, f"/live/meetings/{MEETING}") as stream:
            [seen] = await publish(client)
            assert (await stream.next_event()).id == str(seen)
        # Disconnected (weak Wi-Fi); two changes meanwhile.
        missed = await publish(client, count=2)
        async with follow(client, f"/live/meetings/{MEETING}", last_event_id=str(seen)) as stream:
            refresh = await stream.next_event()
            assert (refresh.event, refresh.id) == ("refresh", str(missed[-1]))
            # Then the stream goes on as before.
            [after] = await publish(client)
            event = await stream.next_event()
            assert (event.event, event.id) == ("state", str(after))
    finally:
        await client.aclose()


async def test_a_reconnect_that_missed_nothing_gets_no_refresh(memory_server: Server) -> None:
    client = await logged_in(memory_server.url)
    try:
        [last] = await publish(client)
        async with follow(client, f"/live/meetings/{MEETING}", last_event_id=str(last)) as stream:
            assert stream.opening.id == str(last)
            [after] = await publish(client)
            event = await stream.next_event()  # the first event is the new change, not a refresh
            assert (event.event, event.id) == ("state", str(after))
    finally:
        await client.aclose()


async def test_a_first_visit_with_the_version_the_page_was_rendered_at(memory_server: Server) -> None:
    """?since= (the page's data-live-since) closes the gap between rendering the page and
    connecting: a change in between is a refresh."""
    client = await logged_in(memory_server.url)
    try:
        [rendered_at] = await publish(client)
        [in_between] = await publish(client)
        async with follow(client, f"/live/meetings/{MEETING}?since={rendered_at}") as stream:
            refresh = await stream.next_event()
            assert (refresh.event, refresh.id) == ("refresh", str(in_between))
    finally:
        await client.aclose()


async def test_who_may_follow_which_stream(memory_server: Server) -> None:
    client = await anonymous(memory_server.url)
    try:
        r = await client.get(f"/live/meetings/{MEETING}")
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/live/meetings/")
        r = await client.get("/public/live/meetings/999999")
        assert r.status_code == 404
        r = await client.get("/live/meetings/999999")
        assert r.status_code == 303  # anonymous: login first, whatever the meeting
    finally:
        await client.aclose()
    member = await logged_in(memory_server.url)
    try:
        r = await member.get("/live/meetings/999999")
        assert r.status_code == 404
    finally:
        await member.aclose()


@pytest.mark.browser
def test_a_page_following_the_stream_updates_itself_in_the_browser(memory_server: Server) -> None:
    """live.js in chromium: a change shows without a reload; while someone has unsent text in a field
    of the live part, the update waits (their text is not wiped) and comes once they are done."""
    chromium = "/usr/bin/chromium"
    if not Path(chromium).exists():
        message = f"{chromium} not found: apt-get install chromium"
        if os.environ.get("YISHI_TEST_BROWSER") == "skip":
            pytest.skip(message)
        pytest.fail(message)
    from playwright.sync_api import expect, sync_playwright

    meeting = 1  # not used by the other tests, so the count is this test's own

    def publish_now() -> None:
        with httpx.Client(base_url=memory_server.url, timeout=PATIENCE) as c:
            c.get("/login")
            r = c.post(f"/p/live_probe/publish/{meeting}", headers={"x-csrftoken": c.cookies["yishi_csrf"]})
            assert r.status_code == 200, r.text

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1024, "height": 768}, locale="zh-CN")
            page.set_default_timeout(PATIENCE * 1000)
            with page.expect_response(lambda r: "/public/live/meetings/" in r.url):  # the stream is open
                page.goto(f"{memory_server.url}/p/live_probe/board/{meeting}")
            expect(page.locator("#count")).to_have_text("0")
            publish_now()
            expect(page.locator("#count")).to_have_text("1")  # no reload
            page.fill("#note", "正在输入的备注")
            publish_now()
            expect(page.locator("#board[data-live-pending]")).to_have_count(1)  # heard, and held back
            expect(page.locator("#count")).to_have_text("1")
            expect(page.locator("#note")).to_have_value("正在输入的备注")
            page.fill("#note", "")  # nothing unsent any more: once they leave the field, it updates
            page.click("#elsewhere")
            expect(page.locator("#count")).to_have_text("2")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "live-board.png"))
        finally:
            browser.close()


# -------------------------------------------------------------------------------------------------
# Two servers sharing Redis
# -------------------------------------------------------------------------------------------------

REDIS_URL = os.environ.get("YISHI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """Redis with a prefix of this run's own; its keys are deleted afterwards."""
    with redis_prefix(REDIS_URL, "yishi-test", "YISHI_TEST_REDIS_URL") as prefix:
        sep = "&" if "?" in REDIS_URL else "?"
        yield f"{REDIS_URL}{sep}prefix={prefix}&client_name={prefix}"  # the name finds our connections


@pytest.fixture(scope="module")
def redis_servers(demo_dir: Path, redis_url: str) -> Iterator[tuple[Server, Server]]:
    a = start_server(demo_dir, demo_dir.parent / "redis-a.log", redis_url)
    try:
        b = start_server(demo_dir, demo_dir.parent / "redis-b.log", redis_url)
    except BaseException:
        a.stop()
        raise
    yield a, b
    a.stop()
    b.stop()


async def test_a_publish_on_one_server_reaches_a_client_of_the_other(redis_servers: tuple[Server, Server]) -> None:
    a, b = redis_servers
    on_a, on_b = await logged_in(a.url), await logged_in(b.url)
    try:
        async with follow(on_b, f"/live/meetings/{MEETING}") as stream:
            [version] = await publish(on_a)
            event = await stream.next_event()
            assert (event.event, event.id) == ("state", str(version))
            assert json.loads(event.text)["speaker"] == "张国庆"
        # The counter is shared: B knows what A published while the client was away.
        missed = await publish(on_a, count=2)
        async with follow(on_b, f"/live/meetings/{MEETING}", last_event_id=str(version)) as stream:
            refresh = await stream.next_event()
            assert (refresh.event, refresh.id) == ("refresh", str(missed[-1]))
        # And the public stream on A hears B's publish, without its data.
        async with follow(on_a, f"/public/live/meetings/{MEETING}") as stream:
            [from_b] = await publish(on_b)
            event = await stream.next_event()
            assert (event.event, event.id, event.text) == ("state", str(from_b), "{}")
    finally:
        await on_a.aclose()
        await on_b.aclose()


async def test_a_chair_action_on_one_server_reaches_a_page_following_on_the_other(
        redis_servers: tuple[Server, Server]) -> None:
    """The real thing: the chair sends the notice on server A; a page following the meeting on B hears
    of it (members' stream with the new state, the public stream with the event name only)."""
    a, b = redis_servers
    on_a, on_b = await logged_in(a.url), await logged_in(b.url)
    try:
        async with follow(on_b, f"/live/meetings/{MEETING}") as member, \
                follow(on_b, f"/public/live/meetings/{MEETING}") as public:
            r = await on_a.post(f"/meetings/{MEETING}/step", data={"transition": "notify"},
                                headers={"x-csrftoken": on_a.cookies["yishi_csrf"], "HX-Request": "true"})
            assert r.status_code == 200, r.text
            event = await member.next_event()
            assert event.event == "state" and json.loads(event.text) == {"state": "notified"}
            seen = await public.next_event()
            assert (seen.event, seen.id, seen.text) == ("state", event.id, "{}")
        page = await on_b.get(f"/meetings/{MEETING}")
        assert 'id="meeting-state">已通知' in page.text.replace("\n", "")
    finally:
        await on_a.aclose()
        await on_b.aclose()


async def test_a_server_keeps_delivering_after_redis_drops_its_connection(
        redis_url: str, redis_servers: tuple[Server, Server]) -> None:
    """A Redis restart or a killed client must not leave a server deaf until it is restarted."""
    from redis import Redis

    a, b = redis_servers
    name = dict(p.split("=", 1) for p in redis_url.split("?", 1)[1].split("&"))["client_name"]
    admin = Redis.from_url(REDIS_URL)

    def readers() -> list[dict]:
        return [c for c in admin.client_list() if c.get("name") == name and "P" in c.get("flags", "")]

    on_a, on_b = await logged_in(a.url), await logged_in(b.url)
    try:
        async with follow(on_b, f"/live/meetings/{MEETING}") as stream:
            before = readers()
            assert before, "the servers' pub/sub readers were not found by their client name"
            for reader in before:
                admin.client_kill_filter(_id=reader["id"])
            async with asyncio.timeout(PATIENCE):  # until both have reconnected (new connection ids)
                while {c["id"] for c in readers()} & {c["id"] for c in before} or len(readers()) < len(before):
                    await asyncio.sleep(0.1)
            [version] = await publish(on_a)
            event = await stream.next_event()
            assert (event.event, event.id) == ("state", str(version))
    finally:
        admin.close()
        await on_a.aclose()
        await on_b.aclose()


def test_a_server_refuses_to_start_when_redis_cannot_be_reached(demo_dir: Path) -> None:
    closed = f"redis://{HOST}:{_free_port()}/0"  # nothing listens there
    env = {**os.environ, "YISHI_DATA_DIR": str(demo_dir), "YISHI_REDIS_URL": closed}
    env.pop("YISHI_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "core.app:create_app", "--factory", "--host", HOST,
         "--port", str(_free_port()), "--log-level", "warning"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "无法连接 Redis / cannot reach Redis" in result.stderr and closed in result.stderr


# -------------------------------------------------------------------------------------------------
# In-process: no server needed
# -------------------------------------------------------------------------------------------------


@pytest.fixture
async def hub() -> AsyncIterator[LiveHub]:
    """A started in-memory hub, as the app's lifespan starts it."""
    plugins = live.plugins(Settings.from_env(data_dir=Path("/nonexistent-unused"), redis_url=""))
    channels, live_plugin = plugins
    async with channels:  # type: ignore[attr-defined]
        live_plugin.hub.running = True  # type: ignore[attr-defined]
        yield live_plugin.hub  # type: ignore[attr-defined]


async def test_an_event_lost_on_the_way_arrives_as_a_refresh_at_the_next_heartbeat(hub: LiveHub) -> None:
    stream = event_stream(hub, "meeting:7", None, redact=False, heartbeat=0.05)
    opening = await anext(stream)
    assert opening.startswith(b"retry: ") and b"id: 0" in opening
    assert await anext(stream) == b": ping\n\n"  # nothing happened: a heartbeat
    lost = await hub.versions.next("meeting:7")  # counted, but the message never arrived
    assert await anext(stream) == f"id: {lost}\nevent: refresh\ndata: {{}}\n\n".encode()
    assert await anext(stream) == b": ping\n\n"  # and only once
    await stream.aclose()


async def test_on_redis_an_event_that_slipped_past_the_subscription_arrives_soon(
        hub: LiveHub, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Redis SUBSCRIBE takes effect a moment after it returns; one check soon after connecting
    (FIRST_CHECK), long before the heartbeat, catches an event published in that moment."""
    from core.live import streams

    monkeypatch.setattr(streams, "FIRST_CHECK", 0.01)
    hub.subscribe_lag = True
    stream = event_stream(hub, "meeting:10", None, redact=False, heartbeat=3600)
    await anext(stream)
    slipped = await hub.versions.next("meeting:10")  # published, but never reached this subscriber
    async with asyncio.timeout(PATIENCE):  # not an hour
        assert await anext(stream) == f"id: {slipped}\nevent: refresh\ndata: {{}}\n\n".encode()
    await stream.aclose()


async def test_events_arrive_in_order_and_a_stale_one_is_dropped(hub: LiveHub) -> None:
    stream = event_stream(hub, "meeting:8", None, redact=False)
    await anext(stream)
    first = await hub.publish("meeting:8", "state", "第一行\n第二行")
    assert await anext(stream) == f"id: {first}\nevent: state\ndata: 第一行\ndata: 第二行\n\n".encode()
    # A message overtaken by a later one (two publishers racing) is not sent after it.
    from core.live.hub import Message

    later = await hub.publish("meeting:8", "state", {"a": 1})
    await hub.channels.wait_published(Message(first, "state", "stale").encode(), "meeting:8")
    newest = await hub.publish("meeting:8", "vote", {"b": 2})
    assert await anext(stream) == f'id: {later}\nevent: state\ndata: {{"a":1}}\n\n'.encode()
    assert await anext(stream) == f'id: {newest}\nevent: vote\ndata: {{"b":2}}\n\n'.encode()
    await stream.aclose()


async def test_versions_only_grow_even_after_a_restart(monkeypatch: pytest.MonkeyPatch) -> None:
    """A version is max(previous + 1, the clock in ms): a fresh counter (a restarted process, a
    flushed Redis) starts at the clock, above the ids handed out before the restart."""
    from core.live import hub as hub_module

    clock = [1_000]
    monkeypatch.setattr(hub_module, "clock_ms", lambda: clock[0])
    before = hub_module.MemoryVersions()
    handed_out = [await before.next("meeting:9") for _ in range(3)]  # three in the same millisecond
    assert handed_out == [1_000, 1_001, 1_002]
    clock[0] = 4_000  # the process restarts a few seconds later
    after = hub_module.MemoryVersions()
    assert await after.current("meeting:9") == 0  # never an id a client may hold: a refresh
    assert await after.next("meeting:9") == 4_000


async def test_publish_refuses_malformed_names() -> None:
    app = type("App", (), {})()  # no live plugin: publish would be a no-op, but names are checked first
    for channel, event in [("meeting 12", "state"), ("meeting:12", "State"), ("meeting:12", "refresh"),
                           ("12", "state"), ("meeting:12\nx", "state")]:
        with pytest.raises(ValueError):
            await live.publish(app, channel, event, {})


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("", None), ("17", 17), (" 17 ", 17),
                                               ("abc", -1), ("-3", -1), ("1" * 30, -1), ("١٢", -1)])
def test_parse_version(raw: str | None, expected: int | None) -> None:
    assert parse_version(raw) == expected


@pytest.mark.parametrize(("url", "client_url", "namespace"), [
    ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0", "yishi:0"),
    ("redis://:pw@redis.internal:6379/3", "redis://:pw@redis.internal:6379/3", "yishi:3"),
    ("redis://127.0.0.1:6379/0?prefix=county-a&socket_timeout=5", "redis://127.0.0.1:6379/0?socket_timeout=5",
     "county-a"),
    ("rediss://h:6380?db=2", "rediss://h:6380?db=2", "yishi:2"),
])
def test_redis_url_and_namespace(url: str, client_url: str, namespace: str) -> None:
    assert redis_options(url) == (client_url, namespace)


def test_a_redis_url_that_is_not_one_is_refused_naming_the_setting() -> None:
    from core.errors import ConfigError

    with pytest.raises(ConfigError, match="YISHI_REDIS_URL='http://x:\\*\\*\\*@h/'"):
        redis_options("http://x:secret@h/")


@pytest.mark.db
async def test_an_app_run_without_its_lifespan_neither_publishes_nor_hangs(client: httpx.AsyncClient) -> None:
    """The suite's in-process client runs no lifespan: publish is a no-op (services may call it
    freely) and a stream answers 204, which tells EventSource not to retry, instead of streaming
    forever into a client that buffers the whole response."""
    from tests.factories import make_meeting

    meeting = await make_meeting()
    assert await live.publish(client.app, f"meeting:{meeting.id}", "state", {}) is None  # type: ignore[attr-defined]
    assert await live.version(client.app, f"meeting:{meeting.id}") == 0  # type: ignore[attr-defined]
    r = await client.get(f"/public/live/meetings/{meeting.id}")
    assert r.status_code == 204 and r.content == b""
