"""Importing a checked roster file (core.residents.importer) into a unit: the preview, the import in one
transaction, its progress, the uploaded file kept between preview and confirm, and the CLI.

A row matches an existing entry of the unit by 楼栋 + 单元 + 房号 + 姓名 (the roster's unique key):
- no match → the entry is **added** (a new personal link);
- a match whose 户号, 手机尾号, 身份 or 面积 differ → those fields are **updated** (the link, and
  whether it is switched off, stay as they were: printed QR slips keep working); a column the file
  lacks, or a blank cell, leaves the stored value as it is;
- a match with nothing different → **unchanged**, left alone.
Entries missing from the file are never removed. So importing the same file twice changes nothing the
second time, and a corrected file can be imported over the old one.

All or nothing: a file with any error imports nothing; the import runs in one transaction
(``db.atomic``), in chunks of :data:`CHUNK` rows, with one audit event ``roster.imported`` holding
the counts (none when nothing changed). A concurrent change to the same rows (another import, the add
form) makes the import fail as a whole with a message, never half-way.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from core import audit, db
from core.i18n import _
from core.org.tables import Unit
from core.residents import services
from core.residents.importer import ParsedFile, field_labels, parse
from core.residents.services import EntryForm
from core.residents.tables import RosterEntry

logger = logging.getLogger(__name__)

#: Rows shown in the preview; rows written per statement (and between progress reports).
PREVIEW_ROWS = 50
CHUNK = 500
#: Errors listed in the preview (all are printed by the CLI).
PREVIEW_ERRORS = 200
#: Uploaded files waiting for "确认导入" are deleted after this long.
PENDING_SECONDS = 24 * 3600
UPDATABLE = ("household", "phone_last4", "kind", "area")


class ImportRefused(Exception):
    """The import cannot go ahead; the message is for the person importing."""


# -------------------------------------------------------------------------------------------------
# The plan: what each row will do
# -------------------------------------------------------------------------------------------------


def _area(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


@dataclass
class Plan:
    """Each valid row classified against the unit's roster as it is now."""

    parsed: ParsedFile
    unit: int
    new: list[EntryForm] = field(default_factory=list)
    updates: list[tuple[int, EntryForm, dict[str, Any]]] = field(default_factory=list)  # id, entry, before
    unchanged: int = 0
    status: dict[int, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # row → (status, before)

    @property
    def counts(self) -> dict[str, int]:
        return {"rows": len(self.parsed.rows), "new": len(self.new), "updated": len(self.updates),
                "unchanged": self.unchanged, "errors": len(self.parsed.error_rows)}


async def unit_row(unit_id: int) -> dict[str, Any] | None:
    return await Unit.select(Unit.id, Unit.name, Unit.kind).where(Unit.id == unit_id).first()


async def make_plan(parsed: ParsedFile, unit_id: int) -> Plan:
    """Classify the file's valid rows as new, to update or unchanged."""
    plan = Plan(parsed=parsed, unit=unit_id)
    if not parsed.entries:
        return plan
    existing = await RosterEntry.select(
        RosterEntry.id, RosterEntry.name, RosterEntry.building, RosterEntry.unit_no, RosterEntry.room,
        *(getattr(RosterEntry, name) for name in UPDATABLE),
    ).where(RosterEntry.unit == unit_id)
    by_key = {(r["building"], r["unit_no"], r["room"], r["name"]): r for r in existing}
    values = {r.number: r.values for r in parsed.rows}
    for number, entry in parsed.entries:
        row = by_key.get((entry.building, entry.unit_no, entry.room, entry.name))
        if row is None:
            plan.new.append(entry)
            plan.status[number] = ("new", {})
            continue
        # Only what the file says: a column it lacks, or a blank cell, leaves the stored value alone.
        given = [name for name in UPDATABLE if values[number].get(name, "").strip()]
        before = {name: row[name] for name in given
                  if (_area(row[name]) if name == "area" else row[name])
                  != (_area(entry.area) if name == "area" else getattr(entry, name))}
        if before:
            plan.updates.append((row["id"], entry, before))
            plan.status[number] = ("update", before)
        else:
            plan.unchanged += 1
            plan.status[number] = ("unchanged", {})
    return plan


def status_labels() -> dict[str, str]:
    return {"new": _("新增"), "update": _("更新"), "unchanged": _("不变")}


def _shown(name: str, value: Any) -> str:
    if name == "kind":
        return services.kind_labels().get(value, value)
    if name == "area":
        return services.area_text(value) or "—"
    return str(value) if value not in (None, "") else "—"


def preview(plan: Plan, limit: int = PREVIEW_ROWS) -> dict[str, Any]:
    """What the preview page shows: the counts, the first rows as they will be stored (with their
    status and, for an update, what changes), and every row with errors (up to PREVIEW_ERRORS)."""
    kinds = services.kind_labels()
    labels = field_labels()
    rows = []
    for number, entry in plan.parsed.entries[:limit]:
        status, before = plan.status.get(number, ("new", {}))
        changes = [_("{field}：{old} → {new}").format(field=labels[name], old=_shown(name, old),
                                                      new=_shown(name, getattr(entry, name)))
                   for name, old in before.items()]
        rows.append({"number": number, "status": status, "changes": changes, "name": entry.name,
                     "kind": kinds.get(entry.kind, entry.kind), "household": entry.household,
                     "address": services.address(entry.__dict__), "phone_last4": entry.phone_last4,
                     "area": services.area_text(entry.area)})
    errors = [{"number": r.number, "values": r.values,
               "messages": [f"{labels.get(name, name)}：{message}" for name, message in r.errors.items()]}
              for r in plan.parsed.error_rows[:PREVIEW_ERRORS]]
    return {"counts": plan.counts, "rows": rows, "errors": errors, "columns": plan.parsed.columns,
            "more_errors": max(0, len(plan.parsed.error_rows) - PREVIEW_ERRORS),
            "more_rows": max(0, len(plan.parsed.entries) - limit)}


def report_lines(plan: Plan) -> list[str]:
    """The preview as plain text, for the CLI: counts, notes, file problems and every row error."""
    parsed = plan.parsed
    lines = [_("文件：{name}（{kind}{encoding}）").format(
        name=parsed.filename, kind=parsed.kind or "?", encoding=f"，{parsed.encoding}" if parsed.encoding else "")]
    lines += [_("问题：{problem}").format(problem=p) for p in parsed.problems]
    lines += [_("提示：{note}").format(note=n) for n in parsed.notes]
    if not parsed.problems:
        c = plan.counts
        lines.append(_("共 {rows} 行：新增 {new}，更新 {updated}，不变 {unchanged}，有错误 {errors} 行。").format(**c))
    labels = field_labels()
    for row in parsed.error_rows:
        for name, message in row.errors.items():
            value = row.values.get(name, "")
            shown = f"“{value}”" if value else ""
            lines.append(_("第 {row} 行 {field}{value}：{message}").format(
                row=row.number, field=labels.get(name, name), value=shown, message=message))
    return lines


# -------------------------------------------------------------------------------------------------
# The import
# -------------------------------------------------------------------------------------------------

Progress = Callable[[int, int], Awaitable[None]]


@dataclass
class ImportResult:
    added: int
    updated: int
    unchanged: int

    def message(self) -> str:
        return _("导入完成：新增 {added} 条，更新 {updated} 条，{unchanged} 条没有变化。").format(
            added=self.added, updated=self.updated, unchanged=self.unchanged)


def _unique_violation(exc: BaseException) -> bool:
    return services._is_unique_violation(exc)


async def run_import(parsed: ParsedFile, unit_id: int, actor: str, *, import_id: str = "", sha256: str = "",
                     on_progress: Progress | None = None) -> ImportResult:
    """Import every row of a checked file in one transaction, or nothing (:class:`ImportRefused`).
    ``on_progress(done, total)`` is awaited after each chunk, counting the file's rows."""
    if not parsed.ok:
        raise ImportRefused(_("文件中有错误，没有导入任何记录。请改正后重新上传。"))
    if await unit_row(unit_id) is None:
        raise ImportRefused(_("没有编号为 {id} 的单位。").format(id=unit_id))
    total = len(parsed.rows)
    try:
        async with db.atomic():
            plan = await make_plan(parsed, unit_id)  # again, under the write lock: the roster as it is now
            done = plan.unchanged
            if on_progress:
                await on_progress(done, total)
            now = datetime.now(UTC)
            for start in range(0, len(plan.new), CHUNK):
                chunk = plan.new[start:start + CHUNK]
                await RosterEntry.insert(*(RosterEntry(
                    unit=unit_id, name=e.name, household=e.household, building=e.building, unit_no=e.unit_no,
                    room=e.room, phone_last4=e.phone_last4, kind=e.kind, area=e.area, token_generation=1,
                    revoked=False, created_at=now) for e in chunk))
                done += len(chunk)
                if on_progress:
                    await on_progress(done, total)
            for start in range(0, len(plan.updates), CHUNK):
                chunk_updates = plan.updates[start:start + CHUNK]
                for entry_id, entry, before in chunk_updates:
                    changes = {getattr(RosterEntry, name): getattr(entry, name) for name in before}
                    await RosterEntry.update(changes).where(RosterEntry.id == entry_id)
                done += len(chunk_updates)
                if on_progress:
                    await on_progress(done, total)
            if plan.new or plan.updates:
                await audit.record(actor=actor, action="roster.imported", entity=f"unit:{unit_id}", after={
                    "import": import_id, "file": parsed.filename[:100], "sha256": sha256, "rows": total,
                    "added": len(plan.new), "updated": len(plan.updates), "unchanged": plan.unchanged})
    except Exception as exc:
        if _unique_violation(exc):
            raise ImportRefused(_("导入期间名册被其他人修改了，没有导入任何记录。请重新上传文件再试。")) from exc
        raise
    return ImportResult(added=len(plan.new), updated=len(plan.updates), unchanged=plan.unchanged)


# -------------------------------------------------------------------------------------------------
# Uploaded files waiting for confirmation (in the data folder: every worker process sees them)
# -------------------------------------------------------------------------------------------------


def new_import_id() -> str:
    return secrets.token_hex(16)


def valid_import_id(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


@dataclass
class Pending:
    """An uploaded file kept between the preview and "确认导入"."""

    import_id: str
    council: int
    unit: int
    filename: str
    sha256: str
    data: bytes


class PendingStore:
    """``<data dir>/roster-imports/<id>.bin`` and ``.json``; files older than a day are removed."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = data_dir / "roster-imports"

    def save(self, council: int, unit: int, filename: str, data: bytes) -> Pending:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.clean()
        pending = Pending(new_import_id(), council, unit, filename[:200], hashlib.sha256(data).hexdigest(), data)
        (self.folder / f"{pending.import_id}.bin").write_bytes(data)
        meta = {"council": council, "unit": unit, "filename": pending.filename, "sha256": pending.sha256}
        (self.folder / f"{pending.import_id}.json").write_text(json.dumps(meta, ensure_ascii=False), "utf-8")
        return pending

    def load(self, import_id: str) -> Pending | None:
        if not valid_import_id(import_id):
            return None
        try:
            meta = json.loads((self.folder / f"{import_id}.json").read_text("utf-8"))
            data = (self.folder / f"{import_id}.bin").read_bytes()
        except (OSError, ValueError):
            return None
        return Pending(import_id, meta["council"], meta["unit"], meta["filename"], meta["sha256"], data)

    def discard(self, import_id: str) -> None:
        if valid_import_id(import_id):
            for suffix in (".bin", ".json"):
                (self.folder / f"{import_id}{suffix}").unlink(missing_ok=True)

    def clean(self) -> None:
        limit = time.time() - PENDING_SECONDS
        for path in self.folder.glob("*.*"):
            try:
                if path.stat().st_mtime < limit:
                    path.unlink(missing_ok=True)
            except OSError:
                continue


# -------------------------------------------------------------------------------------------------
# Background imports and their progress (in memory, per process)
# -------------------------------------------------------------------------------------------------


@dataclass
class ImportJob:
    """An import running (or finished) in this process: polled by the progress page."""

    import_id: str
    council: int
    filename: str
    total: int
    done: int = 0
    state: str = "running"   # running / done / failed
    message: str = ""
    result: ImportResult | None = None
    task: asyncio.Task | None = None
    finished_at: float = 0.0

    async def advance(self, done: int, total: int) -> None:
        self.done, self.total = done, total


class ImportJobs:
    """Jobs by import id. A job is started at most once per id (a retried "确认导入" finds it)."""

    KEEP = 200

    def __init__(self) -> None:
        self.jobs: dict[str, ImportJob] = {}

    def get(self, import_id: str) -> ImportJob | None:
        return self.jobs.get(import_id)

    def start(self, pending: Pending, parsed: ParsedFile, actor: str, store: PendingStore) -> ImportJob:
        job = self.jobs.get(pending.import_id)
        if job is not None:
            return job
        self._forget_old()
        job = ImportJob(pending.import_id, pending.council, pending.filename, total=len(parsed.rows))
        self.jobs[pending.import_id] = job  # before the first await: a retry cannot start a second one

        async def work() -> None:
            try:
                job.result = await run_import(parsed, pending.unit, actor, import_id=pending.import_id,
                                              sha256=pending.sha256, on_progress=job.advance)
                job.done, job.state, job.message = job.total, "done", job.result.message()
                store.discard(pending.import_id)
            except ImportRefused as exc:
                job.state, job.message = "failed", str(exc)
            except Exception:
                logger.exception("roster import %s failed", pending.import_id)
                job.state, job.message = "failed", _("导入出错，名册没有任何改动。请稍后再试，或联系管理员。")
            finally:
                job.finished_at = time.time()

        job.task = asyncio.get_running_loop().create_task(work())
        return job

    def _forget_old(self) -> None:
        finished = sorted((j for j in self.jobs.values() if j.state != "running"), key=lambda j: j.finished_at)
        for job in finished[:max(0, len(self.jobs) - self.KEEP)]:
            self.jobs.pop(job.import_id, None)


# -------------------------------------------------------------------------------------------------
# `yishi roster import FILE --unit ID [--dry-run]` (the parser is in core.cli)
# -------------------------------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    from core.cli import _with_db
    from core.errors import YishiError
    from core.settings import Settings

    path = Path(args.file)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise YishiError(f"无法读取文件 / cannot read {path}: {exc.strerror}") from exc
    parsed = parse(data, path.name, args.unit)

    async def work(_plugins: Any) -> int:
        if await unit_row(args.unit) is None:
            raise YishiError(f"没有编号为 {args.unit} 的单位 / no unit {args.unit}")
        plan = await make_plan(parsed, args.unit)
        lines = report_lines(plan)
        if not parsed.ok:
            for line in lines:
                print(line, file=sys.stderr)
            print(_("没有导入任何记录。"), file=sys.stderr)
            return 1
        for line in lines:
            print(line)
        if args.dry_run:
            print(_("仅检查（--dry-run），没有导入。"))
            return 0
        try:
            result = await run_import(parsed, args.unit, "cli", sha256=hashlib.sha256(data).hexdigest())
        except ImportRefused as exc:
            print(str(exc), file=sys.stderr)
            return 1
        print(result.message())
        return 0

    return asyncio.run(_with_db(Settings.from_env(), work))
