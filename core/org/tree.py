"""Walking the unit tree (区/县 → 街道/镇 → 社区/村 → 小区 → 楼栋).

The tree is small (a county has a few thousand units at most), so whole-tree questions load every
unit's id and parent once and answer in Python; single questions use a recursive query.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from core.org.tables import Unit


async def unit_ancestors(unit_id: int) -> list[int]:
    """The unit and every unit above it, nearest first."""
    rows = await Unit.raw(
        "WITH RECURSIVE up(id, parent, depth) AS ("
        " SELECT id, parent, 0 FROM yishi_unit WHERE id = {}"
        " UNION ALL SELECT u.id, u.parent, up.depth + 1 FROM yishi_unit u JOIN up ON u.id = up.parent)"
        " SELECT id FROM up ORDER BY depth", unit_id)
    return [r["id"] for r in rows]


async def unit_subtree(unit_id: int) -> list[int]:
    """The unit and every unit below it."""
    rows = await Unit.raw(
        "WITH RECURSIVE down(id) AS ("
        " SELECT id FROM yishi_unit WHERE id = {}"
        " UNION ALL SELECT u.id FROM yishi_unit u JOIN down ON u.parent = down.id)"
        " SELECT id FROM down", unit_id)
    return [r["id"] for r in rows]


async def parents_map() -> dict[int, int | None]:
    """Every unit's parent, by unit id."""
    return {r["id"]: r["parent"] for r in await Unit.select(Unit.id, Unit.parent)}


def children_map(parents: Mapping[int, int | None]) -> dict[int | None, list[int]]:
    """Every unit's children (roots under ``None``), in id order."""
    children: dict[int | None, list[int]] = {}
    for unit, parent in sorted(parents.items()):
        children.setdefault(parent, []).append(unit)
    return children


def descendants(parents: Mapping[int, int | None], unit_id: int) -> set[int]:
    """The unit and every unit below it, from a parents map."""
    children = children_map(parents)
    found, stack = set(), [unit_id]
    while stack:
        unit = stack.pop()
        if unit not in found:
            found.add(unit)
            stack.extend(children.get(unit, ()))
    return found


def top_below(parents: Mapping[int, int | None], root: int, units: Iterable[int]) -> dict[int, int]:
    """For each unit in ``root``'s subtree: the child of ``root`` it lies under (``root`` itself for
    ``root``). Units outside the subtree are left out."""
    answer: dict[int, int] = {}
    for unit in units:
        path = [unit]
        node: int | None = unit
        while node is not None and node != root:
            node = parents.get(node)
            path.append(node)  # type: ignore[arg-type]
        if node == root:
            answer[unit] = path[-2] if len(path) >= 2 else root
    return answer
