"""The admin's plugin switches: one row per plugin an administrator switched off or on again."""

from piccolo.columns import Boolean, Timestamptz, Varchar
from piccolo.table import Table


class PluginSwitch(Table, tablename="yishi_plugin_switch"):
    """An administrator's choice for one plugin, overriding ``enabled = true`` in
    plugin_registry.toml while the app runs (core/plugin_admin/switches.py)."""

    plugin = Varchar(length=40, required=True, unique=True)
    enabled = Boolean(default=True)
    changed_at = Timestamptz()
    changed_by = Varchar(length=60, default="")
