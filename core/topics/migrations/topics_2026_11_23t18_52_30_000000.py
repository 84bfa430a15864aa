"""A submission's one-time key is unique (NULLs apart): a unique index, in its own migration
(see core/raw_migrations.py)."""

from core.raw_migrations import raw_migration

ID = "2026-11-23T18:52:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique submission nonce"

STATEMENTS = ("CREATE UNIQUE INDEX yishi_submission_nonce ON yishi_submission (nonce)",)


async def forwards():
    return raw_migration(ID, "topics", DESCRIPTION, STATEMENTS)
