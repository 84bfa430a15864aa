"""Tables of the audit log: the events, and the head that points at the newest one."""

from piccolo.columns import Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

#: ``prev_hash`` of the first event, and the head's hash while the log is empty.
GENESIS_HASH = "0" * 64


class AuditEvent(Table, tablename="yishi_audit_event"):
    """One change, in the order it happened. Rows are only ever inserted, by :func:`core.audit.record`.

    ``hash`` is sha256 of ``prev_hash`` and the canonical JSON of the other fields (see
    :func:`core.audit.log.event_hash`), so editing, deleting or reordering events breaks the chain.
    ``before`` and ``after`` hold canonical JSON text written by the log itself, so they read back
    byte for byte on SQLite and PostgreSQL alike.
    """

    seq = Integer(unique=True, required=True)
    at = Timestamptz()
    actor = Varchar(length=60, required=True)
    action = Varchar(length=60, required=True)
    entity = Varchar(length=120, required=True)
    before = Text(null=True, default=None)
    after = Text(null=True, default=None)
    prev_hash = Varchar(length=64, required=True)
    hash = Varchar(length=64, required=True)


class AuditHead(Table, tablename="yishi_audit_head"):
    """A single row (id 1): ``seq`` and ``hash`` of the newest event.

    Writers lock it to take turns, and :func:`core.audit.verify` compares it with the last event, so
    deleting the newest events is noticed too.
    """

    seq = Integer(default=0)
    hash = Varchar(length=64, default=GENESIS_HASH)
