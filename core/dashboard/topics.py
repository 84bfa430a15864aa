"""The drill-down below a council: its topics raised in a period, and one topic's facts (state,
raised and closed, days taken, tasks and deadlines, the rating) — read-only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.dashboard.figures import Period
from core.dashboard.rollup import CLOSING, LOCAL_TZ
from core.i18n import _
from core.org.tables import Council
from core.topics.tables import Rating, Task, Topic, TopicEvent


def _bounds(period: Period) -> tuple[datetime, datetime]:
    start = datetime(period.start // 100, period.start % 100, 1, tzinfo=LOCAL_TZ)
    y, m = period.end // 100, period.end % 100 + 1
    if m > 12:
        y, m = y + 1, 1
    return start.astimezone(UTC), datetime(y, m, 1, tzinfo=LOCAL_TZ).astimezone(UTC)


async def council_topics(council_id: int, period: Period, page: int, size: int) -> tuple[list[dict[str, Any]], int]:
    """Topics raised to the council in the period (not merged ones), newest first, one page."""
    start, end = _bounds(period)
    where = ((Topic.council == council_id) & (Topic.created_at >= start) & (Topic.created_at < end)
             & (Topic.state != "merged"))
    total = await Topic.count().where(where)
    rows = await Topic.select(Topic.id, Topic.title, Topic.category, Topic.state, Topic.created_at).where(
        where).order_by(Topic.created_at, ascending=False).limit(size).offset((page - 1) * size)
    return rows, total


async def topic_facts(council_id: int, topic_id: int) -> dict[str, Any] | None:
    topic = await Topic.select().where((Topic.id == topic_id) & (Topic.council == council_id)).first()
    if topic is None:
        return None
    council = await Council.select(Council.id, Council.name).where(Council.id == council_id).first()
    closed = await TopicEvent.select(TopicEvent.at).where(
        (TopicEvent.topic == topic_id) & TopicEvent.to_state.is_in(list(CLOSING))).order_by(TopicEvent.at).first()
    events = await TopicEvent.select(TopicEvent.to_state, TopicEvent.reason, TopicEvent.at).where(
        TopicEvent.topic == topic_id).order_by(TopicEvent.id)
    tasks = await Task.select(Task.id, Task.department.name, Task.deadline, Task.state, Task.done_at).where(
        Task.topic == topic_id).order_by(Task.id)
    rating = await Rating.select(Rating.level, Rating.created_at).where(Rating.topic == topic_id).order_by(
        Rating.id, ascending=False).first()
    closed_at = closed["at"] if closed else None
    days = int((closed_at - topic["created_at"]).total_seconds() // 86400) if closed_at else None
    today = datetime.now(LOCAL_TZ).date()
    for task in tasks:
        task["overdue"] = task["state"] not in ("done", "cancelled") and task["deadline"] < today
    return {"topic": topic, "council": council, "closed_at": closed_at, "days": days, "events": events,
            "tasks": tasks, "rating": rating, "state_labels": state_labels(), "task_labels": task_labels(),
            "rating_labels": rating_labels()}


def state_labels() -> dict[str, str]:
    """Topic states as forms/workflows/topic.toml names them."""
    return {"raised": _("已提出"), "accepted": _("已受理"), "merged": _("已合并"), "declined": _("不予受理"),
            "scheduled": _("已列入议程"), "decided": _("已决议"), "assigned": _("已交办"), "done": _("已办结"),
            "rated": _("已评价"), "answered": _("已答复")}


def task_labels() -> dict[str, str]:
    return {"assigned": _("已交办"), "accepted": _("已接收"), "in_progress": _("办理中"), "done": _("已办结"),
            "returned": _("已退回"), "cancelled": _("已撤销")}


def rating_labels() -> dict[str, str]:
    return {"satisfied": _("满意"), "basic": _("基本满意"), "unsatisfied": _("不满意")}
