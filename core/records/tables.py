"""One table of records for every record kind, their parties' signatures and their history.

A record keeps the values of its kind's form as JSON (with the form's id and version, so old records
stay readable after the form changes) and a ``revision`` that counts saves of those values: a party
signs one revision, and a signing link names the revision it was made for, so nobody signs a text
they did not see. One signature per party per record: a unique index in the migration.
"""

from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.meetings.tables import Meeting
from core.org.tables import Council


class Record(Table, tablename="yishi_record"):
    """One record of a kind declared with ``yishi_records``; ``state`` follows the kind's workflow."""

    council = ForeignKey(Council, null=False, on_delete=OnDelete.restrict)
    kind = Varchar(length=40, required=True)
    #: The meeting where it was taken up, if the kind says ``meeting = true`` and one was chosen.
    meeting = ForeignKey(Meeting, null=True, on_delete=OnDelete.set_null)
    state = Varchar(length=40, required=True)
    #: The kind's ``title_field`` value, kept apart for lists.
    title = Varchar(length=200, default="")
    form_id = Varchar(length=60, required=True)
    form_version = Integer(default=1)
    #: The form's values as JSON.
    data = Text(default="{}")
    #: Values of the forms filled at workflow steps (a transition's ``form``), by form id, as JSON —
    #: e.g. the 调解协议书 written when a mediation goes to 待签字.
    steps = Text(default="{}")
    revision = Integer(default=1)
    #: The one-time key of the form that created it: a retried POST finds it (unique index where set).
    nonce = Varchar(length=64, null=True, default=None)
    created_by = Varchar(length=60, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    #: The day the record is about: its kind's ``date_field`` (a check's date), for lists and month counts.
    day = Date(null=True, default=None)
    #: The record this one follows up (a checklist's failed item → its 整改 record), by id.
    parent = Integer(null=True, default=None)
    #: The council topic (议题) it was raised as (``[topic]`` of its kind), by id.
    topic = Integer(null=True, default=None)
    updated_by = Varchar(length=60, default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class RecordSignature(Table, tablename="yishi_record_signature"):
    """A party's signature on one revision: through their link, or a signed paper copy recorded."""

    record = ForeignKey(Record, null=False, on_delete=OnDelete.cascade)
    party = Varchar(length=40, required=True)
    name = Varchar(length=60, required=True)
    revision = Integer(required=True)
    #: "link" (on their own phone) or "paper" (someone recorded a signed printed copy).
    how = Varchar(length=10, required=True)
    signed_at = Timestamptz(default=TimestamptzNow())
    recorded_by = Varchar(length=60, default="")


class RecordEvent(Table, tablename="yishi_record_event"):
    """What happened to a record, for its page (the audit log keeps the same, hash-chained)."""

    record = ForeignKey(Record, null=False, on_delete=OnDelete.cascade)
    at = Timestamptz(default=TimestamptzNow())
    actor = Varchar(length=60, default="")
    #: create, edit, step, sign
    action = Varchar(length=20, required=True)
    source = Varchar(length=40, default="")
    target = Varchar(length=40, default="")
    revision = Integer(default=1)
    note = Text(default="")


class RecordLedgerLine(Table, tablename="yishi_record_ledger"):
    """A ledger kind's line (``[ledger]``): one record moves one person's running balance.

    ``seq`` numbers a person's lines in a kind 1, 2, 3 … and ``balance`` is the balance after the line;
    a unique index on (kind, person, seq) means two lines can never be written from the same earlier
    balance, so two redemptions at once cannot both spend the same points.
    """

    record = ForeignKey(Record, null=False, on_delete=OnDelete.cascade)
    kind = Varchar(length=40, required=True)
    council = Integer(required=True)
    #: The roster entry (名册) the line belongs to.
    person = Integer(required=True)
    seq = Integer(required=True)
    amount = Integer(required=True)
    balance = Integer(required=True)
    day = Date(null=True, default=None)
