"""plugin.toml: what a plugin declares about itself, as data instead of Python boilerplate.

A plugin package may carry a ``plugin.toml`` next to the module its entry point names. It holds the
plugin's metadata (``[plugin]``), its practice (``[practice]`` with ``[[practice.roles]]``), the
permissions its roles grant (``[permissions]``) and its menu links (``[[menu]]``). Folders found
beside it by convention are handed to core too: ``forms/``, ``workflows/``, ``rules/``,
``records/``, ``templates/``, ``static/``, a ``piccolo_app.py`` module, a ``capture.toml`` (core's
meeting capture: its pages and papers) and a ``demo.toml`` (demo data in core's seed format). The
plugin's Python then holds only real behaviour: its own routes, documents and transition handlers.

The loader (:mod:`core.plugins`) calls :func:`attach` on each plugin module before it validates
``meta``: the manifest is read and validated, and the hook functions it stands for are added to the
module — each marked as a convention (``yishi_manifest = True``), so the module stays the one
plugin object pluggy knows under the plugin id. A hook the module implements itself wins over the
convention (it is left as it is, never registered twice); likewise a module-level ``meta`` wins over
``[plugin]``. A module that needs its practice or metadata in code reads them with
``MANIFEST = load_manifest(__file__)``.

A malformed manifest raises :class:`core.lowcode.specs.SpecError`: every problem is named with the
file, the key and the line, as for forms and workflows. Menu labels are Chinese msgids translated
through gettext each time the menu renders; the practice's and its roles' names are shown as core
shows any practice's. Strings in TOML are not yet extracted into the message catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from core.i18n import spec_text
from core.lowcode.specs import Problems, parse_spec, read_spec
from core.plugin_meta import PLUGIN_ID, PluginMeta, hookimpl
from core.practices import Practice, Role

MANIFEST_NAME = "plugin.toml"
#: Files found beside plugin.toml: a practice's meeting capture, and its demo data.
CAPTURE_NAME = "capture.toml"
DEMO_NAME = "demo.toml"

#: Folders (and the module) found beside plugin.toml, with the hook each one feeds.
FOLDER_HOOKS: dict[str, str] = {
    "forms": "yishi_forms",
    "workflows": "yishi_workflows",
    "rules": "yishi_vote_rules",
    "records": "yishi_records",
    "templates": "yishi_template_dirs",
    "static": "yishi_static_dirs",
}
MENU_AUDIENCES = ("all", "user", "staff", "member")
"""``who`` sees a menu link: everyone, anyone logged in, staff (an administrator or an account
attached to an org unit — the same people who see 统计), or the practice's members (an administrator
or anyone with a seat on a council run under this plugin's practice: a 三方 chair does not see
屋场恳谈会 in the menu)."""

_TOP_KEYS = {"plugin", "practice", "permissions", "menu"}
_PLUGIN_KEYS = {"id", "name", "version", "core", "description", "author"}
_PRACTICE_KEYS = {"id", "name", "description", "meeting_kinds", "identity_check", "intake_form",
                  "topic_workflow", "roles"}
_MENU_KEYS = {"href", "label", "who"}
_ROLE_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class MenuLink:
    """One ``[[menu]]`` entry: ``label`` is a Chinese msgid, translated each time the menu renders."""

    href: str
    label: str
    who: str = "all"
    #: the plugin's practice id, for ``who = "member"``
    practice: str = ""

    def shown_to(self, user: Any) -> bool:
        if self.who == "all":
            return True
        if user is None:
            return False
        if self.who == "user":
            return True
        if getattr(user, "is_admin", False):
            return True
        if self.who == "member":
            return self.practice in getattr(user, "practices", ())
        return bool(getattr(user, "unit", None))


@dataclass(frozen=True)
class Manifest:
    """A validated plugin.toml and the folders found beside it."""

    path: Path
    meta: PluginMeta
    practice: Practice | None
    permissions: dict[str, tuple[str, ...]]
    menu: tuple[MenuLink, ...]

    @property
    def folder(self) -> Path:
        return self.path.parent

    def conventions(self, package: str) -> dict[str, Callable[..., Any]]:
        """``{hook name: hook function}`` for everything this manifest and its folder declare.

        ``package`` is the dotted package the plugin module lives in (for ``piccolo_app.py``).
        """
        hooks: dict[str, Callable[..., Any]] = {}
        if self.practice is not None:
            practice = self.practice
            hooks["yishi_practices"] = lambda: [_translated(practice)]
        if self.permissions:
            grants = self.permissions
            hooks["yishi_permissions"] = lambda: dict(grants)
        if self.menu:
            hooks["yishi_menu_links"] = _menu_hook(self.menu)
        for folder, hook in FOLDER_HOOKS.items():
            if (self.folder / folder).is_dir():
                hooks[hook] = _folder_hook(self.folder / folder)
        if (self.folder / "piccolo_app.py").is_file():
            dotted = f"{package}.piccolo_app" if package else "piccolo_app"
            hooks["yishi_piccolo_apps"] = lambda: [dotted]
        capture = _capture_spec(self.folder / CAPTURE_NAME)
        if capture is not None:
            hooks |= _capture_hooks(capture)
        if (self.folder / DEMO_NAME).is_file():
            hooks["yishi_demo_data"] = _demo_hook(self.folder / DEMO_NAME, capture)
        for name, function in hooks.items():
            function.__name__ = function.__qualname__ = name
            function.__doc__ = f"{name}, from {self.path.name} and the folders beside it (core.plugin_manifest)."
            function.yishi_manifest = True  # type: ignore[attr-defined]
            hookimpl(function)
        return hooks


def _translated(practice: Practice) -> Practice:
    """The practice as this deployment reads it: the manifest keeps the Chinese msgids (it is read once
    per process and cached with the module), the hook translates them each time the plugins load."""
    return replace(practice, name=spec_text(practice.name), description=spec_text(practice.description),
                   roles=tuple(replace(role, label=spec_text(role.label)) for role in practice.roles))


def _capture_spec(path: Path) -> Any:
    """capture.toml (core's meeting capture, docs/capture.md), read and checked as the plugin loads —
    a misspelt form or workflow id stops the plugin at start, naming the file and the key; None
    without one."""
    if not path.is_file():
        return None
    from core.topics.capture_spec import load_capture_file

    return load_capture_file(path)


def _capture_hooks(spec: Any) -> dict[str, Callable[..., Any]]:
    """The capture's pages under /p/<practice>/ and its papers (交办单, 回音表 …) as meeting documents."""

    def yishi_routes() -> list[Any]:
        from core.topics.capture_routes import capture_routes

        return capture_routes(spec)

    def yishi_documents() -> list[Any]:
        from core.topics.capture_documents import capture_documents

        return capture_documents(spec)

    return {"yishi_routes": yishi_routes, "yishi_documents": yishi_documents}


def _demo_hook(path: Path, capture: Any) -> Callable[[Any], Any]:
    """demo.toml: the practice's demo data in core's seed format (docs/records.md), with the meeting
    capture's ``[capture]`` table when the plugin has a capture.toml (docs/capture.md)."""

    async def yishi_demo_data(settings: Any) -> None:
        if capture is None:
            from core.records.seed import load_seed

            await load_seed(path, settings)
            return
        from core.topics.capture_seed import load_capture_seed

        await load_capture_seed(path, capture, settings)

    return yishi_demo_data


def _folder_hook(path: Path) -> Callable[[], list[Path]]:
    return lambda: [path]


def _menu_hook(links: tuple[MenuLink, ...]) -> Callable[[Any], list[dict[str, str]]]:
    def yishi_menu_links(request: Any) -> list[dict[str, str]]:
        from core.i18n import _

        user = request.scope.get("yishi_user")
        return [{"href": link.href, "label": _(link.label)} for link in links if link.shown_to(user)]

    return yishi_menu_links


def manifest_path(where: str | Path | ModuleType) -> Path | None:
    """The plugin.toml beside a module (or a module's file, or in a folder), if there is one."""
    if isinstance(where, ModuleType):
        file = getattr(where, "__file__", None)
        if not file:
            return None
        where = file
    where = Path(where)
    path = where / MANIFEST_NAME if where.is_dir() else where.parent / MANIFEST_NAME
    return path if path.is_file() else None


def load_manifest(where: str | Path) -> Manifest:
    """The manifest beside ``where`` (a plugin module's ``__file__``, a folder or plugin.toml itself).

    Raises :class:`SpecError` naming the file, key and line of every problem.
    """
    where = Path(where)
    path = where if where.name == MANIFEST_NAME else manifest_path(where)
    if path is None:
        path = (where if where.is_dir() else where.parent) / MANIFEST_NAME
    path = path.resolve() if path.exists() else path
    stat = path.stat() if path.exists() else None
    return _load(str(path), stat.st_mtime_ns if stat else 0, stat.st_size if stat else 0)


@lru_cache(maxsize=64)
def _load(path: str, _mtime: int, _size: int) -> Manifest:
    text = read_spec(Path(path), source=path)
    data = parse_spec(text, path)
    return _validate(Path(path), data, Problems(path, text))


def attach(module: ModuleType) -> Manifest | None:
    """Add the conventional hooks of the module's plugin.toml to the module; None without one.

    A hook function or ``meta`` the module defines itself is kept. Raises :class:`SpecError` for a
    malformed manifest.
    """
    path = manifest_path(module)
    if path is None:
        return None
    manifest = load_manifest(path)
    if not isinstance(getattr(module, "meta", None), PluginMeta):
        module.meta = manifest.meta  # type: ignore[attr-defined]
    package = module.__name__ if hasattr(module, "__path__") else (module.__package__ or "")
    for name, function in manifest.conventions(package).items():
        own = getattr(module, name, None)
        if own is None or getattr(own, "yishi_manifest", False):
            setattr(module, name, function)
    return manifest


# -------------------------------------------------------------------------------------------------
# validation
# -------------------------------------------------------------------------------------------------


def _validate(path: Path, data: dict[str, Any], problems: Problems) -> Manifest:
    locate = problems.locate
    for key in sorted(set(data) - _TOP_KEYS):
        problems.add(key, locate.top_key(key) or locate.table_key(key),
                     f"未知的键，只允许 {', '.join(sorted(_TOP_KEYS))}",
                     f"unknown key; allowed: {', '.join(sorted(_TOP_KEYS))}")
    meta = _plugin(data.get("plugin"), problems)
    practice = _practice(data.get("practice"), meta, problems)
    permissions = _permissions(data.get("permissions"), problems)
    menu = _menu(data.get("menu"), problems, practice.id if practice else "")
    problems.raise_if_any()
    assert meta is not None
    return Manifest(path=path, meta=meta, practice=practice, permissions=permissions, menu=menu)


def _unknown(table: dict[str, Any], allowed: set[str], prefix: str, line: Callable[[str], int | None],
             problems: Problems) -> None:
    for key in sorted(set(table) - allowed):
        problems.add(f"{prefix}.{key}", line(key), f"未知的键，只允许 {', '.join(sorted(allowed))}",
                     f"unknown key; allowed: {', '.join(sorted(allowed))}")


def _text(table: dict[str, Any], key: str, prefix: str, line: Callable[[str], int | None],
          problems: Problems, *, required: bool = False, default: str = "") -> str:
    value = table.get(key)
    if value is None:
        if required:
            problems.add(f"{prefix}.{key}", line(key) if prefix else None, f"缺少 {key}", f"missing {key}")
        return default
    if not isinstance(value, str) or (required and not value.strip()):
        problems.add(f"{prefix}.{key}", line(key), f"必须是非空文字（用英文双引号括起来），现为 {value!r}",
                     f"must be a non-empty string in double quotes, got {value!r}")
        return default
    return value


def _plugin(table: Any, problems: Problems) -> PluginMeta | None:
    locate = problems.locate
    if not isinstance(table, dict):
        problems.add("plugin", locate.top_key("plugin") if table is not None else None,
                     "缺少 [plugin] 表（id、name、version、core）",
                     "missing the [plugin] table (id, name, version, core)")
        return None

    def line(key: str) -> int | None:
        return locate.table_key("plugin", key)

    _unknown(table, _PLUGIN_KEYS, "plugin", line, problems)
    values = {key: _text(table, key, "plugin", line, problems, required=True)
              for key in ("id", "name", "version", "core")}
    values.update({key: _text(table, key, "plugin", line, problems) for key in ("description", "author")})
    if values["id"] and not PLUGIN_ID.match(values["id"]):
        problems.add("plugin.id", line("id"), "插件 id 须为 2–40 个小写字母、数字或下划线，以字母开头",
                     "use 2–40 lowercase letters, digits or _ starting with a letter")
    if values["version"]:
        try:
            Version(values["version"])
        except InvalidVersion:
            problems.add("plugin.version", line("version"), f"{values['version']!r} 不是有效版本号，如 \"0.1.0\"",
                         'not a PEP 440 version such as "0.1.0"')
    if values["core"]:
        try:
            SpecifierSet(values["core"])
        except InvalidSpecifier:
            problems.add("plugin.core", line("core"), f"{values['core']!r} 不是有效的版本范围，如 \">=0.1,<0.2\"",
                         'not a version range such as ">=0.1,<0.2"')
    return PluginMeta(**values)


def _practice(table: Any, meta: PluginMeta | None, problems: Problems) -> Practice | None:
    locate = problems.locate
    if table is None:
        return None
    if not isinstance(table, dict):
        problems.add("practice", locate.top_key("practice"), "必须是表 [practice]", "must be a table: [practice]")
        return None

    def line(key: str) -> int | None:
        return locate.table_key("practice", key)

    _unknown(table, _PRACTICE_KEYS, "practice", line, problems)
    fallback = meta or PluginMeta(id="", name="", version="0", core="")
    practice_id = _text(table, "id", "practice", line, problems, default=fallback.id)
    if "id" in table and practice_id and not PLUGIN_ID.match(practice_id):
        problems.add("practice.id", line("id"), "议事实践 id 须为 2–40 个小写字母、数字或下划线，以字母开头",
                     "use 2–40 lowercase letters, digits or _ starting with a letter")
    values: dict[str, Any] = {
        "id": practice_id,
        "name": _text(table, "name", "practice", line, problems, default=fallback.name),
        "description": _text(table, "description", "practice", line, problems, default=fallback.description),
    }
    for key in ("identity_check", "intake_form", "topic_workflow"):
        if key in table:
            values[key] = _text(table, key, "practice", line, problems, required=True)
    kinds = table.get("meeting_kinds")
    if kinds is not None:
        if (not isinstance(kinds, list) or not kinds
                or not all(isinstance(kind, str) and kind.strip() for kind in kinds)):
            problems.add("practice.meeting_kinds", line("meeting_kinds"),
                         f"必须是非空的文字列表，如 [\"议事会\"]，现为 {kinds!r}",
                         f'must be a non-empty list of strings such as ["议事会"], got {kinds!r}')
        else:
            values["meeting_kinds"] = tuple(kinds)
    values["roles"] = _roles(table.get("roles"), problems)
    return Practice(**values)


def _roles(items: Any, problems: Problems) -> tuple[Role, ...]:
    locate = problems.locate
    if items is None:
        return ()
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        problems.add("practice.roles", locate.table_key("practice", "roles"),
                     "必须写成 [[practice.roles]] 表（id、label）",
                     "must be [[practice.roles]] tables with id and label")
        return ()
    roles: list[Role] = []
    for index, item in enumerate(items):
        def line(key: str, index: int = index) -> int | None:
            return locate.array_item("practice.roles", index, key)

        prefix = f"practice.roles[{index + 1}]"
        _unknown(item, {"id", "label"}, prefix, line, problems)
        role_id = _text(item, "id", prefix, line, problems, required=True)
        label = _text(item, "label", prefix, line, problems, required=True)
        if role_id and not _ROLE_ID.match(role_id):
            problems.add(f"{prefix}.id", line("id"), "角色 id 须为小写字母、数字或下划线，以字母开头",
                         "use lowercase letters, digits or _ starting with a letter")
        elif role_id in {role.id for role in roles}:
            problems.add(f"{prefix}.id", line("id"), f"角色 id {role_id!r} 重复", f"role id {role_id!r} is used twice")
        elif role_id and label:
            roles.append(Role(role_id, label))
    return tuple(roles)


def _permissions(table: Any, problems: Problems) -> dict[str, tuple[str, ...]]:
    locate = problems.locate
    if table is None:
        return {}
    if not isinstance(table, dict):
        problems.add("permissions", locate.top_key("permissions"), "必须是表 [permissions]：角色 = [权限, …]",
                     "must be a table [permissions]: role = [permission, …]")
        return {}
    grants: dict[str, tuple[str, ...]] = {}
    for role, perms in table.items():
        if not isinstance(perms, list) or not all(isinstance(p, str) and p.strip() for p in perms):
            problems.add(f"permissions.{role}", locate.table_key("permissions", role),
                         f"必须是权限名列表，如 [\"meeting.view\"]，现为 {perms!r}",
                         f'must be a list of permission names such as ["meeting.view"], got {perms!r}')
            continue
        grants[role] = tuple(perms)
    return grants


def _menu(items: Any, problems: Problems, practice: str) -> tuple[MenuLink, ...]:
    locate = problems.locate
    if items is None:
        return ()
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        problems.add("menu", locate.top_key("menu") or locate.table_key("menu"),
                     "必须写成 [[menu]] 表（href、label、who）", "must be [[menu]] tables with href, label and who")
        return ()
    links = []
    for index, item in enumerate(items):
        def line(key: str, index: int = index) -> int | None:
            return locate.array_item("menu", index, key)

        prefix = f"menu[{index + 1}]"
        _unknown(item, _MENU_KEYS, prefix, line, problems)
        href = _text(item, "href", prefix, line, problems, required=True)
        label = _text(item, "label", prefix, line, problems, required=True)
        who = item.get("who", "all")
        if href and not href.startswith("/"):
            problems.add(f"{prefix}.href", line("href"), f"链接必须以 / 开头，如 \"/p/插件id/\"，现为 {href!r}",
                         f'the link must start with /, e.g. "/p/<plugin id>/", got {href!r}')
        if who not in MENU_AUDIENCES:
            problems.add(f"{prefix}.who", line("who"),
                         f"只能是 \"all\"（所有人）、\"user\"（已登录）、\"staff\"（工作人员）"
                         f"或 \"member\"（本实践议事机构的成员），现为 {who!r}",
                         f'must be "all", "user" (logged in), "staff" or "member" (of a council of this '
                         f"practice), got {who!r}")
        elif who == "member" and not practice:
            problems.add(f"{prefix}.who", line("who"),
                         "who = \"member\" 需要本插件在 [practice] 中声明议事实践",
                         'who = "member" needs the plugin to declare its practice in [practice]')
        elif href and label:
            links.append(MenuLink(href=href, label=label, who=who, practice=practice))
    return tuple(links)
