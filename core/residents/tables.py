"""The roster (名册): who may take part in a scope, each with a personal link. App "residents"."""

from piccolo.columns import Boolean, ForeignKey, Integer, Numeric, OnDelete, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from core.org.tables import Unit


class RosterEntry(Table, tablename="yishi_roster_entry"):
    """A resident, owner, landlord or tenant of a unit (usually the 小区), by building and room.

    The personal link is never stored: it is derived from ``id`` and ``token_generation`` with the
    deployment's secret (see core.residents.tokens). Re-issuing bumps the generation, so every
    older link and printed slip stops working at once. (unit, building, unit_no, room, name) is
    unique: a unique index in the migration.
    """

    unit = ForeignKey(Unit, null=False, on_delete=OnDelete.restrict)
    name = Varchar(length=50, required=True)
    #: 户号, as the property company or the community writes it.
    household = Varchar(length=30, default="")
    #: 楼栋, e.g. "3栋".
    building = Varchar(length=20, default="")
    #: 单元, e.g. "2".
    unit_no = Varchar(length=10, default="")
    room = Varchar(length=20, required=True)
    #: The last four digits of the phone on file, or empty.
    phone_last4 = Varchar(length=4, default="")
    #: owner (业主) / tenant (租户) / landlord (房东) / resident (居民).
    kind = Varchar(length=20, default="resident")
    #: 专有部分面积 in m², for votes weighted by area; null when not known or not an owner.
    area = Numeric(digits=(10, 2), null=True, default=None)
    token_generation = Integer(default=1)
    revoked = Boolean(default=False)
    created_at = Timestamptz(default=TimestamptzNow())
