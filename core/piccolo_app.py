"""Core's Piccolo app: its tables and migrations (``yishi migrate`` runs them first)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.audit.tables import AuditEvent, AuditHead
from core.dashboard.tables import StatsBuild, StatsCategory, StatsDays, StatsMonth
from core.meetings.tables import (
    AgendaAttachment,
    AgendaItem,
    Attendance,
    HandCount,
    ItemNote,
    Meeting,
    MeetingEvent,
    Speaker,
)
from core.org.tables import Council, CouncilMember, Person, Unit

APP_CONFIG = AppConfig(
    app_name="core",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[Unit, Council, Person, CouncilMember, Meeting, AgendaItem, HandCount, ItemNote,
                   AgendaAttachment, Speaker, Attendance, MeetingEvent, AuditEvent, AuditHead,
                   StatsMonth, StatsCategory, StatsDays, StatsBuild],
    migration_dependencies=[],
    commands=[],
)
