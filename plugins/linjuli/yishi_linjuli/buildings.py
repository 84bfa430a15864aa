"""Rental buildings and who lives in them, read from core's roster (名册).

A 月月谈 council sits on a rental district (片区); its roster lists landlords (房东) and tenants (租户)
with the building each lives in or lets. The plugin keeps no building table of its own: the
buildings are the roster's, so importing the roster from Excel is all a council has to do.
"""

from __future__ import annotations

import re
from typing import Any

from core.org.tables import Council
from core.residents.tables import RosterEntry

#: Roster kinds this practice shows, in order, with what people read.
KINDS = {"landlord": "房东", "tenant": "租户"}


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort "新村3栋" before "新村12栋", as people count buildings."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part)


async def council_row(council_id: int) -> dict[str, Any] | None:
    return await Council.select(Council.id, Council.name, Council.unit, Council.practice,
                                Council.description).where(Council.id == council_id).first()


async def people(council: dict[str, Any]) -> list[dict[str, Any]]:
    """Landlords and tenants on the council's roster (not revoked), by building and room."""
    return await RosterEntry.select(
        RosterEntry.id, RosterEntry.name, RosterEntry.building, RosterEntry.room, RosterEntry.kind,
    ).where(
        (RosterEntry.unit == council["unit"]) & (RosterEntry.revoked == False)  # noqa: E712
        & RosterEntry.kind.is_in(list(KINDS))
    ).order_by(RosterEntry.building).order_by(RosterEntry.room).order_by(RosterEntry.id)


def by_building(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{"name", "landlords": [...], "tenants": [...]}]`` in the roster's building order."""
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        name = row["building"] or "—"
        entry = found.setdefault(name, {"name": name, "landlords": [], "tenants": []})
        entry["landlords" if row["kind"] == "landlord" else "tenants"].append(row)
    return sorted(found.values(), key=lambda b: natural_key(b["name"]))


async def building_names(council: dict[str, Any]) -> list[str]:
    """Every building on the council's roster (any kind of entry), sorted."""
    rows = await RosterEntry.select(RosterEntry.building).where(
        (RosterEntry.unit == council["unit"]) & (RosterEntry.building != "")).distinct()
    return sorted({r["building"] for r in rows}, key=natural_key)


def person_choices(rows: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """``(roster id, "房东 黄伟强（华侨新村12栋）")`` pairs for the points form's person field."""
    return [(r["id"], f"{KINDS[r['kind']]} {r['name']}（{r['building']}{r['room'] and ' ' + r['room']}）")
            for r in rows]
