"""Meeting operations: read a meeting with its agenda, open, step, record, close.

Every state change is a single conditional UPDATE or an upsert, so a request retried on weak
Wi-Fi does not apply twice, and two tablets acting at once cannot leave the meeting in a state
neither of them chose. Each change and its audit event are written in one transaction; a retry
that changes nothing records nothing.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from core import audit, db, events
from core.i18n import _
from core.lowcode.workflow import TransitionRefused
from core.meetings import lifecycle, sitting
from core.meetings.handcount import Counts
from core.meetings.sitting import aware as _aware
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


#: Each item's speakers (in list order) and files (in upload order) as two JSON arrays, so the
#: whole meeting is one query. The JSON functions differ: SQLite orders through a subquery,
#: PostgreSQL inside the aggregate (and gives NULL, not [], for none).
_ITEM_EXTRAS = {
    "sqlite": (
        ", (SELECT json_group_array(json_object('id', s.id, 'name', s.name, 'affiliation', s.affiliation,"
        " 'state', s.state, 'nonce', s.nonce)) FROM (SELECT id, name, affiliation, state, nonce FROM yishi_speaker"
        " WHERE item = i.id ORDER BY position, id) s) AS \"item.speakers\""
        ", (SELECT json_group_array(json_object('id', a.id, 'name', a.name, 'kind', a.kind, 'size', a.size))"
        " FROM (SELECT id, name, kind, size FROM yishi_agenda_attachment WHERE item = i.id ORDER BY id) a)"
        " AS \"item.attachments\""),
    "postgres": (
        ", (SELECT json_agg(json_build_object('id', s.id, 'name', s.name, 'affiliation', s.affiliation,"
        " 'state', s.state, 'nonce', s.nonce) ORDER BY s.position, s.id) FROM yishi_speaker s WHERE s.item = i.id)"
        " AS \"item.speakers\""
        ", (SELECT json_agg(json_build_object('id', a.id, 'name', a.name, 'kind', a.kind, 'size', a.size)"
        " ORDER BY a.id) FROM yishi_agenda_attachment a WHERE a.item = i.id) AS \"item.attachments\""),
}


def _meeting_sql(engine_type: str) -> str:
    """The meeting, its council, and its agenda with each item's hand count, notes, speakers and
    files, in one query (the meeting repeats on every row, an item once per note). Written out once
    from the tables' own columns: building this with Piccolo's select (nested output) cost ~0.7 ms
    of CPU per request, and every separate query is another trip to the database (a thread hop on
    SQLite)."""
    return (
        f"SELECT {_columns(Meeting, 'm', exclude=('council',))}, "
        f"{_columns(Council, 'c', prefix='council.', exclude=('description',))},"
        ' i.id AS "item.id", i.position AS "item.position", i.title AS "item.title",'
        ' i.description AS "item.description", i.proposer AS "item.proposer",'
        ' i.duration_minutes AS "item.duration_minutes", i.outcome AS "item.outcome",'
        ' i.outcome_note AS "item.outcome_note", i.timer_elapsed AS "item.timer_elapsed",'
        ' i.timer_started_at AS "item.timer_started_at", h.yes AS "item.yes", h.no AS "item.no",'
        ' h.abstain AS "item.abstain", n.id AS "note.id", n.body AS "note.body",'
        ' n.created_at AS "note.created_at", n.nonce AS "note.nonce"'
        f"{_ITEM_EXTRAS['sqlite' if engine_type == 'sqlite' else 'postgres']}"
        " FROM yishi_meeting m JOIN yishi_council c ON c.id = m.council"
        " LEFT JOIN yishi_agenda_item i ON i.meeting = m.id"
        " LEFT JOIN yishi_hand_count h ON h.item = i.id"
        " LEFT JOIN yishi_item_note n ON n.item = i.id"
        " WHERE m.id = {} ORDER BY i.position, n.id")


_MEETING_SQL = {kind: _meeting_sql(kind) for kind in ("sqlite", "postgres")}


async def load_meeting(meeting_id: int, with_members: bool = False) -> MeetingView | None:
    """The meeting, its council and agenda with counts, notes, speakers and files, in one query."""
    rows = await Meeting.raw(_MEETING_SQL["sqlite" if Meeting._meta.db.engine_type == "sqlite" else "postgres"],
                             meeting_id)
    if not rows:
        return None
    row: dict[str, Any] = {}
    council: dict[str, Any] = {}
    for key, value in rows[0].items():
        if key.startswith("council."):
            council[key[len("council."):]] = value
        elif not key.startswith(("item.", "note.")):
            row[key] = value
    views: list[ItemView] = []
    for r in rows:
        if r["item.id"] is None:
            continue
        if not views or views[-1].id != r["item.id"]:
            views.append(ItemView(id=r["item.id"], position=r["item.position"], title=r["item.title"],
                                  description=r["item.description"], proposer=r["item.proposer"],
                                  duration_minutes=r["item.duration_minutes"], outcome=r["item.outcome"] or "",
                                  outcome_note=r["item.outcome_note"] or "",
                                  timer_elapsed=r["item.timer_elapsed"] or 0,
                                  timer_started_at=_aware(r["item.timer_started_at"]),
                                  counts=None if r["item.yes"] is None else Counts(r["item.yes"], r["item.no"],
                                                                                   r["item.abstain"]),
                                  speakers=_json_list(r["item.speakers"]),
                                  attachments=_json_list(r["item.attachments"])))
        if r["note.id"] is not None:
            views[-1].notes.append({"id": r["note.id"], "item": r["item.id"], "body": r["note.body"],
                                    "created_at": r["note.created_at"], "nonce": r["note.nonce"]})
    members: list[dict[str, Any]] = []
    if with_members:
        members = await CouncilMember.select(
            CouncilMember.role, CouncilMember.affiliation, CouncilMember.person.name.as_alias("name"),
        ).where(CouncilMember.council == council["id"]).order_by(CouncilMember.position)
    return MeetingView(meeting=row, council=council, items=views, members=members)


def _json_list(value: Any) -> list[dict[str, Any]]:
    """A JSON array column: text on both engines (asyncpg has no json codec set), NULL for none."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str | bytes) else list(value)


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


#: The writes of the hottest console actions, written out once (Piccolo builds each ORM query anew,
#: which costs more than SQLite running it).
_SET_POSITION = "UPDATE yishi_meeting SET current_position = {} WHERE id = {}"
_UPSERT_HANDS = (
    'INSERT INTO yishi_hand_count (item, "yes", "no", abstain, recorded_at) VALUES ({}, {}, {}, {}, {})'
    ' ON CONFLICT (item) DO UPDATE SET "yes" = excluded."yes", "no" = excluded."no",'
    " abstain = excluded.abstain, recorded_at = excluded.recorded_at")
_OUTCOME_IS_VOTE = "UPDATE yishi_agenda_item SET outcome = 'vote' WHERE id = {} AND outcome = ''"
_INSERT_NOTE = ("INSERT INTO yishi_item_note (item, body, created_at, nonce) VALUES ({}, {}, {}, {})"
                " ON CONFLICT (nonce) DO NOTHING RETURNING id")


async def go_to_item(meeting_id: int, position: int, actor: str) -> None:
    """Make the item at ``position`` the current one (the item timer that was running pauses).
    Idempotent: the target is explicit. One locked read checks the item, the state and the current
    position, and finds the running timer."""
    async with db.atomic():
        row = await sitting.position_state(meeting_id, position, lock=True)
        if row is None or not row["found"]:
            raise MeetingError(_("没有这个议题，议程可能已被修改，请刷新页面。"))
        if row["state"] != "in_session":
            raise MeetingError(_("会议不在进行中，不能切换议题。"))
        if row["current_position"] == position:
            return
        await Meeting.raw(_SET_POSITION, position, meeting_id)
        await lifecycle.stop_timers(meeting_id, datetime.now(UTC), running=row["running"])
        await audit.record(actor=actor, action="meeting.item_changed", entity=f"meeting:{meeting_id}",
                           before={"current_position": row["current_position"]},
                           after={"current_position": position})
        events.changed(f"meeting:{meeting_id}", "item", {"current_position": position})


async def record_hand_count(meeting_id: int, item_id: int, counts: Counts, actor: str,
                            known: MeetingView | None = None) -> bool:
    """Store (or correct) the show-of-hands result of an item while the meeting is in session. The
    same count again (a retried press) is found by one read — or from ``known``, the meeting as the
    caller has just loaded it — and writes nothing. False only when that first look showed nothing
    to do (``known`` is then still current)."""
    message = _("会议不在进行中，不能记录表决结果。")
    after = {"yes": counts.yes, "no": counts.no, "abstain": counts.abstain}
    found = sitting.from_view(known, item_id) if known else await sitting.item_state(meeting_id, item_id)
    found.require(message)
    if found.counts == after:
        return False
    async with db.atomic():
        found = await sitting.item_state(meeting_id, item_id, lock=True)  # the state holds until commit
        found.require(message)
        if found.counts == after:
            return True  # someone else changed it meanwhile: the caller reads again
        await HandCount.raw(_UPSERT_HANDS, item_id, counts.yes, counts.no, counts.abstain, datetime.now(UTC))
        # A show of hands is a vote: the item's outcome says so unless the chair chose another.
        await AgendaItem.raw(_OUTCOME_IS_VOTE, item_id)
        await audit.record(actor=actor, action="item.hands_recorded", entity=f"agenda_item:{item_id}",
                           before=found.counts, after=after)
        events.changed(f"meeting:{meeting_id}", "hands", {"item": item_id})
    return True


async def add_note(meeting_id: int, item_id: int, body: str, actor: str, nonce: str | None = None,
                   known: MeetingView | None = None) -> bool:
    """Append the recorder's note to an item (False only when the first look showed the note already
    stored, so ``known`` is still current). ``nonce`` is the form's
    one-time key: a note resent on weak Wi-Fi (same key) is stored once — found by the read that
    checks the item and the meeting's state (or in ``known``, the meeting as the caller has just
    loaded it), and enforced by a unique index."""
    message = _("会议不在进行中，不能添加记录。")
    found = (sitting.from_view(known, item_id, nonce_of="note", nonce=nonce) if known
             else await sitting.item_state(meeting_id, item_id, nonce_of="note", nonce=nonce))
    found.require(message)
    if found.seen:
        return False
    async with db.atomic():
        (await sitting.item_state(meeting_id, item_id, lock=True)).require(message)
        # Two tablets resending the same form at once: the unique index keeps one, the other adds nothing.
        rows = await ItemNote.raw(_INSERT_NOTE, item_id, body, datetime.now(UTC), nonce)
        if not rows:
            return True  # someone else changed it meanwhile: the caller reads again
        await audit.record(actor=actor, action="item.note_added", entity=f"agenda_item:{item_id}",
                           after={"note": rows[0]["id"], "body": body})
        events.changed(f"meeting:{meeting_id}", "note", {"item": item_id})
    return True


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
