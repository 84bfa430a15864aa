"""The plugin_admin Piccolo app: the administrator's plugin switches (/admin/plugins)."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.plugin_admin.tables import PluginSwitch

APP_CONFIG = AppConfig(
    app_name="plugin_admin",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[PluginSwitch],
    migration_dependencies=[],
    commands=[],
)
