"""The topics Piccolo app: the closed loop's tables, migrated after core, accounts and residents."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.topics.tables import Department, Rating, StoredFile, Submission, Task, TaskReport, Topic, TopicEvent

APP_CONFIG = AppConfig(
    app_name="topics",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[Submission, StoredFile, Topic, TopicEvent, Department, Task, TaskReport, Rating],
    migration_dependencies=["core.piccolo_app", "core.residents.piccolo_app"],
    commands=[],
)
