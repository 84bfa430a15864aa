"""The accounts Piccolo app: users and sessions, migrated after core's tables."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.accounts.tables import User, UserSession

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[User, UserSession],
    migration_dependencies=["core.piccolo_app"],
    commands=[],
)
