"""The records Piccolo app: records of every kind, their signatures and events, migrated after core's
tables (councils) and the topics app."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.records.tables import Record, RecordEvent, RecordLedgerLine, RecordSignature

APP_CONFIG = AppConfig(
    app_name="records",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[Record, RecordSignature, RecordEvent, RecordLedgerLine],
    # councils and meetings; topics (records raised as topics, and a data fix of those topics)
    migration_dependencies=["core.piccolo_app", "core.topics.piccolo_app"],
    commands=[],
)
