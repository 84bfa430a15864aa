"""Topics raised from a record (a failed check's 隐患, say) name the record kind as their proposer: mark
them as not a person, so they are shown as written (安全检查) and not masked like a resident (安**查).
Runs after the topics migration that adds ``proposer_is_person`` (core's apps migrate in order).
"""

from core.raw_migrations import raw_migration

ID = "2026-11-30T08:56:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "topics raised from records: their proposer is not a person"

STATEMENTS = (
    "UPDATE yishi_topic SET proposer_is_person = false"
    " WHERE id IN (SELECT topic FROM yishi_record WHERE topic IS NOT NULL)",
)


async def forwards():
    return raw_migration(ID, "records", DESCRIPTION, STATEMENTS)
