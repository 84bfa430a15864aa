"""Security headers on every response, with a per-request nonce for the few inline styles.

The Content-Security-Policy allows scripts only from this site (htmx is vendored; no inline
script anywhere, and htmx's eval features are switched off in base.html), styles from this site or
carrying the request's nonce (the minutes page embeds its print CSS), and no framing.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

NONCE_KEY = "yishi_csp_nonce"


def csp(nonce: str) -> str:
    return ("default-src 'self'; script-src 'self'; "
            f"style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; "
            "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope[NONCE_KEY] = nonce  # type: ignore[typeddict-unknown-key]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"content-security-policy", csp(nonce).encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                ]
                message["headers"] = headers  # type: ignore[typeddict-item]
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def nonce_of(request: Any) -> str:
    """The CSP nonce for inline ``<style nonce="…">`` in this request's page."""
    return request.scope.get(NONCE_KEY, "") if request is not None else ""
