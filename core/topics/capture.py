"""Writes of the meeting capture (现场记录, docs/capture.md): log an issue raised from the floor,
triage it into one of the practice's tracks, fill its 交办单, record the return visit's rating.

An issue is a core topic of the meeting's council following the practice's topic workflow, so
everything core does for topics — 交办 to a department, the unit's progress reports from its own
link, the resident's rating, the 公示 page — works for it unchanged. It belongs to the meeting
through the meeting's open-floor agenda item (the spec's ``[open_floor]``), made when the first
issue is logged: a meeting held to hear the floor has no agenda of its own.

Every write names its target and carries the form's one-time key where it appends, so a press
resent on weak Wi-Fi lands once: a resent issue finds the topic its first copy opened (unique
submission nonce), a resent triage finds the topic already in its track and changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import audit, db, events
from core.i18n import _
from core.lowcode.forms import Result
from core.lowcode.workflow import TransitionRefused, WorkflowSpec
from core.meetings.tables import AgendaItem, Meeting
from core.topics.capture_spec import CaptureSpec
from core.topics.flow import move_topic
from core.topics.services import open_raised_topic, topic_of_nonce, topic_of_submission
from core.topics.storage import save_submission, submission_by_nonce
from core.topics.tables import Rating, Topic
from core.topics.tasks import RATING_LEVELS, TaskError, create_task

#: Meeting states in which issues may be logged and triaged: during the meeting, and afterwards
#: while the record is not yet approved (a recorder typing up the paper notes that evening).
WRITABLE_STATES = ("in_session", "closed")
#: Core's topic states a capture relies on (every practice's topic workflow keeps them).
ASSIGNABLE, ASSIGNED, DONE, RATED = "decided", "assigned", "done", "rated"


class CaptureError(Exception):
    """A refusal for people (Chinese), optionally tied to a form field."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Track:
    """One of the practice's tracks: a transition of its workflow from the initial state."""

    id: str
    label: str
    target: str
    needs_reply: bool
    leads_to_assignment: bool


def tracks_of(spec: CaptureSpec, workflow: WorkflowSpec) -> dict[str, Track]:
    """The spec's tracks, labelled and shaped by the workflow (a track whose transition takes a
    reason needs the reply form; one ending in 待交办 leads to the 交办单)."""
    out = {}
    for track_id in spec.tracks:
        t = workflow.transition(track_id)
        if t is None:
            raise CaptureError(_("流程 {wf} 没有分流转换 {t}。").format(wf=workflow.id, t=track_id))
        out[t.id] = Track(t.id, _(t.label), t.target, t.require_reason, t.target == ASSIGNABLE)
    return out


def words(spec: CaptureSpec) -> dict[str, str]:
    """The spec's nouns for the messages (恳谈会 / 民情 …), translated like any label."""
    return {"meeting": _(spec.meeting_noun), "item": _(spec.item_noun)}


def _changed(spec: CaptureSpec, meeting_id: int, topic_id: int) -> None:
    """Tell the meeting's other tablets (live.js) once the transaction commits."""
    events.changed(f"meeting:{meeting_id}", spec.event, {"issue": topic_id})


def _not_here(spec: CaptureSpec) -> CaptureError:
    return CaptureError(_("这条{item}不是本次{meeting}记录的，请刷新页面。").format(**words(spec)))


async def writable_meeting(spec: CaptureSpec, meeting_id: int) -> dict[str, Any]:
    """The meeting, if issues may be logged in it now; else CaptureError saying why."""
    row = await Meeting.select(Meeting.id, Meeting.council, Meeting.state).where(Meeting.id == meeting_id).first()
    if row is None:
        raise CaptureError(_("会议不存在。"))
    if row["state"] not in WRITABLE_STATES:
        if row["state"] in ("draft", "notified"):
            raise CaptureError(_("{meeting}还没有开始，请先在会议页面点“开始会议”。").format(**words(spec)))
        raise CaptureError(_("会议纪要已审定，{item}记录不能再修改。").format(**words(spec)))
    return row


async def open_floor_item(spec: CaptureSpec, meeting_id: int) -> int | None:
    row = await AgendaItem.select(AgendaItem.id).where(
        (AgendaItem.meeting == meeting_id) & (AgendaItem.title == spec.open_floor_title)).first()
    return row["id"] if row else None


async def ensure_open_floor(spec: CaptureSpec, meeting_id: int, actor: str) -> int:
    """The meeting's open-floor item, added at the end of its agenda the first time it is needed.

    Before and during the meeting it goes through core's agenda (revision, audit, live refresh):
    core opens no meeting with an empty agenda. After the meeting (a recorder typing up the paper
    notes) core's agenda is closed, so it is appended here.
    """
    from core.meetings import agenda
    from core.meetings.services import MeetingError

    found = await open_floor_item(spec, meeting_id)
    if found is not None:
        return found
    row = await Meeting.select(Meeting.state, Meeting.agenda_revision).where(Meeting.id == meeting_id).first()
    if row is None:
        raise CaptureError(_("会议不存在。"))
    item = agenda.ItemInput(title=spec.open_floor_title, description=spec.open_floor_description, proposer="",
                            duration_minutes=spec.open_floor_minutes)
    try:
        if row["state"] in agenda.ADD_STATES:
            return await agenda.add_item(meeting_id, row["agenda_revision"], item, actor)
        await writable_meeting(spec, meeting_id)
        async with db.atomic():
            last = await AgendaItem.select(AgendaItem.position).where(AgendaItem.meeting == meeting_id).order_by(
                AgendaItem.position, ascending=False).first()
            position = (last["position"] if last else 0) + 1
            new = (await AgendaItem.insert(AgendaItem(meeting=meeting_id, position=position, **item.as_dict()))
                   .returning(AgendaItem.id))[0]
            await audit.record(actor=actor, action="agenda.item_added", entity=f"agenda_item:{new['id']}",
                               after={"meeting": meeting_id, **item.as_dict()})
            return new["id"]
    except CaptureError:
        raise
    except Exception as exc:
        # A second tablet added it at the same moment (revision or unique position): use theirs.
        found = await open_floor_item(spec, meeting_id)
        if found is not None:
            return found
        if isinstance(exc, MeetingError):
            raise CaptureError(str(exc)) from exc
        raise


async def record_issue(spec: CaptureSpec, data_dir: Path, meeting_id: int, result: Result, actor: str,
                       nonce: str) -> int:
    """Log one issue (proposer, category, one line) as a topic in the workflow's initial state.

    A resent form (same ``nonce``) returns the topic its first copy opened and stores nothing.
    """
    existing = await submission_by_nonce(nonce)
    if existing is not None and (topic_id := await topic_of_submission(existing)) is not None:
        return topic_id
    meeting = await writable_meeting(spec, meeting_id)
    item_id = await ensure_open_floor(spec, meeting_id, actor)
    values = result.values
    title = str(values.get(spec.title_field, ""))
    try:
        async with db.atomic():
            submission_id = await save_submission(data_dir, result, actor, nonce=nonce)
            topic_id = await open_raised_topic(
                actor, submission_id, {"council": meeting["council"], "meeting": meeting_id, "title": title},
                council=meeting["council"], title=title[:120],
                category=str(values.get(spec.category_field, ""))[:40], description="",
                proposer_name=str(values.get(spec.proposer_field, ""))[:50], agenda_item=item_id)
            _changed(spec, meeting_id, topic_id)
            return topic_id
    except Exception:
        topic_id = await topic_of_nonce(nonce)
        if topic_id is None:
            raise
        return topic_id


async def issue_of_meeting(spec: CaptureSpec, meeting_id: int, topic_id: int) -> dict[str, Any] | None:
    """The topic, if it was logged at this meeting."""
    item_id = await open_floor_item(spec, meeting_id)
    if item_id is None:
        return None
    return await Topic.select().where((Topic.id == topic_id) & (Topic.agenda_item == item_id)).first()


async def triage(spec: CaptureSpec, meeting_id: int, topic_id: int, track: str, reply: str, *,
                 workflow: WorkflowSpec, roles: Collection[str], actor: str) -> bool:
    """Put an issue on one of the tracks; ``reply`` is the answer or what was done, for a track that
    takes one. Returns whether anything changed: the same track again (a resent press) changes
    nothing; another track once triaged is refused."""
    tracks = tracks_of(spec, workflow)
    if track not in tracks:
        raise CaptureError(_("请选择分流方式：{tracks}。").format(
            tracks="、".join(t.label for t in tracks.values())), "track")
    await writable_meeting(spec, meeting_id)
    topic = await issue_of_meeting(spec, meeting_id, topic_id)
    if topic is None:
        raise _not_here(spec)
    if topic["state"] == tracks[track].target:
        return False
    if topic["state"] != workflow.initial:
        raise CaptureError(_("这条{item}已分流为“{state}”，不能再改，请刷新页面。").format(
            state=workflow.state_label(topic["state"]), **words(spec)))
    try:
        async with db.atomic():
            step = await move_topic(topic_id, track, roles=roles, actor=actor,
                                    reason=reply if tracks[track].needs_reply else "", spec=workflow)
            if step.changed:
                _changed(spec, meeting_id, topic_id)
    except TransitionRefused as exc:
        raise CaptureError(exc.message, "reply" if exc.code == "reason" else "") from exc
    return step.changed


async def assign(spec: CaptureSpec, data_dir: Path, meeting_id: int, topic_id: int, result: Result, *,
                 workflow: WorkflowSpec, actor: str) -> bool:
    """The 交办单 of an issue 待交办: a core task for the chosen department with its deadline; the
    topic moves to 已交办 (core's ``assign``). A resent form finds it 已交办 and changes nothing."""
    await writable_meeting(spec, meeting_id)
    topic = await issue_of_meeting(spec, meeting_id, topic_id)
    if topic is None:
        raise _not_here(spec)
    if topic["state"] == ASSIGNED:
        return False
    if topic["state"] != ASSIGNABLE:
        raise CaptureError(_("只有“{state}”的{item}才能填写交办单，请刷新页面。").format(
            state=workflow.state_label(ASSIGNABLE), **words(spec)))
    try:
        async with db.atomic():
            await create_task(data_dir, topic_id, result, actor, move=True)
            _changed(spec, meeting_id, topic_id)
    except (TaskError, TransitionRefused) as exc:
        now = await Topic.select(Topic.state).where(Topic.id == topic_id).first()
        if now and now["state"] == ASSIGNED:  # the same form from a second tablet, a moment earlier
            return False
        raise CaptureError(exc.message) from exc
    return True


async def rate(spec: CaptureSpec, data_dir: Path, meeting_id: int, topic_id: int, result: Result, *,
               workflow: WorkflowSpec, roles: Collection[str], actor: str) -> bool:
    """The resident's 满意度 on a finished issue, taken down at the return visit (回访) on core's
    满意度测评表; the topic moves to 已评价. A resent form finds it rated: False."""
    topic = await issue_of_meeting(spec, meeting_id, topic_id)
    if topic is None:
        raise _not_here(spec)
    if topic["state"] == RATED:
        return False
    if topic["state"] != DONE:
        raise CaptureError(_("交办的事项办结后才能测评满意度。"))
    values = result.values
    comment = values.get("opinion", "")
    if values.get("reasons"):
        comment = "、".join(values["reasons"]) + ("：" + comment if comment else "")
    try:
        async with db.atomic():
            step = await move_topic(topic_id, "rate", roles=roles, actor=actor, allow_repeat=False, spec=workflow)
            submission_id = await save_submission(data_dir, result, actor)
            await Rating.insert(Rating(topic=topic_id, level=RATING_LEVELS[values["rating"]], comment=comment))
            await audit.record(actor=actor, action="topic.rating", entity=f"topic:{topic_id}",
                               after={"level": RATING_LEVELS[values["rating"]], "submission": submission_id})
            _changed(spec, meeting_id, topic_id)
    except TransitionRefused as exc:
        now = await Topic.select(Topic.state).where(Topic.id == topic_id).first()
        if now and now["state"] == RATED:
            return False
        raise CaptureError(exc.message) from exc
    return step.changed
