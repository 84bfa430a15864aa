"""The lean vote: ``POST /r/<token>/polls/<id>`` answered in front of Litestar when it is a plain vote.

Why: a written consultation of a whole estate, or a poll in a packed hall, brings votes by the
thousand in a few minutes. Through Litestar a vote cost 1.3–1.6 ms of server CPU, half of it the
framework and the middleware every page passes (CSRF, compression, routing, guards, the handler's
request and response objects). This ASGI callable sits in front of the app (core.app wraps the app's
ASGI handler with it) and does only what a vote needs:

1. the CSRF double submit — the ``yishi_csrf`` cookie against the ``x-csrftoken`` header or the form's
   ``_csrf_token``, checked exactly as Litestar's CSRF middleware checks them;
2. the link: the token's HMAC (the token is the credential), then **one** statement
   (:mod:`core.voting.lean_sql`) for the roster entry, its councils, the poll and the voter's place
   in the snapshot and whether that voter has voted;
3. the identity check the practice asks for (the verified cookie), through the residents module's own
   functions;
4. the ballot, validated by :func:`core.voting.polls._choices`, cast through :mod:`core.voting.batch`
   (many votes of one worker in one transaction; each answered only after its commit);
5. the same ``303`` the Litestar handler sends — to the receipt page, or back to the poll page when
   the voter has already voted ("您已投票") — with the app's security headers.

Anything else — an HTMX request, another content type, a bad or missing CSRF token, a blocked
address, a forged, revoked or re-issued link, an unverified phone, a poll that is closed, not yet
open, of another council or missing, a voter outside the electorate, an empty, unknown or excessive
choice, a vote that lost a race — is handed **unchanged** (the body replayed) to the Litestar
handler in core.voting.controllers, so every message a resident reads comes from one place.
"""

from __future__ import annotations

import logging
import re
from hmac import compare_digest
from typing import Any

from litestar._multipart import parse_content_header
from litestar._parsers import parse_cookie_string, parse_url_encoded_form_data
from litestar.datastructures.headers import Headers
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash
from litestar.response import Template
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from core.residents.controllers import check_for
from core.residents.tokens import parse_token, verified_cookie_name, verified_cookie_valid
from core.security import security_headers_middleware
from core.voting import batch, lean_sql
from core.voting.controllers import MAX_OPTION, MAX_OPTIONS
from core.voting.polls import VoteRefused, _as_datetime, _aware, _choices, _now

log = logging.getLogger(__name__)

#: The vote's address, as the Litestar route matches it; ids as the route's ``int`` reads them in the
#: one spelling a link uses (no sign, no leading zero), within PostgreSQL's integer range.
VOTE_PATH = re.compile(r"/r/([A-Za-z0-9._-]{1,60})/polls/([1-9][0-9]{0,9})")
MAX_POLL_ID = 2**31 - 1
#: A vote's form is a choice or a few, and the CSRF field; anything larger goes the long way.
MAX_BODY = 8192
FORM_FIELDS = frozenset({"choice", "_csrf_token"})
URL_ENCODED = "application/x-www-form-urlencoded"


class _AppRequest:
    """What :func:`core.residents.controllers.check_for` reads from a request: only ``.app``."""

    __slots__ = ("app",)

    def __init__(self, app: Any) -> None:
        self.app = app


def _csrf_ok(secret: str, submitted: str | None, cookie: str | None) -> bool:
    """Litestar's CSRFMiddleware check: both tokens carry a valid HMAC and the same secret part."""
    if not submitted or not cookie:
        return False
    decoded = []
    for token in (submitted, cookie):
        if len(token) < CSRF_SECRET_LENGTH + 1:
            return False
        part, digest = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        if not compare_digest(digest, generate_csrf_hash(token=part, secret=secret)):
            return False
        decoded.append(part)
    return compare_digest(decoded[0], decoded[1])


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class LeanVotes:
    """The ASGI callable in front of the app's handler (see the module docstring)."""

    def __init__(self, app: Any, inner: ASGIApp) -> None:
        self.app = app
        self.inner = inner
        self.request = _AppRequest(app)
        self.answer = security_headers_middleware(self._see_other)
        #: Votes answered here rather than by the full handler (for the tests and the bench).
        self.answered = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.inner(scope, receive, send)
            return
        path = VOTE_PATH.fullmatch(scope["path"])
        if path is None:
            await self.inner(scope, receive, send)
            return
        headers = Headers.from_scope(scope)
        if "hx-request" in headers or parse_content_header(headers.get("content-type", ""))[0] != URL_ENCODED:
            await self.inner(scope, receive, send)
            return
        body, more, messages = await _read_body(receive)
        location = None
        if not more:
            try:
                location = await self.vote(scope, headers, path.group(1), int(path.group(2)), body)
            except Exception:  # the full handler answers instead (a vote stored before the failure: 您已投票)
                log.warning("lean vote fell back to the full handler", exc_info=True)
                location = None
        if location is None:
            await self.inner(scope, _replay(messages, receive), send)
            return
        self.answered += 1
        scope["yishi_location"] = location  # type: ignore[typeddict-unknown-key]
        await self.answer(scope, receive, send)

    async def vote(self, scope: Scope, headers: Headers, token: str, poll_id: int, body: bytes) -> str | None:
        """Where to send the resident (the receipt page, or the poll page for 您已投票), or None for
        "let the full handler answer"."""
        if poll_id > MAX_POLL_ID:
            return None
        state = self.app.state
        secret = state.settings.secret()
        cookies = parse_cookie_string(headers.get("cookie", ""))
        form = parse_url_encoded_form_data(body)
        if not set(form) <= FORM_FIELDS:
            return None
        csrf = self.app.csrf_config
        submitted = headers.get(csrf.header_name) or (_as_list(form.get("_csrf_token")) or [None])[0]
        if not _csrf_ok(csrf.secret, submitted, cookies.get(csrf.cookie_name)):
            return None
        client = scope.get("client")
        if await state.resident_limits["address"].blocked(client[0] if client else "?"):
            return None
        claim = parse_token(secret, token)
        if claim is None:
            return None
        key = f"entry:{claim.entry_id}"
        page = f"/r/{token}/polls/{poll_id}"
        choices = [v[:MAX_OPTION] for v in _as_list(form.get("choice"))][:MAX_OPTIONS + 1]

        async def decide(found: lean_sql.Context | None) -> batch.Vote | str | None:
            """With what the database says: the vote to store, the page (您已投票), or None."""
            if found is None:
                return None
            entry, councils, poll = found
            if entry["revoked"] or entry["token_generation"] != claim.generation or poll is None:
                return None
            check = await check_for(self.request, entry, councils)  # type: ignore[arg-type]
            if isinstance(check, Template) or (check is not None and not verified_cookie_valid(
                    secret, token, check.id, cookies.get(verified_cookie_name(entry["id"])))):
                return None
            if poll["council"] not in {c["id"] for c in councils} or poll["state"] == "draft":
                return None
            if poll["voted"]:
                return page  # 您已投票, as the full handler answers it (whatever was chosen)
            closes_at = _aware(_as_datetime(poll["closes_at"]))
            if poll["state"] != "open" or (closes_at is not None and closes_at <= _now()) or not poll["owner_key"]:
                return None
            if not choices:
                return None
            try:
                stored = _choices(poll, choices)
            except VoteRefused:
                return None
            return batch.Vote(poll_id=poll_id, owner=poll["owner_key"], cast_by=key, actor=f"resident:{claim.entry_id}",
                              choices=stored, secret=poll["visibility"] == "secret", meeting=poll["meeting"], page=page)

        location, version = await batch.submit(self.app, batch.Ask(claim.entry_id, poll_id, key, decide))
        scope["yishi_live_version"] = version  # type: ignore[typeddict-unknown-key]
        return location

    async def _see_other(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The 303 as Litestar's ``Redirect`` sends it (the security headers are added around it)."""
        headers = [(b"location", scope["yishi_location"].encode("ascii")),  # type: ignore[typeddict-item]
                   (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"0")]
        version = scope.get("yishi_live_version")
        if version:
            headers.append((b"x-live-version", str(version).encode()))
        await send({"type": "http.response.start", "status": 303, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _read_body(receive: Receive) -> tuple[bytes, bool, list[Message]]:
    """The request body, up to :data:`MAX_BODY`: (body, whether more is still to come, the messages
    read — to replay them to the full handler)."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return b"", True, messages
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), False, messages
        if size > MAX_BODY:
            return b"", True, messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives back what was already read, then goes on reading."""
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay  # type: ignore[return-value]


def wrap(app: Any) -> None:
    """Put the lean vote in front of ``app``'s ASGI handler (called once by core.app.create_app)."""
    app.asgi_handler = LeanVotes(app, app.asgi_handler)


__all__ = ["LeanVotes", "wrap"]
