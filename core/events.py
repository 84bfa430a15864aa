"""What happened, told after it committed: workflow steps for plugins, changes for live pages.

Services deep in the call stack (core.topics.flow, core.meetings.lifecycle …) know that a topic,
task or meeting moved; the plugins and the live stream belong to the running app. A small ASGI
middleware binds the app to the request's context (:func:`bind_app_middleware`); a service calls
:func:`transitioned` inside its transaction, and the plugins' ``yishi_on_transition`` hooks run once
that transaction has committed (``core.db.after_commit``) — never for a rolled-back change, never
twice for a retried request (a retry that changes nothing calls nothing). Outside a request (the
CLI seeding demo data, a test calling a service directly) there is no app and nothing is told.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core import db

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)

_app: ContextVar[Any] = ContextVar("yishi_app", default=None)
#: The highest live version this request published (a one-item list the middleware creates per request).
_published: ContextVar[list[int] | None] = ContextVar("yishi_published", default=None)

LIVE_VERSION_HEADER = b"x-live-version"


@dataclass(frozen=True)
class TransitionEvent:
    """One committed step of a topic, task or meeting through its workflow."""

    kind: str
    """``"topic"``, ``"task"`` or ``"meeting"``."""
    entity_id: int
    council_id: int | None
    workflow: str
    """The workflow spec's id (a practice may use its own)."""
    transition: str | None
    """The transition's id; ``None`` for the chair's override."""
    source: str
    target: str
    events: tuple[str, ...]
    """The target state's ``on_enter`` events from the spec (e.g. ``"task.returned"``)."""
    reason: str
    actor: str


def bind_app_middleware(app: ASGIApp) -> ASGIApp:
    """Make the running Litestar app reachable from services for the length of a request."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        token = _app.set(scope.get("litestar_app"))
        published = [0]
        token_published = _published.set(published)

        async def send_with_version(message: Any) -> None:
            # The page that made a change learns the version its answer already shows, so live.js
            # skips the re-fetch its own change's event would cause (it could race a second press).
            if message["type"] == "http.response.start" and published[0]:
                message["headers"] = [*message.get("headers", []), (LIVE_VERSION_HEADER, str(published[0]).encode())]
            await send(message)

        try:
            await app(scope, receive, send_with_version if scope["type"] == "http" else send)
        finally:
            _app.reset(token)
            _published.reset(token_published)

    return middleware


def current_app() -> Any:
    """The app serving this request, or None outside one."""
    return _app.get()


def on_commit(deliver: Callable[[Any], Any]) -> None:
    """Call ``deliver(app)`` after the current transaction commits, if there is an app to tell."""
    app = _app.get()
    if app is None:
        return

    async def run() -> None:
        result = deliver(app)
        if inspect.isawaitable(result):
            await result

    db.after_commit(run)


def transitioned(event: TransitionEvent) -> None:
    """Tell every plugin's ``yishi_on_transition`` about ``event`` once it has committed.

    Must be called inside ``db.atomic()``. Each plugin is called on its own, in load order; one that
    raises is logged and the others still hear.
    """

    async def deliver(app: Any) -> None:
        plugins = app.state.plugins
        for plugin_id in list(plugins.metas):
            try:
                for _pid, result in plugins.call_each("yishi_on_transition", only=[plugin_id], event=event):
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                logger.exception("plugin %s: yishi_on_transition failed for %s", plugin_id, event)

    on_commit(deliver)


def changed(channel: str, event: str, data: dict[str, Any] | None = None) -> None:
    """Tell the pages following ``channel`` (``"meeting:12"``) that ``event`` happened, once the
    current transaction commits (core.live: every server process, with Redis)."""
    from core import live

    async def deliver(app: Any) -> None:
        version = await live.publish(app, channel, event, data or {})
        published = _published.get()
        if version and published is not None:
            published[0] = max(published[0], version)

    on_commit(deliver)


__all__ = ["TransitionEvent", "bind_app_middleware", "changed", "current_app", "on_commit", "transitioned"]
