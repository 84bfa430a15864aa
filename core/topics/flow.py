"""Moving topics and tasks through their workflows, with history and audit, safely under retries.

The pure engine (core.lowcode.workflow) decides whether a step is allowed; this module computes
the guards from the record, then writes the new state with a conditional UPDATE (``WHERE state =
<the state the decision was made in>``), the history row and the audit event in one transaction.
A second tablet acting at the same moment gets "状态已变…，请刷新页面" instead of a double step.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from core import audit, db, events
from core.i18n import _
from core.lowcode.workflow import Step, TransitionRefused, WorkflowSpec, apply, override
from core.lowcode.workflows import core_guard_labels, shared_workflows
from core.meetings.handcount import Counts
from core.meetings.tables import HandCount
from core.topics.tables import Department, Rating, Task, Topic, TopicEvent


class NotFound(LookupError):
    pass


async def topic_guards(topic_id: int) -> dict[str, bool]:
    """The named conditions of core's guards, as they stand for this topic now."""
    topic = await Topic.select(Topic.agenda_item).where(Topic.id == topic_id).first()
    if topic is None:
        raise NotFound(topic_id)
    tasks = await Task.select(Task.state).where(Task.topic == topic_id)
    rating = await Rating.select(Rating.level).where(Rating.topic == topic_id).order_by(
        Rating.id, ascending=False).first()
    poll_passed = False
    if topic["agenda_item"] is not None:
        hands = await HandCount.select().where(HandCount.item == topic["agenda_item"]).first()
        poll_passed = bool(hands) and Counts(hands["yes"], hands["no"], hands["abstain"]).passed
    live = [t for t in tasks if t["state"] != "cancelled"]
    return {
        "poll_passed": poll_passed,
        "has_responsible_unit": bool(live),
        "all_tasks_done": bool(live) and all(t["state"] == "done" for t in live),
        "unsatisfied": rating is not None and rating["level"] == "unsatisfied",
    }


async def task_guards(task_id: int) -> dict[str, bool]:
    """The named conditions of core's guards for one task (``reassign`` asks for a responsible unit)."""
    row = await Task.select(Task.department).where(Task.id == task_id).first()
    if row is None:
        raise NotFound(task_id)
    return {"has_responsible_unit": await Department.exists().where(Department.id == row["department"])}


async def move_topic(topic_id: int, transition_id: str, *, roles: Collection[str], actor: str,
                     reason: str = "", allow_repeat: bool = True, spec: WorkflowSpec | None = None) -> Step:
    """Take a transition of the topic's workflow (``spec``: the practice's; core's ``topic`` if None).

    Raises TransitionRefused with a message for people.
    """
    spec = spec or shared_workflows()["topic"]
    async with db.atomic():
        row = await db.for_update(Topic.select(Topic.state, Topic.council).where(Topic.id == topic_id)).first()
        if row is None:
            raise NotFound(topic_id)
        guards = await topic_guards(topic_id)
        step = apply(spec, row["state"], transition_id, roles, guards, reason=reason,
                     allow_repeat=allow_repeat, guard_labels=core_guard_labels())
        if step.changed:
            await _write_topic_step(topic_id, row["council"], spec, step, actor)
    return step


async def override_topic(topic_id: int, target: str, *, actor: str, reason: str,
                         spec: WorkflowSpec | None = None) -> Step:
    """The chair puts a topic into any state, with a recorded reason."""
    spec = spec or shared_workflows()["topic"]
    async with db.atomic():
        row = await db.for_update(Topic.select(Topic.state, Topic.council).where(Topic.id == topic_id)).first()
        if row is None:
            raise NotFound(topic_id)
        step = override(spec, row["state"], target, reason)
        if step.changed:
            await _write_topic_step(topic_id, row["council"], spec, step, actor)
    return step


def _told(kind: str, entity_id: int, council_id: int | None, spec: WorkflowSpec, step: Step, actor: str) -> None:
    """Hand a committed step to the plugins (``yishi_on_transition``)."""
    events.transitioned(events.TransitionEvent(
        kind=kind, entity_id=entity_id, council_id=council_id, workflow=spec.id, transition=step.transition,
        source=step.source, target=step.target, events=step.events, reason=step.reason, actor=actor))


async def _write_topic_step(topic_id: int, council_id: int, spec: WorkflowSpec, step: Step, actor: str) -> None:
    now = datetime.now(UTC)
    changed = await Topic.update({Topic.state: step.target, Topic.updated_at: now}).where(
        (Topic.id == topic_id) & (Topic.state == step.source)).returning(Topic.id)
    if not changed:
        raise TransitionRefused(_("状态已变，可能已被其他人处理，请刷新页面。"), code="state")
    await TopicEvent.insert(TopicEvent(topic=topic_id, transition=step.transition or "override",
                                       from_state=step.source, to_state=step.target, reason=step.reason,
                                       actor=actor, at=now))
    await audit.record(actor=actor, action="topic.override" if step.override else f"topic.{step.transition}",
                       entity=f"topic:{topic_id}", before={"state": step.source},
                       after={"state": step.target, **({"reason": step.reason} if step.reason else {})})
    _told("topic", topic_id, council_id, spec, step, actor)


async def move_task(task_id: int, transition_id: str, *, roles: Collection[str], actor: str,
                    reason: str = "", allow_repeat: bool = True) -> Step:
    """Take a transition of the ``task`` workflow (交办单)."""
    spec = shared_workflows()["task"]
    async with db.atomic():
        row = await db.for_update(Task.select(Task.state, Task.topic).where(Task.id == task_id)).first()
        if row is None:
            raise NotFound(task_id)
        step = apply(spec, row["state"], transition_id, roles, await task_guards(task_id), reason=reason,
                     allow_repeat=allow_repeat, guard_labels=core_guard_labels())
        if step.changed:
            now = datetime.now(UTC)
            values = {Task.state: step.target}
            if step.target == "done":
                values[Task.done_at] = now
            changed = await Task.update(values).where(
                (Task.id == task_id) & (Task.state == step.source)).returning(Task.id)
            if not changed:
                raise TransitionRefused(_("状态已变，可能已被其他人处理，请刷新页面。"), code="state")
            await audit.record(actor=actor, action=f"task.{step.transition}", entity=f"task:{task_id}",
                               before={"state": step.source},
                               after={"state": step.target, **({"reason": step.reason} if step.reason else {})})
            topic = await Topic.select(Topic.council).where(Topic.id == row["topic"]).first()
            _told("task", task_id, topic["council"] if topic else None, spec, step, actor)
    return step
