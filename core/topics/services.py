"""The topic side of the closed loop: a resident raises an issue, the council triages it, puts it
on a meeting's agenda, decides, answers, and publishes the outcome (公示).

Every state change goes through :mod:`core.topics.flow` (guards, history, audit, the conditional
UPDATE); what a step also changes (the topic a merged one went into, the agenda item a scheduled one
became) is written in the same transaction.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import audit, db
from core.i18n import _
from core.lowcode.forms import Result
from core.lowcode.workflow import Transition, TransitionRefused, WorkflowSpec, available
from core.lowcode.workflows import shared_workflows
from core.meetings.tables import AgendaItem, Meeting
from core.residents.identity import mask_name
from core.topics import flow
from core.topics.storage import save_submission, submission_by_nonce
from core.topics.tables import Task, Topic, TopicEvent

#: The order of the groups on the council's triage page.
STATE_ORDER = ("raised", "accepted", "scheduled", "decided", "assigned", "done", "rated", "answered",
               "merged", "declined")
#: Not closed: a topic may still be merged into one of these.
OPEN_STATES = ("raised", "accepted", "scheduled", "decided", "assigned")
#: Shown on the public 公示 page.
PUBLIC_STATES = ("decided", "assigned", "done", "rated", "answered")
#: Transitions the triage page offers as buttons (the rest belong to the task side's pages). A
#: practice's own topic workflow may add transitions; those are offered too (see :func:`triage_ids`).
TRIAGE_TRANSITIONS = ("accept", "merge", "decline", "schedule", "defer", "adopt", "agree", "answer",
                      "complete", "reopen")
STALE = "状态已变，可能已被其他人处理，请刷新页面。"


def topic_state_labels() -> dict[str, str]:
    return {"raised": _("已提出"), "accepted": _("已受理"), "merged": _("已合并"), "declined": _("不予受理"),
            "scheduled": _("已列入议程"), "decided": _("已决议"), "assigned": _("已交办"),
            "done": _("已办结"), "rated": _("已评价"), "answered": _("已答复")}


def transition_labels() -> dict[str, str]:
    return {"accept": _("受理"), "merge": _("合并"), "decline": _("不予受理"), "schedule": _("列入议程"),
            "defer": _("暂缓审议"), "adopt": _("表决通过"), "agree": _("协商一致"), "answer": _("答复办结"),
            "assign": _("交办"), "complete": _("办结"), "rate": _("评价"), "reopen": _("重新办理")}


def event_labels() -> dict[str, str]:
    """What the history calls each step (the proposer reads these on the follow page)."""
    return {**transition_labels(), "raise": _("提出议题"), "override": _("主持人更改状态")}


def reason_labels() -> dict[str, str]:
    """What the reason of a step is called, where it is more than "理由"."""
    return {"decline": _("不予受理的理由"), "answer": _("答复"), "override": _("更改理由"),
            "defer": _("暂缓理由"), "reopen": _("重新办理理由")}


# -------------------------------------------------------------------------------------------------
# Raising an issue (提事)
# -------------------------------------------------------------------------------------------------


def _category(values: dict[str, Any]) -> str:
    category = str(values.get("category") or "")
    if category == "其他" and values.get("category_other"):
        return str(values["category_other"])[:40]
    return category[:40]


async def topic_of_submission(submission_id: int) -> int | None:
    row = await Topic.select(Topic.id).where(Topic.submission == submission_id).first()
    return row["id"] if row else None


async def open_raised_topic(actor: str, submission_id: int, audit_after: dict[str, Any], **fields: Any) -> int:
    """Insert a topic in state ``raised`` with its first step and its audit event (inside the caller's
    :func:`db.atomic`). ``fields`` are the topic's columns (council, title, proposer …); the event says
    who raised it and from which submission, plus ``audit_after``. Residents' 提事 and a recorder's
    capture at a meeting (core.topics.capture) both open topics through here."""
    now = datetime.now(UTC)
    row = (await Topic.insert(Topic(state="raised", submission=submission_id, created_at=now, updated_at=now,
                                    **fields)).returning(Topic.id))[0]
    topic_id = row["id"]
    await TopicEvent.insert(TopicEvent(topic=topic_id, transition="raise", from_state="", to_state="raised",
                                       actor=actor, at=now))
    await audit.record(actor=actor, action="topic.raised", entity=f"topic:{topic_id}",
                       after={"state": "raised", "submission": submission_id, **audit_after})
    return topic_id


async def topic_of_nonce(nonce: str) -> int | None:
    """The topic a submission with this one-time key opened, if any: two copies of one POST at the
    same moment race on the unique nonce, and the loser answers with the winner's topic."""
    existing = await submission_by_nonce(nonce)
    return await topic_of_submission(existing) if existing is not None else None


async def raise_topic(data_dir: Path, council_id: int, entry: dict[str, Any], result: Result,
                      nonce: str) -> int:
    """Store the 提事表 and its photos and open a topic in state ``raised``, in one transaction.

    ``nonce`` is the form's one-time key: a retried POST (a double tap, a resend on weak Wi-Fi)
    returns the topic the first one opened and stores nothing.
    """
    actor = f"resident:{entry['id']}"
    try:
        async with db.atomic():
            existing = await submission_by_nonce(nonce)
            if existing is not None:
                topic_id = await topic_of_submission(existing)
                if topic_id is not None:
                    return topic_id
            submission_id = await save_submission(data_dir, result, actor, nonce=nonce)
            values = result.values
            return await open_raised_topic(
                actor, submission_id, {"council": council_id, "title": values.get("title")},
                council=council_id, title=str(values.get("title") or "")[:120], category=_category(values),
                description=str(values.get("details") or ""), proposer_entry=entry["id"],
                proposer_name=str(entry["name"])[:50])
    except Exception:
        # Two copies of the same POST at the same moment: the unique nonce lets one through.
        topic_id = await topic_of_nonce(nonce)
        if topic_id is None:
            raise
        return topic_id


# -------------------------------------------------------------------------------------------------
# Reading
# -------------------------------------------------------------------------------------------------


async def entry_topics(entry_id: int) -> list[dict[str, Any]]:
    """The topics a roster entry raised, newest first."""
    return await Topic.select(Topic.id, Topic.title, Topic.state, Topic.created_at,
                              Topic.council.name.as_alias("council_name")).where(
        Topic.proposer_entry == entry_id).order_by(Topic.id, ascending=False)


async def topic_events(topic_id: int) -> list[dict[str, Any]]:
    return await TopicEvent.select().where(TopicEvent.topic == topic_id).order_by(TopicEvent.id)


def photos_of(data: str | None) -> list[dict[str, Any]]:
    """The uploaded files recorded in a submission's JSON (``[{"sha256", "filename", "kind", …}]``)."""
    if not data:
        return []
    try:
        values = json.loads(data)
    except ValueError:
        return []
    out = []
    for value in values.values():
        if isinstance(value, list):
            out.extend(v for v in value if isinstance(v, dict) and isinstance(v.get("sha256"), str))
    return out


async def follow_view(topic_id: int, entry_id: int) -> dict[str, Any] | None:
    """The proposer's view of their topic, or None if it is not theirs (or does not exist)."""
    topic = await Topic.select(Topic.all_columns(), Topic.council.name.as_alias("council_name"),
                               Topic.submission.data.as_alias("submission_data")).where(
        (Topic.id == topic_id) & (Topic.proposer_entry == entry_id)).first()
    if topic is None:
        return None
    return {"topic": topic, "events": await topic_events(topic_id),
            "photos": photos_of(topic.pop("submission_data"))}


async def _file_in(sha256: str, where: Any) -> bool:
    return await Topic.exists().where(where & Topic.submission.data.like(f'%"{sha256}"%'))


async def entry_may_see_file(entry_id: int, sha256: str) -> bool:
    return await _file_in(sha256, Topic.proposer_entry == entry_id)


async def council_may_see_file(council_id: int, sha256: str) -> bool:
    return await _file_in(sha256, Topic.council == council_id)


async def council_topic(council_id: int, topic_id: int) -> dict[str, Any] | None:
    return await Topic.select().where((Topic.id == topic_id) & (Topic.council == council_id)).first()


def triage_ids(spec: WorkflowSpec) -> set[str]:
    """The transitions the triage page offers: core's triage steps and any a practice added."""
    core_ids = {t.id for t in shared_workflows()["topic"].transitions}
    return set(TRIAGE_TRANSITIONS) | {t.id for t in spec.transitions if t.id not in core_ids}


def state_labels_of(spec: WorkflowSpec) -> dict[str, str]:
    """Every state's label: core's translated ones, the spec's own for states a practice added."""
    return {**{s: spec.state_label(s) for s in spec.states}, **topic_state_labels()}


def shown_proposer(topic: dict[str, Any]) -> str:
    """Who raised the topic, as others see it: a person's name masked (王*华), or what raised it (a
    record kind such as 安全检查) as written."""
    name = topic.get("proposer_name") or ""
    return mask_name(name) if topic.get("proposer_is_person", True) else name


async def card_of(topic: dict[str, Any], roles: Collection[str], spec: WorkflowSpec | None = None) -> dict[str, Any]:
    """A topic as the triage page shows it, with the buttons the user's roles may press now."""
    spec = spec or shared_workflows()["topic"]
    guards = await flow.topic_guards(topic["id"])
    offered = triage_ids(spec)
    actions: list[Transition] = [t for t in available(spec, topic["state"], roles, guards) if t.id in offered]
    return {**topic, "masked_proposer": shown_proposer(topic), "actions": actions,
            "photos": [], "can_override": "chair" in roles}


async def triage_view(council_id: int, roles: Collection[str], spec: WorkflowSpec | None = None) -> dict[str, Any]:
    topics = await Topic.select(Topic.all_columns(), Topic.submission.data.as_alias("submission_data")).where(
        Topic.council == council_id).order_by(Topic.id, ascending=False)
    groups: dict[str, list[dict[str, Any]]] = {s: [] for s in STATE_ORDER}
    for topic in topics:
        data = topic.pop("submission_data")
        card = await card_of(topic, roles, spec)
        card["photos"] = photos_of(data)
        groups.setdefault(topic["state"], []).append(card)
    open_topics = [t for t in topics if t["state"] in OPEN_STATES]
    meetings = await Meeting.select(Meeting.id, Meeting.title, Meeting.starts_at).where(
        (Meeting.council == council_id) & (Meeting.state == "draft")).order_by(Meeting.starts_at)
    return {"groups": [(s, groups[s]) for s in groups if groups[s]], "open_topics": open_topics,
            "draft_meetings": meetings, "count": len(topics)}


async def public_view(council_id: int) -> list[dict[str, Any]]:
    """The 公示 list: decided topics and their outcome — titles and units, never names or rooms."""
    topics = await Topic.select(Topic.id, Topic.title, Topic.category, Topic.state, Topic.updated_at).where(
        (Topic.council == council_id) & Topic.state.is_in(list(PUBLIC_STATES))).order_by(
        Topic.updated_at, ascending=False)
    if not topics:
        return []
    ids = [t["id"] for t in topics]
    decided: dict[int, datetime] = {}
    for e in await TopicEvent.select(TopicEvent.topic, TopicEvent.at).where(
            TopicEvent.topic.is_in(ids) & TopicEvent.to_state.is_in(["decided", "answered"])).order_by(TopicEvent.id):
        decided.setdefault(e["topic"], e["at"])
    tasks: dict[int, list[dict[str, Any]]] = {}
    for t in await Task.select(Task.topic, Task.deadline, Task.state, Task.department.name.as_alias("unit")).where(
            Task.topic.is_in(ids) & (Task.state != "cancelled")).order_by(Task.id):
        tasks.setdefault(t["topic"], []).append(t)
    return [{**t, "decided_at": decided.get(t["id"]), "tasks": tasks.get(t["id"], [])} for t in topics]


# -------------------------------------------------------------------------------------------------
# Triage
# -------------------------------------------------------------------------------------------------


def _stale() -> TransitionRefused:
    return TransitionRefused(_(STALE), code="state")


async def _lock(council_id: int, topic_id: int, seen_state: str) -> dict[str, Any]:
    row = await db.for_update(Topic.select().where((Topic.id == topic_id) & (Topic.council == council_id))).first()
    if row is None:
        raise flow.NotFound(topic_id)
    if row["state"] != seen_state:
        raise _stale()
    return row


async def act(council_id: int, topic_id: int, transition: str, *, seen_state: str, roles: Collection[str],
              actor: str, reason: str = "", merge_into: int | None = None,
              meeting_id: int | None = None, spec: WorkflowSpec | None = None) -> None:
    """Take a triage step on a topic the user saw in ``seen_state``; anything else is stale.

    ``spec`` is the council's practice's topic workflow (core's ``topic`` if None).
    """
    spec = spec or shared_workflows()["topic"]
    if transition not in triage_ids(spec):
        raise TransitionRefused(_("没有这个操作，请刷新页面后再试。"), code="unknown")
    async with db.atomic():
        topic = await _lock(council_id, topic_id, seen_state)
        if transition == "merge":
            if merge_into is None or merge_into == topic_id:
                raise TransitionRefused(_("请选择要合并到的议题。"), code="form")
            target = await Topic.select(Topic.id).where(
                (Topic.id == merge_into) & (Topic.council == council_id) & Topic.state.is_in(list(OPEN_STATES))).first()
            if target is None:
                raise TransitionRefused(_("要合并到的议题不存在或已关闭，请刷新页面。"), code="form")
        meeting = None
        if transition == "schedule":
            if meeting_id is None:
                raise TransitionRefused(_("请选择一次未开始的会议。"), code="form")
            meeting = await Meeting.select(Meeting.id).where(
                (Meeting.id == meeting_id) & (Meeting.council == council_id) & (Meeting.state == "draft")).first()
            if meeting is None:
                raise TransitionRefused(_("这次会议已开始或不存在，请选择一次未开始的会议。"), code="form")
        step = await flow.move_topic(topic_id, transition, roles=roles, actor=actor, reason=reason,
                                     allow_repeat=False, spec=spec)
        if not step.changed:
            return
        if transition == "merge":
            await Topic.update({Topic.merged_into: merge_into}).where(Topic.id == topic_id)
            await audit.record(actor=actor, action="topic.merged_into", entity=f"topic:{topic_id}",
                               after={"merged_into": merge_into})
        elif transition == "schedule" and meeting is not None:
            last = await AgendaItem.select(AgendaItem.position).where(AgendaItem.meeting == meeting_id).order_by(
                AgendaItem.position, ascending=False).first()
            position = (last["position"] if last else 0) + 1
            proposer = (("" if not topic["proposer_name"] else _("居民 {name}").format(name=shown_proposer(topic)))
                        if topic.get("proposer_is_person", True) else topic["proposer_name"])
            item = (await AgendaItem.insert(AgendaItem(
                meeting=meeting_id, position=position, title=topic["title"][:120],
                description=topic["description"], proposer=proposer[:60],
            )).returning(AgendaItem.id))[0]["id"]
            await Topic.update({Topic.agenda_item: item}).where(Topic.id == topic_id)
            await audit.record(actor=actor, action="meeting.item_added", entity=f"meeting:{meeting_id}",
                               after={"item": item, "position": position, "topic": topic_id})


async def override(council_id: int, topic_id: int, target: str, *, seen_state: str, actor: str,
                   reason: str, spec: WorkflowSpec | None = None) -> None:
    """The chair puts a topic into any state, with a reason of at least 4 characters."""
    async with db.atomic():
        await _lock(council_id, topic_id, seen_state)
        await flow.override_topic(topic_id, target, actor=actor, reason=reason, spec=spec)

