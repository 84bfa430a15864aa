"""Composite uniqueness and the foreign-key indexes Piccolo does not create by itself.

Piccolo's composite ``Unique()`` fails on SQLite; a unique index works on both engines. Kept in its
own migration: see core/raw_migrations.py.
"""

from core.raw_migrations import raw_migration

ID = "2026-11-23T17:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique seats and agenda positions; foreign-key indexes"

STATEMENTS = (
    "CREATE UNIQUE INDEX yishi_council_member_seat ON yishi_council_member (council, person)",
    "CREATE UNIQUE INDEX yishi_agenda_item_position ON yishi_agenda_item (meeting, position)",
    "CREATE INDEX yishi_meeting_council ON yishi_meeting (council, starts_at)",
    "CREATE INDEX yishi_item_note_item ON yishi_item_note (item)",
    "CREATE INDEX yishi_council_unit ON yishi_council (unit)",
    "CREATE INDEX yishi_unit_parent ON yishi_unit (parent)",
)


async def forwards():
    return raw_migration(ID, "core", DESCRIPTION, STATEMENTS)
