"""Tables for meetings: agenda items and their attachments, show-of-hands counts, notes, speakers,
attendance (签到) and the history of each meeting's steps through its workflow.

Composite uniqueness (one attendance row per person per meeting, a client's one-time key per note)
is a unique index in the migrations: Piccolo's composite ``Unique()`` fails on SQLite.
"""

from piccolo.columns import Boolean, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.org.tables import Council, Person


class Meeting(Table, tablename="yishi_meeting"):
    """One sitting of a council. ``state`` follows the ``meeting`` workflow (forms/workflows/meeting.toml):
    draft → notified → in_session → closed → approved → published, or cancelled."""

    council = ForeignKey(Council, null=False, on_delete=OnDelete.restrict)
    kind = Varchar(length=30, required=True)
    title = Varchar(length=120, required=True)
    place = Varchar(length=120, default="")
    starts_at = Timestamptz(required=True)
    state = Varchar(length=20, default="draft")
    #: Position of the agenda item under discussion; null before the meeting opens.
    current_position = Integer(null=True, default=None)
    opened_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    #: Residents are welcome (公开会议): the notice says so and residents may sign in by QR code.
    is_open = Boolean(default=False)
    #: Bumped by every change to the agenda, so an edit made on a stale page is refused, not applied.
    agenda_revision = Integer(default=0)
    #: A recurring meeting (邻聚力·月月谈): the rule, e.g. "monthly:1:fri" (每月第一个星期五), and the
    #: id of the first meeting of its series (null for a one-off).
    recurrence = Varchar(length=40, default="")
    series = Integer(null=True, default=None)


class AgendaItem(Table, tablename="yishi_agenda_item"):
    """A topic (议题) on a meeting's agenda. (meeting, position) is unique (index in migration)."""

    meeting = ForeignKey(Meeting, null=False, on_delete=OnDelete.cascade)
    position = Integer(required=True)
    title = Varchar(length=120, required=True)
    description = Text(default="")
    proposer = Varchar(length=60, default="")
    duration_minutes = Integer(default=10)
    #: What the meeting did with it: "" (not yet), consensus (协商一致), vote (表决), deferred (暂缓),
    #: followup (会后交办).
    outcome = Varchar(length=20, default="")
    outcome_note = Text(default="")
    #: The per-item timer: seconds used before the current run, and when the current run started.
    timer_elapsed = Integer(default=0)
    timer_started_at = Timestamptz(null=True, default=None)


class HandCount(Table, tablename="yishi_hand_count"):
    """The show-of-hands result of an agenda item (赞成/反对/弃权). One per item (unique)."""

    item = ForeignKey(AgendaItem, null=False, unique=True, on_delete=OnDelete.cascade)
    yes = Integer(default=0)
    no = Integer(default=0)
    abstain = Integer(default=0)
    recorded_at = Timestamptz(default=TimestamptzNow())


class ItemNote(Table, tablename="yishi_item_note"):
    """A note the recorder takes on an agenda item. ``nonce``: the form's one-time key (unique), so a
    note resent on weak Wi-Fi is stored once."""

    item = ForeignKey(AgendaItem, null=False, on_delete=OnDelete.cascade)
    body = Text(required=True)
    created_at = Timestamptz(default=TimestamptzNow())
    nonce = Varchar(length=64, null=True, default=None)


class AgendaAttachment(Table, tablename="yishi_agenda_attachment"):
    """A file on an agenda item (a photo, a quotation as PDF), stored by its SHA-256 (core.topics.storage)."""

    item = ForeignKey(AgendaItem, null=False, on_delete=OnDelete.cascade)
    sha256 = Varchar(length=64, required=True)
    name = Varchar(length=120, required=True)
    kind = Varchar(length=20, required=True)
    size = Integer(required=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Speaker(Table, tablename="yishi_speaker"):
    """Someone on an item's speakers list (发言登记). ``state``: waiting → speaking → done."""

    item = ForeignKey(AgendaItem, null=False, on_delete=OnDelete.cascade)
    name = Varchar(length=50, required=True)
    affiliation = Varchar(length=60, default="")
    position = Integer(required=True)
    state = Varchar(length=10, default="waiting")
    created_at = Timestamptz(default=TimestamptzNow())
    nonce = Varchar(length=64, null=True, default=None)


class Attendance(Table, tablename="yishi_attendance"):
    """Who is at a meeting (签到). A council member (``person``) or a resident from the roster
    (``entry``, a residents.RosterEntry id) — one row each per meeting (unique indexes).

    ``status``: present (出席), absent (缺席), excused (请假), proxy (委托出席, ``proxy_name`` attends
    for them). ``method``: recorder (marked on the tablet) or qr (signed in by scanning the code).
    """

    meeting = ForeignKey(Meeting, null=False, on_delete=OnDelete.cascade)
    person = ForeignKey(Person, null=True, on_delete=OnDelete.restrict)
    entry = Integer(null=True, default=None)
    name = Varchar(length=50, required=True)
    status = Varchar(length=10, required=True)
    proxy_name = Varchar(length=50, default="")
    method = Varchar(length=10, default="recorder")
    updated_at = Timestamptz(default=TimestamptzNow())
    updated_by = Varchar(length=60, default="")


class MeetingEvent(Table, tablename="yishi_meeting_event"):
    """One step of a meeting through its workflow, with who, when and — for an override — why."""

    meeting = ForeignKey(Meeting, null=False, on_delete=OnDelete.cascade)
    transition = Varchar(length=40, required=True)
    from_state = Varchar(length=30, default="")
    to_state = Varchar(length=30, required=True)
    reason = Text(default="")
    actor = Varchar(length=60, default="")
    at = Timestamptz(default=TimestamptzNow())
