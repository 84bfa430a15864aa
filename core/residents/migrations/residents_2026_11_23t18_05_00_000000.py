"""One roster entry per person per room, and the index the roster page reads by.

Piccolo's composite ``Unique()`` fails on SQLite; a unique index works on both engines. Kept in its
own migration: see core/raw_migrations.py.
"""

from core.raw_migrations import raw_migration

ID = "2026-11-23T18:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique roster entries per unit, building, 单元, room and name"

STATEMENTS = (
    "CREATE UNIQUE INDEX yishi_roster_entry_person ON yishi_roster_entry "
    "(unit, building, unit_no, room, name)",
)


async def forwards():
    return raw_migration(ID, "residents", DESCRIPTION, STATEMENTS)
