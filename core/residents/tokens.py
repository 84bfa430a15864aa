"""Personal tokens and the "already verified on this phone" cookie — pure functions, no I/O.

A token is ``f"{entry_id}.{generation}.{mac}"`` with
``mac = base64url(HMAC-SHA256(secret, f"yishi-resident:{entry_id}:{generation}"))[:22]`` (132 bits).
Nothing is stored: the database holds only the generation, so a stolen database (or backup) gives
no working links, and changing the secret invalidates every link at once. Whether the token is
still current (not revoked, the generation not bumped) is for the caller to check against the
entry — :func:`parse_token` only proves the deployment issued it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

MAC_LENGTH = 22
#: Longer than any token this deployment issues (10-digit id, 9-digit generation, 22-char mac).
MAX_TOKEN_LENGTH = 60
MAX_ID_DIGITS = 10
#: Roster ids are 32-bit serials in PostgreSQL.
MAX_ENTRY_ID = 2**31 - 1
MAX_GENERATION_DIGITS = 9
VERIFIED_DAYS = 30
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class TokenClaim:
    """What a well-formed token with a valid mac says: which entry, which generation."""

    entry_id: int
    generation: int


def _mac(secret: str, message: str, length: int = MAC_LENGTH) -> str:
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")[:length]


def make_token(secret: str, entry_id: int, generation: int, purpose: str = "yishi-resident") -> str:
    """The personal token of a roster entry (or, with another ``purpose``, of any row) at a generation.

    The purpose is part of the signed message, so a token made for one kind of link never opens
    another kind (a resident's token is no department's token).
    """
    return f"{entry_id}.{generation}.{_mac(secret, f'{purpose}:{entry_id}:{generation}')}"


def _digits(text: str, max_digits: int) -> int | None:
    if not text or len(text) > max_digits or not text.isascii() or not text.isdigit():
        return None
    if len(text) > 1 and text.startswith("0"):
        return None  # one spelling per token: "07.1.…" is not "7.1.…"
    return int(text)


def parse_token(secret: str, token: str, purpose: str = "yishi-resident") -> TokenClaim | None:
    """The claim of a token this deployment issued, or None for anything malformed or forged.

    The mac is compared in constant time; the caller still checks that the entry exists, is not
    revoked and is at this generation.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    raw_id, raw_generation, mac = parts
    entry_id = _digits(raw_id, MAX_ID_DIGITS)
    generation = _digits(raw_generation, MAX_GENERATION_DIGITS)
    if entry_id is None or generation is None or not 0 < entry_id <= MAX_ENTRY_ID or generation < 1:
        return None
    if len(mac) != MAC_LENGTH or not set(mac) <= _B64URL:
        return None
    expected = _mac(secret, f"{purpose}:{entry_id}:{generation}")
    if not hmac.compare_digest(expected.encode("ascii"), mac.encode("ascii")):
        return None
    return TokenClaim(entry_id, generation)


# -------------------------------------------------------------------------------------------------
# The verified cookie: "this phone answered the identity check for this token"
# -------------------------------------------------------------------------------------------------


def verified_cookie_name(entry_id: int) -> str:
    """One cookie per entry, so a family sharing a phone each keep their own."""
    return f"yishi_rv_{entry_id}"


def _verified_message(token: str, check_id: str, expires: int) -> str:
    return f"yishi-resident-verified:{token}:{check_id}:{expires}"


def make_verified_cookie(secret: str, token: str, check_id: str, now: float | None = None,
                         days: int = VERIFIED_DAYS) -> str:
    """The cookie value: ``f"{expires}.{mac}"``, bound to the token (and so to the entry and its
    generation) and to the check that was answered; good for ``days``."""
    expires = int(now if now is not None else time.time()) + days * 86400
    return f"{expires}.{_mac(secret, _verified_message(token, check_id, expires), 43)}"


def verified_cookie_valid(secret: str, token: str, check_id: str, value: str | None,
                          now: float | None = None) -> bool:
    """Whether ``value`` proves this phone answered ``check_id`` for exactly this token, in time.

    A cookie for another token, an older generation (a re-issued link) or another check, an
    expired or edited one, is refused.
    """
    if not value or len(value) > 80:
        return False
    raw_expires, _sep, mac = value.partition(".")
    if not raw_expires.isascii() or not raw_expires.isdigit() or len(raw_expires) > 12:
        return False
    expires = int(raw_expires)
    if expires < (now if now is not None else time.time()):
        return False
    expected = _mac(secret, _verified_message(token, check_id, expires), 43)
    return hmac.compare_digest(expected.encode("ascii"), mac.encode("ascii", "replace"))
