"""Importing units from a .xlsx or .csv file (columns 编码, 名称, 类型, 上级编码): read and check
every row first, then create all of them in one transaction — or none.

Files are read by the roster importer's readers (core.residents.importer: the format from the
content, CSV in UTF-8, UTF-16 or GBK). Row numbers are the sheet's own. A row is refused when:

- 编码, 名称 or 类型 is empty, or the 类型 is not one of :data:`core.org.units.KINDS`;
- its 编码 appeared on an earlier row, or belongs to a unit already in the database with a
  different name, kind or parent (the same unit imported again is skipped, so a file can be
  re-imported after fixing it);
- its 上级编码 names no unit of the file or the database (an empty 上级编码 puts the unit under
  the chosen unit, or makes it a root when none is chosen);
- following 上级编码 from it comes back to it (a cycle: every row of the cycle is named).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any

from core import db
from core.audit.log import record
from core.i18n import _
from core.org import units
from core.org.tables import Unit
from core.residents.importer import (
    ImportFileError,
    _header_key,
    csv_rows,
    decode_csv,
    xlsx_rows,
)

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 20_000
HEADER_SCAN = 10

COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("编码", "单元编码", "代码", "区划代码", "code"),
    "name": ("名称", "单元名称", "名字", "name"),
    "kind": ("类型", "层级", "类别", "kind", "type"),
    "parent_code": ("上级编码", "上级代码", "上级单元编码", "parent", "parent_code", "parentcode"),
}
REQUIRED = ("code", "name", "kind")
_ALIASES = {_header_key(alias): name for name, aliases in COLUMNS.items() for alias in aliases}


def column_labels() -> dict[str, str]:
    return {"code": _("编码"), "name": _("名称"), "kind": _("类型"), "parent_code": _("上级编码")}


@dataclass
class UnitRow:
    number: int
    code: str
    name: str
    kind: str
    parent_code: str
    errors: list[str] = field(default_factory=list)
    #: "new", "same" (already in the database, skipped) — or "" for a row with errors.
    status: str = ""


@dataclass
class UnitPlan:
    filename: str
    encoding: str = ""
    rows: list[UnitRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def error_rows(self) -> list[UnitRow]:
        return [r for r in self.rows if r.errors]

    @property
    def new_rows(self) -> list[UnitRow]:
        return [r for r in self.rows if r.status == "new"]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.error_rows and bool(self.rows)


def read_rows(data: bytes, plan: UnitPlan) -> list[tuple[int, list[str]]]:
    if not data:
        raise ImportFileError(_("文件是空的。"))
    if len(data) > MAX_BYTES:
        raise ImportFileError(_("文件超过 2 MB，请分成几个文件导入。"))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(_("这是旧版 Excel（.xls）文件：请在 Excel 或 WPS 中“另存为”Excel 工作簿（.xlsx）"
                                "后重新上传。"))
    if data.startswith(b"PK\x03\x04"):
        plan.encoding = "xlsx"
        return xlsx_rows(data, [])
    text, plan.encoding = decode_csv(data)
    return csv_rows(text)


def parse(data: bytes, filename: str) -> UnitPlan:
    """Read the file into rows (no database): problems of the whole file, or the rows."""
    plan = UnitPlan(filename=filename)
    try:
        raw = read_rows(data, plan)
    except ImportFileError as exc:
        plan.problems.append(str(exc))
        return plan
    header_at = None
    for i, (_n, cells) in enumerate(raw[:HEADER_SCAN]):
        if sum(1 for c in cells if _ALIASES.get(_header_key(c)) is not None) >= 2:
            header_at = i
            break
    if header_at is None:
        plan.problems.append(_("找不到表头：第一行应是列名“编码、名称、类型、上级编码”。"))
        return plan
    header_number, header = raw[header_at]
    mapping: dict[int, str] = {}
    for index, cell in enumerate(header):
        name = _ALIASES.get(_header_key(cell))
        if name is not None and name not in mapping.values():
            mapping[index] = name
    labels = column_labels()
    missing = [labels[f] for f in REQUIRED if f not in mapping.values()]
    if missing:
        plan.problems.append(_("缺少必需的列：{columns}（表头在第 {row} 行）。").format(
            columns="、".join(missing), row=header_number))
        return plan
    data_rows = [(n, cells) for n, cells in raw[header_at + 1:] if any(c.strip() for c in cells)]
    if not data_rows:
        plan.problems.append(_("表头下面没有数据。"))
    elif len(data_rows) > MAX_ROWS:
        plan.problems.append(_("文件超过 {limit} 行，请分成几个文件导入。").format(limit=MAX_ROWS))
    if plan.problems:
        return plan
    for number, cells in data_rows:
        values = {name: " ".join((cells[i] if i < len(cells) else "").split()) for i, name in mapping.items()}
        plan.rows.append(UnitRow(number, values.get("code", ""), values.get("name", ""), values.get("kind", ""),
                                 values.get("parent_code", "")))
    return plan


def check(plan: UnitPlan, existing: dict[str, dict[str, Any]], under_code: str | None) -> None:
    """Check every row against the others and the units already stored (``existing``: by code,
    with ``name``, ``kind`` and ``parent_code``). ``under_code``: where rows without 上级编码 go."""
    first: dict[str, int] = {}
    for row in plan.rows:
        for value, message in ((row.code, _("编码为空。")), (row.name, _("名称为空。")), (row.kind, _("类型为空。"))):
            if not value:
                row.errors.append(message)
        checks = [(units.clean_code, row.code)]
        if row.name:
            checks.append((units.clean_name, row.name))
        if row.kind:
            checks.append((units.clean_kind, row.kind))
        for clean, value in checks:
            try:
                clean(value)
            except units.UnitError as exc:
                row.errors.append(str(exc))
        if row.code:
            if row.code in first:
                row.errors.append(_("编码“{code}”与第 {row} 行重复。").format(code=row.code, row=first[row.code]))
            else:
                first[row.code] = row.number
    in_file = {r.code: r for r in plan.rows if r.code and first.get(r.code) == r.number}
    for row in plan.rows:
        parent = row.parent_code or under_code or ""
        if row.parent_code and row.parent_code not in in_file and row.parent_code not in existing:
            row.errors.append(_("上级编码“{code}”不存在（文件中和系统中都没有）。").format(code=row.parent_code))
        if row.parent_code and row.parent_code == row.code:
            row.errors.append(_("上级编码不能是自己的编码。"))
        stored = existing.get(row.code)
        if stored is not None and not row.errors:
            if (stored["name"], stored["kind"], stored["parent_code"]) == (row.name, row.kind, parent):
                row.status = "same"
            else:
                row.errors.append(_("编码“{code}”已被系统中的单元“{name}”使用。").format(
                    code=row.code, name=stored["name"]))
    # Cycles: follow 上级编码 through the file's own rows.
    for row in plan.rows:
        seen = [row.code]
        node = in_file.get(row.parent_code)
        while node is not None and node.code not in seen:
            seen.append(node.code)
            node = in_file.get(node.parent_code)
        if node is not None and node.code == row.code:
            row.errors.append(_("上级关系形成循环：{path}。").format(path=" → ".join([*seen, row.code])))
    for row in plan.rows:
        if not row.errors and not row.status:
            row.status = "new"


async def existing_units() -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """Stored units by code (name, kind, parent's code) and code → id."""
    rows = await Unit.select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.parent)
    code_of = {r["id"]: r["code"] for r in rows}
    by_code = {r["code"]: {"name": r["name"], "kind": r["kind"], "parent_code": code_of.get(r["parent"]) or ""}
               for r in rows if r["code"]}
    return by_code, {r["code"]: r["id"] for r in rows if r["code"]}


async def make_plan(data: bytes, filename: str, under: int | None) -> UnitPlan:
    """Read and check a file against the database; ``under``: the unit that rows without 上级编码 go under."""
    plan = parse(data, filename)
    if plan.problems:
        return plan
    under_code = None
    if under is not None:
        row = await Unit.select(Unit.code).where(Unit.id == under).first()
        if row is None:
            plan.problems.append(_("要导入到的上级单元不存在。"))
            return plan
        if not row["code"]:
            plan.problems.append(_("要导入到的单元没有编码，请先为它填写编码。"))
            return plan
        under_code = row["code"]
    existing, _ids = await existing_units()
    check(plan, existing, under_code)
    return plan


class ImportRefused(Exception):
    """The file has errors: nothing was imported."""


async def run_import(data: bytes, filename: str, under: int | None, actor: str) -> tuple[UnitPlan, int]:
    """Check again and create every new unit, parents first, in one transaction. Returns the plan
    and how many units were created; :class:`ImportRefused` when any row has an error."""
    async with db.atomic():
        plan = await make_plan(data, filename, under)
        if not plan.ok:
            raise ImportRefused(plan)
        _existing, ids = await existing_units()
        under_code = None
        if under is not None:
            under_code = (await Unit.select(Unit.code).where(Unit.id == under).first())["code"]
        pending = {r.code: r for r in plan.new_rows}
        created = 0
        while pending:
            ready = [r for r in pending.values() if (r.parent_code or under_code or "") in ids
                     or not (r.parent_code or under_code)]
            if not ready:  # cannot happen after check(); refuse rather than loop
                raise ImportRefused(plan)
            for row in sorted(ready, key=lambda r: r.number):
                parent_code = row.parent_code or under_code
                parent = ids[parent_code] if parent_code else None
                inserted = await Unit.insert(Unit(name=row.name, kind=row.kind, parent=parent, code=row.code))
                ids[row.code] = inserted[0]["id"]
                del pending[row.code]
                created += 1
        await record(actor=actor, action="unit.import", entity=f"unit:{under or 0}",
                     after={"file": filename[:100], "created": created, "skipped": len(plan.rows) - created})
    return plan, created


def report_lines(plan: UnitPlan) -> list[str]:
    """The plan as text lines (the CLI's report)."""
    lines = [*plan.problems]
    for row in plan.rows:
        if row.errors:
            lines.append(_("第 {row} 行：{errors}").format(row=row.number, errors="；".join(row.errors)))
    return lines


def cmd_import(args: argparse.Namespace) -> int:
    """``yishi units import FILE [--under ID] [--dry-run]``."""
    from pathlib import Path

    from core.cli import _with_db
    from core.settings import Settings

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        print(_("无法读取文件：{error}").format(error=exc))
        return 1

    async def work(_plugins: Any) -> int:
        if args.dry_run:
            plan = await make_plan(data, path.name, args.under)
            created = 0
        else:
            try:
                plan, created = await run_import(data, path.name, args.under, "cli")
            except ImportRefused as exc:
                plan, created = exc.args[0], 0
        for line in report_lines(plan):
            print(line, file=sys.stderr)
        if not plan.ok:
            print(_("文件有错误，未导入任何单元。"), file=sys.stderr)
            return 1
        if args.dry_run:
            print(_("检查通过：将新建 {n} 个单元，{same} 个已存在。").format(
                n=len(plan.new_rows), same=len(plan.rows) - len(plan.new_rows)))
        else:
            print(_("已导入 {n} 个单元，{same} 个已存在未改动。").format(n=created, same=len(plan.rows) - created))
        return 0

    return asyncio.run(_with_db(Settings.from_env(), work))
