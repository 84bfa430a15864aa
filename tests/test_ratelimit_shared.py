"""Rate limits shared across server processes through Redis (core.ratelimit).

Each limiter here gets its own Redis client, as each server process has its own. They use Redis
database 11 (test_live uses 0) under a prefix of the test's own, whose keys are deleted afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from redis import Redis

from core import db
from core.app import create_app
from core.plugins import PluginSystem
from core.ratelimit import RateLimiter, SharedCounts
from core.settings import Settings
from tests.conftest import http_client, redis_prefix
from tests.factories import make_user

REDIS_URL = os.environ.get("YISHI_TEST_RATELIMIT_REDIS_URL", "redis://127.0.0.1:6379/11")
SECRET = "test-secret-for-rate-limits"
TOO_MANY = "尝试次数过多"


@pytest.fixture
def redis_url() -> Iterator[str]:
    """REDIS_URL with a prefix of this test's own; its keys are deleted afterwards."""
    with redis_prefix(REDIS_URL, "yishi-rl-test", "YISHI_TEST_RATELIMIT_REDIS_URL") as prefix:
        yield f"{REDIS_URL}?prefix={prefix}"


@pytest.fixture
def redis() -> Iterator[Redis]:
    """A plain client on the test database, to look at what the limiters stored."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    yield client
    client.close()


def dead_redis_url() -> str:
    """A Redis URL nobody listens on (a port just freed): connecting is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"redis://127.0.0.1:{port}/11"


def counts_on(url: str) -> SharedCounts:
    """What a server process with ``YISHI_REDIS_URL=url`` counts in."""
    counts = SharedCounts.from_settings(SimpleNamespace(redis_url=url, secret=lambda: SECRET))  # type: ignore[arg-type]
    assert counts is not None
    return counts


@pytest.fixture
async def processes(redis_url: str) -> AsyncIterator[tuple[SharedCounts, SharedCounts]]:
    """Two processes' counters on the same Redis (each its own connections)."""
    a, b = (counts_on(redis_url) for _ in range(2))
    yield a, b
    await a.close()
    await b.close()


def prefix_of(url: str) -> str:
    return url.split("prefix=")[1]


async def test_two_processes_share_one_count(processes: tuple[SharedCounts, SharedCounts]) -> None:
    a, b = processes
    on_a = RateLimiter(3, 600, "login-name", a)
    on_b = RateLimiter(3, 600, "login-name", b)
    assert await on_a.allow("wangjh") and await on_a.allow("wangjh")
    assert await on_b.remaining("wangjh") == 1  # B sees what A counted
    assert await on_b.allow("wangjh")
    assert await on_a.blocked("wangjh") and await on_b.blocked("wangjh")
    assert not await on_a.allow("wangjh") and not await on_b.allow("wangjh")
    # another key and another limiter with the same key count on their own
    assert await on_b.remaining("liuxw") == 3
    assert await RateLimiter(3, 600, "resident-answer", b).remaining("wangjh") == 3


async def test_reset_on_one_process_frees_the_key_on_the_other(processes: tuple[SharedCounts, SharedCounts]) -> None:
    a, b = processes
    on_a, on_b = RateLimiter(2, 600, "resident-answer", a), RateLimiter(2, 600, "resident-answer", b)
    await on_a.allow("17")
    await on_b.allow("17")
    assert await on_a.blocked("17")
    await on_b.reset("17")
    assert await on_a.remaining("17") == 2 and await on_a.allow("17")


async def test_the_window_expires_in_redis(processes: tuple[SharedCounts, SharedCounts], redis_url: str,
                                           redis: Redis) -> None:
    a, b = processes
    limiter = RateLimiter(2, 0.3, "document-pdf", a)
    assert await limiter.allow("203.0.113.5") and await limiter.allow("203.0.113.5")
    assert not await limiter.allow("203.0.113.5")
    [key] = redis.keys(f"{prefix_of(redis_url)}:rl:document-pdf:*")
    assert 0 < redis.pttl(key) <= 300  # the window, set on the first attempt and not extended since
    deadline = time.monotonic() + 10
    other = RateLimiter(2, 0.3, "document-pdf", b)
    while await other.blocked("203.0.113.5"):
        assert time.monotonic() < deadline, "the window never ended"
        await asyncio.sleep(0.05)
    assert await limiter.allow("203.0.113.5")  # a new window: counted from one again
    assert await other.remaining("203.0.113.5") == 1


async def test_redis_never_holds_the_key_in_clear(processes: tuple[SharedCounts, SharedCounts], redis_url: str,
                                                  redis: Redis) -> None:
    a, _b = processes
    secrets = {"login-name": "zhangjp", "login-address": "198.51.100.23",
               "resident-address": "7.1.Zm9yZ2VkLXRva2VuLXZhbHVl"}
    for name, key in secrets.items():
        await RateLimiter(10, 600, name, a).allow(key)
    stored = redis.keys(f"{prefix_of(redis_url)}:*")
    assert len(stored) == 3
    dump = b" ".join(stored + [redis.get(k) or b"" for k in stored])
    for name, key in secrets.items():
        assert key.encode() not in dump
        assert hashlib.sha256(key.encode()).hexdigest().encode() not in dump  # not a plain hash either
        [mine] = [k.decode() for k in stored if k.decode().startswith(f"{prefix_of(redis_url)}:rl:{name}:")]
        assert len(mine.rsplit(":", 1)[1]) == 64


async def test_redis_down_counts_in_process_and_warns_once(caplog: pytest.LogCaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    counts = counts_on(dead_redis_url())
    monkeypatch.setattr("core.ratelimit.RETRY_AFTER", 0.0)  # ask the dead Redis every time
    limiter = RateLimiter(3, 600, "login-name", counts)
    with caplog.at_level(logging.WARNING, logger="yishi.ratelimit"):
        assert [await limiter.allow("wangjh") for _ in range(4)] == [True, True, True, False]
        assert await limiter.blocked("wangjh") and await limiter.remaining("wangjh") == 0
        await limiter.reset("wangjh")
        assert await limiter.remaining("wangjh") == 3
    warnings = [r for r in caplog.records if r.name == "yishi.ratelimit"]
    assert len(warnings) == 1 and "counting in this process" in warnings[0].getMessage()
    await counts.close()


async def test_in_process_window_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("core.ratelimit.time.monotonic", lambda: now[0])
    limiter = RateLimiter(2, 300, "login-name")
    assert [await limiter.allow("x") for _ in range(3)] == [True, True, False]
    now[0] += 299
    assert await limiter.blocked("x")
    now[0] += 1
    assert await limiter.remaining("x") == 2 and await limiter.allow("x")


# -------------------------------------------------------------------------------------------------
# Over HTTP: two apps (two server processes) with YISHI_REDIS_URL
# -------------------------------------------------------------------------------------------------


async def failed_login(client: httpx.AsyncClient, username: str) -> httpx.Response:
    return await client.post("/login", data={"username": username, "password": "wrong-password", "next": "/"})


@pytest.mark.db
async def test_the_login_limit_is_reached_across_two_apps(settings: Settings, plugins: PluginSystem,
                                                          redis_url: str) -> None:
    shared = dataclasses.replace(settings, redis_url=redis_url)
    apps = [create_app(shared, plugins), create_app(shared, plugins)]
    engine = await db.connect(settings.database_url)
    for app in apps:
        app.state.engine = engine
    await make_user("zhangjp")
    try:
        async with http_client(apps[0]) as a, http_client(apps[1]) as b:
            # 10 wrong passwords per username per 5 minutes: 5 on each process
            for client in (a, b, a, b, a, b, a, b, a, b):
                assert (await failed_login(client, "nobody")).status_code == 422
            for client in (a, b):
                r = await failed_login(client, "nobody")
                assert r.status_code == 429 and TOO_MANY in r.text
            # the limit is on that name only: someone else logs in on either process
            r = await b.post("/login", data={"username": "zhangjp", "password": "yishi-test-pw", "next": "/"})
            assert r.status_code == 303
    finally:
        for app in apps:
            await app.state.rate_counts.close()
        await db.disconnect(engine)


@pytest.mark.db
async def test_login_is_answered_and_limited_when_redis_is_down(settings: Settings, plugins: PluginSystem) -> None:
    app: Any = create_app(dataclasses.replace(settings, redis_url=dead_redis_url()), plugins)
    app.state.engine = engine = await db.connect(settings.database_url)
    try:
        async with http_client(app) as client:
            statuses = [(await failed_login(client, "nobody")).status_code for _ in range(11)]
            assert statuses == [422] * 10 + [429]  # no 500, and the in-process count still stops the 11th
    finally:
        await app.state.rate_counts.close()
        await db.disconnect(engine)
