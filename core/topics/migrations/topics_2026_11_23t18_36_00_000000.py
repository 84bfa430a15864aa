"""Indexes the council's topic list, the units' task lists and the follow pages read by.

Raw statements only, in their own migration: see core/raw_migrations.py.
"""

from core.raw_migrations import raw_migration

ID = "2026-11-23T18:36:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for topics by council and state, tasks by unit and deadline, history by topic"

STATEMENTS = (
    "CREATE INDEX yishi_topic_council_state ON yishi_topic (council, state)",
    "CREATE INDEX yishi_topic_proposer ON yishi_topic (proposer_entry)",
    "CREATE INDEX yishi_topic_event_topic ON yishi_topic_event (topic, id)",
    "CREATE INDEX yishi_task_topic ON yishi_task (topic)",
    "CREATE INDEX yishi_task_department_deadline ON yishi_task (department, deadline)",
    "CREATE INDEX yishi_task_report_task ON yishi_task_report (task, id)",
    "CREATE INDEX yishi_rating_topic ON yishi_rating (topic, id)",
    "CREATE UNIQUE INDEX yishi_department_name ON yishi_department (council, name)",
)


async def forwards():
    return raw_migration(ID, "topics", DESCRIPTION, STATEMENTS)
