"""Rate limits for login and token endpoints: fixed windows per key (client address, username, token).

Where the attempts are counted:

- without ``YISHI_REDIS_URL``: in this process (a dict). One server process, so one count.
- with it: in Redis, which every server process and machine shares — ``yishi serve --workers N``
  does not give an attacker N times the limit. A count is one round trip: a Lua script INCRs the
  key and sets its expiry (the window) on the first attempt, so the window starts with the first
  attempt, as in-process. Keys are ``<namespace>:rl:<limiter>:<digest>``, the namespace being that
  of live updates (``yishi:<db>``, or the URL's ``?prefix=``) and the digest an HMAC-SHA256 of the
  key under the site's secret: Redis never holds a username, a token or an address, and (unlike a
  plain hash) an address cannot be recovered by hashing all 2³² of them.

If Redis does not answer (down, restarting, too slow), no request fails and the limit does not
vanish: this process's own count stands in — for that request and, to spare every request a
timeout, for the next second — and the log says so (at most once a minute). Attempts counted
in-process meanwhile are not carried over to Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from core.live.redis_backend import redact, redis_options

if TYPE_CHECKING:
    from core.settings import Settings

log = logging.getLogger("yishi.ratelimit")

T = TypeVar("T")

#: What ``SharedCounts._ask`` returns when Redis failed.
_FAILED: Any = object()

#: Seconds to wait for Redis (connecting, answering, a free connection) before counting in-process.
REDIS_TIMEOUT = 0.5
#: After Redis failed, count in-process this long before asking Redis again.
RETRY_AFTER = 1.0
#: At most one warning per this many seconds while Redis fails.
WARN_EVERY = 60.0
#: Connections to Redis per process for rate limits (apart from live updates' own).
REDIS_CONNECTIONS = 16
#: In-process keys kept at most; past this the table starts afresh (a flood of addresses cannot
#: fill the memory).
MAX_KEYS = 50_000

_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
"""


class SharedCounts:
    """Fixed-window counters in Redis, shared by every process on the same Redis and namespace."""

    def __init__(self, redis: Redis, namespace: str, secret: str, describe: str = "Redis") -> None:
        self._redis = redis
        self._namespace = namespace
        self._secret = secret.encode()
        self._hit = redis.register_script(_HIT)
        self._retry_at = 0.0
        self._warned_at = -WARN_EVERY
        #: For logs and ``yishi doctor``: which Redis (password hidden).
        self.describe = describe

    @classmethod
    def from_settings(cls, settings: Settings) -> SharedCounts | None:
        """Counters on ``YISHI_REDIS_URL``, or None when it is not set (count in-process)."""
        if not settings.redis_url:
            return None
        url, namespace = redis_options(settings.redis_url)
        pool = BlockingConnectionPool.from_url(url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_TIMEOUT,
                                               socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
        return cls(Redis.from_pool(pool), namespace, settings.secret(), f"Redis {redact(settings.redis_url)}")

    def key(self, limiter: str, key: str) -> str:
        """The Redis key counting ``key`` for ``limiter`` (no trace of ``key`` itself in it)."""
        digest = hmac.new(self._secret, f"{limiter}\0{key}".encode(), hashlib.sha256).hexdigest()
        return f"{self._namespace}:rl:{limiter}:{digest}"

    async def hit(self, limiter: str, key: str, window_ms: int) -> int | None:
        """Count one attempt; the count in the current window, or None when Redis failed."""
        count = await self._ask(lambda: self._hit(keys=[self.key(limiter, key)], args=[window_ms]))
        return None if count is _FAILED else int(count)

    async def count(self, limiter: str, key: str) -> int | None:
        """Attempts in the current window (0 when none), or None when Redis failed."""
        value = await self._ask(lambda: self._redis.get(self.key(limiter, key)))
        return None if value is _FAILED else int(value or 0)

    async def clear(self, limiter: str, key: str) -> None:
        await self._ask(lambda: self._redis.delete(self.key(limiter, key)))

    async def close(self) -> None:
        await self._redis.aclose()

    async def _ask(self, call: Callable[[], Awaitable[T]]) -> T:
        """Redis's answer; ``_FAILED`` when Redis is failing (the caller then counts in-process)."""
        now = time.monotonic()
        if now < self._retry_at:
            return _FAILED
        try:
            return await call()
        except (RedisError, OSError) as exc:  # OSError includes TimeoutError
            self._retry_at = now + RETRY_AFTER
            if now - self._warned_at >= WARN_EVERY:
                self._warned_at = now
                log.warning("rate limits: %s not answering (%s: %s); counting in this process until it does",
                            self.describe, type(exc).__name__, exc)
            return _FAILED


@dataclass
class RateLimiter:
    """At most ``limit`` attempts per key in ``window_seconds``, counted in ``shared`` (Redis) when
    given, else (and while Redis fails) in this process. ``name`` tells limiters apart in Redis."""

    limit: int
    window_seconds: float
    name: str = ""
    shared: SharedCounts | None = field(default=None, repr=False)
    _hits: dict[str, tuple[float, int]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.shared is not None and not self.name:
            raise ValueError("a RateLimiter counting in Redis needs a name")

    async def allow(self, key: str) -> bool:
        """Count one attempt for ``key``; False once it is over the limit in the current window."""
        if self.shared is not None:
            count = await self.shared.hit(self.name, key, max(1, round(self.window_seconds * 1000)))
            if count is not None:
                return count <= self.limit
        return self._count_here(key) <= self.limit

    async def blocked(self, key: str) -> bool:
        """Whether ``key`` has used up its attempts in the current window (without counting one)."""
        return await self.remaining(key) <= 0

    async def remaining(self, key: str) -> int:
        """Attempts ``key`` has left in the current window."""
        count = await self.shared.count(self.name, key) if self.shared is not None else None
        if count is None:
            count = self._counted_here(key)
        return max(0, self.limit - count)

    async def reset(self, key: str) -> None:
        """Forget ``key``'s attempts (everywhere they are counted)."""
        self._hits.pop(key, None)
        if self.shared is not None:
            await self.shared.clear(self.name, key)

    def _count_here(self, key: str) -> int:
        now = time.monotonic()
        start, count = self._hits.get(key, (now, 0))
        if now - start >= self.window_seconds:
            start, count = now, 0
        count += 1
        if len(self._hits) > MAX_KEYS:
            self._hits.clear()
        self._hits[key] = (start, count)
        return count

    def _counted_here(self, key: str) -> int:
        start, count = self._hits.get(key, (0.0, 0))
        if count and time.monotonic() - start >= self.window_seconds:
            return 0
        return count
