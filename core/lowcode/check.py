"""`yishi plugin check [PATH]`: validate spec files before a deployment loads them.

Without PATH: the plugins of this deployment (metadata, hooks, practices — everything
``load_plugins`` checks) and core's shared forms and workflows. With PATH (a file or a folder):
every ``*.toml`` under it, read as a form (it has ``fields``), a workflow (it has ``states`` or
``transitions``) or a voting rule (``participation`` / ``approval``), workflows checked against the
shared forms and the forms found beside them.
A plugin package folder (a pyproject.toml with ``[project.entry-points.yishi]``) is checked whole
(:func:`check_plugin_folder`): package data, metadata and the core range, hook names and arguments,
specs, practices, templates and route permissions.
Every problem is printed with its file, key and line, in Chinese and English.
"""

from __future__ import annotations

import fnmatch
import importlib
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

from core.errors import YishiError
from core.lowcode.forms import load_form_file
from core.lowcode.registry import forms_root, shared_forms
from core.lowcode.specs import SpecError, parse_spec, read_spec
from core.lowcode.workflow import load_workflow_file
from core.lowcode.workflows import CORE_GUARDS, shared_workflows
from core.plugin_manifest import MANIFEST_NAME
from core.voting.loader import load_rule_file, shared_rules


def spec_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        return sorted(p for p in path.rglob("*.toml") if p.name != "pyproject.toml" and ".venv" not in p.parts)
    raise YishiError(f"{path}: 文件或文件夹不存在 / no such file or folder")


def check_path(path: Path) -> Iterator[tuple[str, str]]:
    """(file, problem) for every problem found; nothing when all specs are valid."""
    files = spec_files(path)
    kinds: dict[Path, str] = {}
    form_ids = set(shared_forms())
    for file in files:
        if file.name == MANIFEST_NAME:
            yield from _manifest_problems(file)
            continue
        try:
            data = parse_spec(read_spec(file), str(file))
        except SpecError as exc:
            yield from ((str(file), str(p)) for p in exc.problems)
            continue
        if "fields" in data:
            kinds[file] = "form"
        elif "states" in data or "transitions" in data:
            kinds[file] = "workflow"
        elif "participation" in data or "approval" in data or "unanimity" in data:
            kinds[file] = "rule"
        elif "form" in data and ("workflow" in data or "practices" in data):  # a record kind may have no workflow
            kinds[file] = "record"
        elif data and set(data) <= {"units", "councils", "people", "members", "meetings", "records"}:
            continue  # demo data for core.records.seed.load_seed, read when `yishi demo` seeds
        else:
            yield str(file), (f"{file}: 既不是表单（没有 fields）、流程（没有 states/transitions），也不是表决规则"
                              "（没有 participation/approval） / neither a form (no fields), a workflow (no "
                              "states/transitions) nor a voting rule (no participation/approval)")
    for file, kind in kinds.items():
        if kind == "form":
            try:
                form_ids.add(load_form_file(file).id)
            except SpecError as exc:
                yield from ((str(file), str(p)) for p in exc.problems)
    for file, kind in kinds.items():
        if kind == "rule":
            try:
                load_rule_file(file)
            except SpecError as exc:
                yield from ((str(file), str(p)) for p in exc.problems)
    for file, kind in kinds.items():
        if kind == "workflow":
            try:
                load_workflow_file(file, known_guards=CORE_GUARDS, known_forms=form_ids)
            except SpecError as exc:
                yield from ((str(file), str(p)) for p in exc.problems)
    if "record" in kinds.values():
        yield from _check_records(kinds)


def _manifest_problems(file: Path) -> Iterator[tuple[str, str]]:
    """A plugin's plugin.toml (core/plugin_manifest.py), each problem with its key and line."""
    from core.plugin_manifest import load_manifest

    try:
        load_manifest(file)
    except SpecError as exc:
        yield from ((str(file), str(p)) for p in exc.problems)


def _check_records(kinds: dict[Path, str]) -> Iterator[tuple[str, str]]:
    """Record kinds (docs/records.md), checked against the shared specs and the forms and workflows
    found beside them."""
    from core.records.spec import load_record_file

    forms, workflows = shared_forms(), dict(shared_workflows())
    for file, kind in kinds.items():
        if kind == "form":
            try:
                spec = load_form_file(file)
                forms[spec.id] = spec
            except SpecError:
                pass  # reported above
    for file, kind in kinds.items():
        if kind == "workflow":
            try:
                flow = load_workflow_file(file, known_guards=CORE_GUARDS, known_forms=set(forms))
                workflows[flow.id] = flow
            except SpecError:
                pass  # reported above; a record kind naming it says so below
    for file, kind in kinds.items():
        if kind == "record":
            try:
                load_record_file(file, forms=forms, workflows=workflows)
            except SpecError as exc:
                yield from ((str(file), str(p)) for p in exc.problems)


def check_installed() -> Iterator[tuple[str, str]]:
    """Core's shared specs (the plugins themselves are checked by load_plugins in the CLI)."""
    try:
        shared_forms()
        shared_workflows()
        shared_rules()
    except SpecError as exc:
        yield from ((p.file, str(p)) for p in exc.problems)
    yield from check_path(Path(str(forms_root())))


def plugin_entry_points(folder: Path) -> dict[str, str] | None:
    """``{plugin id: module}`` from a folder's pyproject.toml, or None if it is no plugin package."""
    pyproject = folder / "pyproject.toml"
    if not folder.is_dir() or not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    points = data.get("project", {}).get("entry-points", {}).get("yishi")
    return dict(points) if isinstance(points, dict) and points else None


def check_plugin_folder(folder: Path) -> Iterator[tuple[str, str]]:
    """(file, problem) for a plugin package folder, as the app would see it once installed.

    The package is imported from the folder (not from wherever it may be installed) and loaded
    beside core's plugins with every problem collected instead of stopping at the first one.
    """
    from core.errors import PluginError
    from core.plugins import load_plugins

    pyproject = str(folder / "pyproject.toml")
    points = plugin_entry_points(folder)
    if points is None:
        yield pyproject, (f"{folder}: 不是插件包：pyproject.toml 中没有 [project.entry-points.yishi] / not a plugin "
                          "package: pyproject.toml has no [project.entry-points.yishi]")
        return
    yield from _package_data_problems(folder)
    modules = []
    packages = {value.partition(":")[0].partition(".")[0] for value in points.values()}
    sys.path.insert(0, str(folder))
    before = _forget(packages)  # a copy installed elsewhere, or imported by the caller, steps aside
    try:
        for plugin_id, value in points.items():
            try:
                modules.append(importlib.import_module(value.partition(":")[0]))
            except Exception as exc:  # a plugin author's import error, named with the plugin
                yield pyproject, (f"插件 {plugin_id}: 无法导入 {value} / cannot be imported: "
                                  f"{type(exc).__name__}: {exc}")
        if len(modules) < len(points):
            yield from check_path(folder)
            return
        yield from ((pyproject, problem) for problem in _core_range_problems(modules))
        yield from ((pyproject, problem) for problem in _hook_problems(modules))
        plugins = load_plugins(None, extra_modules=modules, on_error="skip")
        for plugin_id, value in points.items():
            meta = getattr(sys.modules.get(value.partition(":")[0]), "meta", None)
            if meta is not None and getattr(meta, "id", plugin_id) != plugin_id:
                yield pyproject, (f"插件 {plugin_id}: meta.id = {meta.id!r} 与入口点名称 {plugin_id!r} 不一致 / "
                                  "does not match its entry-point name")
        found = [warning.removesuffix(SKIPPED) for warning in plugins.warnings]
        found += [problem for problem in _template_problems(modules, plugins) if problem not in "\n".join(found)]
        yield from ((pyproject, problem) for problem in found)
        if not found:
            try:
                from core.app import create_app
                from core.settings import Settings

                create_app(Settings.from_env(), plugins)
            except PluginError as exc:
                yield pyproject, str(exc)
    finally:
        sys.path.remove(str(folder))
        _forget(packages)
        sys.modules.update(before)
        importlib.invalidate_caches()


SKIPPED = "（已跳过 / skipped）"


def _core_range_problems(modules: list) -> list[str]:
    """The core-range problem of each module, reported once; the module's meta then claims this core
    for the rest of the check (the module was imported for the check alone) so that everything else
    is checked too."""
    import dataclasses

    import core
    from core.errors import PluginError
    from core.plugin_meta import PluginMeta
    from core.plugins import validate_meta

    problems = []
    for module in modules:
        meta = getattr(module, "meta", None)
        if not isinstance(meta, PluginMeta):
            continue
        try:
            validate_meta(module, None, module.__name__)
        except PluginError as exc:
            if "needs core" not in str(exc):
                continue  # load_plugins reports it
            problems.append(str(exc))
            module.meta = dataclasses.replace(meta, core=f"=={core.__version__}")
    return problems


def _template_problems(modules: list, plugins: object) -> list[str]:
    """Missing templates and Jinja syntax errors (load_plugins looks for names only, and not at all in a
    plugin it refused earlier, for a bad spec say)."""
    from core.plugin_kit.templates import template_problems

    layers = {pid: [Path(d) for d in dirs] for pid, dirs in plugins.call_each("yishi_template_dirs")}
    problems = []
    for module in modules:
        hook = getattr(module, "yishi_template_dirs", None)
        meta = getattr(module, "meta", None)
        if meta is None or hook is None:
            continue
        own = [Path(d) for d in hook() or ()]
        problems += template_problems(meta.id, module, own, {**layers, meta.id: own}, syntax=True)
    return problems


def _hook_problems(modules: list) -> list[str]:
    """Each hook implementation with a name no hook has, or an argument its hook does not have,
    named with the plugin and the hook; it is then taken off the module (imported for the check
    alone) so that pluggy checks the rest of the plugin instead of refusing it whole."""
    import inspect

    from core import hookspecs

    problems = []
    for module in modules:
        label = getattr(getattr(module, "meta", None), "id", module.__name__)
        for name, function in list(vars(module).items()):
            if not callable(function) or not hasattr(function, "yishi_impl"):
                continue
            spec = getattr(hookspecs, name, None)
            if spec is None or not hasattr(spec, "yishi_spec"):
                problems.append(f"插件 {label}: 未知的钩子 / unknown hook: {name} — 查看 docs/plugins.md 中的钩子列表 "
                                "/ see the hook list in docs/plugins.md")
                delattr(module, name)
                continue
            allowed = set(inspect.signature(spec).parameters)
            extra = [arg for arg in inspect.signature(function).parameters if arg not in allowed]
            if extra:
                problems.append(f"插件 {label}: 钩子 {name} 的参数 {', '.join(extra)} 不存在 / hook {name} has no "
                                f"argument(s) {', '.join(extra)}; 可用 / available: "
                                f"{', '.join(sorted(allowed)) or '（无 / none）'}")
                delattr(module, name)
    return problems


def _forget(packages: set[str]) -> dict[str, object]:
    """Take the packages' modules out of ``sys.modules``; returns them so they can be put back."""
    gone = {}
    for name in list(sys.modules):
        if name.partition(".")[0] in packages:
            gone[name] = sys.modules.pop(name)
    return gone


def _package_data_problems(folder: Path) -> Iterator[tuple[str, str]]:
    """Files a setuptools build would leave out: templates, specs and static files not matched by
    ``[tool.setuptools.package-data]`` install without them, and the plugin's pages fail."""
    data = tomllib.loads((folder / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = data.get("tool", {}).get("setuptools")
    if not isinstance(setuptools, dict) or not isinstance(setuptools.get("packages"), list):
        return  # another build backend or automatic discovery: its own rules apply
    package_data = setuptools.get("package-data", {})
    for package in setuptools["packages"]:
        root = folder / package.replace(".", "/")
        patterns = [*package_data.get(package, []), *package_data.get("*", [])]
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root).as_posix()
            if path.suffix in {".py", ".pyc"} or "__pycache__" in path.parts:
                continue
            if not any(fnmatch.fnmatch(relative, pattern) for pattern in patterns):
                folder_glob = relative.rsplit("/", 1)[0] + "/*" if "/" in relative else "*"
                yield str(path), (f"{path}: 不在 pyproject.toml 的 [tool.setuptools.package-data] 中，"
                                  "安装后会缺少这个文件 / not listed in package-data: an installed plugin would "
                                  f'lack it (add a pattern such as "{folder_glob}{path.suffix}" for {package})')
