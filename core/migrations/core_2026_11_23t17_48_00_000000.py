"""The head of the audit chain (one row: seq 0, the genesis hash) and an index on the entity.

Raw statements only, in their own migration: see core/raw_migrations.py.
"""

from core.raw_migrations import raw_migration

ID = "2026-11-23T17:48:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "seed the audit head; index audit events by entity"

STATEMENTS = (
    "INSERT INTO yishi_audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')",
    "CREATE INDEX yishi_audit_event_entity ON yishi_audit_event (entity, seq)",
)


async def forwards():
    return raw_migration(ID, "core", DESCRIPTION, STATEMENTS)
