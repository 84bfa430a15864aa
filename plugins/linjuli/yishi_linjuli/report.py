"""The monthly report (月报) of a 月月谈 council: meetings held, issues raised and solved, tasks given
to the police and the grid workers, rental-safety check results and volunteer points — the counts a
town (镇) adds up across its councils ("46 个议事会、306 场会议、解决问题 555 件").

Meetings, topics and tasks are core's; the checks, their follow-ups and the points lines are counted
by the record engine (core.records.months). A month is a calendar month in China time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.i18n import _
from core.meetings.tables import Meeting
from core.records import months
from core.records.months import Month, parse_month
from core.records.service import listing
from core.templating import LOCAL_TZ
from core.topics.tables import Task, Topic, TopicEvent
from yishi_linjuli.plugin import CHECK, FIX, POINTS

HELD = ("in_session", "closed", "approved", "published")
#: Topic states that mean the issue was dealt with: 已办结 (a unit finished it) or 已答复 (answered).
SOLVED = ("done", "answered")


async def figures(council_id: int, month: Month, specs: Any) -> dict[str, Any]:
    """Every count of the report, plus the lists the page shows beside them."""
    start, end = month.utc_range()
    meetings = await Meeting.select(Meeting.id, Meeting.title, Meeting.starts_at, Meeting.state, Meeting.place).where(
        (Meeting.council == council_id) & (Meeting.starts_at >= start) & (Meeting.starts_at < end)
    ).order_by(Meeting.starts_at)
    raised = await Topic.select(Topic.id, Topic.title, Topic.category, Topic.state).where(
        (Topic.council == council_id) & (Topic.created_at >= start) & (Topic.created_at < end)
        & (Topic.merged_into.is_null())).order_by(Topic.id)
    solved = await TopicEvent.select(TopicEvent.topic, TopicEvent.topic.title.as_alias("title")).where(
        (TopicEvent.topic.council == council_id) & TopicEvent.to_state.is_in(list(SOLVED))
        & (TopicEvent.at >= start) & (TopicEvent.at < end)).order_by(TopicEvent.id)
    tasks = await Task.select(Task.state, Task.department.kind.as_alias("kind"),
                              Task.department.name.as_alias("department")).where(
        (Task.topic.council == council_id) & (Task.created_at >= start) & (Task.created_at < end))
    by_unit: dict[str, dict[str, Any]] = {}
    for t in tasks:
        entry = by_unit.setdefault(t["department"], {"kind": t["kind"], "assigned": 0, "done": 0})
        entry["assigned"] += 1
        entry["done"] += t["state"] == "done"
    return {
        "month": month, "meetings": meetings, "meetings_held": sum(m["state"] in HELD for m in meetings),
        "raised": raised, "solved": list({r["topic"]: r for r in reversed(solved)}.values())[::-1],
        "tasks_assigned": len(tasks), "tasks_by_unit": sorted(by_unit.items()),
        "checks": await months.summary(specs, CHECK, council_id, month),
        "points": await months.summary(specs, POINTS, council_id, month),
        "open_fixes": len(await listing(council_id, FIX, "open", limit=10000)),
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
    local = meeting["starts_at"].astimezone(LOCAL_TZ)
    return {"council": council, "r": await figures(council["id"], Month(local.year, local.month), plugins.specs),
            "problem": "", "toolbar": False, "generated": datetime.now(LOCAL_TZ), "draft": False}


__all__ = ["Month", "document_context", "figures", "parse_month"]
