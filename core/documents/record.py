"""The meeting record as data, and its SHA-256 — what a published document is checked against.

The record is everything the minutes state: the meeting (council, time, place), who attended and
who was represented, each agenda item with its notes, speakers, outcome and hand count, each poll
with its rule and stored result, and the tasks assigned from the meeting's topics (unit,
requirement, deadline). It leaves out what changes without changing the minutes: the meeting's
state (approved → published), timestamps of edits, a task's later progress. Its canonical JSON
(keys sorted, no spaces, UTF-8) is hashed; two records hash alike exactly when they say the same.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from core.meetings import attendance
from core.meetings.services import MeetingView, _aware, load_meeting
from core.topics.tables import Task
from core.voting.polls import poll_view
from core.voting.tables import Poll


async def meeting_polls(meeting_id: int) -> list[dict[str, Any]]:
    """The polls held on the meeting's agenda items, in order (poll views, results once closed)."""
    rows = await Poll.select(Poll.id).where(Poll.item.meeting == meeting_id).order_by(Poll.id)
    views = [await poll_view(r["id"]) for r in rows]
    return [v for v in views if v is not None]


async def meeting_tasks(meeting_id: int) -> list[dict[str, Any]]:
    """Tasks (交办) assigned from topics decided at this meeting: topic, unit, requirement, deadline."""
    return await Task.select(
        Task.id, Task.requirement, Task.deadline, Task.state, Task.topic.title.as_alias("topic_title"),
        Task.topic.agenda_item.as_alias("item"), Task.department.name.as_alias("department_name"),
    ).where(Task.topic.agenda_item.meeting == meeting_id).order_by(Task.deadline).order_by(Task.id)


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        return _aware(value).isoformat()  # type: ignore[union-attr]
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else str(value)


async def meeting_record(meeting_id: int, view: MeetingView | None = None) -> dict[str, Any] | None:
    """The record of one meeting as plain data (None when there is no such meeting)."""
    view = view or await load_meeting(meeting_id, with_members=True)
    if view is None:
        return None
    m = view.meeting
    summary = await attendance.summary(meeting_id)
    polls = await meeting_polls(meeting_id)
    tasks = await meeting_tasks(meeting_id)
    return {
        "meeting": {"id": m["id"], "title": m["title"], "kind": m["kind"], "place": m["place"],
                    "starts_at": _when(m["starts_at"]), "closed_at": _when(m.get("closed_at"))},
        "council": {"id": view.council["id"], "name": view.council["name"]},
        "attendance": [] if summary is None else [
            {"name": p["name"], "role": p["role"], "status": p["status"], "proxy_name": p["proxy_name"]}
            for p in summary.members],
        "residents_present": 0 if summary is None else summary.residents,
        "items": [{"position": i.position, "title": i.title, "description": i.description,
                   "proposer": i.proposer, "outcome": i.outcome, "outcome_note": i.outcome_note,
                   "notes": [n["body"] for n in i.notes],
                   "speakers": [s["name"] for s in i.speakers],
                   "counts": None if i.counts is None else [i.counts.yes, i.counts.no, i.counts.abstain]}
                  for i in view.items],
        "polls": [{"id": p["id"], "item": p["item_id"], "title": p["title"], "method": p["method"],
                   "rule": p["rule_id"], "state": p["state"],
                   "result": None if not p["result"] else {
                       k: p["result"].get(k) for k in ("outcome", "passed", "measures", "options", "cast",
                                                       "electorate")}}
                  for p in polls],
        "tasks": [{"topic": t["topic_title"], "unit": t["department_name"], "requirement": t["requirement"],
                   "deadline": _when(t["deadline"])} for t in tasks],
    }


def canonical_json(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def record_sha256(record: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(record)).hexdigest()
