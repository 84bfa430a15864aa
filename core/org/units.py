"""Editing the unit tree: add, rename, move, delete, and moving a council to another unit.

Every change and its audit event commit together (``db.atomic``). Bad input raises
:class:`UnitError` with a message for the person and changes nothing:

- a move under the unit itself or under one of its own descendants would cut the branch off the
  tree (a cycle) — refused;
- a unit is deleted only when nothing hangs on it: no child units, no councils, no roster entries,
  no staff accounts scoped to it.
"""

from __future__ import annotations

from typing import Any

from core import db
from core.audit.log import record
from core.i18n import _
from core.org.tables import Council, Unit
from core.org.tree import descendants, parents_map
from core.text import has_control

#: Kinds of unit, top to bottom (a county may skip levels: a village has no 小区).
KINDS: tuple[str, ...] = ("市", "区", "县", "街道", "镇", "乡", "社区", "村", "小区", "片区", "网格",
                          "村民小组", "楼栋", "单元")
NAME_MAX = 100
CODE_MAX = 40


class UnitError(ValueError):
    """A change to the tree that is refused; the message says why, in Chinese."""


def clean_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise UnitError(_("请填写单元名称。"))
    if len(name) > NAME_MAX or has_control(name):
        raise UnitError(_("单元名称不能超过 100 个字，也不能含控制字符。"))
    return name


def clean_kind(raw: str) -> str:
    kind = (raw or "").strip()
    if kind not in KINDS:
        raise UnitError(_("单元类型“{kind}”无效，可选：{kinds}。").format(kind=kind, kinds="、".join(KINDS)))
    return kind


def clean_code(raw: str) -> str:
    code = (raw or "").strip()
    if len(code) > CODE_MAX or has_control(code) or any(c.isspace() for c in code):
        raise UnitError(_("编码不能超过 40 个字符，也不能含空格或控制字符。"))
    return code


async def unit_row(unit_id: int) -> dict[str, Any] | None:
    return await Unit.select().where(Unit.id == unit_id).first()


async def _check_code_free(code: str, unit_id: int | None = None) -> None:
    if not code:
        return
    query = Unit.exists().where(Unit.code == code)
    if unit_id is not None:
        query = Unit.exists().where((Unit.code == code) & (Unit.id != unit_id))
    if await query:
        raise UnitError(_("编码“{code}”已被另一个单元使用。").format(code=code))


async def add_unit(*, name: str, kind: str, parent: int | None, code: str = "", actor: str) -> int:
    """Create a unit under ``parent`` (None: a new root). Returns its id."""
    name, kind, code = clean_name(name), clean_kind(kind), clean_code(code)
    async with db.atomic():
        if parent is not None and not await Unit.exists().where(Unit.id == parent):
            raise UnitError(_("上级单元不存在。"))
        await _check_code_free(code)
        rows = await Unit.insert(Unit(name=name, kind=kind, parent=parent, code=code))
        unit_id = rows[0]["id"]
        await record(actor=actor, action="unit.add", entity=f"unit:{unit_id}",
                     after={"name": name, "kind": kind, "parent": parent, "code": code})
    return unit_id


async def edit_unit(unit_id: int, *, name: str, kind: str, code: str, actor: str) -> None:
    """Rename a unit (and change its kind and code)."""
    name, kind, code = clean_name(name), clean_kind(kind), clean_code(code)
    async with db.atomic():
        before = await unit_row(unit_id)
        if before is None:
            raise UnitError(_("没有这个单元。"))
        await _check_code_free(code, unit_id)
        after = {"name": name, "kind": kind, "code": code}
        if all(before[k] == v for k, v in after.items()):
            return
        await Unit.update(after).where(Unit.id == unit_id)
        await record(actor=actor, action="unit.edit", entity=f"unit:{unit_id}",
                     before={k: before[k] for k in after}, after=after)


async def move_unit(unit_id: int, new_parent: int | None, *, actor: str) -> None:
    """Put a unit (with everything below it) under ``new_parent``; None makes it a root."""
    async with db.atomic():
        parents = await parents_map()
        if unit_id not in parents:
            raise UnitError(_("没有这个单元。"))
        if new_parent is not None:
            if new_parent not in parents:
                raise UnitError(_("目标上级单元不存在。"))
            if new_parent in descendants(parents, unit_id):
                raise UnitError(_("不能把单元移到它自己或它的下级单元之下。"))
        old = parents[unit_id]
        if old == new_parent:
            return
        await Unit.update({Unit.parent: new_parent}).where(Unit.id == unit_id)
        await record(actor=actor, action="unit.move", entity=f"unit:{unit_id}",
                     before={"parent": old}, after={"parent": new_parent})


async def delete_unit(unit_id: int, *, actor: str) -> None:
    """Delete a unit that has nothing hanging on it."""
    from core.accounts.tables import User
    from core.residents.tables import RosterEntry

    async with db.atomic():
        before = await unit_row(unit_id)
        if before is None:
            raise UnitError(_("没有这个单元。"))
        if await Unit.exists().where(Unit.parent == unit_id):
            raise UnitError(_("“{name}”下还有下级单元，请先移走或删除它们。").format(name=before["name"]))
        councils = await Council.count().where(Council.unit == unit_id)
        if councils:
            raise UnitError(_("“{name}”上还有 {n} 个议事机构，请先把它们移到别的单元。").format(
                name=before["name"], n=councils))
        if await RosterEntry.exists().where(RosterEntry.unit == unit_id):
            raise UnitError(_("“{name}”的居民名册中还有记录，不能删除。").format(name=before["name"]))
        if await User.exists().where(User.unit == unit_id):
            raise UnitError(_("还有工作人员账号归属“{name}”，请先修改这些账号。").format(name=before["name"]))
        await Unit.delete().where(Unit.id == unit_id)
        await record(actor=actor, action="unit.delete", entity=f"unit:{unit_id}",
                     before={"name": before["name"], "kind": before["kind"], "parent": before["parent"],
                             "code": before["code"]})


async def move_council(council_id: int, unit_id: int, *, actor: str) -> None:
    """Attach a council to another unit. Its figures follow it (the rollup is keyed by council)."""
    async with db.atomic():
        council = await Council.select(Council.id, Council.unit).where(Council.id == council_id).first()
        if council is None:
            raise UnitError(_("没有这个议事机构。"))
        if not await Unit.exists().where(Unit.id == unit_id):
            raise UnitError(_("目标单元不存在。"))
        if council["unit"] == unit_id:
            return
        await Council.update({Council.unit: unit_id}).where(Council.id == council_id)
        await record(actor=actor, action="council.move", entity=f"council:{council_id}",
                     before={"unit": council["unit"]}, after={"unit": unit_id})
