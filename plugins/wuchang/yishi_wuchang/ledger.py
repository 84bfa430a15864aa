"""Reading the record: the meeting's issues with their track and 回音, the council's 民情台账 (page
and CSV), the 交办单 of one department, and the departments' scores (单位测评).

Every issue's 回音 (reply) is found in core's own records: the reason of its 解疑释惑 / 现场办公
step, or the department's 办结 report on its task; an issue with none yet is flagged 未回音 —
件件有回音 means that list must end up empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from core import spreadsheet
from core.i18n import _
from core.meetings.tables import AgendaItem, Meeting
from core.topics.tables import Rating, Task, TaskReport, Topic, TopicEvent
from yishi_wuchang.capture import OPEN_FLOOR_TITLE

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
OPEN_TASK_STATES = ("assigned", "accepted", "in_progress", "returned")
#: Which track an issue took, from its state (an issue still 已记录 has none yet).
TRACK_OF_STATE = {"answered": "explain", "solved": "onsite", "decided": "concentrate", "assigned": "concentrate",
                  "done": "concentrate", "rated": "concentrate"}
REPLY_TRANSITIONS = ("explain", "onsite", "answer", "decline", "merge")
RATING_LABELS_KEYS = ("satisfied", "basic", "unsatisfied")


def rating_labels() -> dict[str, str]:
    return {"satisfied": _("满意"), "basic": _("基本满意"), "unsatisfied": _("不满意")}


def local_date(value: datetime | None) -> date | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(LOCAL_TZ).date()


def today() -> date:
    return datetime.now(LOCAL_TZ).date()


async def meeting_issues(meeting_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Every issue logged at these meetings, in the order it was raised, each with ``meeting``,
    ``no`` (its number within its meeting), ``track``, ``reply``, ``tasks`` and ``rating``."""
    if not meeting_ids:
        return []
    items = await AgendaItem.select(AgendaItem.id, AgendaItem.meeting).where(
        AgendaItem.meeting.is_in(list(meeting_ids)) & (AgendaItem.title == OPEN_FLOOR_TITLE))
    meeting_of_item = {row["id"]: row["meeting"] for row in items}
    if not meeting_of_item:
        return []
    topics = await Topic.select().where(Topic.agenda_item.is_in(list(meeting_of_item))).order_by(Topic.id)
    ids = [t["id"] for t in topics]
    replies = await _step_reasons(ids)
    tasks = await _tasks_of(ids)
    ratings = await _latest_ratings(ids)
    numbers: dict[int, int] = {}
    out = []
    for topic in topics:
        meeting_id = meeting_of_item[topic["agenda_item"]]
        numbers[meeting_id] = numbers.get(meeting_id, 0) + 1
        issue = dict(topic, meeting=meeting_id, no=numbers[meeting_id], track=TRACK_OF_STATE.get(topic["state"], ""),
                     tasks=tasks.get(topic["id"], []), rating=ratings.get(topic["id"]))
        issue.update(reply_of(issue, replies.get(topic["id"], "")))
        out.append(issue)
    return out


def reply_of(issue: dict[str, Any], step_reason: str) -> dict[str, Any]:
    """``reply`` (the 回音 text, may be empty), ``replied`` (bool) and ``flag`` (why not yet)."""
    state = issue["state"]
    if state in ("answered", "solved", "declined", "merged"):
        return {"reply": step_reason, "replied": True, "flag": ""}
    if state == "raised":
        return {"reply": "", "replied": False, "flag": _("尚未分流")}
    if state == "decided":
        return {"reply": "", "replied": False, "flag": _("待交办")}
    finished = [t for t in issue["tasks"] if t["state"] == "done"]
    if state in ("done", "rated") and finished:
        text = "；".join(f"{t['department_name']}：{t['final_report'] or _('已办结')}" for t in finished)
        return {"reply": text, "replied": True, "flag": ""}
    live = [t for t in issue["tasks"] if t["state"] in OPEN_TASK_STATES]
    overdue = any(t["overdue"] for t in live)
    progress = "；".join(f"{t['department_name']}：{t['latest_report']}" for t in live if t["latest_report"])
    return {"reply": progress, "replied": False, "flag": _("已超期未办结") if overdue else _("办理中")}


async def _step_reasons(topic_ids: list[int]) -> dict[int, str]:
    if not topic_ids:
        return {}
    rows = await TopicEvent.select(TopicEvent.topic, TopicEvent.reason).where(
        TopicEvent.topic.is_in(topic_ids) & TopicEvent.transition.is_in(list(REPLY_TRANSITIONS))
    ).order_by(TopicEvent.id)
    return {row["topic"]: row["reason"] for row in rows}


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
        row["overdue"] = row["state"] in OPEN_TASK_STATES and row["deadline"] < on
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


async def department_sheet(meeting_id: int, department_id: int) -> list[dict[str, Any]]:
    """The issues of this meeting assigned to one department (its 交办单), with their tasks."""
    out = []
    for issue in await meeting_issues([meeting_id]):
        mine = [t for t in issue["tasks"] if t["department"] == department_id]
        if mine:
            out.append(dict(issue, task=mine[0]))
    return out


# -------------------------------------------------------------------------------------------------
# The 民情台账 as CSV
# -------------------------------------------------------------------------------------------------

def ledger_csv(issues: Iterable[dict[str, Any]], meetings: dict[int, dict[str, Any]], spec_label: Any) -> bytes:
    """The ledger as UTF-8 CSV with a BOM (so Excel opens it in Chinese), typed text formula-safe."""
    tracks = {"explain": _("解疑释惑"), "onsite": _("现场办公"), "concentrate": _("集中交办")}
    ratings = rating_labels()
    headers = [_("恳谈会"), _("日期"), _("序号"), _("提出人"), _("类别"), _("反映的问题"), _("分流"),
               _("责任单位"), _("办理时限"), _("状态"), _("回音"), _("是否回音"), _("满意度")]
    rows = []
    for i in issues:
        m = meetings[i["meeting"]]
        rows.append([
            m["title"], local_date(m["starts_at"]).isoformat(), i["no"], i["proposer_name"], i["category"],
            i["title"], tracks.get(i["track"], ""), "、".join(t["department_name"] for t in i["tasks"]),
            "、".join(t["deadline"].isoformat() for t in i["tasks"]), spec_label(i["state"]),
            i["reply"], _("已回音") if i["replied"] else i["flag"], ratings.get(i["rating"] or "", ""),
        ])
    return spreadsheet.to_csv(headers, rows)


# -------------------------------------------------------------------------------------------------
# 单位测评: the departments' scores
# -------------------------------------------------------------------------------------------------

#: Points of each rating in the 满意度 score, and the weights of the three parts of the total.
RATING_POINTS = {"satisfied": Fraction(100), "basic": Fraction(60), "unsatisfied": Fraction(0)}
WEIGHTS = {"satisfaction": Fraction(2, 5), "done": Fraction(3, 10), "on_time": Fraction(3, 10)}


@dataclass
class UnitScore:
    department: int
    name: str
    assigned: int = 0
    done: int = 0
    on_time: int = 0
    overdue: int = 0
    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0

    @property
    def rated(self) -> int:
        return self.satisfied + self.basic + self.unsatisfied

    @property
    def satisfaction(self) -> Fraction | None:
        """Mean points of the ratings (满意 100, 基本满意 60, 不满意 0), None before any rating."""
        if not self.rated:
            return None
        return (self.satisfied * RATING_POINTS["satisfied"] + self.basic * RATING_POINTS["basic"]
                + self.unsatisfied * RATING_POINTS["unsatisfied"]) / self.rated

    @property
    def done_rate(self) -> Fraction:
        return Fraction(self.done, self.assigned) if self.assigned else Fraction(0)

    @property
    def on_time_rate(self) -> Fraction:
        return Fraction(self.on_time, self.assigned) if self.assigned else Fraction(0)

    @property
    def total(self) -> Fraction | None:
        """综合得分 out of 100: 满意度 40%, 办结率 30%, 按期办结率 30%; None until rated."""
        if self.satisfaction is None:
            return None
        return (WEIGHTS["satisfaction"] * self.satisfaction + WEIGHTS["done"] * 100 * self.done_rate
                + WEIGHTS["on_time"] * 100 * self.on_time_rate)


def score_units(tasks: Iterable[dict[str, Any]], ratings: dict[int, str], on: date) -> list[UnitScore]:
    """Score each department from its tasks (``department``, ``department_name``, ``topic``, ``state``,
    ``deadline``, ``done_on``) and the residents' latest rating of each task's topic. Pure.

    A task counts 按期 when done on or before its deadline; a rating counts for every department
    that worked on the topic. Ranked by total (unrated last), then by name.
    """
    scores: dict[int, UnitScore] = {}
    for t in tasks:
        if t["state"] == "cancelled":
            continue
        s = scores.setdefault(t["department"], UnitScore(t["department"], t["department_name"]))
        s.assigned += 1
        if t["state"] == "done":
            s.done += 1
            if t["done_on"] is not None and t["done_on"] <= t["deadline"]:
                s.on_time += 1
        elif t["deadline"] < on:
            s.overdue += 1
        level = ratings.get(t["topic"]) if t["state"] == "done" else None
        if level in RATING_LABELS_KEYS:
            setattr(s, level, getattr(s, level) + 1)
    return sorted(scores.values(), key=lambda s: (s.total is None, -(s.total or 0), s.name))


async def council_scores(meeting_ids: Sequence[int]) -> list[UnitScore]:
    issues = await meeting_issues(meeting_ids)
    tasks = [t for i in issues for t in i["tasks"]]
    ratings = {i["id"]: i["rating"] for i in issues if i["rating"]}
    return score_units(tasks, ratings, today())


def one_decimal(value: Fraction | None) -> str:
    """A score for people: one decimal, half up; "—" when there is none."""
    if value is None:
        return "—"
    tenths = (value * 10 + Fraction(1, 2)).__floor__()
    return f"{tenths // 10}.{tenths % 10}"
