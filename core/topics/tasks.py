"""办事 and 评事: responsible units (departments), tasks (交办单), progress reports and ratings.

Every change runs in one ``db.atomic()`` with its audit event; the topic and task moves go through
core.topics.flow (conditional UPDATE, history, audit), whose own ``atomic()`` joins the outer one.

When a unit finishes the last live task of a topic, the topic is completed at once
(``complete``). The workflow gives that step to the chair and the recorder; nobody presses a button
for it, so it is taken with the chair's role by the actor ``"system"`` — the audit log says who
really did it (the unit's report just before) and that no person pressed "办结".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core import audit, db
from core.i18n import _
from core.lowcode.forms import Result, form_data
from core.lowcode.registry import shared_form
from core.text import has_control
from core.topics.flow import move_task, move_topic, topic_guards
from core.topics.storage import load_submission, save_submission, submission_by_nonce
from core.topics.tables import Department, Rating, StoredFile, Task, TaskReport, Topic

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
SYSTEM_ACTOR = "system"
#: Department kinds offered when adding one (stored as the label itself).
KINDS = ("物业", "社区", "共建单位", "职能部门", "派出所", "网格")
OPEN_STATES = ("assigned", "accepted", "in_progress", "returned")
RATING_LEVELS = {"满意": "satisfied", "基本满意": "basic", "不满意": "unsatisfied"}


class TaskError(Exception):
    """A refusal for people (Chinese), optionally tied to a form field."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def today() -> date:
    return datetime.now(LOCAL_TZ).date()


def is_overdue(task: dict[str, Any], on: date | None = None) -> bool:
    """Past its deadline (China time) and not done or cancelled."""
    return task["state"] in OPEN_STATES and task["deadline"] < (on or today())


def state_label(workflow: str, state: str) -> str:
    from core.lowcode.workflows import shared_workflows

    return shared_workflows()[workflow].state_label(state)


# -------------------------------------------------------------------------------------------------
# Departments
# -------------------------------------------------------------------------------------------------


async def list_departments(council_id: int) -> list[dict[str, Any]]:
    return await Department.select().where(Department.council == council_id).order_by(Department.id)


async def department_in(council_id: int, department_id: int) -> dict[str, Any] | None:
    return await Department.select().where(
        (Department.id == department_id) & (Department.council == council_id)).first()


def validate_department(form: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    name = " ".join((form.get("name") or "").split())
    kind = (form.get("kind") or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = _("请填写单位名称。")
    elif len(name) > 60 or has_control(name):
        errors["name"] = _("单位名称不能超过 60 个字，也不能含控制字符。")
    if kind not in KINDS:
        errors["kind"] = _("请选择单位类型。")
    return {"name": name[:60], "kind": kind}, errors


async def add_department(council_id: int, name: str, kind: str, actor: str) -> tuple[int | None, dict[str, str]]:
    async with db.atomic():
        if await Department.exists().where((Department.council == council_id) & (Department.name == name)):
            return None, {"name": _("已有同名的责任单位。")}
        row = (await Department.insert(Department(council=council_id, name=name, kind=kind))
               .returning(Department.id))[0]
        await audit.record(actor=actor, action="department.added", entity=f"department:{row['id']}",
                           after={"council": council_id, "name": name, "kind": kind})
    return row["id"], {}


async def reissue_department(department_id: int, actor: str) -> int:
    """A new link: the generation goes up, every older link and QR code stops working."""
    async with db.atomic():
        row = await db.for_update(Department.select(Department.token_generation).where(
            Department.id == department_id)).first()
        if row is None:
            raise TaskError(_("没有这个责任单位。"))
        generation = row["token_generation"] + 1
        await Department.update({Department.token_generation: generation}).where(Department.id == department_id)
        await audit.record(actor=actor, action="department.token_reissued", entity=f"department:{department_id}",
                           before={"generation": row["token_generation"]}, after={"generation": generation})
    return generation


async def resolve_unit_token(secret: str, token: str) -> dict[str, Any] | None:
    """The department a link opens, or None: malformed, forged, unknown or an older generation."""
    from core.topics.unit_tokens import parse_unit_token

    claim = parse_unit_token(secret, token)
    if claim is None:
        return None
    row = await Department.select(Department.all_columns(), Department.council.name.as_alias("council_name")).where(
        Department.id == claim.entry_id).first()
    if row is None or row["token_generation"] != claim.generation:
        return None
    return row


# -------------------------------------------------------------------------------------------------
# Tasks
# -------------------------------------------------------------------------------------------------


async def topic_in(council_id: int, topic_id: int) -> dict[str, Any] | None:
    return await Topic.select().where((Topic.id == topic_id) & (Topic.council == council_id)).first()


def _matter(sub_data: str | None) -> str:
    if not sub_data:
        return ""
    try:
        return str(json.loads(sub_data).get("matter", ""))
    except (ValueError, AttributeError):
        return ""


_TASK_COLUMNS = (Task.all_columns(), Task.topic.title.as_alias("topic_title"),
                 Task.topic.council.as_alias("council"), Task.topic.state.as_alias("topic_state"),
                 Task.department.name.as_alias("department_name"), Task.submission.data.as_alias("sub_data"))


def _decorate(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    on = today()
    out = []
    for row in rows:
        row = dict(row)
        row["matter"] = _matter(row.pop("sub_data", None))
        row["overdue"] = is_overdue(row, on)
        row["state_label"] = state_label("task", row["state"])
        out.append(row)
    # overdue first (oldest deadline first), then open ones by deadline, then finished ones
    out.sort(key=lambda t: (not t["overdue"], t["state"] not in OPEN_STATES, t["deadline"], t["id"]))
    return out


async def council_tasks(council_id: int) -> list[dict[str, Any]]:
    return _decorate(await Task.select(*_TASK_COLUMNS).where(Task.topic.council == council_id))


async def department_tasks(department_id: int) -> list[dict[str, Any]]:
    return _decorate(await Task.select(*_TASK_COLUMNS).where(
        (Task.department == department_id) & (Task.state != "cancelled")))


async def task_of_department(department_id: int, task_id: int) -> dict[str, Any] | None:
    rows = await Task.select(*_TASK_COLUMNS).where((Task.id == task_id) & (Task.department == department_id))
    return _decorate(rows)[0] if rows else None


async def task_in(council_id: int, task_id: int) -> dict[str, Any] | None:
    """A task of one of the council's topics, or None."""
    rows = await Task.select(*_TASK_COLUMNS).where((Task.id == task_id) & (Task.topic.council == council_id))
    return _decorate(rows)[0] if rows else None


async def return_reasons(task_ids: Sequence[int]) -> dict[int, dict[str, str]]:
    """Why and when each of these tasks was last sent back (退回), by task id.

    A task has no history table of its own: its steps are its audit events, and the unit's reason is
    in the ``task.return`` event that move_task recorded.
    """
    from core.audit.tables import AuditEvent

    if not task_ids:
        return {}
    out: dict[int, dict[str, str]] = {}
    rows = await AuditEvent.select(AuditEvent.entity, AuditEvent.after, AuditEvent.at).where(
        (AuditEvent.action == "task.return") & AuditEvent.entity.is_in([f"task:{i}" for i in task_ids])
    ).order_by(AuditEvent.seq)
    for row in rows:
        at = row["at"]
        out[int(row["entity"].split(":", 1)[1])] = {
            "reason": str(json.loads(row["after"] or "{}").get("reason", "")),
            "when": (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")}
    return out


async def jiaoban_values(task: dict[str, Any]) -> dict[str, list[str]]:
    """The task's 交办单 as form data, to start a 重新交办 from: the same matter, unit and
    requirements; the deadline is left empty, because the new one is the chair's to set."""
    spec = shared_form("jiaobandan")
    stored = await load_submission(task["submission"]) if task.get("submission") else None
    values = form_data(spec, stored["values"]) if stored and stored["form"] == spec.id else {}
    values.setdefault("requirements", [task["requirement"]])
    values["unit"] = [str(task["department"])]
    values.pop("deadline", None)
    return values


async def overdue_count(council_id: int) -> int:
    """How many tasks of the council are past their deadline and not done (for a badge anywhere)."""
    return await Task.count().where(
        (Task.topic.council == council_id) & Task.state.is_in(list(OPEN_STATES)) & (Task.deadline < today()))


async def create_task(data_dir: Path, topic_id: int, result: Result, actor: str, *, move: bool) -> int:
    """Store a 交办单 as a new task; with ``move`` also take the topic's ``assign`` step (from
    "decided"), else the topic must already be "assigned" (another unit, or after 重新办理)."""
    values = result.values
    department_id = int(values["unit"]["id"])
    async with db.atomic():
        topic = await db.for_update(Topic.select(Topic.state).where(Topic.id == topic_id)).first()
        if topic is None:
            raise TaskError(_("没有这个议题。"))
        wanted = "decided" if move else "assigned"
        if topic["state"] != wanted:
            raise TaskError(_("议题当前状态为“{state}”，不能进行此操作，请刷新页面。").format(
                state=state_label("topic", topic["state"])))
        submission_id = await save_submission(data_dir, result, actor)
        row = (await Task.insert(Task(topic=topic_id, department=department_id,
                                      requirement=values.get("requirements", ""),
                                      deadline=date.fromisoformat(values["deadline"]), state="assigned",
                                      submission=submission_id)).returning(Task.id))[0]
        await audit.record(actor=actor, action="task.created", entity=f"task:{row['id']}",
                           after={"topic": topic_id, "department": department_id, "deadline": values["deadline"],
                                  "submission": submission_id})
        if move:
            await move_topic(topic_id, "assign", roles={"chair"}, actor=actor, allow_repeat=False)
    return row["id"]


async def _complete_topic_if_done(topic_id: int) -> bool:
    """The last live task is done: complete the topic (see the module's docstring for the actor)."""
    row = await Topic.select(Topic.state).where(Topic.id == topic_id).first()
    if row is None or row["state"] != "assigned" or not (await topic_guards(topic_id))["all_tasks_done"]:
        return False
    await move_topic(topic_id, "complete", roles={"chair"}, actor=SYSTEM_ACTOR, allow_repeat=False)
    return True


# -------------------------------------------------------------------------------------------------
# A returned task: 重新交办 or 撤销 (the chair)
# -------------------------------------------------------------------------------------------------


async def reassign(data_dir: Path, task_id: int, result: Result, actor: str, nonce: str) -> bool:
    """重新交办: the chair's new 交办单 (the same or another unit, a new deadline and requirements)
    replaces the old one on the same task, which goes from "returned" back to "assigned".

    ``nonce`` is the form's one-time key: a retried POST finds its first submission and changes
    nothing (returns False). A task that is no longer "returned" is refused (TransitionRefused,
    "状态已变为…，请刷新页面"), so a second chair's press does not apply twice.
    """
    values = result.values
    try:
        async with db.atomic():
            row = await db.for_update(Task.select(Task.department, Task.deadline, Task.requirement,
                                                  Task.submission).where(Task.id == task_id)).first()
            if row is None:
                raise TaskError(_("没有这项任务。"))
            if await submission_by_nonce(nonce) is not None:
                return False
            await move_task(task_id, "reassign", roles={"chair"}, actor=actor, allow_repeat=False)
            submission_id = await save_submission(data_dir, result, actor, nonce=nonce)
            after = {"department": int(values["unit"]["id"]), "deadline": values["deadline"],
                     "requirement": values.get("requirements", ""), "submission": submission_id}
            await Task.update({Task.department: after["department"], Task.deadline: date.fromisoformat(
                after["deadline"]), Task.requirement: after["requirement"], Task.submission: submission_id}).where(
                Task.id == task_id)
            await audit.record(actor=actor, action="task.updated", entity=f"task:{task_id}",
                               before={**row, "deadline": row["deadline"].isoformat()}, after=after)
        return True
    except Exception:
        # Two copies of the same POST at the same moment: the unique nonce lets one through.
        if await submission_by_nonce(nonce) is not None:
            return False
        raise


async def cancel(task_id: int, actor: str, reason: str) -> bool:
    """撤销任务 (with the chair's reason). When the other tasks of the topic are all done, the topic
    is completed, as after a unit's last report. A retry finds the task cancelled and changes
    nothing (returns False)."""
    async with db.atomic():
        step = await move_task(task_id, "cancel", roles={"chair"}, actor=actor, reason=reason)
        if step.changed:
            row = await Task.select(Task.topic).where(Task.id == task_id).first()
            await _complete_topic_if_done(row["topic"])
    return step.changed


# -------------------------------------------------------------------------------------------------
# The unit's steps and reports
# -------------------------------------------------------------------------------------------------


def unit_actor(department: dict[str, Any]) -> str:
    return f"department:{department['id']}"


async def unit_move(task: dict[str, Any], transition: str, department: dict[str, Any], reason: str = "") -> None:
    """接收 / 开始办理 / 退回 by the unit."""
    async with db.atomic():
        await move_task(task["id"], transition, roles={"unit"}, actor=unit_actor(department), reason=reason)


async def report(data_dir: Path, task: dict[str, Any], department: dict[str, Any], result: Result) -> bool:
    """Store a 办理反馈 with its photos; 已办结 finishes the task (receiving and starting it on the way)
    and completes the topic when it was the last one. Returns whether the task is now done."""
    actor = unit_actor(department)
    values = result.values
    finished = values.get("progress") == "已办结"
    async with db.atomic():
        state = (await Task.select(Task.state).where(Task.id == task["id"]).first() or {}).get("state")
        if state not in ("assigned", "accepted", "in_progress"):
            raise TaskError(_("任务当前状态为“{state}”，不能再反馈，请刷新页面。").format(
                state=state_label("task", state or "")))
        submission_id = await save_submission(data_dir, result, actor)
        photos = values.get("photos") or []
        await TaskReport.insert(TaskReport(task=task["id"], progress=values.get("progress", ""),
                                           body=values.get("account", ""),
                                           files=json.dumps(photos, ensure_ascii=False), actor=actor))
        await audit.record(actor=actor, action="task.reported", entity=f"task:{task['id']}",
                           after={"progress": values.get("progress", ""), "submission": submission_id,
                                  "photos": [p["sha256"] for p in photos]})
        if state == "assigned":
            await move_task(task["id"], "receive", roles={"unit"}, actor=actor)
            state = "accepted"
        if state == "accepted":
            await move_task(task["id"], "start", roles={"unit"}, actor=actor)
        if finished:
            await move_task(task["id"], "finish", roles={"unit"}, actor=actor)
            await _complete_topic_if_done(task["topic"])
    return finished


async def reports_of(task_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in task_ids}
    if not task_ids:
        return out
    for row in await TaskReport.select().where(TaskReport.task.is_in(list(task_ids))).order_by(TaskReport.id):
        row["photos"] = json.loads(row["files"] or "[]")
        at = row["created_at"]
        row["when"] = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        out[row["task"]].append(row)
    return out


async def file_of_tasks(task_ids: Sequence[int], sha256: str) -> dict[str, Any] | None:
    """The stored file, if it is a photo of a report on one of these tasks (else None)."""
    if not task_ids or len(sha256) != 64:
        return None
    reports = await reports_of(task_ids)
    if not any(p.get("sha256") == sha256 for rs in reports.values() for r in rs for p in r["photos"]):
        return None
    return await StoredFile.select().where(StoredFile.sha256 == sha256).first()


# -------------------------------------------------------------------------------------------------
# 评事
# -------------------------------------------------------------------------------------------------


async def rate(data_dir: Path, topic_id: int, entry: dict[str, Any], result: Result) -> str:
    """The proposer's rating: stored, and the topic moved to "rated". Returns the level."""
    actor = f"resident:{entry['id']}"
    values = result.values
    level = RATING_LEVELS[values["rating"]]
    comment = values.get("opinion", "")
    if values.get("reasons"):
        comment = "、".join(values["reasons"]) + ("：" + comment if comment else "")
    async with db.atomic():
        submission_id = await save_submission(data_dir, result, actor)
        await Rating.insert(Rating(topic=topic_id, level=level, comment=comment))
        await audit.record(actor=actor, action="topic.rating", entity=f"topic:{topic_id}",
                           after={"level": level, "submission": submission_id})
        await move_topic(topic_id, "rate", roles={"proposer"}, actor=actor, allow_repeat=False)
    return level


async def reopen(topic_id: int, actor: str, reason: str) -> None:
    async with db.atomic():
        await move_topic(topic_id, "reopen", roles={"chair"}, actor=actor, reason=reason, allow_repeat=False)


async def latest_rating(topic_id: int) -> dict[str, Any] | None:
    return await Rating.select().where(Rating.topic == topic_id).order_by(Rating.id, ascending=False).first()
