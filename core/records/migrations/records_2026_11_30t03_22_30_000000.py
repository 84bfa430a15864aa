"""Indexes of the records app: one signature per party per record, one record per form nonce, and
the council's list by kind and state.

Raw statements only, in their own migration: see core/raw_migrations.py.
"""

from core.raw_migrations import raw_migration

ID = "2026-11-30T03:22:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique signatures per party, unique form nonces, records by council, kind and state"

STATEMENTS = (
    "CREATE UNIQUE INDEX yishi_record_signature_party ON yishi_record_signature (record, party)",
    "CREATE UNIQUE INDEX yishi_record_nonce ON yishi_record (nonce)",
    "CREATE INDEX yishi_record_council_kind_state ON yishi_record (council, kind, state)",
    "CREATE INDEX yishi_record_event_record ON yishi_record_event (record, id)",
)


async def forwards():
    return raw_migration(ID, "records", DESCRIPTION, STATEMENTS)
