"""Indexes of the record engine's ledgers, follow-ups and topic links.

(kind, person, seq) unique is what keeps a ledger kind's balance from ever being spent twice: two lines
written from the same earlier line collide here and the second is refused. Raw statements only, in
their own migration: see core/raw_migrations.py.
"""

from core.raw_migrations import raw_migration

ID = "2026-11-30T05:39:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique ledger sequence per kind and person; records by parent, topic and day"

STATEMENTS = (
    "CREATE UNIQUE INDEX yishi_record_ledger_seq ON yishi_record_ledger (kind, person, seq)",
    "CREATE INDEX yishi_record_ledger_council ON yishi_record_ledger (council, kind, day)",
    "CREATE INDEX yishi_record_parent ON yishi_record (parent)",
    "CREATE INDEX yishi_record_topic ON yishi_record (topic)",
    "CREATE INDEX yishi_record_council_kind_day ON yishi_record (council, kind, day)",
)


async def forwards():
    return raw_migration(ID, "records", DESCRIPTION, STATEMENTS)
