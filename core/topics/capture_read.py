"""Reading a meeting capture back (docs/capture.md): the meeting's issues with their track and 回音,
the council's ledger rows as the spec's columns, and the issues of one department (its 交办单).

Every issue's 回音 (reply) is found in core's own records: the reason of the step that ended it
(the answer typed when it was triaged), or its departments' 办结 reports; an issue with none yet
is flagged with why — 件件有回音 means that list must end up empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core import spreadsheet
from core.i18n import _
from core.lowcode.forms import FormSpec
from core.lowcode.workflow import WorkflowSpec
from core.meetings.tables import AgendaItem, Meeting
from core.topics.capture import DONE, RATED, Track
from core.topics.capture_spec import LEDGER_COLUMNS, CaptureSpec
from core.topics.tables import Rating, Task, TaskReport, Topic, TopicEvent
from core.topics.tasks import OPEN_STATES

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def rating_labels() -> dict[str, str]:
    return {"satisfied": _("满意"), "basic": _("基本满意"), "unsatisfied": _("不满意")}


def local_date(value: datetime | None) -> date | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(LOCAL_TZ).date()


def today() -> date:
    return datetime.now(LOCAL_TZ).date()


async def meeting_issues(spec: CaptureSpec, workflow: WorkflowSpec, meeting_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Every issue logged at these meetings, in the order it was raised, each with ``meeting``,
    ``no`` (its number within its meeting), ``track``, ``reply``, ``replied``, ``flag``, ``tasks``
    and ``rating``."""
    if not meeting_ids:
        return []
    items = await AgendaItem.select(AgendaItem.id, AgendaItem.meeting).where(
        AgendaItem.meeting.is_in(list(meeting_ids)) & (AgendaItem.title == spec.open_floor_title))
    meeting_of_item = {row["id"]: row["meeting"] for row in items}
    if not meeting_of_item:
        return []
    topics = await Topic.select().where(Topic.agenda_item.is_in(list(meeting_of_item))).order_by(Topic.id)
    ids = [t["id"] for t in topics]
    steps = await _steps(ids)
    tasks = await _tasks_of(ids)
    ratings = await _latest_ratings(ids)
    numbers: dict[int, int] = {}
    out = []
    for topic in topics:
        meeting_id = meeting_of_item[topic["agenda_item"]]
        numbers[meeting_id] = numbers.get(meeting_id, 0) + 1
        history = steps.get(topic["id"], [])
        track = next((s["transition"] for s in history if s["transition"] in spec.tracks), "")
        reason = next((s["reason"] for s in reversed(history) if s["to_state"] == topic["state"]), "")
        issue = dict(topic, meeting=meeting_id, no=numbers[meeting_id], track=track,
                     tasks=tasks.get(topic["id"], []), rating=ratings.get(topic["id"]))
        issue.update(reply_of(issue, workflow, reason))
        out.append(issue)
    return out


def reply_of(issue: dict[str, Any], workflow: WorkflowSpec, step_reason: str) -> dict[str, Any]:
    """``reply`` (the 回音 text, may be empty), ``replied`` (bool) and ``flag`` (why not yet). Pure."""
    state = issue["state"]
    finished = [t for t in issue["tasks"] if t["state"] == "done"]
    if state in (DONE, RATED) and finished:
        text = "；".join(f"{t['department_name']}：{t['final_report'] or _('已办结')}" for t in finished)
        return {"reply": text, "replied": True, "flag": ""}
    live = [t for t in issue["tasks"] if t["state"] in OPEN_STATES]
    if live:
        progress = "；".join(f"{t['department_name']}：{t['latest_report']}" for t in live if t["latest_report"])
        flag = _("已超期未办结") if any(t["overdue"] for t in live) else _("办理中")
        return {"reply": progress, "replied": False, "flag": flag}
    if state in workflow.terminal_states:
        return {"reply": step_reason, "replied": True, "flag": ""}
    if state == workflow.initial:
        return {"reply": "", "replied": False, "flag": _("尚未分流")}
    return {"reply": "", "replied": False, "flag": workflow.state_label(state)}


def counts(issues: list[dict[str, Any]], tracks: dict[str, Track]) -> dict[str, int]:
    """How many issues in all, on each track, not yet triaged, and without a 回音."""
    out = {"all": len(issues), "untriaged": 0, "unreplied": 0, **dict.fromkeys(tracks, 0)}
    for i in issues:
        out[i["track"] or "untriaged"] = out.get(i["track"] or "untriaged", 0) + 1
        out["unreplied"] += not i["replied"]
    return out


async def _steps(topic_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    if topic_ids:
        for row in await TopicEvent.select(TopicEvent.topic, TopicEvent.transition, TopicEvent.to_state,
                                           TopicEvent.reason).where(TopicEvent.topic.is_in(topic_ids)).order_by(
                TopicEvent.id):
            out.setdefault(row["topic"], []).append(row)
    return out


async def _tasks_of(topic_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not topic_ids:
        return {}
    rows = await Task.select(Task.all_columns(), Task.department.name.as_alias("department_name")).where(
        Task.topic.is_in(topic_ids) & (Task.state != "cancelled")).order_by(Task.id)
    reports: dict[int, list[dict[str, Any]]] = {}
    if rows:
        for rep in await TaskReport.select(TaskReport.task, TaskReport.progress, TaskReport.body).where(
                TaskReport.task.is_in([r["id"] for r in rows])).order_by(TaskReport.id):
            reports.setdefault(rep["task"], []).append(rep)
    on = today()
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        reps = reports.get(row["id"], [])
        row["latest_report"] = reps[-1]["body"] if reps else ""
        row["final_report"] = next((r["body"] for r in reversed(reps) if r["progress"] == "已办结"), "")
        row["overdue"] = row["state"] in OPEN_STATES and row["deadline"] < on
        row["done_on"] = local_date(row["done_at"])
        out.setdefault(row["topic"], []).append(row)
    return out


async def _latest_ratings(topic_ids: list[int]) -> dict[int, str]:
    if not topic_ids:
        return {}
    rows = await Rating.select(Rating.topic, Rating.level).where(Rating.topic.is_in(topic_ids)).order_by(Rating.id)
    return {row["topic"]: row["level"] for row in rows}


async def council_meetings(council_id: int) -> list[dict[str, Any]]:
    return await Meeting.select(Meeting.id, Meeting.title, Meeting.place, Meeting.starts_at, Meeting.state).where(
        Meeting.council == council_id).order_by(Meeting.starts_at)


def department_sheet(issues: list[dict[str, Any]], department_id: int) -> list[dict[str, Any]]:
    """The issues assigned to one department (its 交办单), each with that department's ``task``."""
    out = []
    for issue in issues:
        mine = [t for t in issue["tasks"] if t["department"] == department_id]
        if mine:
            out.append(dict(issue, task=mine[0]))
    return out


# -------------------------------------------------------------------------------------------------
# The ledger: the spec's columns
# -------------------------------------------------------------------------------------------------


def column_labels(spec: CaptureSpec, form: FormSpec, columns: Sequence[str]) -> list[str]:
    """Each column's heading: the spec's ``[ledger.labels]``, a form field's label, or core's."""
    fields = {f.name: f.label for f in form.fields}
    return [_(spec.ledger_labels.get(c) or fields.get(c) or LEDGER_COLUMNS.get(c, c)) for c in columns]


def cell(spec: CaptureSpec, column: str, issue: dict[str, Any], meeting: dict[str, Any], *,
         tracks: dict[str, str], state_label: Any) -> Any:
    """One ledger cell as text (the CSV and the page's plain columns)."""
    fields = {spec.proposer_field: "proposer_name", spec.category_field: "category", spec.title_field: "title"}
    if column in fields:
        return issue[fields[column]]
    return {
        "meeting": lambda: meeting["title"],
        "date": lambda: local_date(meeting["starts_at"]).isoformat(),
        "no": lambda: issue["no"],
        "track": lambda: tracks.get(issue["track"], ""),
        "departments": lambda: "、".join(t["department_name"] for t in issue["tasks"]),
        "deadlines": lambda: "、".join(t["deadline"].isoformat() for t in issue["tasks"]),
        "state": lambda: state_label(issue["state"]),
        "reply": lambda: issue["reply"],
        "replied": lambda: _("已回音") if issue["replied"] else issue["flag"],
        "rating": lambda: rating_labels().get(issue["rating"] or "", ""),
    }[column]()


def ledger_csv(spec: CaptureSpec, form: FormSpec, issues: list[dict[str, Any]],
               meetings: dict[int, dict[str, Any]], *, tracks: dict[str, str], state_label: Any) -> bytes:
    """The ledger as UTF-8 CSV with a BOM (so Excel opens it in Chinese), typed text formula-safe."""
    rows = [[cell(spec, c, i, meetings[i["meeting"]], tracks=tracks, state_label=state_label)
             for c in spec.ledger_columns] for i in issues]
    return spreadsheet.to_csv(column_labels(spec, form, spec.ledger_columns), rows)
