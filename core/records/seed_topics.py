"""``[[roster]]``, ``[[departments]]`` and ``[[topics]]`` of a seed file (core.records.seed).

A roster entry and a responsible unit are checked by the forms of the roster and departments pages
(core.residents.services, core.topics.tasks). A topic is raised by a resident of the roster with the
practice's 提事表 (``values``), then taken through its workflow step by step (``steps``), each through
the service its page calls, so the guards and forms apply as they do on the pages:

- ``{ transition = "accept", by = "yejm" }`` — a step of the topic workflow, by a member's login
  (their seat's role must be allowed to take it); ``reason`` for steps that ask for one;
- ``{ transition = "assign", department = "grid", values = { deadline = "today+10", requirements = "…" } }``
  — the 交办单 to a ``[[departments]]`` entry (the matter is the topic's title);
- ``{ task = "receive" }`` / ``{ task = "start" }`` — the unit's steps on its task;
- ``{ report = { progress = "已办结", account = "…", handler = "…", phone = "…" } }`` — the unit's
  办理反馈 (已办结 finishes the task and, with the last task, completes the topic);
- ``{ transition = "rate", values = { rating = "满意" } }`` — the proposer's 满意度测评.

Each step's ``at`` (``"today-18 20:40"``) is when it happened: the history the pages show keeps
that time (the audit log keeps when the seed was loaded).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from core.lowcode.forms import Choices
from core.records.seed import SHANGHAI, Seed


def _problems(errors: dict[str, str]) -> str:
    return "；".join(f"{name}: {msg}" for name, msg in errors.items())


async def write_roster(seed: Seed) -> None:
    from core.residents.services import add_entry, validate_entry

    for e in seed.entries("roster"):
        unit = seed.ref("units", e["unit"], "unit")
        form = {k: str(e.get(k, "")) for k in ("name", "household", "building", "unit_no", "room", "phone_last4",
                                               "kind", "area")}
        entry, errors = validate_entry({**form, "unit": str(unit)}, [{"id": unit}])
        if entry is None:
            raise seed.error("", _problems(errors))
        row_id, errors = await add_entry(entry, "seed")
        if row_id is None:
            raise seed.error("", _problems(errors))
        seed.keep("roster", e, e["name"], row_id)


async def write_departments(seed: Seed) -> None:
    from core.topics.tasks import add_department, validate_department

    for e in seed.entries("departments"):
        council = seed.ref("councils", e["council"], "council")
        clean, errors = validate_department({"name": str(e.get("name", "")), "kind": str(e.get("kind", ""))})
        row_id = None
        if not errors:
            row_id, errors = await add_department(council, clean["name"], clean["kind"], "seed")
        if row_id is None:
            raise seed.error("", _problems(errors))
        seed.keep("departments", e, clean["name"], row_id)


class _Topic:
    """A topic being written: its id, council, proposer and the history rows written so far."""

    def __init__(self, seed: Seed, council: dict[str, Any], entry: dict[str, Any]) -> None:
        self.seed, self.council, self.entry = seed, council, entry
        self.id = 0
        self.events_seen = 0

    async def stamp(self, at: datetime) -> None:
        """Give the history rows written by the last step the time the step happened."""
        from core.topics.tables import Topic, TopicEvent

        events = TopicEvent.topic == self.id
        await self.seed.restamp(TopicEvent, TopicEvent.at, events, self.events_seen, at)
        self.events_seen = await self.seed.newest_id(TopicEvent, events)
        await Topic.update({Topic.updated_at: at}).where(Topic.id == self.id)


async def write_topic(seed: Seed, e: dict[str, Any]) -> None:
    from core.org.tables import Council
    from core.residents.services import subtree_units
    from core.residents.tables import RosterEntry
    from core.topics import services
    from core.topics.tables import Submission, Topic

    council_id = seed.ref("councils", e["council"], "council")
    council = await Council.select().where(Council.id == council_id).first()
    entry = await RosterEntry.select().where(RosterEntry.id == seed.ref("roster", e["raised_by"], "raised_by")).first()
    if entry["unit"] not in {u["id"] for u in await subtree_units(council["unit"])}:
        raise seed.error("raised_by", f"{e['raised_by']!r} 不在本议事机构的名册范围内 / not on this council's roster")
    practice = seed.plugins.practice(council["practice"]) if seed.plugins is not None else None
    intake = seed.specs.form(practice.intake_form if practice else "tishi")
    at = seed.when(e.get("raised_at"), "raised_at")
    result = seed.filled(intake, e.get("values", {}), "values", now=at.astimezone(SHANGHAI))
    topic = _Topic(seed, council, entry)
    topic.id = await services.raise_topic(seed.data_dir, council_id, entry, result, secrets.token_hex(16))
    row = await Topic.select(Topic.submission).where(Topic.id == topic.id).first()
    await Topic.update({Topic.created_at: at}).where(Topic.id == topic.id)
    await Submission.update({Submission.created_at: at}).where(Submission.id == row["submission"])
    await topic.stamp(at)
    workflow = seed.specs.workflow(practice.topic_workflow if practice else "topic")
    steps = e.get("steps", [])
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise seed.error("steps", "须写成 [{ transition = … }, …] / must be a list of tables")
    for n, step in enumerate(steps, start=1):
        field = f"steps[{n}]"
        at = min(seed.when(step.get("at"), f"{field}.at"), datetime.now(UTC))  # history is never ahead
        if "report" in step or "task" in step:
            await _unit_step(topic, step, field, at)
        else:
            await _topic_step(topic, workflow, step, field, at)
        await topic.stamp(at)
    seed.keep("topics", e, e["values"]["title"] if isinstance(e.get("values"), dict) else "", topic.id)


async def _topic_step(topic: _Topic, workflow: Any, step: dict[str, Any], field: str, at: datetime) -> None:
    from core.topics import flow, tasks
    from core.topics.tables import Rating, Task, Topic

    seed = topic.seed
    transition = workflow.transition(str(step.get("transition", "")))
    if transition is None:
        raise seed.error(f"{field}.transition", f"流程 {workflow.id} 没有这一步 {step.get('transition')!r} / "
                                                "no such transition")
    if transition.id == "rate":
        result = seed.filled(seed.specs.form(transition.form), step.get("values", {}), f"{field}.values",
                             now=at.astimezone(SHANGHAI))
        await seed.attempt(field, tasks.rate(seed.data_dir, topic.id, topic.entry, result))
        await Rating.update({Rating.created_at: at}).where(Rating.topic == topic.id)
        return
    actor, roles = seed.actor(step.get("by"), topic.council["id"], f"{field}.by")
    if not roles & set(transition.roles):
        raise seed.error(f"{field}.by", f"{step.get('by')!r} 的角色不能“{transition.label}” / role may not take it")
    if transition.id == "assign":
        department = seed.ref("departments", step.get("department"), f"{field}.department")
        pairs = await _departments(topic.council["id"])
        from core.lowcode.registry import shared_form

        title = (await Topic.select(Topic.title).where(Topic.id == topic.id).first())["title"]
        form = shared_form(transition.form or "jiaobandan")
        raw = {"matter": title, **(step.get("values") or {}), "unit": str(department)}
        result = seed.filled(form, raw, f"{field}.values", choices=Choices(units=pairs, by_field={"unit": pairs}),
                             now=at.astimezone(SHANGHAI))
        task_id = await seed.attempt(field, tasks.create_task(seed.data_dir, topic.id, result, actor, move=True))
        await Task.update({Task.created_at: at}).where(Task.id == task_id)
        return
    if transition.id == "schedule" and step.get("meeting"):  # onto that meeting's agenda, as the triage page does
        from core.topics import services

        state = (await Topic.select(Topic.state).where(Topic.id == topic.id).first())["state"]
        await seed.attempt(field, services.act(
            topic.council["id"], topic.id, "schedule", seen_state=state, roles=roles, actor=actor,
            meeting_id=seed.ref("meetings", step["meeting"], f"{field}.meeting"), spec=workflow))
        return
    await seed.attempt(field, flow.move_topic(topic.id, transition.id, roles=roles, actor=actor,
                                              reason=str(step.get("reason", "")), allow_repeat=False, spec=workflow))


async def _departments(council_id: int) -> list[tuple[str, str]]:
    from core.topics.tables import Department

    rows = await Department.select(Department.id, Department.name).where(Department.council == council_id)
    return [(str(r["id"]), r["name"]) for r in rows]


async def _unit_step(topic: _Topic, step: dict[str, Any], field: str, at: datetime) -> None:
    """The responsible unit's step on the topic's latest task: receive / start, or a 办理反馈."""
    from core.lowcode.registry import shared_form
    from core.topics import tasks
    from core.topics.tables import Task, TaskReport

    seed = topic.seed
    task = await Task.select().where((Task.topic == topic.id) & (Task.state != "cancelled")).order_by(
        Task.id, ascending=False).first()
    if task is None:
        raise seed.error(field, "议题还没有交办，没有任务 / the topic has no task yet")
    department = {"id": task["department"]}
    if "task" in step:
        await seed.attempt(field, tasks.unit_move(task, str(step["task"]), department, str(step.get("reason", ""))))
        return
    form = shared_form("banli_fankui")
    result = seed.filled(form, step["report"], f"{field}.report", now=at.astimezone(SHANGHAI))
    reports = TaskReport.task == task["id"]
    mark = await seed.newest_id(TaskReport, reports)
    done = await seed.attempt(field, tasks.report(seed.data_dir, task, department, result))
    await seed.restamp(TaskReport, TaskReport.created_at, reports, mark, at)
    if done:
        await Task.update({Task.done_at: at}).where(Task.id == task["id"])


__all__ = ["write_departments", "write_roster", "write_topic"]
