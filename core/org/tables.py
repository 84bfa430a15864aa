"""Tables for units (组织单元), councils (议事机构), people and council members."""

from piccolo.columns import ForeignKey, Integer, OnDelete, Text, Varchar
from piccolo.table import Table


class Unit(Table, tablename="yishi_unit"):
    """A node of the tree 区/县 → 街道/镇 → 社区/村 → 小区/片区/网格 → 楼栋/单元."""

    name = Varchar(length=100, required=True)
    kind = Varchar(length=20, required=True)
    parent = ForeignKey("self", null=True, on_delete=OnDelete.restrict)
    #: The unit's code (编码, e.g. the civil-affairs division code) used by imports to name a parent;
    #: "" when none. Unique where set (index in migration).
    code = Varchar(length=40, default="")


class Council(Table, tablename="yishi_council"):
    """A standing body on a unit, run under one practice (a plugin's practice id)."""

    name = Varchar(length=100, required=True)
    unit = ForeignKey(Unit, null=False, on_delete=OnDelete.restrict)
    practice = Varchar(length=40, required=True)
    description = Text(default="")
    #: Quorum: more than this fraction of members must be present (过半数 by default).
    quorum = Varchar(length=10, default="1/2")


class Person(Table, tablename="yishi_person"):
    """Someone who takes part: a member, a resident, a staff member of a responsible unit."""

    name = Varchar(length=50, required=True)
    phone = Varchar(length=20, default="")


class CouncilMember(Table, tablename="yishi_council_member"):
    """A person's seat on a council: a role and the body they speak for (业委会, 物业 …).

    One seat per person per council: a unique index in the migration.
    """

    council = ForeignKey(Council, null=False, on_delete=OnDelete.cascade)
    person = ForeignKey(Person, null=False, on_delete=OnDelete.restrict)
    role = Varchar(length=30, required=True)
    affiliation = Varchar(length=60, default="")
    position = Integer(default=0)
