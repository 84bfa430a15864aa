"""The residents Piccolo app: the roster, migrated after core's and the accounts' tables."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.residents.tables import RosterEntry

APP_CONFIG = AppConfig(
    app_name="residents",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[RosterEntry],
    migration_dependencies=["core.piccolo_app", "core.accounts.piccolo_app"],
    commands=[],
)
