"""Loading plugins: core's defaults, then installed packages enabled in plugin_registry.toml.

:func:`load_plugins` is the plugin-manager factory. It returns a :class:`PluginSystem` that the app,
the CLI and the tests pass around — there is no module-global plugin manager.

Discovery: core's own default plugins (:data:`DEFAULT_PLUGINS`) always load; installed packages
register a module under the entry-point group ``yishi`` and load only when plugin_registry.toml
enables them. Each plugin module declares ``meta = PluginMeta(...)``; broken metadata, an
incompatible core range, an unknown hook or a wrong hook argument, a bad spec, a missing template
(core/plugin_kit/templates.py) or a duplicate practice stops the start with a message naming the
plugin — or, with ``on_error = "skip"`` in the registry, leaves that plugin out and
records a warning that `yishi plugin list`, `yishi doctor` and the admin see.
"""

from __future__ import annotations

import importlib
import inspect
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

import core
from core import hookspecs, plugin_manifest
from core.errors import ConfigError, PluginError, read_config_toml
from core.lowcode import catalogue
from core.lowcode.catalogue import SpecCatalogue
from core.lowcode.specs import SpecError
from core.plugin_meta import PLUGIN_ID, PluginMeta
from core.practices import Practice

ENTRY_POINT_GROUP = "yishi"

#: Core's own features, registered through the same hooks as any county's plugin.
#: "core" (meetings, minutes pages) cannot be disabled; "sanfang" (三方联席会议) can.
DEFAULT_PLUGINS: tuple[str, ...] = ("core.builtin", "core.sanfang")
REQUIRED_PLUGINS = frozenset({"core"})

_REGISTRY_KEYS = {"registry", "plugins"}
_PLUGIN_KEYS = {"enabled", "settings"}


@dataclass
class PluginRecord:
    """What `yishi plugin list` shows for one plugin."""

    id: str
    source: str  # "core" or the distribution that provides the entry point
    enabled: bool
    loaded: bool
    meta: PluginMeta | None = None
    problem: str = ""


@dataclass
class PluginSystem:
    """The loaded plugins of one deployment: the pluggy manager and what the hooks declared."""

    pm: pluggy.PluginManager
    metas: dict[str, PluginMeta]
    practices: dict[str, Practice]
    plugin_settings: dict[str, dict[str, Any]]
    records: list[PluginRecord]
    warnings: list[str] = field(default_factory=list)
    specs: SpecCatalogue = field(default_factory=catalogue.core_catalogue)
    """Every form and workflow: core's shared ones and those the plugins ship."""
    disabled: frozenset[str] = frozenset()
    """Loaded plugins an administrator switched off while the app runs (/admin/plugins): their hooks
    are not called and their practices are not offered; see :meth:`set_disabled`."""
    hidden_practices: dict[str, Practice] = field(default_factory=dict)
    """The practices of disabled plugins: no longer offered, still known to their councils."""

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def call_each(self, hook_name: str, only: Iterable[str] | None = None,
                  **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a hook on each plugin separately and return ``(plugin id, result)`` pairs.

        Used where the core needs to know which plugin returned what (routes are mounted under the
        plugin's prefix; practice hooks reach only the practice's own plugin). ``only`` restricts
        the call to those plugin ids. Order is load order (core first).
        """
        hook = getattr(self.pm.hook, hook_name)
        wanted = set(only) if only is not None else None
        impls = _in_load_order(hook.get_hookimpls(), self.metas)
        out = []
        for impl in impls:
            if wanted is not None and impl.plugin_name not in wanted:
                continue
            if impl.plugin_name in self.disabled:
                continue
            args = {name: kwargs[name] for name in impl.argnames}
            result = impl.function(**args)
            if result is not None:
                out.append((impl.plugin_name, result))
        return out

    def settings_for(self, plugin_id: str) -> dict[str, Any]:
        """The ``[plugins.<id>.settings]`` table, with ``$env:NAME`` values resolved."""
        return self.plugin_settings.get(plugin_id, {})

    def practice(self, practice_id: str) -> Practice | None:
        """A practice by id — also one of a disabled plugin, whose councils and records stay."""
        return self.practices.get(practice_id) or self.hidden_practices.get(practice_id)

    def set_disabled(self, plugin_ids: Iterable[str]) -> bool:
        """Switch loaded plugins off (and every other one on again) while the app runs.

        Their hooks stop being called from here on (menu links, minutes context, transitions) and
        their practices move out of :attr:`practices` into :attr:`hidden_practices`. Routes,
        templates and static files are gated by core/plugin_admin/switches.py. ``core`` cannot be
        switched off. Returns whether anything changed.
        """
        wanted = frozenset(p for p in plugin_ids if p in self.metas and p not in REQUIRED_PLUGINS)
        if wanted == self.disabled:
            return False
        order = {pid: i for i, pid in enumerate(self.metas)}
        every = sorted({**self.practices, **self.hidden_practices}.values(),
                       key=lambda p: order.get(p.plugin, len(order)))
        self.practices.clear()
        self.hidden_practices.clear()
        for practice in every:
            (self.hidden_practices if practice.plugin in wanted else self.practices)[practice.id] = practice
        self.disabled = wanted
        return True


@dataclass
class Registry:
    """plugin_registry.toml, validated."""

    path: Path | None
    on_error: str = "fail"
    enabled: dict[str, bool] = field(default_factory=dict)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_registry(path: Path | None) -> Registry:
    """Parse and validate plugin_registry.toml; a missing file means "defaults only"."""
    if path is None or not path.exists():
        return Registry(path=None)
    where = str(path)
    data = read_config_toml(path)

    unknown = set(data) - _REGISTRY_KEYS
    if unknown:
        raise ConfigError(f"{where}: 未知的键 / unknown key(s): {', '.join(sorted(unknown))}; "
                          "只允许 / allowed: [registry], [plugins.<id>]")
    reg = Registry(path=path)
    section = data.get("registry", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [registry] 必须是表 / must be a table")
    on_error = section.get("on_error", "fail")
    if on_error not in ("fail", "skip"):
        raise ConfigError(f"{where}: registry.on_error = {on_error!r}: 只能是 / must be "
                          '"fail" (插件出错时拒绝启动) or "skip" (跳过该插件并警告)')
    reg.on_error = on_error
    plugins = data.get("plugins", {})
    if not isinstance(plugins, dict):
        raise ConfigError(f"{where}: plugins 必须是表 / must be a table: [plugins.<id>]")
    for plugin_id, entry in plugins.items():
        key = f"plugins.{plugin_id}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: {key} 必须是表 / must be a table, e.g. "
                              f"[plugins.{plugin_id}] enabled = true")
        bad = set(entry) - _PLUGIN_KEYS
        if bad:
            raise ConfigError(f"{where}: {key}: 未知的键 / unknown key(s) {', '.join(sorted(bad))}; "
                              "只允许 / allowed: enabled, settings")
        enabled = entry.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"{where}: {key}.enabled = {enabled!r}: 必须是 true 或 false / "
                              "must be true or false")
        settings = entry.get("settings", {})
        if not isinstance(settings, dict):
            raise ConfigError(f"{where}: {key}.settings 必须是表 / must be a table")
        reg.enabled[plugin_id] = enabled
        reg.settings[plugin_id] = _resolve_env(settings, f"{where}: {key}.settings")
    return reg


def _resolve_env(value: Any, where: str) -> Any:
    """Replace ``"$env:NAME"`` strings with the environment variable's value."""
    if isinstance(value, dict):
        return {k: _resolve_env(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, where) for v in value]
    if isinstance(value, str) and value.startswith("$env:"):
        name = value[5:]
        if name not in os.environ:
            raise ConfigError(f"{where} = {value!r}: 环境变量 {name} 未设置 / "
                              f"environment variable {name} is not set")
        return os.environ[name]
    return value


def validate_meta(module: ModuleType, expected_id: str | None, source: str) -> PluginMeta:
    """The module's ``meta``, checked; a plugin.toml beside the module is read first and its
    conventional hooks added to the module (:func:`core.plugin_manifest.attach`)."""
    label = expected_id or module.__name__
    try:
        plugin_manifest.attach(module)
    except SpecError as exc:
        raise PluginError(f"插件 {label} ({source}): plugin.toml 有误 / bad plugin manifest:\n{exc}") from exc
    meta = getattr(module, "meta", None)
    if not isinstance(meta, PluginMeta):
        raise PluginError(f"插件 {label} ({source}): 缺少 meta = PluginMeta(...) / "
                          "module does not declare meta = core.PluginMeta(...)")
    if not PLUGIN_ID.match(meta.id):
        raise PluginError(f"插件 {label} ({source}): meta.id = {meta.id!r} 无效 / invalid: "
                          "use 2–40 lowercase letters, digits or _ starting with a letter")
    if expected_id is not None and meta.id != expected_id:
        raise PluginError(f"插件 {label} ({source}): meta.id = {meta.id!r} 与入口点名称 "
                          f"{expected_id!r} 不一致 / does not match its entry-point name")
    if not meta.name.strip():
        raise PluginError(f"插件 {meta.id} ({source}): meta.name 为空 / is empty")
    try:
        Version(meta.version)
    except InvalidVersion as exc:
        raise PluginError(f"插件 {meta.id} ({source}): meta.version = {meta.version!r} 不是有效版本号 "
                          "/ is not a PEP 440 version") from exc
    try:
        spec = SpecifierSet(meta.core)
    except InvalidSpecifier as exc:
        raise PluginError(f"插件 {meta.id} ({source}): meta.core = {meta.core!r} 不是有效的版本范围 / "
                          'is not a version range such as ">=0.1,<0.2"') from exc
    if not spec.contains(core.__version__, prereleases=True):
        raise PluginError(f"插件 {meta.id} {meta.version} ({source}) 需要 core {meta.core}，"
                          f"当前 core 为 {core.__version__} / needs core {meta.core}, this is "
                          f"{core.__version__}: 升级插件或 Yishi / upgrade the plugin or Yishi")
    return meta


def installed_entry_points() -> dict[str, EntryPoint]:
    """Entry points in the ``yishi`` group, by name."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_plugins(registry_path: Path | None, extra_modules: Iterable[ModuleType] = (),
                 on_error: str | None = None) -> PluginSystem:
    """Build the plugin manager for a deployment.

    ``extra_modules`` registers already-imported plugin modules (used by ``yishi plugin check`` on a
    folder; tests use real entry points). Raises :class:`PluginError` or :class:`ConfigError` with a
    message naming the file, key or plugin, unless the registry says ``on_error = "skip"``.
    ``on_error`` overrides the registry's choice (``yishi plugin check`` collects every problem with
    ``"skip"``).
    """
    registry = read_registry(registry_path)
    if on_error is not None:
        registry.on_error = on_error
    where = str(registry.path or "plugin_registry.toml")
    pm = pluggy.PluginManager("yishi")
    pm.add_hookspecs(hookspecs)
    metas: dict[str, PluginMeta] = {}
    records: list[PluginRecord] = []
    warnings: list[str] = []

    def fail(message: str, record: PluginRecord) -> None:
        record.problem = message
        if registry.on_error == "skip" and record.id not in REQUIRED_PLUGINS:
            warnings.append(message + "（已跳过 / skipped）")
            return
        raise PluginError(message)

    def register(module: ModuleType, meta: PluginMeta, record: PluginRecord) -> None:
        if meta.id in metas:
            fail(f"插件 {meta.id}: 与已加载的同名插件冲突 / another plugin already uses this id", record)
            return
        try:
            pm.register(module, name=meta.id)
        except (pluggy.PluginValidationError, ValueError) as exc:
            fail(f"插件 {meta.id}: 钩子签名错误 / bad hook implementation: {exc}", record)
            return
        metas[meta.id] = meta
        record.loaded = True
        record.meta = meta

    # 1. core's own default plugins
    for dotted in DEFAULT_PLUGINS:
        module = importlib.import_module(dotted)
        meta = validate_meta(module, None, "core")
        enabled = registry.enabled.get(meta.id, True) or meta.id in REQUIRED_PLUGINS
        record = PluginRecord(id=meta.id, source="core", enabled=enabled, loaded=False, meta=meta)
        records.append(record)
        if enabled:
            register(module, meta, record)

    # 2. installed packages, by entry point, only when the registry enables them
    installed = installed_entry_points()
    for name, ep in sorted(installed.items()):
        source = ep.dist.name if ep.dist else ep.value
        enabled = registry.enabled.get(name, False)
        record = PluginRecord(id=name, source=source, enabled=enabled, loaded=False)
        records.append(record)
        if not enabled:
            continue
        try:
            module = ep.load()
        except Exception as exc:  # an import error in a plugin must name the plugin
            fail(f"插件 {name} ({source}): 无法导入 / cannot be imported: "
                 f"{type(exc).__name__}: {exc}", record)
            continue
        if not isinstance(module, ModuleType):
            fail(f"插件 {name} ({source}): 入口点必须指向模块 / entry point must name a module, "
                 f"got {ep.value}", record)
            continue
        try:
            meta = validate_meta(module, name, source)
        except PluginError as exc:
            fail(str(exc), record)
            continue
        register(module, meta, record)

    for module in extra_modules:
        record = PluginRecord(id=getattr(getattr(module, "meta", None), "id", module.__name__),
                              source=module.__name__, enabled=True, loaded=False)
        records.append(record)
        try:
            meta = validate_meta(module, None, module.__name__)
        except PluginError as exc:
            fail(str(exc), record)
            continue
        register(module, meta, record)

    # 3. the registry must not name plugins that do not exist
    known = {r.id for r in records}
    for plugin_id in registry.enabled:
        if plugin_id not in known:
            message = (f"{where}: [plugins.{plugin_id}]: 没有安装这个插件 / no such plugin is "
                       f"installed. 已安装 / installed: {', '.join(sorted(known))}. "
                       f"pip install 该插件，或删除这一节 / install it or remove the section")
            if registry.on_error == "skip":
                warnings.append(message)
            else:
                raise ConfigError(message)

    # 4. a misspelt hook name fails loudly, naming the plugin
    _check_pending(pm, registry.on_error, warnings, metas, records)

    specs = _collect_specs(pm, metas, records, fail)
    _check_templates(pm, metas, records, fail)
    practices = _collect_practices(pm, metas, records, fail, specs)
    plugin_settings = {pid: registry.settings.get(pid, {}) for pid in metas}
    return PluginSystem(pm=pm, metas=metas, practices=practices, plugin_settings=plugin_settings,
                        records=records, warnings=warnings, specs=specs)


def _check_pending(pm: pluggy.PluginManager, on_error: str, warnings: list[str],
                   metas: dict[str, PluginMeta], records: list[PluginRecord]) -> None:
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        plugin_id = pm.get_name(exc.plugin) or "?"
        message = (f"插件 {plugin_id}: 未知的钩子 / unknown hook: {exc}. "
                   "查看 docs/plugins.md 中的钩子列表 / see the hook list in docs/plugins.md")
        if on_error != "skip" or plugin_id in REQUIRED_PLUGINS:
            raise PluginError(message) from exc
        warnings.append(message + "（已跳过 / skipped）")
        pm.unregister(name=plugin_id)
        metas.pop(plugin_id, None)
        for record in records:
            if record.id == plugin_id:
                record.loaded, record.problem = False, message
        _check_pending(pm, on_error, warnings, metas, records)


def _in_load_order(impls: list[Any], metas: dict[str, PluginMeta]) -> list[Any]:
    """Hook implementations in plugin load order (core first), as ``metas`` was filled.

    pluggy lists implementations in registration order but *calls* them last-registered-first
    (and moves tryfirst/trylast ones), so neither order can be relied on: sort explicitly.
    """
    order = {pid: i for i, pid in enumerate(metas)}
    return sorted(impls, key=lambda impl: order.get(impl.plugin_name, len(order)))


def _drop(pm: pluggy.PluginManager, metas: dict[str, PluginMeta], record: PluginRecord) -> None:
    """Leave a refused plugin out whole (``on_error = "skip"``)."""
    pm.unregister(name=record.id)
    metas.pop(record.id, None)
    record.loaded = False


def _collect_specs(pm: pluggy.PluginManager, metas: dict[str, PluginMeta],
                   records: list[PluginRecord], fail: Any) -> SpecCatalogue:
    """Core's shared specs plus each plugin's ``yishi_forms`` / ``yishi_workflows`` / ``yishi_vote_rules``,
    in load order.

    A plugin with a bad spec (or one reusing an id) is refused with every problem named — file, key,
    line — or with ``on_error = "skip"`` left out whole.
    """
    specs = catalogue.core_catalogue()
    form_impls = {i.plugin_name: i for i in pm.hook.yishi_forms.get_hookimpls()}
    workflow_impls = {i.plugin_name: i for i in pm.hook.yishi_workflows.get_hookimpls()}
    rule_impls = {i.plugin_name: i for i in pm.hook.yishi_vote_rules.get_hookimpls()}
    record_impls = {i.plugin_name: i for i in pm.hook.yishi_records.get_hookimpls()}
    for plugin_id in [p for p in metas if p in form_impls or p in workflow_impls or p in rule_impls
                      or p in record_impls]:
        record = next(r for r in records if r.id == plugin_id)

        def paths(impls: dict[str, Any], pid: str = plugin_id) -> Any:
            return (impls[pid].function() or ()) if pid in impls else ()

        try:
            specs = catalogue.collect(specs, plugin_id, paths(form_impls), paths(workflow_impls), paths(rule_impls),
                                      paths(record_impls))
        except SpecError as exc:
            fail(f"插件 {plugin_id}: 表单、流程或表决规则有误 / bad form, workflow or voting rule spec:\n{exc}",
                 record)
            _drop(pm, metas, record)
    return specs


def _collect_practices(pm: pluggy.PluginManager, metas: dict[str, PluginMeta],
                       records: list[PluginRecord], fail: Any, specs: SpecCatalogue) -> dict[str, Practice]:
    """Every plugin's practices, in load order: on a clash the plugin loaded first keeps the id.

    A practice's intake form and topic workflow must exist and fit core's pages
    (:func:`core.lowcode.catalogue.practice_problems`). A plugin with a bad practice is refused, or
    with ``on_error = "skip"`` left out whole (unregistered, none of its practices kept).
    """
    practices: dict[str, Practice] = {}
    for impl in _in_load_order(pm.hook.yishi_practices.get_hookimpls(), metas):
        owner = impl.plugin_name
        record = next(r for r in records if r.id == owner)
        mine: dict[str, Practice] = {}
        problem = ""
        for practice in impl.function() or ():
            if not isinstance(practice, Practice):
                problem = (f"插件 {owner}: yishi_practices 必须返回 Practice 列表 / must return a list of "
                           f"core.practices.Practice, got {type(practice).__name__}")
                break
            if practice.id in practices:
                problem = (f"插件 {owner} 与插件 {practices[practice.id].plugin} 声明了同一个议事实践 id "
                           f"{practice.id!r} / two plugins claim the same practice id")
                break
            if practice.id in mine:
                problem = (f"插件 {owner}: 议事实践 id {practice.id!r} 声明了两次 / declares the same "
                           "practice id twice")
                break
            fitting = catalogue.practice_problems(specs, practice)
            if fitting:
                problem = f"插件 {owner}: " + "; ".join(fitting)
                break
            mine[practice.id] = Practice(**{**practice.__dict__, "plugin": owner})
        if problem:
            fail(problem, record)  # raises unless on_error = "skip"
            _drop(pm, metas, record)
            continue
        practices.update(mine)
    return practices


def _check_templates(pm: pluggy.PluginManager, metas: dict[str, PluginMeta],
                     records: list[PluginRecord], fail: Any) -> None:
    """Every template an installed plugin names must exist (core/plugin_kit/templates.py): a plugin
    that forgot one, or left it out of its package data, is refused — or with ``on_error = "skip"``
    left out whole — instead of failing on the first visit to its page."""
    from core.plugin_kit.templates import template_problems

    layers = {pid: [Path(d) for d in dirs or ()] for pid, dirs in _each(pm, metas, "yishi_template_dirs")}
    for plugin_id, meta in list(metas.items()):
        if meta.builtin:
            continue  # core's own templates are checked by core's tests
        record = next(r for r in records if r.id == plugin_id)
        problems = template_problems(plugin_id, pm.get_plugin(plugin_id), layers.get(plugin_id, []), layers)
        if problems:
            fail("\n".join(problems), record)
            _drop(pm, metas, record)
            layers.pop(plugin_id, None)


def _each(pm: pluggy.PluginManager, metas: dict[str, PluginMeta], hook_name: str) -> list[tuple[str, Any]]:
    """``(plugin id, result)`` of a no-argument hook, in load order."""
    impls = _in_load_order(getattr(pm.hook, hook_name).get_hookimpls(), metas)
    return [(impl.plugin_name, impl.function()) for impl in impls]


def describe_hooks() -> list[tuple[str, str, str]]:
    """(name, signature, docstring) for every hook spec — the source of docs/plugins.md's list."""
    out = []
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("yishi_"):
            out.append((name, f"{name}{inspect.signature(fn)}", inspect.getdoc(fn) or ""))
    return out
