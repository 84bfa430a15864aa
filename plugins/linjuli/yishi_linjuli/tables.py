"""The plugin's own tables (Piccolo app "linjuli"): rental-safety checks, their follow-ups, and the
volunteer points ledger (志愿服务积分).

Everything else — rosters of landlords and tenants, meetings, topics, tasks for the police and the
grid workers — is core's.
"""

from piccolo.columns import Date, ForeignKey, Integer, OnDelete, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.org.tables import Council
from core.residents.tables import RosterEntry
from core.topics.tables import Topic


class SafetyCheck(Table, tablename="linjuli_safety_check"):
    """One rental-safety inspection (出租屋安全检查) of one building, filled in with the TOML form
    ``linjuli_anquan``; ``data`` is the validated submission (form id, version, values) as JSON."""

    council = ForeignKey(Council, null=False, on_delete=OnDelete.cascade)
    #: The building as the roster names it, e.g. "华侨新村12栋".
    building = Varchar(length=20, required=True)
    checked_on = Date(required=True)
    inspector = Varchar(length=40, default="")
    passed = Integer(default=0)
    failed = Integer(default=0)
    data = Text(required=True)
    actor = Varchar(length=60, default="")
    #: The form's one-time key: a retried post finds the check it already made.
    nonce = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class CheckFix(Table, tablename="linjuli_check_fix"):
    """A failed checklist item to be put right (整改), until someone records that it was."""

    safety_check = ForeignKey(SafetyCheck, null=False, on_delete=OnDelete.cascade)
    council = ForeignKey(Council, null=False, on_delete=OnDelete.cascade)
    building = Varchar(length=20, required=True)
    #: The checklist field's name and label, e.g. "gas" / "液化气瓶".
    item = Varchar(length=40, required=True)
    label = Varchar(length=60, required=True)
    problem = Text(default="")
    state = Varchar(length=10, default="open")
    fixed_on = Date(null=True, default=None)
    fixed_note = Text(default="")
    fixed_by = Varchar(length=60, default="")
    #: The council's topic (议题) this hazard was turned into, to assign it to the police or the grid
    #: through core's closed loop; when that topic is 已办结, the follow-up closes with it.
    topic = ForeignKey(Topic, null=True, on_delete=OnDelete.set_null)


class PointsEntry(Table, tablename="linjuli_points_entry"):
    """One line of the volunteer points ledger: points earned (+) or redeemed (−) by a landlord or
    tenant on the roster.

    ``seq`` numbers a person's lines 1, 2, 3 … and ``balance`` is the balance after the line. A unique
    index on (person, seq) means two lines can never be written from the same earlier balance, so
    two redemptions at once cannot both spend the same points; the code refuses any line that would
    leave ``balance`` below zero.
    """

    council = ForeignKey(Council, null=False, on_delete=OnDelete.cascade)
    person = ForeignKey(RosterEntry, null=False, on_delete=OnDelete.restrict)
    seq = Integer(required=True)
    points = Integer(required=True)
    balance = Integer(required=True)
    reason = Varchar(length=100, required=True)
    happened_on = Date(required=True)
    actor = Varchar(length=60, default="")
    nonce = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
