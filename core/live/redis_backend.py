"""Live updates through Redis (``YISHI_REDIS_URL``): shared by every server process and machine.

- Events go through Litestar's ``RedisChannelsPubSubBackend``, with a reader that survives a lost
  connection: Litestar's own gives up on the first error (a Redis restart, a killed client) and
  the process would never deliver another event. Ours logs it, waits and reconnects; redis-py
  re-subscribes on reconnect. Messages published meanwhile are lost, as pub/sub always loses them,
  and reach the pages as a ``refresh`` at the next heartbeat (see core.live.streams).
- Pub/sub rather than Litestar's stream backend, although only the stream backend keeps a
  history: a reconnecting client catches up through the shared version counter (one ``refresh``),
  which works the same on either, also when it reconnects to another process. The stream backend
  would cost without helping: its reader polls Redis with a 1 ms XREAD block, and a process that
  starts following a channel replays the stream's stored history to the pages following it there.
- Versions are Redis keys ``<namespace>:version:<channel>``, incremented in a Lua script.
- The namespace prefixes channel names and keys: ``yishi:<db>`` by default, or the URL's
  ``prefix`` parameter (``redis://host:6379/0?prefix=county-a``). Keys are kept apart by the
  database number anyway, but pub/sub channels are server-wide, hence the number in the default.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.plugins import InitPluginProtocol
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from core.errors import ConfigError
from core.live.hub import LiveHub, LivePlugin, clock_ms

log = logging.getLogger("yishi.live")

#: Connections to Redis per process (one of them is the pub/sub reader). The pool makes a burst of
#: streams (everyone's phone reconnecting after a Wi-Fi blip) wait for a connection, not fail.
REDIS_CONNECTIONS = 32
#: Seconds between attempts to get the pub/sub connection back.
RECONNECT_DELAY = 1.0
#: A version key lives this long after its channel's last event (a week: longer than any meeting).
VERSION_TTL_MS = 7 * 24 * 3600 * 1000

_NEXT_VERSION = """
local v = redis.call('INCR', KEYS[1])
local now = tonumber(ARGV[1])
if v < now then
  redis.call('SET', KEYS[1], now)
  v = now
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return v
"""


class RedisVersions:
    """Counters in Redis keys ``<namespace>:version:<channel>``, shared by every process."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        self._redis = redis
        self._namespace = namespace
        self._next = redis.register_script(_NEXT_VERSION)

    def _key(self, channel: str) -> str:
        return f"{self._namespace}:version:{channel}"

    async def next(self, channel: str) -> int:
        return int(await self._next(keys=[self._key(channel)], args=[clock_ms(), VERSION_TTL_MS]))

    async def current(self, channel: str) -> int:
        value = await self._redis.get(self._key(channel))
        return int(value) if value is not None else 0


class ReconnectingPubSubBackend(RedisChannelsPubSubBackend):
    """Litestar's pub/sub backend whose reader reconnects instead of dying with the connection."""

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        while True:
            try:
                async for event in super().stream_events():
                    yield event
            except (RedisError, OSError) as exc:
                log.warning("live: Redis pub/sub connection lost (%s: %s); reconnecting", type(exc).__name__, exc)
                await asyncio.sleep(RECONNECT_DELAY)


def redis_options(url: str) -> tuple[str, str]:
    """(the URL for redis-py, the namespace) from YISHI_REDIS_URL; refuses what is no Redis URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"YISHI_REDIS_URL={redact(url)!r}: 应为 / should be redis://host:6379/0 "
                          "(或 rediss://、unix://)")
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = dict(query).get("prefix", "")
    db = dict(query).get("db") or (parts.path.strip("/") if parts.scheme != "unix" else "") or "0"
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit(parts._replace(query=rest)), prefix.rstrip(":") or f"yishi:{db}"


def redact(url: str) -> str:
    parts = urlsplit(url)
    return url.replace(f":{parts.password}@", ":***@") if parts.password else url


def redis_plugins(redis_url: str, options: dict[str, Any]) -> list[InitPluginProtocol]:
    """The ChannelsPlugin on Redis and the LivePlugin, which checks Redis at startup and closes
    the connections at shutdown."""
    url, namespace = redis_options(redis_url)
    redis = Redis.from_pool(BlockingConnectionPool.from_url(url, max_connections=REDIS_CONNECTIONS, timeout=10))
    channels = ChannelsPlugin(backend=ReconnectingPubSubBackend(redis=redis), **options)
    hub = LiveHub(channels, RedisVersions(redis, namespace), prefix=f"{namespace}:",
                  describe=f"Redis {redact(redis_url)}", subscribe_lag=True)

    async def check() -> None:
        try:
            await redis.ping()
        except Exception as exc:  # refuse to start: live pages would silently never update
            raise ConfigError(f"无法连接 Redis / cannot reach Redis at YISHI_REDIS_URL={redact(redis_url)!r}: "
                              f"{type(exc).__name__}: {exc}") from exc

    async def close() -> None:
        await redis.aclose()

    return [channels, LivePlugin(hub, on_startup=check, on_shutdown=close)]
