"""Unit codes are unique where set; the rollup is keyed by council and month, read by month range.

Raw statements only, in their own migration: see core/raw_migrations.py.
"""

from core.raw_migrations import raw_migration

ID = "2026-11-30T02:56:27:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique unit codes; rollup indexes"

STATEMENTS = (
    "CREATE UNIQUE INDEX yishi_unit_code ON yishi_unit (code) WHERE code <> ''",
    "CREATE UNIQUE INDEX yishi_stats_month_key ON yishi_stats_month (council, month)",
    "CREATE UNIQUE INDEX yishi_stats_category_key ON yishi_stats_category (council, month, category)",
    "CREATE UNIQUE INDEX yishi_stats_days_key ON yishi_stats_days (council, month, days)",
    # Covering indexes, council first: the root's all-council rows (council NULL), a subtree's
    # councils and a whole county's councils in order are each read from the index alone.
    "CREATE INDEX yishi_stats_month_read ON yishi_stats_month (council, month, meetings, raised, solved,"
    " overdue, satisfied, basic, unsatisfied)",
    "CREATE INDEX yishi_stats_category_read ON yishi_stats_category (council, month, category, raised, solved,"
    " overdue, satisfied, basic, unsatisfied)",
    "CREATE INDEX yishi_stats_days_read ON yishi_stats_days (council, month, days, n)",
)


async def forwards():
    return raw_migration(ID, "core", DESCRIPTION, STATEMENTS)
