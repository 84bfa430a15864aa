"""The linjuli Piccolo app: its tables and migrations, run by `yishi migrate` after core's."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from yishi_linjuli.tables import CheckFix, PointsEntry, SafetyCheck

APP_CONFIG = AppConfig(
    app_name="linjuli",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[SafetyCheck, CheckFix, PointsEntry],
    migration_dependencies=["core.piccolo_app", "core.residents.piccolo_app", "core.topics.piccolo_app"],
    commands=[],
)
