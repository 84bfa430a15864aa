"""The linjuli Piccolo app: only migrations now. Its checks, follow-ups and points live in core's
record engine (Piccolo app ``records``); the last migration copies the rows of the plugin's former
tables there and leaves those tables as they were, read-only (docs/practices/linjuli.md)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

APP_CONFIG = AppConfig(
    app_name="linjuli",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[],
    migration_dependencies=["core.piccolo_app", "core.residents.piccolo_app", "core.topics.piccolo_app",
                            "core.records.piccolo_app"],
    commands=[],
)
