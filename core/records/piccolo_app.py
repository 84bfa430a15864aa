"""The records Piccolo app: records of every kind, their signatures and events, migrated after core's
tables (councils)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.records.tables import Record, RecordEvent, RecordLedgerLine, RecordSignature

APP_CONFIG = AppConfig(
    app_name="records",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[Record, RecordSignature, RecordEvent, RecordLedgerLine],
    migration_dependencies=["core.piccolo_app"],  # councils and meetings
    commands=[],
)
