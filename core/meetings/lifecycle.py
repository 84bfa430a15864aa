"""A meeting's life as a workflow: draft → notified → in session → closed → minutes approved →
published (or cancelled), driven by the ``meeting`` spec (forms/workflows/meeting.toml) through the
same engine as topics and tasks.

Each step is one transaction: a conditional UPDATE (``WHERE state = <the state the decision was
made in>``), what entering the state means for the meeting (the first item comes up when it opens;
the item timer stops when it closes), a history row, the audit event — then, once committed, the
plugins hear of it (``yishi_on_transition``) and live pages refresh. A retried press of the same
button is a no-op; two chairs pressing different buttons at once get "状态已变…" for the second.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from core import audit, db, events
from core.i18n import _
from core.lowcode.workflow import Step, Transition, TransitionRefused, WorkflowSpec, apply, available, override
from core.lowcode.workflows import core_guard_labels, shared_workflows
from core.meetings.tables import AgendaItem, Meeting, MeetingEvent

#: States in which the meeting is being held or over: its agenda is fixed.
SITTING_OR_AFTER = frozenset({"in_session", "closed", "approved", "published"})
#: States before the meeting opens: the agenda may still change.
BEFORE = frozenset({"draft", "notified"})


def meeting_workflow() -> WorkflowSpec:
    return shared_workflows()["meeting"]


class MeetingNotFound(LookupError):
    """No meeting has this id."""


async def meeting_guards(meeting_id: int) -> dict[str, bool]:
    """Core's guards as they stand for this meeting now."""
    return {"has_agenda": await AgendaItem.exists().where(AgendaItem.meeting == meeting_id)}


async def offered(meeting: dict[str, Any], roles: Collection[str], *,
                  has_agenda: bool | None = None) -> list[Transition]:
    """The lifecycle buttons a person with ``roles`` may press now (guards not met are left out).
    ``has_agenda``: whether the meeting has items, when the caller has just loaded them (no query)."""
    guards = {"has_agenda": has_agenda} if has_agenda is not None else await meeting_guards(meeting["id"])
    return available(meeting_workflow(), meeting["state"], roles, guards)


async def move_meeting(meeting_id: int, transition_id: str, *, roles: Collection[str], actor: str,
                       reason: str = "") -> Step:
    """Take a transition of the meeting workflow; :class:`TransitionRefused` says why not, for people."""
    spec = meeting_workflow()
    async with db.atomic():
        row = await _lock(meeting_id)
        step = apply(spec, row["state"], transition_id, roles, await meeting_guards(meeting_id), reason=reason,
                     allow_repeat=True, guard_labels=core_guard_labels())
        if step.changed:
            await _write(row, spec, step, actor)
    return step


async def override_meeting(meeting_id: int, target: str, *, actor: str, reason: str) -> Step:
    """The chair puts a meeting into any state of its workflow, with a recorded reason (纠错)."""
    spec = meeting_workflow()
    async with db.atomic():
        row = await _lock(meeting_id)
        step = override(spec, row["state"], target, reason)
        if step.changed:
            await _write(row, spec, step, actor)
    return step


async def history(meeting_id: int) -> list[dict[str, Any]]:
    return await MeetingEvent.select().where(MeetingEvent.meeting == meeting_id).order_by(MeetingEvent.id)


async def _lock(meeting_id: int) -> dict[str, Any]:
    row = await db.for_update(Meeting.select(Meeting.id, Meeting.state, Meeting.council).where(
        Meeting.id == meeting_id)).first()
    if row is None:
        raise MeetingNotFound(meeting_id)
    return row


async def _write(row: dict[str, Any], spec: WorkflowSpec, step: Step, actor: str) -> None:
    meeting_id, now = row["id"], datetime.now(UTC)
    values: dict[Any, Any] = {Meeting.state: step.target}
    if step.target == "in_session" and step.source in BEFORE:
        first = await AgendaItem.select(AgendaItem.position).where(AgendaItem.meeting == meeting_id).order_by(
            AgendaItem.position).first()
        if first is None:
            raise TransitionRefused(_("议程为空，不能开始会议。请先添加议题。"), code="guard")
        values |= {Meeting.current_position: first["position"], Meeting.opened_at: now}
    if step.source == "in_session" and step.target != "in_session":
        values |= {Meeting.current_position: None}
        await stop_timers(meeting_id, now)
    if step.target == "closed" and step.source == "in_session":
        values[Meeting.closed_at] = now
    changed = await Meeting.update(values).where(
        (Meeting.id == meeting_id) & (Meeting.state == step.source)).returning(Meeting.id)
    if not changed:
        raise TransitionRefused(_("状态已变，可能已被其他人处理，请刷新页面。"), code="state")
    transition = step.transition or "override"
    await MeetingEvent.insert(MeetingEvent(meeting=meeting_id, transition=transition, from_state=step.source,
                                           to_state=step.target, reason=step.reason, actor=actor, at=now))
    after: dict[str, Any] = {"state": step.target}
    if step.reason:
        after["reason"] = step.reason
    if Meeting.current_position in values:
        after["current_position"] = values[Meeting.current_position]
    await audit.record(actor=actor, action="meeting.override" if step.override else f"meeting.{transition}",
                       entity=f"meeting:{meeting_id}", before={"state": step.source}, after=after)
    events.transitioned(events.TransitionEvent(
        kind="meeting", entity_id=meeting_id, council_id=row["council"], workflow=spec.id,
        transition=step.transition, source=step.source, target=step.target, events=step.events,
        reason=step.reason, actor=actor))
    events.changed(f"meeting:{meeting_id}", "state", {"state": step.target})


_RUNNING_TIMERS = ("SELECT id, timer_elapsed, timer_started_at FROM yishi_agenda_item"
                   " WHERE meeting = {} AND timer_started_at IS NOT NULL")
_STOP_TIMER = ("UPDATE yishi_agenda_item SET timer_elapsed = {}, timer_started_at = NULL"
               " WHERE id = {} AND timer_started_at IS NOT NULL")


async def stop_timers(meeting_id: int, now: datetime, running: list[dict[str, Any]] | None = None) -> None:
    """Stop any running item timer of the meeting, keeping the time it ran (inside a transaction).
    ``running``: those timers as a locked read of the caller already found them (saves a query)."""
    from core.meetings.sitting import aware

    if running is None:
        running = await AgendaItem.raw(_RUNNING_TIMERS, meeting_id)
    for item in running:
        started = aware(item["timer_started_at"])
        if started is None:
            continue
        elapsed = (item["timer_elapsed"] or 0) + max(0, int((now - started).total_seconds()))
        await AgendaItem.raw(_STOP_TIMER, elapsed, item["id"])


__all__ = ["BEFORE", "SITTING_OR_AFTER", "MeetingNotFound", "history", "meeting_guards", "meeting_workflow",
           "move_meeting", "offered", "override_meeting", "stop_timers"]
