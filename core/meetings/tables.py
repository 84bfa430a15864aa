"""Tables for meetings, agenda items, show-of-hands counts and notes."""

from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.org.tables import Council


class Meeting(Table, tablename="yishi_meeting"):
    """One sitting of a council. ``state``: draft → in_session → closed."""

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


class AgendaItem(Table, tablename="yishi_agenda_item"):
    """A topic (议题) on a meeting's agenda. (meeting, position) is unique (index in migration)."""

    meeting = ForeignKey(Meeting, null=False, on_delete=OnDelete.cascade)
    position = Integer(required=True)
    title = Varchar(length=120, required=True)
    description = Text(default="")
    proposer = Varchar(length=60, default="")
    duration_minutes = Integer(default=10)


class HandCount(Table, tablename="yishi_hand_count"):
    """The show-of-hands result of an agenda item (赞成/反对/弃权). One per item (unique)."""

    item = ForeignKey(AgendaItem, null=False, unique=True, on_delete=OnDelete.cascade)
    yes = Integer(default=0)
    no = Integer(default=0)
    abstain = Integer(default=0)
    recorded_at = Timestamptz(default=TimestamptzNow())


class ItemNote(Table, tablename="yishi_item_note"):
    """A note the recorder takes on an agenda item."""

    item = ForeignKey(AgendaItem, null=False, on_delete=OnDelete.cascade)
    body = Text(required=True)
    created_at = Timestamptz(default=TimestamptzNow())
