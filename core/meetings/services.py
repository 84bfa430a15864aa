"""Meeting operations: read a meeting with its agenda, open, step, record, close.

Every state change is a single conditional UPDATE or an upsert, so a request retried on weak
Wi-Fi does not apply twice, and two tablets acting at once cannot leave the meeting in a state
neither of them chose. Each change and its audit event are written in one transaction; a retry
that changes nothing records nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core import audit, db, events
from core.i18n import _
from core.lowcode.workflow import TransitionRefused
from core.meetings import lifecycle
from core.meetings.handcount import Counts
from core.meetings.tables import AgendaItem, HandCount, ItemNote, Meeting
from core.org.tables import Council, CouncilMember
from core.text import has_control

NOTE_MAX = 4000



def state_labels() -> dict[str, str]:
    """The meeting workflow's states as chairs and residents read them."""
    return {"draft": _("未开始"), "notified": _("已通知"), "in_session": _("进行中"), "closed": _("已结束"),
            "approved": _("纪要已审定"), "published": _("纪要已公示"), "cancelled": _("已取消")}


def step_labels() -> dict[str, str]:
    """The meeting workflow's buttons in the deployment's language."""
    return {"notify": _("发出通知"), "open": _("开始会议"), "close": _("结束会议"), "approve": _("审定纪要"),
            "publish": _("公示纪要"), "cancel": _("取消会议")}


class MeetingError(Exception):
    """An action that does not fit the meeting's state; the message is for the chair."""


@dataclass
class ItemView:
    id: int
    position: int
    title: str
    description: str
    proposer: str
    duration_minutes: int
    counts: Counts | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = ""
    outcome_note: str = ""
    timer_elapsed: int = 0
    timer_started_at: datetime | None = None
    speakers: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)

    @property
    def elapsed(self) -> int:
        """Seconds the item's timer has run, including the current run (at the time of asking)."""
        elapsed = self.timer_elapsed
        if self.timer_started_at is not None:
            elapsed += max(0, int((datetime.now(UTC) - self.timer_started_at).total_seconds()))
        return elapsed

    @property
    def timer_running(self) -> bool:
        return self.timer_started_at is not None


@dataclass
class MeetingView:
    """A meeting as the pages and the minutes see it."""

    meeting: dict[str, Any]
    council: dict[str, Any]
    items: list[ItemView]
    members: list[dict[str, Any]]

    @property
    def state(self) -> str:
        return self.meeting["state"]

    @property
    def state_label(self) -> str:
        return state_labels().get(self.state, self.state)

    @property
    def current(self) -> ItemView | None:
        pos = self.meeting["current_position"]
        return next((i for i in self.items if i.position == pos), None)

    def next_after(self, item: ItemView | None) -> ItemView | None:
        if item is None:
            return None
        later = [i for i in self.items if i.position > item.position]
        return later[0] if later else None

    def prev_before(self, item: ItemView | None) -> ItemView | None:
        if item is None:
            return None
        earlier = [i for i in self.items if i.position < item.position]
        return earlier[-1] if earlier else None

    def members_with_role(self, role: str) -> list[dict[str, Any]]:
        return [m for m in self.members if m["role"] == role]


def _columns(table: Any, alias: str, prefix: str = "", exclude: tuple[str, ...] = ()) -> str:
    return ", ".join(f'{alias}."{c._meta.db_column_name}" AS "{prefix}{c._meta.name}"'
                     for c in table._meta.columns if c._meta.name not in exclude)


#: The meeting and its council, written out once from the tables' own columns: building this
#: join with Piccolo's select (nested output) costs ~0.7 ms of CPU on every request.
_MEETING_SQL = (
    f"SELECT {_columns(Meeting, 'm', exclude=('council',))}, "
    f"{_columns(Council, 'c', prefix='council.', exclude=('description',))}"
    " FROM yishi_meeting m JOIN yishi_council c ON c.id = m.council WHERE m.id = {}")


#: The agenda with each item's hand count and notes in one query (an item repeats once per note).
_AGENDA_SQL = (
    "SELECT i.id, i.position, i.title, i.description, i.proposer, i.duration_minutes, i.outcome, i.outcome_note,"
    " i.timer_elapsed, i.timer_started_at, h.yes, h.no, h.abstain,"
    " n.id AS note_id, n.body AS note_body, n.created_at AS note_created_at"
    " FROM yishi_agenda_item i"
    " LEFT JOIN yishi_hand_count h ON h.item = i.id"
    " LEFT JOIN yishi_item_note n ON n.item = i.id"
    " WHERE i.meeting = {} ORDER BY i.position, n.id")

#: Each item's speakers and files, one query for both (``kind`` tells them apart).
_EXTRAS_SQL = (
    "SELECT 's' AS kind, s.item, s.id, s.name, s.affiliation AS detail, s.state, s.position AS ord, 0 AS size"
    " FROM yishi_speaker s JOIN yishi_agenda_item i ON i.id = s.item WHERE i.meeting = {}"
    " UNION ALL SELECT 'a' AS kind, a.item, a.id, a.name, a.kind AS detail, '' AS state, a.id AS ord, a.size"
    " FROM yishi_agenda_attachment a JOIN yishi_agenda_item j ON j.id = a.item WHERE j.meeting = {}"
    " ORDER BY 1, 2, 7, 3")


async def load_meeting(meeting_id: int, with_members: bool = False) -> MeetingView | None:
    """The meeting, its council and agenda with counts and notes, in two queries."""
    rows = await Meeting.raw(_MEETING_SQL, meeting_id)
    if not rows:
        return None
    row: dict[str, Any] = {}
    council: dict[str, Any] = {}
    for key, value in rows[0].items():
        if key.startswith("council."):
            council[key[len("council."):]] = value
        else:
            row[key] = value
    views: list[ItemView] = []
    for r in await AgendaItem.raw(_AGENDA_SQL, meeting_id):
        if not views or views[-1].id != r["id"]:
            views.append(ItemView(id=r["id"], position=r["position"], title=r["title"],
                                  description=r["description"], proposer=r["proposer"],
                                  duration_minutes=r["duration_minutes"], outcome=r["outcome"] or "",
                                  outcome_note=r["outcome_note"] or "", timer_elapsed=r["timer_elapsed"] or 0,
                                  timer_started_at=_aware(r["timer_started_at"]),
                                  counts=None if r["yes"] is None else Counts(r["yes"], r["no"], r["abstain"])))
        if r["note_id"] is not None:
            views[-1].notes.append({"id": r["note_id"], "item": r["id"], "body": r["note_body"],
                                    "created_at": r["note_created_at"]})
    by_id = {v.id: v for v in views}
    if views:
        for r in await AgendaItem.raw(_EXTRAS_SQL, meeting_id, meeting_id):
            item = by_id.get(r["item"])
            if item is None:
                continue
            if r["kind"] == "s":
                item.speakers.append({"id": r["id"], "name": r["name"], "affiliation": r["detail"],
                                      "state": r["state"]})
            else:
                item.attachments.append({"id": r["id"], "name": r["name"], "kind": r["detail"], "size": r["size"]})
    members: list[dict[str, Any]] = []
    if with_members:
        members = await CouncilMember.select(
            CouncilMember.role, CouncilMember.affiliation, CouncilMember.person.name.as_alias("name"),
        ).where(CouncilMember.council == council["id"]).order_by(CouncilMember.position)
    return MeetingView(meeting=row, council=council, items=views, members=members)


def _aware(value: Any) -> datetime | None:
    """A timestamp from a raw query: SQLite gives text or a naive datetime (UTC), PostgreSQL an aware one."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def step_meeting(meeting_id: int, transition: str, actor: str, roles: Collection[str] = ("chair",),
                       reason: str = "") -> None:
    """Take a lifecycle step (core.meetings.lifecycle); a refusal becomes a :class:`MeetingError`."""
    try:
        await lifecycle.move_meeting(meeting_id, transition, roles=roles, actor=actor, reason=reason)
    except TransitionRefused as exc:
        raise MeetingError(exc.message) from exc
    except lifecycle.MeetingNotFound as exc:
        raise MeetingError(_("会议不存在。")) from exc


async def open_meeting(meeting_id: int, actor: str, roles: Collection[str] = ("chair",)) -> None:
    """draft/notified → in_session, on the first agenda item. Opening an open meeting changes nothing."""
    await step_meeting(meeting_id, "open", actor, roles)


async def go_to_item(meeting_id: int, position: int, actor: str) -> None:
    """Make the item at ``position`` the current one (the item timer that was running pauses).
    Idempotent: the target is explicit."""
    exists = await AgendaItem.exists().where(
        (AgendaItem.meeting == meeting_id) & (AgendaItem.position == position))
    if not exists:
        raise MeetingError(_("没有这个议题，议程可能已被修改，请刷新页面。"))
    async with db.atomic():
        before = await db.for_update(Meeting.select(Meeting.current_position).where(
            (Meeting.id == meeting_id) & (Meeting.state == "in_session"))).first()
        if before is not None and before["current_position"] != position:
            await Meeting.update({Meeting.current_position: position}).where(Meeting.id == meeting_id)
            await lifecycle.stop_timers(meeting_id, datetime.now(UTC))
            await audit.record(actor=actor, action="meeting.item_changed", entity=f"meeting:{meeting_id}",
                               before={"current_position": before["current_position"]},
                               after={"current_position": position})
            events.changed(f"meeting:{meeting_id}", "item", {"current_position": position})
    await require_state(meeting_id, "in_session", _("会议不在进行中，不能切换议题。"))


async def record_hand_count(meeting_id: int, item_id: int, counts: Counts, actor: str) -> None:
    """Store (or correct) the show-of-hands result of an item while the meeting is in session."""
    await require_item(meeting_id, item_id)
    await require_state(meeting_id, "in_session", _("会议不在进行中，不能记录表决结果。"))
    after = {"yes": counts.yes, "no": counts.no, "abstain": counts.abstain}
    async with db.atomic():
        row = await db.for_update(HandCount.select(HandCount.yes, HandCount.no, HandCount.abstain).where(
            HandCount.item == item_id)).first()
        if row == after:
            return
        await HandCount.insert(
            HandCount(item=item_id, recorded_at=datetime.now(UTC), **after),
        ).on_conflict(
            target=HandCount.item, action="DO UPDATE",
            values=[HandCount.yes, HandCount.no, HandCount.abstain, HandCount.recorded_at],
        )
        # A show of hands is a vote: the item's outcome says so unless the chair chose another.
        await AgendaItem.update({AgendaItem.outcome: "vote"}).where(
            (AgendaItem.id == item_id) & (AgendaItem.outcome == ""))
        await audit.record(actor=actor, action="item.hands_recorded", entity=f"agenda_item:{item_id}",
                           before=row, after=after)
        events.changed(f"meeting:{meeting_id}", "hands", {"item": item_id})


async def add_note(meeting_id: int, item_id: int, body: str, actor: str, nonce: str | None = None) -> None:
    """Append the recorder's note to an item. ``nonce`` is the form's one-time key: a note resent on
    weak Wi-Fi (same key) is stored once — checked first, and enforced by a unique index."""
    await require_item(meeting_id, item_id)
    await require_state(meeting_id, "in_session", _("会议不在进行中，不能添加记录。"))
    if nonce and await ItemNote.exists().where(ItemNote.nonce == nonce):
        return
    async with db.atomic():
        # Two tablets resending the same form at once: the unique index keeps one, the other adds nothing.
        rows = await ItemNote.insert(ItemNote(item=item_id, body=body, created_at=datetime.now(UTC), nonce=nonce)
                                     ).on_conflict(target=ItemNote.nonce, action="DO NOTHING").returning(ItemNote.id)
        if not rows:
            return
        row = rows[0]
        await audit.record(actor=actor, action="item.note_added", entity=f"agenda_item:{item_id}",
                           after={"note": row["id"], "body": body})
        events.changed(f"meeting:{meeting_id}", "note", {"item": item_id})


async def close_meeting(meeting_id: int, actor: str, roles: Collection[str] = ("chair",)) -> None:
    """in_session → closed. Closing a closed meeting changes nothing."""
    await step_meeting(meeting_id, "close", actor, roles)


def validate_note(raw: str | None) -> tuple[str, str | None]:
    """The note as it will be stored, and an error message if it cannot be."""
    raw = (raw or "").replace("\r\n", "\n")
    body = raw.strip()
    if not body:
        return body, _("记录内容不能为空")
    if len(body) > NOTE_MAX:
        return body, _("记录不能超过 {limit} 字（现为 {length} 字）").format(limit=NOTE_MAX, length=len(body))
    if has_control(raw, allow="\n\t"):  # the raw text: strip() would remove U+0085 silently
        return body, _("记录中含有无法显示的控制字符")
    return body, None


async def require_state(meeting_id: int, state: str, message: str) -> None:
    row = await Meeting.select(Meeting.state).where(Meeting.id == meeting_id).first()
    if row is None:
        raise MeetingError(_("会议不存在。"))
    if row["state"] != state:
        raise MeetingError(message)


async def require_item(meeting_id: int, item_id: int) -> None:
    exists = await AgendaItem.exists().where(
        (AgendaItem.id == item_id) & (AgendaItem.meeting == meeting_id))
    if not exists:
        raise MeetingError(_("这个议题不属于本次会议。"))


async def list_councils() -> list[dict[str, Any]]:
    """Councils with their unit name and meetings, newest first, for the home page."""
    councils = await Council.select(
        Council.id, Council.name, Council.practice, Council.unit.name.as_alias("unit_name"),
    ).order_by(Council.id)
    meetings = await Meeting.select(
        Meeting.id, Meeting.council, Meeting.title, Meeting.kind, Meeting.starts_at,
        Meeting.place, Meeting.state,
    ).order_by(Meeting.starts_at, ascending=False)
    by_council: dict[int, list[dict[str, Any]]] = {c["id"]: [] for c in councils}
    for m in meetings:
        by_council.setdefault(m["council"], []).append(m)
    for c in councils:
        c["meetings"] = by_council[c["id"]]
    return councils


#: Older names, kept for callers outside this module.
_require_state = require_state
_require_item = require_item

__all__ = ["ItemView", "MeetingError", "MeetingView", "require_item", "require_state", "state_labels"]
