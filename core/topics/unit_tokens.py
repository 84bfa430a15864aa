"""Personal links of responsible units (责任单位): ``/u/<token>`` — pure functions, no I/O.

The same scheme as residents' links (core.residents.tokens): ``f"{department_id}.{generation}.{mac}"``
with ``mac = base64url(HMAC-SHA256(secret, f"yishi-department:{department_id}:{generation}"))[:22]``.
The purpose string differs, so a resident's token never opens a department's page (nor the other
way round). The database holds only ``Department.token_generation``; bumping it revokes every
older link at once.
"""

from __future__ import annotations

from core.residents.tokens import TokenClaim, make_token, parse_token

PURPOSE = "yishi-department"


def make_unit_token(secret: str, department_id: int, generation: int) -> str:
    """The personal token of a department at a generation."""
    return make_token(secret, department_id, generation, purpose=PURPOSE)


def parse_unit_token(secret: str, token: str) -> TokenClaim | None:
    """``TokenClaim(department_id, generation)`` of a token this deployment issued, else None.

    The caller still checks that the department exists and is at this generation.
    """
    return parse_token(secret, token, purpose=PURPOSE)
