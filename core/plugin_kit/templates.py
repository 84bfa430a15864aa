"""Does every template a plugin refers to exist? Checked when the plugins load and by
`yishi plugin check`, so a missing template stops the start naming the plugin and the file,
instead of a 500 on the first visit to the page.

A plugin refers to templates in two places: its Python code (``Template("x/index.html")``,
``HTMXTemplate(template_name=…)`` with a literal name) and its own templates (``{% extends %}``,
``{% include %}``, ``{% import %}``, ``{% from … import %}``). Each name must be found where the app
would look: the plugin layers and core's templates (``core:``/``<plugin id>:`` pick one layer;
``theme:`` names depend on the deployment's theme and are not checked). Names computed at run time
cannot be checked and are skipped.

At load the names are found with two regular expressions (a full parse of every plugin's Python and
templates would add most of a second to every start); ``yishi plugin check`` also parses each
template, to report Jinja syntax errors with their line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType

from jinja2 import Environment, TemplateSyntaxError

from core.templating import CORE_TEMPLATES

#: ``Template("x.html"`` / ``HTMXTemplate(template_name="x.html"`` with a literal name, in Python.
PYTHON_REFERENCE = re.compile(r"""\b(?:HTMX)?Template\(\s*(?:template_name\s*=\s*)?(["'])([^"'\n]+)\1""")
#: ``{% extends "x" %}``, ``{% include "x" %}`` (not ``ignore missing``), ``{% import "x" as m %}``,
#: ``{% from "x" import m %}`` with a literal name, in a template.
JINJA_REFERENCE = re.compile(
    r"""\{%-?\s*(?:extends|include|import|from)\s+(["'])([^"'\n]+)\1(?![^%]*ignore\s+missing)""")


def template_problems(plugin_id: str, module: ModuleType, own_dirs: Sequence[Path],
                      layers: Mapping[str, Sequence[Path]], syntax: bool = False) -> list[str]:
    """Every missing template folder, unreadable template and dangling template name of one plugin.

    ``layers`` maps each loaded plugin id to its template folders (this plugin's included);
    ``syntax`` also parses every template and reports Jinja syntax errors (``yishi plugin check``).
    """
    problems = [f"插件 {plugin_id}: yishi_template_dirs 返回的文件夹不存在 / template folder does not exist: {d}"
                " — 检查 pyproject.toml 的 package-data / check package-data in pyproject.toml"
                for d in own_dirs if not Path(d).is_dir()]
    env = Environment(extensions=["jinja2.ext.i18n"]) if syntax else None
    for where, name in _references(module, [Path(d) for d in own_dirs if Path(d).is_dir()], env, problems,
                                   plugin_id):
        if not _exists(name, layers):
            problems.append(f"插件 {plugin_id}: 模板 {name!r} 不存在 / template not found ({where}) — "
                            "放在 yishi_template_dirs 返回的文件夹里，并列入 package-data / put it in a "
                            "template folder and list it in package-data")
    return problems


def _exists(name: str, layers: Mapping[str, Sequence[Path]]) -> bool:
    prefix, sep, rest = name.partition(":")
    if sep and prefix == "theme":
        return True
    if sep and prefix == "core":
        return (CORE_TEMPLATES / rest).is_file()
    if sep and prefix in layers:
        return any((Path(d) / rest).is_file() for d in layers[prefix])
    folders = [CORE_TEMPLATES, *(Path(d) for dirs in layers.values() for d in dirs)]
    return any((folder / name).is_file() for folder in folders)


def _references(module: ModuleType, dirs: list[Path], env: Environment | None, problems: list[str],
                plugin_id: str) -> Iterator[tuple[str, str]]:
    """(where, template name) for every literal template name the plugin uses."""
    for source in _python_files(module):
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the import already succeeded; nothing to learn here
        for match in PYTHON_REFERENCE.finditer(text):
            line_start = text.rfind("\n", 0, match.start()) + 1
            if text[line_start:match.start()].lstrip().startswith("#"):
                continue
            yield f"{source.name}:{text.count(chr(10), 0, match.start()) + 1}", match.group(2)
    for folder in dirs:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in {".html", ".xml", ".txt"}):
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                problems.append(f"插件 {plugin_id}: {path}: 不是 UTF-8 文本 / not UTF-8 text")
                continue
            if env is not None:
                try:
                    env.parse(text, name=path.name, filename=str(path))
                except TemplateSyntaxError as exc:
                    problems.append(f"插件 {plugin_id}: {path}:{exc.lineno}: 模板语法错误 / template syntax "
                                    f"error: {exc.message}")
                    continue
            for match in JINJA_REFERENCE.finditer(text):
                yield str(path.relative_to(folder)), match.group(2)


def _python_files(module: ModuleType) -> list[Path]:
    """The plugin's own Python files: its package's, or the single module's."""
    file = getattr(module, "__file__", None)
    if not file:
        return []
    path = Path(file)
    package = module.__name__.partition(".")[0]
    if package in ("tests", "test") or path.name.startswith("test_"):
        return [path]  # a plugin defined inside a test suite: its folder holds other tests' plugins
    root = path.parent
    while root.name != package and root.parent != root and (root.parent / "__init__.py").exists():
        root = root.parent
    if root.name == package and (root / "__init__.py").exists():
        return sorted(p for p in root.rglob("*.py") if "tests" not in p.relative_to(root).parts)
    return [path]
