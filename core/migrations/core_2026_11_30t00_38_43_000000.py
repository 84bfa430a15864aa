"""Unique indexes for attendance (one row per person, per roster entry, per meeting) and for the
one-time keys of notes and speakers (a resent form is stored once); the meeting history by meeting.

Raw statements only, in their own migration: see core/raw_migrations.py.
"""

from core.raw_migrations import raw_migration

ID = "2026-11-30T00:38:43:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique attendance per meeting; one-time keys of notes and speakers"

STATEMENTS = (
    "CREATE UNIQUE INDEX yishi_attendance_person ON yishi_attendance (meeting, person)",
    "CREATE UNIQUE INDEX yishi_attendance_entry ON yishi_attendance (meeting, entry)",
    "CREATE UNIQUE INDEX yishi_item_note_nonce ON yishi_item_note (nonce)",
    "CREATE UNIQUE INDEX yishi_speaker_nonce ON yishi_speaker (nonce)",
    "CREATE INDEX yishi_meeting_event_meeting ON yishi_meeting_event (meeting, id)",
)


async def forwards():
    return raw_migration(ID, "core", DESCRIPTION, STATEMENTS)
