"""Switching a loaded plugin off and on while the app runs, from the admin page /admin/plugins.

plugin_registry.toml says which installed plugins a deployment loads (their code is imported, their
routes mounted, at start). An administrator may then switch a loaded plugin off without a restart:
the choice is a row of ``yishi_plugin_switch`` (audited), and every server process applies it within
:data:`REFRESH_SECONDS` (the process that made the change at once):

- :func:`plugin_switch_guard` answers 404 under ``/p/<id>/`` and ``/static/plugins/<id>/``;
- :meth:`core.plugins.PluginSystem.set_disabled` stops calling its hooks (menu links, minutes
  context, transitions) and stops offering its practices;
- its template folders leave the template lookup (an override of a core page goes with them);
- the permissions it grants to roles (``yishi_permissions``) are withdrawn, as after a restart with
  the plugin off: a 巷导 no longer reads the council's topics through the 街巷议事会 plugin's grant.

Nothing is deleted: its tables, councils, topics and meetings stay, and switching it on again
brings everything back. A plugin the registry does not enable is not loaded, so it cannot be
switched on here: the page says what to add to plugin_registry.toml and that a restart is needed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException
from litestar.handlers.base import BaseRouteHandler

from core import audit, db
from core.errors import YishiError
from core.i18n import _
from core.plugin_admin.tables import PluginSwitch
from core.plugins import REQUIRED_PLUGINS, PluginSystem

logger = logging.getLogger(__name__)

#: How stale another process's view of the switches may be.
REFRESH_SECONDS = 2.0


class SwitchError(YishiError):
    """A switch the admin may not flip (core itself, a plugin that is not loaded)."""


@dataclass
class PluginSwitches:
    """One app's view of the switches: which loaded plugins are off, refreshed from the database."""

    plugins: PluginSystem
    loader: Any = None  # the Jinja LayeredLoader, whose layers follow the switches
    jinja: Any = None
    #: called after the set of switched-off plugins changed (the app rebuilds its role grants)
    on_change: Any = None
    checked_at: float = -1e9
    _layers: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.loader is not None:
            self._layers = list(self.loader.layers)

    async def refresh(self, force: bool = False) -> None:
        """Read the switches if the last read is older than :data:`REFRESH_SECONDS`."""
        now = time.monotonic()
        if not force and now - self.checked_at < REFRESH_SECONDS:
            return
        self.checked_at = now
        try:
            rows = await PluginSwitch.select(PluginSwitch.plugin).where(PluginSwitch.enabled == False)  # noqa: E712
        except Exception:  # a database hiccup must not take every page down: keep the last view
            logger.exception("could not read the plugin switches; keeping the last known state")
            return
        self.apply({row["plugin"] for row in rows})

    def apply(self, disabled: set[str]) -> None:
        if not self.plugins.set_disabled(disabled):
            return
        if self.loader is not None:
            off = self.plugins.disabled
            self.loader.layers = [(name, layer) for name, layer in self._layers if name not in off]
            self.loader.by_name = dict(self.loader.layers)
            if self.jinja is not None and self.jinja.cache is not None:
                self.jinja.cache.clear()  # compiled templates remember which layer they came from
        if self.on_change is not None:
            self.on_change()

    def off(self, path: str) -> bool:
        """Whether ``path`` belongs to a plugin that is switched off."""
        for plugin_id in self.plugins.disabled:
            meta = self.plugins.metas[plugin_id]
            for prefix in (meta.url_prefix, meta.static_prefix):
                if prefix and (path == prefix or path.startswith(prefix + "/")):
                    return True
        return False


async def plugin_switch_guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """An app-wide guard: a switched-off plugin's pages and files answer 404 for everyone."""
    switches: PluginSwitches | None = connection.app.state.get("plugin_switches")
    if switches is None or connection.app.state.get("engine") is None:
        return  # an app without a database (a plugin's own unit tests): nothing can be switched off
    await switches.refresh()
    if switches.off(connection.scope["path"]):
        raise NotFoundException(_("这个插件已被管理员停用，页面暂不可用。"))


async def set_enabled(switches: PluginSwitches, plugin_id: str, enabled: bool, actor: str) -> bool:
    """Switch a loaded plugin on or off, with its audit event; returns whether anything changed.

    Two administrators may press the same switch at the same instant (two server processes, or a
    retried press). The change is a compare-and-set, so both presses succeed, the row ends in one
    state and only the press that changed it is audited:

    - switching off a plugin nobody switched before inserts its row with ``ON CONFLICT DO NOTHING``
      (SQLite and PostgreSQL): of two such presses one inserts, the other finds the row and moves on;
    - otherwise the row is updated only if it still holds the other state
      (``UPDATE … WHERE enabled = <the other state> RETURNING``), which PostgreSQL re-checks once the
      competing transaction has committed; SQLite's ``BEGIN IMMEDIATE`` queues writers anyway.

    A plugin without a row is on (plugin_registry.toml enabled it), so switching it on changes nothing.
    """
    plugins = switches.plugins
    if plugin_id in REQUIRED_PLUGINS:
        raise SwitchError(_("议事核心不能停用。"))
    if plugin_id not in plugins.metas:
        raise SwitchError(_("插件 {plugin} 没有加载：先在 plugin_registry.toml 中启用它并重启服务。").format(
            plugin=plugin_id))
    now = datetime.now(UTC)
    async with db.atomic():
        changed = False if enabled else await _insert_switched_off(plugin_id, now, actor)
        if not changed:
            changed = bool(await PluginSwitch.update(
                {PluginSwitch.enabled: enabled, PluginSwitch.changed_at: now, PluginSwitch.changed_by: actor},
            ).where((PluginSwitch.plugin == plugin_id) & (PluginSwitch.enabled == (not enabled)))
                .returning(PluginSwitch.id))
        if not changed:
            return False
        await audit.record(actor=actor, action="plugin.enabled" if enabled else "plugin.disabled",
                           entity=f"plugin:{plugin_id}", before={"enabled": not enabled},
                           after={"enabled": enabled})
    await switches.refresh(force=True)
    return True


async def _insert_switched_off(plugin_id: str, now: datetime, actor: str) -> bool:
    """The first switch-off of a plugin: its row, unless another press inserted it first."""
    inserted = await PluginSwitch.insert(
        PluginSwitch(plugin=plugin_id, enabled=False, changed_at=now, changed_by=actor),
    ).on_conflict(target=PluginSwitch.plugin, action="DO NOTHING").returning(PluginSwitch.id)
    return bool(inserted)


async def switch_rows() -> dict[str, dict[str, Any]]:
    """Every switch row by plugin id: enabled, changed_at, changed_by."""
    rows = await PluginSwitch.select(PluginSwitch.plugin, PluginSwitch.enabled, PluginSwitch.changed_at,
                                     PluginSwitch.changed_by)
    return {row["plugin"]: row for row in rows}
