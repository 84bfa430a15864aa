"""Personal links of responsible units (责任单位): ``/u/<token>`` — pure functions, no I/O.

The same scheme as residents' links (core.residents.tokens): ``f"{department_id}.{generation}.{mac}"``
with ``mac = base64url(HMAC-SHA256(secret, f"yishi-department:{department_id}:{generation}"))[:22]``.
The purpose string differs, so a resident's token never opens a department's page (nor the other
way round). The database holds only ``Department.token_generation``; bumping it revokes every
older link at once.
"""

from __future__ import annotations

import hmac

from core.residents.tokens import (
    _B64URL,
    MAC_LENGTH,
    MAX_ENTRY_ID,
    MAX_GENERATION_DIGITS,
    MAX_ID_DIGITS,
    MAX_TOKEN_LENGTH,
    TokenClaim,
    _digits,
    _mac,
)


def _message(department_id: int, generation: int) -> str:
    return f"yishi-department:{department_id}:{generation}"


def make_unit_token(secret: str, department_id: int, generation: int) -> str:
    """The personal token of a department at a generation."""
    return f"{department_id}.{generation}.{_mac(secret, _message(department_id, generation))}"


def parse_unit_token(secret: str, token: str) -> TokenClaim | None:
    """``TokenClaim(department_id, generation)`` of a token this deployment issued, else None.

    The caller still checks that the department exists and is at this generation.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    raw_id, raw_generation, mac = parts
    department_id = _digits(raw_id, MAX_ID_DIGITS)
    generation = _digits(raw_generation, MAX_GENERATION_DIGITS)
    if department_id is None or generation is None or not 0 < department_id <= MAX_ENTRY_ID or generation < 1:
        return None
    if len(mac) != MAC_LENGTH or not set(mac) <= _B64URL:
        return None
    expected = _mac(secret, _message(department_id, generation))
    if not hmac.compare_digest(expected.encode("ascii"), mac.encode("ascii")):
        return None
    return TokenClaim(department_id, generation)
