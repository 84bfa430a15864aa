"""记录在册 and 现场分流: the recorder logs each issue raised at a 屋场恳谈会 and triages it.

An issue is a core topic (``core.topics``) of the meeting's council, following the practice's
``wuchang_topic`` workflow, so everything core does for topics — 交办 to a department, the unit's
progress reports from its own link, the resident's rating, the 公示 page — works for it unchanged.
The issue belongs to the meeting through the meeting's open-floor agenda item (群众提事), made when
the first issue is logged: a 屋场恳谈会 has no agenda of its own.

Every write names its target and carries the form's one-time key where it appends, so a press
resent on weak Wi-Fi lands once: a resent issue finds the topic its first copy opened (unique
submission nonce), a resent triage finds the topic already in its track and changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core import audit, db, events
from core.i18n import _
from core.lowcode.forms import Result
from core.lowcode.workflow import TransitionRefused, WorkflowSpec
from core.meetings.tables import AgendaItem, Meeting
from core.topics.flow import move_topic
from core.topics.services import topic_of_submission
from core.topics.storage import save_submission, submission_by_nonce
from core.topics.tables import Topic, TopicEvent
from core.topics.tasks import create_task

#: The open floor of a 屋场恳谈会: stored data (the agenda item's title), not interface text.
OPEN_FLOOR_TITLE = "屋场恳谈：群众提事、现场答复"
OPEN_FLOOR_NOTE = "群众现场反映的问题逐条记录在册，当场分流：解疑释惑、现场办公、集中交办。"

#: Meeting states in which issues may be logged and triaged: during the meeting, and afterwards
#: while the record is not yet approved (a recorder typing up the paper notes that evening).
WRITABLE_STATES = ("in_session", "closed")

#: The three tracks (三类分流) and the workflow transition each takes.
TRACKS = {"explain": "answered", "onsite": "solved", "concentrate": "decided"}


class CaptureError(Exception):
    """A refusal for people (Chinese), optionally tied to a form field."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _changed(meeting_id: int, topic_id: int) -> None:
    """Tell the meeting's other tablets (live.js) once the transaction commits."""
    events.changed(f"meeting:{meeting_id}", "wuchang", {"issue": topic_id})


def track_labels() -> dict[str, str]:
    return {"explain": _("解疑释惑"), "onsite": _("现场办公"), "concentrate": _("集中交办")}


async def writable_meeting(meeting_id: int) -> dict[str, Any]:
    """The meeting, if issues may be logged in it now; else CaptureError saying why."""
    row = await Meeting.select(Meeting.id, Meeting.council, Meeting.state).where(Meeting.id == meeting_id).first()
    if row is None:
        raise CaptureError(_("会议不存在。"))
    if row["state"] not in WRITABLE_STATES:
        if row["state"] in ("draft", "notified"):
            raise CaptureError(_("恳谈会还没有开始，请先在会议页面点“开始会议”。"))
        raise CaptureError(_("会议纪要已审定，民情记录不能再修改。"))
    return row


async def open_floor_item(meeting_id: int) -> int | None:
    row = await AgendaItem.select(AgendaItem.id).where(
        (AgendaItem.meeting == meeting_id) & (AgendaItem.title == OPEN_FLOOR_TITLE)).first()
    return row["id"] if row else None


async def ensure_open_floor(meeting_id: int, actor: str) -> int:
    """The meeting's open-floor item, added at the end of its agenda the first time it is needed.

    Before and during the meeting it goes through core's agenda (revision, audit, live refresh):
    core opens no meeting with an empty agenda, and a 屋场恳谈会 has none of its own. After the
    meeting (a recorder typing up the paper notes) core's agenda is closed, so it is appended here.
    """
    from core.meetings import agenda
    from core.meetings.services import MeetingError

    found = await open_floor_item(meeting_id)
    if found is not None:
        return found
    row = await Meeting.select(Meeting.state, Meeting.agenda_revision).where(Meeting.id == meeting_id).first()
    if row is None:
        raise CaptureError(_("会议不存在。"))
    item = agenda.ItemInput(title=OPEN_FLOOR_TITLE, description=OPEN_FLOOR_NOTE, proposer="", duration_minutes=60)
    try:
        if row["state"] in agenda.ADD_STATES:
            return await agenda.add_item(meeting_id, row["agenda_revision"], item, actor)
        if row["state"] not in WRITABLE_STATES:
            raise CaptureError(_("会议纪要已审定，民情记录不能再修改。"))
        async with db.atomic():
            last = await AgendaItem.select(AgendaItem.position).where(AgendaItem.meeting == meeting_id).order_by(
                AgendaItem.position, ascending=False).first()
            position = (last["position"] if last else 0) + 1
            new = (await AgendaItem.insert(AgendaItem(meeting=meeting_id, position=position, **item.as_dict()))
                   .returning(AgendaItem.id))[0]
            await audit.record(actor=actor, action="agenda.item_added", entity=f"agenda_item:{new['id']}",
                               after={"meeting": meeting_id, **item.as_dict()})
            return new["id"]
    except (MeetingError, Exception) as exc:
        # A second tablet added it at the same moment (revision or unique position): use theirs.
        found = await open_floor_item(meeting_id)
        if found is not None:
            return found
        if isinstance(exc, MeetingError):
            raise CaptureError(str(exc)) from exc
        raise


async def record_issue(data_dir: Path, meeting_id: int, result: Result, actor: str, nonce: str) -> int:
    """Log one issue (提出人, 类别, one line) as a topic in state ``raised``; returns its id.

    A resent form (same ``nonce``) returns the topic its first copy opened and stores nothing.
    """
    existing = await submission_by_nonce(nonce)
    if existing is not None and (topic_id := await topic_of_submission(existing)) is not None:
        return topic_id
    meeting = await writable_meeting(meeting_id)
    item_id = await ensure_open_floor(meeting_id, actor)
    values = result.values
    try:
        async with db.atomic():
            submission_id = await save_submission(data_dir, result, actor, nonce=nonce)
            now = datetime.now(UTC)
            row = (await Topic.insert(Topic(
                council=meeting["council"], title=str(values["title"])[:120], category=str(values["category"])[:40],
                description="", state="raised", proposer_name=str(values["speaker"])[:50],
                submission=submission_id, agenda_item=item_id, created_at=now, updated_at=now,
            )).returning(Topic.id))[0]
            topic_id = row["id"]
            await TopicEvent.insert(TopicEvent(topic=topic_id, transition="raise", from_state="",
                                               to_state="raised", actor=actor, at=now))
            await audit.record(actor=actor, action="topic.raised", entity=f"topic:{topic_id}",
                               after={"council": meeting["council"], "meeting": meeting_id, "state": "raised",
                                      "submission": submission_id, "title": values["title"]})
            _changed(meeting_id, topic_id)
            return topic_id
    except Exception:
        existing = await submission_by_nonce(nonce)
        topic_id = await topic_of_submission(existing) if existing is not None else None
        if topic_id is None:
            raise
        return topic_id


async def issue_of_meeting(meeting_id: int, topic_id: int) -> dict[str, Any] | None:
    """The topic, if it was logged at this meeting."""
    item_id = await open_floor_item(meeting_id)
    if item_id is None:
        return None
    return await Topic.select().where((Topic.id == topic_id) & (Topic.agenda_item == item_id)).first()


async def triage(meeting_id: int, topic_id: int, track: str, reply: str, *, spec: WorkflowSpec,
                 roles: Collection[str], actor: str) -> bool:
    """Put an issue on one of the three tracks; ``reply`` is the answer (解疑释惑) or what was done
    (现场办公), and is not needed for 集中交办. Returns whether anything changed: the same track
    again (a resent press) changes nothing; another track once triaged is refused."""
    if track not in TRACKS:
        raise CaptureError(_("请选择分流方式：解疑释惑、现场办公或集中交办。"), "track")
    await writable_meeting(meeting_id)
    topic = await issue_of_meeting(meeting_id, topic_id)
    if topic is None:
        raise CaptureError(_("这条民情不是本次恳谈会记录的，请刷新页面。"))
    if topic["state"] == TRACKS[track]:
        return False
    if topic["state"] != "raised":
        raise CaptureError(_("这条民情已分流为“{state}”，不能再改，请刷新页面。").format(
            state=spec.state_label(topic["state"])))
    try:
        async with db.atomic():
            step = await move_topic(topic_id, track, roles=roles, actor=actor,
                                    reason=reply if track != "concentrate" else "", spec=spec)
            if step.changed:
                _changed(meeting_id, topic_id)
    except TransitionRefused as exc:
        raise CaptureError(exc.message, "reply" if exc.code == "reason" else "") from exc
    return step.changed


async def assign(data_dir: Path, meeting_id: int, topic_id: int, result: Result, actor: str) -> bool:
    """The 交办单 of a 集中交办 issue: a core task for the chosen department with its deadline; the
    topic moves from 待交办 to 已交办 (core's ``assign``). The request names its target — this issue,
    now 待交办 — so a resent form finds it 已交办 and changes nothing (returns False)."""
    from core.topics.tasks import TaskError

    await writable_meeting(meeting_id)
    topic = await issue_of_meeting(meeting_id, topic_id)
    if topic is None:
        raise CaptureError(_("这条民情不是本次恳谈会记录的，请刷新页面。"))
    if topic["state"] == "assigned":
        return False
    if topic["state"] != "decided":
        raise CaptureError(_("只有“待交办”的民情才能填写交办单，请刷新页面。"))
    try:
        async with db.atomic():
            await create_task(data_dir, topic_id, result, actor, move=True)
            _changed(meeting_id, topic_id)
    except (TaskError, TransitionRefused) as exc:
        now = await Topic.select(Topic.state).where(Topic.id == topic_id).first()
        if now and now["state"] == "assigned":  # the same form from a second tablet, a moment earlier
            return False
        raise CaptureError(exc.message) from exc
    return True


async def rate(data_dir: Path, meeting_id: int, topic_id: int, result: Result, *, spec: WorkflowSpec,
               roles: Collection[str], actor: str) -> bool:
    """The resident's 满意度 on a 办结 issue, taken down by the recorder at the return visit (回访),
    on core's 满意度测评表; the topic moves to 已评价. A resent form finds it rated: False."""
    from core.topics.tables import Rating
    from core.topics.tasks import RATING_LEVELS

    topic = await issue_of_meeting(meeting_id, topic_id)
    if topic is None:
        raise CaptureError(_("这条民情不是本次恳谈会记录的，请刷新页面。"))
    if topic["state"] == "rated":
        return False
    if topic["state"] != "done":
        raise CaptureError(_("交办的事项办结后才能测评满意度。"))
    values = result.values
    comment = values.get("opinion", "")
    if values.get("reasons"):
        comment = "、".join(values["reasons"]) + ("：" + comment if comment else "")
    try:
        async with db.atomic():
            step = await move_topic(topic_id, "rate", roles=roles, actor=actor, allow_repeat=False, spec=spec)
            submission_id = await save_submission(data_dir, result, actor)
            await Rating.insert(Rating(topic=topic_id, level=RATING_LEVELS[values["rating"]], comment=comment))
            await audit.record(actor=actor, action="topic.rating", entity=f"topic:{topic_id}",
                               after={"level": RATING_LEVELS[values["rating"]], "submission": submission_id})
            _changed(meeting_id, topic_id)
    except TransitionRefused as exc:
        now = await Topic.select(Topic.state).where(Topic.id == topic_id).first()
        if now and now["state"] == "rated":
            return False
        raise CaptureError(exc.message) from exc
    return step.changed
