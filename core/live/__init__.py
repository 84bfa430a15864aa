"""Live updates: a page follows a Server-Sent Events stream and re-fetches its fragment on change.

What the rest of the code calls (see docs/live.md):

- ``await live.publish(request_or_app, "meeting:12", "state", {...})`` after a change is
  committed: everyone following the channel hears of it (every server process, with Redis);
- ``await live.version(request_or_app, "meeting:12")``: the channel's current version, to render
  into a page as ``data-live-since`` (read it *before* loading what the page shows);
- ``live.plugins(settings)``: the Litestar plugins, for ``create_app``;
- ``live.routes()``: core's stream routes; ``live.stream_route(StreamKind(...))`` for a plugin's.

Live updates are a convenience on top of pages that are always right when reloaded: publishing
never fails the request that made the change (a broken backend is logged and skipped).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from litestar.connection import ASGIConnection

from core.live.hub import LiveHub, build_plugins
from core.live.streams import MEETING, MEETING_PUBLIC, STREAMS, StreamKind, hub_of, routes, stream_route

if TYPE_CHECKING:
    from litestar.plugins import InitPluginProtocol

    from core.settings import Settings

__all__ = ["MEETING", "MEETING_PUBLIC", "STREAMS", "StreamKind", "plugins", "publish", "routes", "stream_route",
           "version"]

log = logging.getLogger("yishi.live")

_CHANNEL = re.compile(r"[a-z][a-z0-9_]*:[A-Za-z0-9_.-]{1,100}")
_EVENT = re.compile(r"[a-z][a-z0-9_]{0,40}")


def plugins(settings: Settings) -> list[InitPluginProtocol]:
    """The plugins ``create_app`` installs: Litestar's ChannelsPlugin (in-memory, or Redis when
    ``YISHI_REDIS_URL`` is set) and the hub that numbers the events."""
    return build_plugins(settings)


def _hub(request_or_app: Any) -> LiveHub | None:
    return hub_of(request_or_app.app if isinstance(request_or_app, ASGIConnection) else request_or_app)


async def publish(request_or_app: Any, channel: str, event: str, data: dict[str, Any] | str) -> int | None:
    """Tell everyone following ``channel`` that ``event`` happened; the event's version.

    Call it after the transaction that made the change has committed, never inside it: a client
    that hears of the change re-fetches at once and must find it. ``channel`` is ``kind:id``
    (``"meeting:12"``), ``event`` a short lowercase name (``"state"``). ``data`` goes to members'
    streams as JSON (or text); public streams never carry it. Returns None, and changes nothing,
    when the app runs without live updates (an in-process test client) or the backend fails.
    """
    if not _CHANNEL.fullmatch(channel):
        raise ValueError(f"live channel {channel!r}: expected kind:id, e.g. meeting:12")
    if not _EVENT.fullmatch(event) or event == "refresh":
        raise ValueError(f"live event {event!r}: expected a short lowercase name other than 'refresh'")
    hub = _hub(request_or_app)
    if hub is None or not hub.running:
        return None
    try:
        return await hub.publish(channel, event, data)
    except Exception:  # the change is committed; pages show it on their next fetch anyway
        log.warning("live update %s/%s not sent (%s)", channel, event, hub.describe, exc_info=True)
        return None


async def version(request_or_app: Any, channel: str) -> int:
    """The channel's current version (0: nothing published yet, or live updates are off)."""
    hub = _hub(request_or_app)
    if hub is None or not hub.running:
        return 0
    try:
        return await hub.version(channel)
    except Exception:
        log.warning("live version of %s not read (%s)", channel, hub.describe, exc_info=True)
        return 0
