"""The resident's link check for the vote itself, in two plain SQL statements.

Why: a vote is the one resident request that comes by the thousand in a few minutes (a written
consultation of a whole estate, a poll in a packed meeting). Profiling ``POST /r/<token>/polls/<id>``
showed three quarters of the handler's time in :func:`core.residents.controllers.resident_gate` —
most of it Piccolo building its join queries (the entry with its unit's name, the councils above the
unit), not the database answering them.

:func:`vote_gate` gives the same answer as ``resident_gate`` with less work on the path every valid
vote takes, and no decision of its own anywhere else: the token's signature (``parse_token``), the
entry (one statement: the entry and its unit's name), its councils (one statement: the unit's
ancestors and their councils, nearest first, as ``councils_of`` orders them), then the practice's
identity check and this phone's verified cookie through the residents module's own functions. Any
answer but "yes" — a blocked address, a malformed, forged, unknown, revoked or re-issued link, a
check that is missing or not yet passed — is handed to ``resident_gate`` itself, so every refusal
page, counter and redirect is exactly the one the resident pages give.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

from core.residents.controllers import check_for, resident_gate
from core.residents.tables import RosterEntry
from core.residents.tokens import parse_token, verified_cookie_name, verified_cookie_valid
from core.web import settings_of


def _table(table: Any) -> str:
    return table._meta.tablename


async def _entry(entry_id: int) -> dict[str, Any] | None:
    from core.org.tables import Unit

    rows = await RosterEntry.raw(
        f"SELECT e.*, u.name AS unit_name FROM {_table(RosterEntry)} e JOIN {_table(Unit)} u ON u.id = e.unit "
        "WHERE e.id = {}", entry_id)
    return dict(rows[0]) if rows else None


async def _councils(unit_id: int) -> list[dict[str, Any]]:
    """As core.residents.services.councils_of: the councils on the unit or above it, nearest first."""
    from core.org.tables import Council, Unit

    rows = await Council.raw(
        f"WITH RECURSIVE up(id, parent, depth) AS (SELECT id, parent, 0 FROM {_table(Unit)} WHERE id = {{}} "
        f"UNION ALL SELECT u.id, u.parent, up.depth + 1 FROM {_table(Unit)} u JOIN up ON u.id = up.parent) "
        f"SELECT c.id, c.name, c.unit, c.practice, un.name AS unit_name FROM up "
        f"JOIN {_table(Council)} c ON c.unit = up.id JOIN {_table(Unit)} un ON un.id = c.unit "
        "ORDER BY up.depth, c.id", unit_id)
    return [dict(r) for r in rows]


async def vote_gate(request: Request, token: str,
                    next_path: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]] | Template:
    """``resident_gate(request, token, next_path)``'s answer: (entry, councils), or the page to show."""
    limits = request.app.state.resident_limits["address"]
    address = request.client.host if request.client else "?"
    secret = settings_of(request).secret()
    claim = None if await limits.blocked(address) else parse_token(secret, token)
    entry = await _entry(claim.entry_id) if claim is not None else None
    if entry is None or entry["revoked"] or entry["token_generation"] != claim.generation:
        return await resident_gate(request, token, next_path)
    councils = await _councils(entry["unit"])
    check = await check_for(request, entry, councils)
    if isinstance(check, Template) or (check is not None and not verified_cookie_valid(
            secret, token, check.id, request.cookies.get(verified_cookie_name(entry["id"])))):
        return await resident_gate(request, token, next_path)
    return entry, councils


__all__ = ["vote_gate"]
