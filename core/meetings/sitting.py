"""One read for each console action on an agenda item: the meeting's state, whether the item belongs
to the meeting, and the values the action compares with (outcome, timer, hand count, whether the
form's one-time key was already used).

Why: each item action used to run three separate checks (the item is the meeting's, the meeting is
in session, the nonce is new) and then a locked read of its own; on a tablet every round trip and
every query Piccolo builds is time the chair waits. The SQL is written out once, here.

Inside :func:`core.db.atomic` the same read is the write's locked read (``lock=True``): on
PostgreSQL it locks the meeting's row (``FOR NO KEY UPDATE``, which still lets other tables' rows
refer to the meeting), so the state it saw holds until the commit, and two tablets acting on the
same meeting take turns; SQLite's ``BEGIN IMMEDIATE`` already holds the write lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.i18n import _
from core.meetings.tables import Meeting

#: Tables whose rows carry a form's one-time key (``nonce``), by the name the actions use.
NONCE_TABLES = {"note": "yishi_item_note", "speaker": "yishi_speaker"}

_ITEM_SQL = (
    "SELECT m.state, m.current_position, i.id AS item, i.outcome, i.outcome_note, i.timer_elapsed,"
    " i.timer_started_at, h.yes, h.no, h.abstain,"
    " EXISTS (SELECT 1 FROM yishi_agenda_item r WHERE r.meeting = m.id AND r.timer_started_at IS NOT NULL"
    "  AND r.id <> i.id) AS others_running{seen}"
    " FROM yishi_meeting m"
    " LEFT JOIN yishi_agenda_item i ON i.id = {{}} AND i.meeting = m.id"
    " LEFT JOIN yishi_hand_count h ON h.item = i.id"
    " WHERE m.id = {{}}")
_SEEN = ", EXISTS (SELECT 1 FROM {table} WHERE nonce = {{}}) AS seen"
_QUERIES = {kind: _ITEM_SQL.format(seen=_SEEN.format(table=table)) for kind, table in NONCE_TABLES.items()}
_QUERIES[""] = _ITEM_SQL.format(seen="")
_LOCK_PG = " FOR NO KEY UPDATE OF m"

#: The meeting, whether it has an item at a position, and its running item timer (a row each if,
#: against the rules, several run).
_POSITION_SQL = (
    "SELECT m.state, m.current_position,"
    " EXISTS (SELECT 1 FROM yishi_agenda_item i WHERE i.meeting = m.id AND i.position = {}) AS found,"
    " r.id AS running, r.timer_elapsed, r.timer_started_at"
    " FROM yishi_meeting m"
    " LEFT JOIN yishi_agenda_item r ON r.meeting = m.id AND r.timer_started_at IS NOT NULL"
    " WHERE m.id = {}")


@dataclass(frozen=True)
class ItemState:
    """What one query found for ``(meeting, item)``; ``item`` is None when the item is not the meeting's."""

    state: str
    current_position: int | None
    item: int | None
    outcome: str = ""
    outcome_note: str = ""
    timer_elapsed: int = 0
    timer_started_at: datetime | None = None
    counts: dict[str, int] | None = None
    seen: bool = False
    #: Another item of the meeting has its timer running (starting this one pauses it).
    others_running: bool = True

    def require(self, message: str | None) -> None:
        """Refuse with the chair's message: an item of another meeting, or (``message``) a meeting
        not in session. ``message=None`` skips the state check (pausing a timer is always allowed)."""
        from core.meetings.services import MeetingError

        if self.item is None:
            raise MeetingError(_("这个议题不属于本次会议。"))
        if message is not None and self.state != "in_session":
            raise MeetingError(message)


def _engine_is_sqlite() -> bool:
    return Meeting._meta.db.engine_type == "sqlite"


async def item_state(meeting_id: int, item_id: int, *, nonce_of: str = "", nonce: str | None = None,
                     lock: bool = False) -> ItemState:
    """The meeting and item as one row. ``nonce_of`` (``"note"``/``"speaker"``) with ``nonce`` also
    says whether that key is already stored; ``lock=True`` inside ``db.atomic()`` locks the meeting."""
    sql = _QUERIES[nonce_of if nonce else ""]
    args: list[Any] = [nonce] if nonce else []
    if lock and not _engine_is_sqlite():
        sql += _LOCK_PG
    rows = await Meeting.raw(sql, *args, item_id, meeting_id)
    if not rows:
        return ItemState(state="", current_position=None, item=None)
    r = rows[0]
    return ItemState(
        state=r["state"], current_position=r["current_position"], item=r["item"], outcome=r["outcome"] or "",
        outcome_note=r["outcome_note"] or "", timer_elapsed=r["timer_elapsed"] or 0,
        timer_started_at=aware(r["timer_started_at"]),
        counts=None if r["yes"] is None else {"yes": r["yes"], "no": r["no"], "abstain": r["abstain"]},
        seen=bool(r.get("seen")), others_running=bool(r["others_running"]))


async def position_state(meeting_id: int, position: int, *, lock: bool = False) -> dict[str, Any] | None:
    """The meeting's state and current position, whether it has an item at ``position``, and its
    running item timers (``running``: rows of id, timer_elapsed, timer_started_at)."""
    sql = _POSITION_SQL + ("" if not lock or _engine_is_sqlite() else _LOCK_PG)
    rows = await Meeting.raw(sql, position, meeting_id)
    if not rows:
        return None
    first = rows[0]
    return {"state": first["state"], "current_position": first["current_position"], "found": bool(first["found"]),
            "running": [{"id": r["running"], "timer_elapsed": r["timer_elapsed"] or 0,
                         "timer_started_at": aware(r["timer_started_at"])} for r in rows if r["running"] is not None]}


def from_view(view: Any, item_id: int, *, nonce_of: str = "", nonce: str | None = None) -> ItemState:
    """The same facts from a :class:`~core.meetings.services.MeetingView` the caller has just loaded
    for its answer: a retried press is then recognised without a query of its own. Only a first
    look — an action that will write still takes :func:`item_state` with ``lock=True``. A nonce is
    looked for among this item's notes or speakers (the view holds no other meeting's)."""
    item = next((i for i in view.items if i.id == item_id), None)
    if item is None:
        return ItemState(state=view.state, current_position=view.meeting["current_position"], item=None)
    rows = item.notes if nonce_of == "note" else item.speakers if nonce_of == "speaker" else []
    return ItemState(
        state=view.state, current_position=view.meeting["current_position"], item=item.id, outcome=item.outcome,
        outcome_note=item.outcome_note, timer_elapsed=item.timer_elapsed, timer_started_at=item.timer_started_at,
        counts=None if item.counts is None else {"yes": item.counts.yes, "no": item.counts.no,
                                                 "abstain": item.counts.abstain},
        seen=bool(nonce) and any(r.get("nonce") == nonce for r in rows))


def aware(value: Any) -> datetime | None:
    """A timestamp from a raw query: SQLite gives text or a naive datetime (UTC), PostgreSQL an aware one."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


__all__ = ["ItemState", "aware", "from_view", "item_state", "position_state"]
