"""The monthly report (月报) of a 月月谈 council: meetings held, issues raised and solved, tasks given
to the police and the grid workers, rental-safety check results and volunteer points — the counts a
town (镇) adds up across its councils ("46 个议事会、306 场会议、解决问题 555 件").

``month_range`` is pure; ``figures`` reads the database. A month is a calendar month in China time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from core.i18n import _
from core.meetings.tables import Meeting
from core.templating import LOCAL_TZ
from core.topics.tables import Department, Task, Topic, TopicEvent
from yishi_linjuli.tables import CheckFix, PointsEntry, SafetyCheck

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
HELD = ("in_session", "closed", "approved", "published")
#: Topic states that mean the issue was dealt with: 已办结 (a unit finished it) or 已答复 (answered).
SOLVED = ("done", "answered")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return _("{y}年{m}月").format(y=self.year, m=self.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), 12 if self.month == 1 else self.month - 1)

    def utc_range(self) -> tuple[datetime, datetime]:
        """[start, end) of the month in China time, as UTC instants."""
        start = datetime(self.year, self.month, 1, tzinfo=LOCAL_TZ)
        nxt = self.next
        end = datetime(nxt.year, nxt.month, 1, tzinfo=LOCAL_TZ)
        return start.astimezone(UTC), end.astimezone(UTC)


def this_month(now: datetime | None = None) -> Month:
    now = (now or datetime.now(UTC)).astimezone(LOCAL_TZ)
    return Month(now.year, now.month)


def parse_month(raw: str | None, now: datetime | None = None) -> tuple[Month, str]:
    """The month asked for (``2026-11``), or this month and a message saying what was wrong."""
    raw = (raw or "").strip()
    if not raw:
        return this_month(now), ""
    found = MONTH.match(raw)
    if found:
        year, month = int(found.group(1)), int(found.group(2))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return Month(year, month), ""
    return this_month(now), _("月份应写成 2026-11 这样的格式，已显示本月。")


async def figures(council_id: int, month: Month) -> dict[str, Any]:
    """Every count of the report, plus the lists the page shows beside them."""
    start, end = month.utc_range()
    first, after = month.first_day, month.next.first_day

    meetings = await Meeting.select(Meeting.id, Meeting.title, Meeting.starts_at, Meeting.state, Meeting.place).where(
        (Meeting.council == council_id) & (Meeting.starts_at >= start) & (Meeting.starts_at < end)
    ).order_by(Meeting.starts_at)
    held = [m for m in meetings if m["state"] in HELD]

    raised = await Topic.select(Topic.id, Topic.title, Topic.category, Topic.state).where(
        (Topic.council == council_id) & (Topic.created_at >= start) & (Topic.created_at < end)
        & (Topic.merged_into.is_null())).order_by(Topic.id)
    solved_rows = await TopicEvent.select(TopicEvent.topic, TopicEvent.topic.title.as_alias("title")).where(
        (TopicEvent.topic.council == council_id) & TopicEvent.to_state.is_in(list(SOLVED))
        & (TopicEvent.at >= start) & (TopicEvent.at < end)).order_by(TopicEvent.id)
    solved: dict[int, str] = {}
    for r in solved_rows:
        solved.setdefault(r["topic"], r["title"])

    tasks = await Task.select(Task.id, Task.state, Task.department.kind.as_alias("kind"),
                              Task.department.name.as_alias("department")).where(
        (Task.topic.council == council_id) & (Task.created_at >= start) & (Task.created_at < end))
    by_unit: dict[str, dict[str, int]] = {}
    for t in tasks:
        entry = by_unit.setdefault(t["department"], {"kind": t["kind"], "assigned": 0, "done": 0})
        entry["assigned"] += 1
        entry["done"] += t["state"] == "done"

    checks = await SafetyCheck.select(SafetyCheck.id, SafetyCheck.building, SafetyCheck.passed,
                                      SafetyCheck.failed).where(
        (SafetyCheck.council == council_id) & (SafetyCheck.checked_on >= first) & (SafetyCheck.checked_on < after))
    check_ids = [c["id"] for c in checks]
    month_fixes = await CheckFix.select(CheckFix.label, CheckFix.state).where(
        CheckFix.safety_check.is_in(check_ids)) if check_ids else []
    by_item: dict[str, int] = {}
    for f in month_fixes:
        by_item[f["label"]] = by_item.get(f["label"], 0) + 1
    open_fixes = await CheckFix.count().where((CheckFix.council == council_id) & (CheckFix.state == "open"))

    lines = await PointsEntry.select(PointsEntry.person, PointsEntry.points).where(
        (PointsEntry.council == council_id) & (PointsEntry.happened_on >= first) & (PointsEntry.happened_on < after))

    return {
        "month": month,
        "meetings": meetings,
        "meetings_held": len(held),
        "topics_raised": len(raised),
        "raised": raised,
        "topics_solved": len(solved),
        "solved": [{"id": k, "title": v} for k, v in solved.items()],
        "tasks_assigned": len(tasks),
        "tasks_by_unit": sorted(by_unit.items()),
        "checks": len(checks),
        "buildings_checked": len({c["building"] for c in checks}),
        "items_passed": sum(c["passed"] for c in checks),
        "items_failed": sum(c["failed"] for c in checks),
        "failed_fixed": sum(1 for f in month_fixes if f["state"] == "fixed"),
        "failed_by_item": sorted(by_item.items(), key=lambda kv: (-kv[1], kv[0])),
        "open_fixes": open_fixes,
        "points_earned": sum(line["points"] for line in lines if line["points"] > 0),
        "points_redeemed": -sum(line["points"] for line in lines if line["points"] < 0),
        "volunteers": len({line["person"] for line in lines if line["points"] > 0}),
    }


async def document_context(meeting_id: int, plugins: Any, settings: Any) -> dict[str, Any]:
    """The ``linjuli_yuebao`` document of a meeting: the report of the month the meeting was held in."""
    from core.documents.service import DocumentError
    from core.org.tables import Council

    meeting = await Meeting.select(Meeting.council, Meeting.starts_at).where(Meeting.id == meeting_id).first()
    council = await Council.select(Council.id, Council.name, Council.practice).where(
        Council.id == meeting["council"]).first() if meeting else None
    if council is None or council["practice"] != "linjuli":
        raise DocumentError(_("月月谈月报只适用于邻聚力·月月谈议事会的会议。"))
    council["base"] = f"/p/linjuli/councils/{council['id']}"
    local = meeting["starts_at"].astimezone(LOCAL_TZ)
    month = Month(local.year, local.month)
    return {"council": council, "r": await figures(council["id"], month), "problem": "", "toolbar": False,
            "generated": datetime.now(LOCAL_TZ), "draft": False}


async def departments(council_id: int) -> list[dict[str, Any]]:
    """The council's responsible units (派出所, 网格 …), for the overview."""
    return await Department.select(Department.id, Department.name, Department.kind).where(
        Department.council == council_id).order_by(Department.id)
