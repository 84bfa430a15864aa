"""/admin/plugins: the administrator sees every installed plugin — version, practices, state,
problems — and switches loaded plugins off and on (core/plugin_admin/switches.py)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core.accounts.permissions import current_user
from core.i18n import _
from core.plugin_admin.switches import PluginSwitches, SwitchError, set_enabled, switch_rows
from core.plugins import REQUIRED_PLUGINS, PluginSystem
from core.web import form_of, plugins_of, see_other

#: The plugin administrators' own permission: no role grants it and the path names no council, so only
#: administrators pass (core.accounts.permissions.ADMIN_PERMISSIONS; tests/test_route_permissions.py
#: keeps the list of such permissions in ADMIN_ONLY).
MANAGE = "plugins.manage"


class PluginAdminController(Controller):
    path = "/admin/plugins"
    opt = {"permission": MANAGE}  # noqa: RUF012 — Litestar reads it as a class attribute

    @get("", name="plugins_admin")
    async def index(self, request: Request) -> Template:
        return Template("admin/plugins.html", context=await _context(request))

    @post("/{plugin_id:str}/enabled", name="plugins_admin_enabled")
    async def enabled(self, request: Request, plugin_id: FromPath[str]) -> Redirect | Template:
        actor = await current_user(request)
        assert actor is not None
        choice = (await form_of(request)).get("enabled", "")
        error = ""
        if choice not in ("0", "1"):
            error = _("请求有误：请用页面上的“启用”或“停用”按钮。")
        else:
            try:
                await set_enabled(_switches(request), plugin_id, choice == "1", actor.actor)
            except SwitchError as exc:
                error = str(exc)
        if error:
            return Template("admin/plugins.html", status_code=422, context=await _context(request, error=error))
        return see_other("/admin/plugins")


def _switches(request: Request) -> PluginSwitches:
    return request.app.state.plugin_switches


async def _context(request: Request, error: str = "") -> dict[str, Any]:
    switches = _switches(request)
    await switches.refresh(force=True)
    rows = await switch_rows()
    names = await _usernames([row["changed_by"] for row in rows.values()])
    plugins = plugins_of(request)
    return {"plugins": [_row(plugins, record, rows.get(record.id), names) for record in plugins.records],
            "warnings": plugins.warnings, "error": error, "registry": plugins_registry_name(request)}


def _row(plugins: PluginSystem, record: Any, switch: dict[str, Any] | None, names: dict[str, str]) -> dict[str, Any]:
    practices = [p for p in [*plugins.practices.values(), *plugins.hidden_practices.values()]
                 if p.plugin == record.id]
    if record.loaded and record.id in plugins.disabled:
        state, label = "off", _("已停用")
    elif record.loaded:
        state, label = "on", _("已启用")
    elif record.problem:
        state, label = "broken", _("出错，未加载")
    else:
        state, label = "absent", _("未在登记表中启用")
    return {
        "id": record.id, "name": record.meta.name if record.meta else "", "source": record.source,
        "version": record.meta.version if record.meta else _dist_version(record.source), "practices": practices,
        "state": state, "label": label, "problem": record.problem,
        "required": record.id in REQUIRED_PLUGINS,
        "changed_by": names.get(switch["changed_by"], switch["changed_by"]) if switch else "",
        "changed_at": switch["changed_at"] if switch else None,
    }


def _dist_version(distribution: str) -> str:
    """The installed version of a plugin that was not loaded (its meta was never imported)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except (PackageNotFoundError, ValueError):
        return ""


async def _usernames(actors: list[str]) -> dict[str, str]:
    """``user:3`` → the account's name, for "who switched it"."""
    from core.accounts.tables import User

    ids = [int(a[5:]) for a in actors if a.startswith("user:") and a[5:].isdigit()]
    if not ids:
        return {}
    users = await User.select(User.id, User.username, User.display_name).where(User.id.is_in(ids))
    return {f"user:{u['id']}": f"{u['display_name']}（{u['username']}）" for u in users}


def plugins_registry_name(request: Request) -> str:
    path = request.app.state.settings.plugin_registry
    return str(path) if path else "plugin_registry.toml"
