"""台账: the ledgers of topics (议题台账) and tasks (交办台账) as CSV and XLSX, with filters.

Offices keep these as spreadsheets for the street office's inspections: one row per topic or task,
with the council, dates, state, category or responsible unit. Filters: council, period (the day
the topic was raised / the task assigned, both ends included, in the deployment's time zone),
state, category (topics) and unit (tasks). CSV is UTF-8 with a BOM, so Excel opens the Chinese
correctly; XLSX has a bold header row, frozen, and column widths that fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from core import spreadsheet
from core.i18n import _
from core.org.tables import Council
from core.topics.services import topic_state_labels
from core.topics.tables import Task, Topic
from core.topics.tasks import state_label

KINDS = ("topics", "tasks")
FORMATS = ("csv", "xlsx")
#: Rows one export may hold; beyond this the office narrows the period.
MAX_ROWS = 50_000


class LedgerError(ValueError):
    """A ledger that cannot be produced; the message is for the person asking."""


@dataclass(frozen=True)
class LedgerFilters:
    council: int | None = None
    since: date | None = None
    until: date | None = None
    state: str = ""
    category: str = ""
    unit: str = ""


def _day(raw: str, label: str, errors: dict[str, str], key: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[key] = _("{label}“{raw}”不是有效日期，请按 2026-03-01 的格式填写。").format(label=label, raw=raw[:20])
        return None


def parse_filters(params: dict[str, str]) -> tuple[LedgerFilters, dict[str, str]]:
    """Filters from a query string or the command line: (filters, errors by field)."""
    errors: dict[str, str] = {}
    council: int | None = None
    raw_council = (params.get("council") or "").strip()
    if raw_council:
        if raw_council.isdigit():
            council = int(raw_council)
        else:
            errors["council"] = _("议事机构编号“{raw}”应为数字。").format(raw=raw_council[:20])
    since = _day(params.get("from", ""), _("起始日期"), errors, "from")
    until = _day(params.get("to", ""), _("截止日期"), errors, "to")
    if since and until and since > until:
        errors["to"] = _("截止日期 {b} 早于起始日期 {a}。").format(a=since, b=until)
    texts = {k: " ".join((params.get(k) or "").split())[:60] for k in ("state", "category", "unit")}
    return LedgerFilters(council, since, until, **texts), errors


def _bounds(f: LedgerFilters) -> tuple[datetime | None, datetime | None]:
    from core.templating import LOCAL_TZ as zone

    start = datetime.combine(f.since, time.min, zone) if f.since else None
    end = datetime.combine(f.until + timedelta(days=1), time.min, zone) if f.until else None
    return start, end


def _local(value: Any) -> str:
    from core.meetings.services import _aware
    from core.templating import LOCAL_TZ

    if isinstance(value, str) and value:
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return _aware(value).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")  # type: ignore[union-attr]
    return "" if value is None else str(value)


async def topic_rows(f: LedgerFilters) -> tuple[list[str], list[list[Any]]]:
    where = Topic.id.is_not_null()
    if f.council is not None:
        where &= Topic.council == f.council
    start, end = _bounds(f)
    if start:
        where &= Topic.created_at >= start
    if end:
        where &= Topic.created_at < end
    if f.state:
        where &= Topic.state == f.state
    if f.category:
        where &= Topic.category == f.category
    rows = await Topic.select(
        Topic.id, Topic.council.name.as_alias("council_name"), Topic.title, Topic.category, Topic.state,
        Topic.proposer_name, Topic.created_at, Topic.updated_at, Topic.agenda_item.meeting.title.as_alias("meeting"),
    ).where(where).order_by(Topic.created_at).order_by(Topic.id).limit(MAX_ROWS + 1)
    _refuse_too_many(rows)
    labels = topic_state_labels()
    headers = [_("编号"), _("议事机构"), _("议题"), _("类别"), _("状态"), _("提出人"), _("提出时间"), _("最近更新"),
               _("审议会议")]
    return headers, [[r["id"], r["council_name"], r["title"], r["category"], labels.get(r["state"], r["state"]),
                      r["proposer_name"], _local(r["created_at"]), _local(r["updated_at"]), r["meeting"] or ""]
                     for r in rows]


async def task_rows(f: LedgerFilters) -> tuple[list[str], list[list[Any]]]:
    where = Task.id.is_not_null()
    if f.council is not None:
        where &= Task.topic.council == f.council
    start, end = _bounds(f)
    if start:
        where &= Task.created_at >= start
    if end:
        where &= Task.created_at < end
    if f.state:
        where &= Task.state == f.state
    if f.unit:
        where &= Task.department.name == f.unit
    if f.category:
        where &= Task.topic.category == f.category
    rows = await Task.select(
        Task.id, Task.topic.council.name.as_alias("council_name"), Task.topic.title.as_alias("topic"),
        Task.topic.category.as_alias("category"), Task.department.name.as_alias("unit"), Task.requirement,
        Task.deadline, Task.state, Task.created_at, Task.done_at,
    ).where(where).order_by(Task.deadline).order_by(Task.id).limit(MAX_ROWS + 1)
    _refuse_too_many(rows)
    today = date.today()
    headers = [_("编号"), _("议事机构"), _("议题"), _("类别"), _("责任单位"), _("办理要求"), _("办结期限"), _("状态"),
               _("交办时间"), _("办结时间"), _("是否逾期")]
    out = []
    for r in rows:
        deadline = r["deadline"] if isinstance(r["deadline"], date) else date.fromisoformat(str(r["deadline"]))
        overdue = r["done_at"] is None and r["state"] not in ("done", "cancelled") and deadline < today
        out.append([r["id"], r["council_name"], r["topic"], r["category"], r["unit"], r["requirement"],
                    deadline.isoformat(), state_label("task", r["state"]), _local(r["created_at"]),
                    _local(r["done_at"]), _("逾期") if overdue else ""])
    return headers, out


def _refuse_too_many(rows: list[Any]) -> None:
    if len(rows) > MAX_ROWS:
        raise LedgerError(_("超过 {n} 行，请缩短时间段或加筛选条件。").format(n=MAX_ROWS))


async def export_ledger(kind: str, f: LedgerFilters, fmt: str) -> tuple[bytes, int]:
    """The ledger as file bytes and its number of rows."""
    if kind not in KINDS:
        raise LedgerError(_("没有“{kind}”台账，可选：topics（议题）、tasks（交办）。").format(kind=kind))
    if fmt not in FORMATS:
        raise LedgerError(_("不支持的格式 {fmt}，可选：csv、xlsx。").format(fmt=fmt))
    if f.council is not None and not await Council.exists().where(Council.id == f.council):
        raise LedgerError(_("议事机构 {id} 不存在。").format(id=f.council))
    headers, rows = await (topic_rows(f) if kind == "topics" else task_rows(f))
    if fmt == "csv":
        return spreadsheet.to_csv(headers, rows), len(rows)
    return spreadsheet.to_xlsx(ledger_title(kind), headers, rows), len(rows)


def ledger_title(kind: str) -> str:
    return _("议题台账") if kind == "topics" else _("交办台账")
