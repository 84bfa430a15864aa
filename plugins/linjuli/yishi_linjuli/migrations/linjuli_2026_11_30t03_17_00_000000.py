"""Unique and lookup indexes of the linjuli tables.

Raw statements only, in their own migration (see core/raw_migrations.py). (person, seq) is what keeps
the points ledger from ever spending the same balance twice: two lines written from the same earlier
line collide here, and the second is refused.
"""

from core.raw_migrations import raw_migration

ID = "2026-11-30T03:17:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique ledger sequence per person; one check per form nonce; lookup indexes"

STATEMENTS = (
    "CREATE UNIQUE INDEX linjuli_points_person_seq ON linjuli_points_entry (person, seq)",
    "CREATE UNIQUE INDEX linjuli_points_nonce ON linjuli_points_entry (nonce)",
    "CREATE INDEX linjuli_points_council_day ON linjuli_points_entry (council, happened_on)",
    "CREATE UNIQUE INDEX linjuli_check_nonce ON linjuli_safety_check (nonce)",
    "CREATE INDEX linjuli_check_council_day ON linjuli_safety_check (council, checked_on)",
    "CREATE INDEX linjuli_fix_council_state ON linjuli_check_fix (council, state)",
    "CREATE INDEX linjuli_fix_check ON linjuli_check_fix (safety_check)",
    "CREATE INDEX linjuli_fix_topic ON linjuli_check_fix (topic)",
)


async def forwards():
    return raw_migration(ID, "linjuli", DESCRIPTION, STATEMENTS)
