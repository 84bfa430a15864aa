"""Server-side sessions: a random token in an HttpOnly, SameSite cookie; its hash in the database.

Looking a session up costs one indexed query joined with the user and their council roles. To keep
a page behind the permission check as fast as one without, the answer is cached in this process
for :data:`CACHE_SECONDS`; logging out or changing the password clears this process's cache at once
and reaches other server processes within that time.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from core.accounts.tables import User, UserSession
from core.org.tables import CouncilMember

COOKIE = "yishi_session"
LIFETIME = timedelta(days=14)
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class CurrentUser:
    """Who is making a request, with what they may do decided from these facts."""

    id: int
    username: str
    display_name: str
    is_admin: bool
    unit: int | None
    person: int | None
    #: council id → role ids held there
    roles: dict[int, frozenset[str]] = field(default_factory=dict)
    session_hash: str = ""
    #: the practices of the councils in ``roles`` (for menu links shown to a practice's members)
    practices: frozenset[str] = frozenset()

    @property
    def actor(self) -> str:
        """How the audit log names this user."""
        return f"user:{self.id}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_cache: dict[str, tuple[float, CurrentUser | None]] = {}


def forget(session_hash: str | None = None) -> None:
    """Drop one cached session (or all) in this process."""
    if session_hash is None:
        _cache.clear()
    else:
        _cache.pop(session_hash, None)


async def create_session(user_id: int, user_agent: str = "") -> str:
    """Start a session for a user and return the token for the cookie."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    await UserSession.insert(UserSession(token_hash=token_hash(token), user=user_id, created_at=now,
                                         expires_at=now + LIFETIME, user_agent=user_agent[:200]))
    return token


async def end_session(token: str) -> None:
    digest = token_hash(token)
    await UserSession.delete().where(UserSession.token_hash == digest)
    forget(digest)


async def end_other_sessions(user_id: int, keep_hash: str) -> None:
    """After a password change: every other login of this user ends."""
    others = await UserSession.select(UserSession.token_hash).where(
        (UserSession.user == user_id) & (UserSession.token_hash != keep_hash))
    await UserSession.delete().where(
        (UserSession.user == user_id) & (UserSession.token_hash != keep_hash))
    for row in others:
        forget(row["token_hash"])


async def load_user(token: str | None) -> CurrentUser | None:
    """The user behind a session cookie, or None for no, expired or revoked sessions."""
    if not token or len(token) > 100:
        return None
    digest = token_hash(token)
    now = time.monotonic()
    cached = _cache.get(digest)
    if cached and cached[0] > now:
        return cached[1]
    user = await _load(digest)
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[digest] = (now + CACHE_SECONDS, user)
    return user


async def _load(digest: str) -> CurrentUser | None:
    row = await UserSession.select(
        UserSession.expires_at, *UserSession.user.all_columns(exclude=[User.password_hash]),
    ).where(UserSession.token_hash == digest).first().output(nested=True)
    if row is None or row["expires_at"] < datetime.now(UTC) or not row["user"]["active"]:
        return None
    u = row["user"]
    roles: dict[int, set[str]] = {}
    practices: set[str] = set()
    if u["person"] is not None:
        for seat in await CouncilMember.select(CouncilMember.council, CouncilMember.role,
                                               CouncilMember.council.practice).where(
                CouncilMember.person == u["person"]):
            roles.setdefault(seat["council"], set()).add(seat["role"])
            practices.add(seat["council.practice"])
    return CurrentUser(id=u["id"], username=u["username"], display_name=u["display_name"],
                       is_admin=u["is_admin"], unit=u["unit"], person=u["person"],
                       roles={k: frozenset(v) for k, v in roles.items()}, session_hash=digest,
                       practices=frozenset(practices))
