"""The live hub: Litestar Channels plus a version counter per channel.

Every event published on a channel gets the channel's next *version*, which is the SSE ``id:``
the browser sends back as ``Last-Event-ID`` when it reconnects. Comparing it with the channel's
current version tells whether the client missed anything; if it did, the stream sends one
``refresh`` instead of replaying what was missed (the page re-fetches its fragment, which is always
the true state). So catching up needs a shared counter, not a history of messages.

Backends: without ``YISHI_REDIS_URL``, Litestar's in-memory backend and a counter in a dict (one
process); with it, Redis pub/sub and a counter in Redis, shared by every process and machine (see
core.live.redis_backend, which also says why pub/sub and not Litestar's stream backend).

A version is ``max(previous + 1, the clock in milliseconds)``: it only grows, also across a
restart of the process (in-memory) or a flushed Redis, so an id handed out before is not mistaken
for the current one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.subscriber import Subscriber
from litestar.plugins import InitPluginProtocol

if TYPE_CHECKING:
    from litestar.config.app import AppConfig

    from core.settings import Settings

log = logging.getLogger("yishi.live")

#: Unsent events held per subscriber; a client too slow to take them loses the oldest. Harmless:
#: every event means "re-fetch", so the newest one is all that matters.
MAX_BACKLOG = 32


def clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Message:
    """One published event as it travels through the backend."""

    version: int
    event: str
    data: dict[str, Any] | str

    def encode(self) -> bytes:
        return json.dumps({"v": self.version, "e": self.event, "d": self.data}, ensure_ascii=False,
                          separators=(",", ":")).encode()

    @classmethod
    def decode(cls, raw: bytes) -> Message:
        obj = json.loads(raw)
        return cls(int(obj["v"]), str(obj["e"]), obj["d"])


class Versions(Protocol):
    """The version counter of every channel."""

    async def next(self, channel: str) -> int: ...

    async def current(self, channel: str) -> int:
        """The channel's last version; 0 when nothing was published on it (or it was forgotten)."""
        ...


class MemoryVersions:
    """Counters in this process (the in-memory backend reaches only this process anyway)."""

    def __init__(self) -> None:
        self._versions: dict[str, int] = {}

    async def next(self, channel: str) -> int:
        version = max(self._versions.get(channel, 0) + 1, clock_ms())
        self._versions[channel] = version
        return version

    async def current(self, channel: str) -> int:
        return self._versions.get(channel, 0)


class LiveSubscriber(Subscriber):
    """A subscriber whose next event can be awaited with a time limit (for the heartbeat)."""

    async def next_event(self, timeout: float) -> bytes | None:
        """The next event's bytes; ``b""`` after ``timeout`` seconds without one; None once the
        subscription has ended (unsubscribed, or the app is shutting down)."""
        try:
            async with asyncio.timeout(timeout):
                item = await self._queue.get()
        except TimeoutError:
            return b""
        self._queue.task_done()
        return item


class LiveHub:
    """What publishers and streams use: publish with a version, read a version, subscribe."""

    def __init__(self, channels: ChannelsPlugin, versions: Versions, *, prefix: str = "",
                 describe: str = "in-memory", subscribe_lag: bool = False) -> None:
        self.channels = channels
        self.versions = versions
        self.prefix = prefix  # backend channel = prefix + channel (Redis pub/sub is server-wide)
        self.describe = describe
        #: True when a subscription takes effect only a moment after subscribe() returns (Redis).
        self.subscribe_lag = subscribe_lag
        self.running = False  # set while the app's lifespan runs (not in in-process test clients)

    async def publish(self, channel: str, event: str, data: dict[str, Any] | str) -> int:
        """Give the event the channel's next version and hand it to the backend; the version."""
        version = await self.versions.next(channel)
        await self.channels.wait_published(Message(version, event, data).encode(), self.prefix + channel)
        return version

    async def version(self, channel: str) -> int:
        return await self.versions.current(channel)

    @asynccontextmanager
    async def subscription(self, channel: str) -> AsyncIterator[LiveSubscriber]:
        async with self.channels.start_subscription(self.prefix + channel) as subscriber:
            assert isinstance(subscriber, LiveSubscriber)
            yield subscriber


class LivePlugin(InitPluginProtocol):
    """Registers the hub's lifespan (after the ChannelsPlugin's, so the backend is up first)."""

    def __init__(self, hub: LiveHub, on_startup: Callable[[], Any] | None = None,
                 on_shutdown: Callable[[], Any] | None = None) -> None:
        self.hub = hub
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.lifespan.append(self._lifespan)
        if self._on_shutdown is not None:
            app_config.on_shutdown.append(self._on_shutdown)  # runs after every lifespan has ended
        return app_config

    @asynccontextmanager
    async def _lifespan(self, _app: Any) -> AsyncIterator[None]:
        if self._on_startup is not None:
            await self._on_startup()
        self.hub.running = True
        try:
            yield
        finally:
            self.hub.running = False


def build_plugins(settings: Settings) -> list[InitPluginProtocol]:
    """The ChannelsPlugin and the LivePlugin for these settings (see :func:`core.live.plugins`)."""
    options: dict[str, Any] = {"arbitrary_channels_allowed": True, "subscriber_class": LiveSubscriber,
                               "subscriber_max_backlog": MAX_BACKLOG, "subscriber_backlog_strategy": "dropleft"}
    if settings.redis_url:
        from core.live.redis_backend import redis_plugins

        return redis_plugins(settings.redis_url, options)
    channels = ChannelsPlugin(backend=MemoryChannelsBackend(), **options)
    return [channels, LivePlugin(LiveHub(channels, MemoryVersions()))]
