"""The Server-Sent Events endpoints: one route per kind of stream, each with its own permission.

A stream follows one channel. On connect it sends ``retry:`` and the channel's current version as
``id:``; a client that comes back with ``Last-Event-ID`` (the browser does this by itself when the
connection drops) or ``?since=`` (the version the page was rendered at) and missed something gets
one ``refresh`` event. After that, each published event goes out as ``id: <version>``, ``event:
<name>``, ``data: <JSON or text>``. Every HEARTBEAT seconds without an event the stream sends a
comment line, which keeps proxies from closing an idle connection and lets a dead client be noticed;
it also re-reads the channel's version, so an event lost on the way (a Redis reconnect drops
pub/sub messages) still reaches the page as a ``refresh`` within one heartbeat (plus GRACE, for an
event counted but still on its way). On Redis, one extra check comes FIRST_CHECK seconds after
connecting.

Who may follow what is decided per kind (:class:`StreamKind`): the chair's console stream needs
``meeting.view``; the public stream for the projector and the residents' phones is open to anyone
and therefore *redacted*: it carries event names and versions only, never the publisher's data. The
page then re-fetches its own public fragment, whose template decides what is shown. Nothing a
publisher puts into ``data`` (names, notes) can leak through it.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from litestar import Request, get
from litestar.handlers import HTTPRouteHandler
from litestar.response import Response, Stream

from core.accounts.permissions import PUBLIC
from core.live.hub import LiveHub, Message

log = logging.getLogger("yishi.live")

#: Seconds between heartbeats (and version checks) on an idle stream, at most; each wait is drawn
#: between 75 % and 100 % of it.
HEARTBEAT = 15.0
#: On Redis a SUBSCRIBE takes effect a moment after it is sent, and an event published in that
#: moment would wait a whole heartbeat; so there the first check comes after this many seconds.
FIRST_CHECK = 2.0
#: A check that finds the channel ahead waits this long for the event before calling it lost (it may
#: have been counted a moment before it was published).
GRACE = 1.0
#: How long a browser waits before reconnecting, in ms; longer after the backend failed.
RETRY_MS = 3000
RETRY_AFTER_FAILURE_MS = 15000
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass(frozen=True)
class StreamKind:
    """One kind of live stream: its URL, who may follow it, the channel it follows, what it carries.

    ``channel`` is formatted with the path parameters (``"meeting:{meeting_id}"``). A ``redact``-ed
    stream sends event names and versions only; every public stream must be redacted.
    """

    name: str
    path: str
    permission: str
    channel: str
    redact: bool = False

    def __post_init__(self) -> None:
        if self.permission == PUBLIC and not self.redact:
            raise ValueError(f"live stream {self.name!r} is public, so it must be redact=True")


#: Core's streams. A plugin adds its own with ``stream_route(StreamKind(...))`` in its yishi_routes.
MEETING = StreamKind("meeting", "/live/meetings/{meeting_id:int}", "meeting.view", "meeting:{meeting_id}")
MEETING_PUBLIC = StreamKind("meeting_public", "/public/live/meetings/{meeting_id:int}", PUBLIC,
                            "meeting:{meeting_id}", redact=True)
#: A poll's page for the chair and members (core.voting.controllers): "已投 N 票" as ballots arrive. The
#: data is the count only — never a running result (core.voting.polls publishes it).
POLL = StreamKind("poll", "/live/polls/{poll_id:int}", "meeting.view", "poll:{poll_id}")
STREAMS = (MEETING, MEETING_PUBLIC, POLL)


def sse(*, event: str | None = None, data: str | None = None, id: int | None = None,
        retry: int | None = None, comment: str | None = None) -> bytes:
    """One Server-Sent Events block (fields in the order the spec lists them, a blank line after)."""
    lines = [f": {comment}"] if comment is not None else []
    if retry is not None:
        lines.append(f"retry: {retry}")
    if id is not None:
        lines.append(f"id: {id}")
    if event is not None:
        lines.append(f"event: {event}")
    if data is not None:
        lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return ("\n".join(lines) + "\n\n").encode()


@lru_cache(maxsize=256)
def decoded(raw: bytes, redact: bool) -> tuple[int, bytes]:
    """(version, SSE block) of a published message. Every subscriber of a channel receives the same
    bytes, so with 2,000 of them this decodes and encodes once instead of 2,000 times."""
    message = Message.decode(raw)
    return message.version, message_block(message, redact=redact)


def message_block(message: Message, *, redact: bool) -> bytes:
    if redact:
        data = "{}"
    elif isinstance(message.data, str):
        data = message.data
    else:
        data = json.dumps(message.data, ensure_ascii=False, separators=(",", ":"))
    return sse(id=message.version, event=message.event, data=data)


def jittered(seconds: float) -> float:
    """Somewhere in the last quarter before ``seconds``: pages that connected together (everyone
    after a Wi-Fi blip) must not all check in the same millisecond."""
    return seconds * random.uniform(0.75, 1.0)


def parse_version(raw: str | None) -> int | None:
    """A Last-Event-ID or ``since`` value: a version, or None for absent. Anything else (garbage,
    an id from another scheme) is -1, which matches no version, so the client gets a refresh."""
    if raw is None or raw == "":
        return None
    raw = raw.strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else -1


async def event_stream(hub: LiveHub, channel: str, last_seen: int | None, *, redact: bool,
                       heartbeat: float = HEARTBEAT) -> AsyncIterator[bytes]:
    """The bytes of one client's stream, until the client goes (the task is then cancelled) or
    the subscription ends."""
    try:
        async with hub.subscription(channel) as subscriber:
            # Subscribed first, then read: an event published in between is either counted in
            # `current` (refresh) or arrives below with a version <= sent (dropped) — never lost.
            current = await hub.version(channel)
            yield sse(retry=RETRY_MS, id=current)
            if last_seen is not None and last_seen != current:
                yield sse(id=current, event="refresh", data="{}")
            sent = current
            overdue = False  # the last check counted an event that had not arrived yet
            settling = hub.subscribe_lag  # check once soon, in case an event slipped past SUBSCRIBE
            wait = jittered(min(FIRST_CHECK, heartbeat) if settling else heartbeat)
            while True:
                raw = await subscriber.next_event(wait)
                if raw is None:
                    return
                if raw == b"":  # a check: did the channel move on without us?
                    current = await hub.version(channel)
                    if current <= sent:
                        ping, settling, overdue, wait = not settling, False, False, jittered(heartbeat)
                        if ping:
                            yield sse(comment="ping")
                    elif not overdue:  # maybe still on its way: give it a moment
                        overdue, wait = True, min(GRACE, heartbeat)
                    else:  # lost on the way
                        settling, overdue, wait, sent = False, False, jittered(heartbeat), current
                        yield sse(id=current, event="refresh", data="{}")
                    continue
                try:
                    version, block = decoded(raw, redact)
                except (ValueError, KeyError, TypeError):  # not one of ours: skip it, keep the stream
                    log.warning("live stream %s: undecodable message skipped", channel)
                    continue
                if version <= sent:
                    continue
                sent = version
                yield block
    except Exception:  # the backend failed (Redis down): the browser tries again later
        log.warning("live stream %s failed", channel, exc_info=True)
        yield sse(retry=RETRY_AFTER_FAILURE_MS, comment="unavailable")


def hub_of(app: Any) -> LiveHub | None:
    from core.live.hub import LivePlugin

    try:
        return app.plugins.get(LivePlugin).hub
    except (AttributeError, KeyError):  # not a Litestar app, or one built without live updates
        return None


def stream_route(kind: StreamKind) -> HTTPRouteHandler:
    """A GET route serving ``kind``'s stream, guarded by its permission."""

    async def follow(request: Request) -> Response[Any]:
        hub = hub_of(request.app)
        if hub is None or not hub.running:
            # No live updates here (an app run without its lifespan): 204 tells EventSource to stop.
            return Response(b"", status_code=204)
        if kind.permission == PUBLIC:
            # The guard let everyone in without looking the meeting up; a stream for a meeting that
            # does not exist is a 404 all the same.
            await request.app.state.access.council_of(request.path_params)
        channel = kind.channel.format(**request.path_params)
        last_seen = parse_version(request.headers.get("last-event-id"))
        if last_seen is None:
            last_seen = parse_version(request.query_params.get("since"))
        return Stream(event_stream(hub, channel, last_seen, redact=kind.redact),
                      media_type="text/event-stream", headers=HEADERS)

    follow.__qualname__ = f"stream_route.<{kind.name}>"
    return get(kind.path, name=f"live_{kind.name}", opt={"permission": kind.permission})(follow)


def routes() -> list[HTTPRouteHandler]:
    """Core's live streams, for core.builtin's yishi_routes."""
    return [stream_route(kind) for kind in STREAMS]
