"""Walking the unit tree (区/县 → 街道/镇 → 社区/村 → 小区 → 楼栋)."""

from __future__ import annotations

from core.org.tables import Unit


async def unit_ancestors(unit_id: int) -> list[int]:
    """The unit and every unit above it, nearest first."""
    rows = await Unit.raw(
        "WITH RECURSIVE up(id, parent, depth) AS ("
        " SELECT id, parent, 0 FROM yishi_unit WHERE id = {}"
        " UNION ALL SELECT u.id, u.parent, up.depth + 1 FROM yishi_unit u JOIN up ON u.id = up.parent)"
        " SELECT id FROM up ORDER BY depth", unit_id)
    return [r["id"] for r in rows]
