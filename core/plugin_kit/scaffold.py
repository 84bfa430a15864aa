"""`yishi plugin new NAME`: write a practice plugin package that installs and runs as generated.

The files come from ``core/plugin_kit/template/``: every ``*.tmpl`` file is copied with its suffix
dropped, and ``@@ID@@``, ``@@PACKAGE@@``, ``@@TITLE@@`` … replaced in its path and its text. The
topic workflow is not a template: it is core's own ``topic`` workflow (forms/workflows/topic.toml)
under the plugin's id, so the new practice starts with every state and step core's pages expect.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
from dataclasses import dataclass
from pathlib import Path

import core
from core.errors import YishiError
from core.i18n import _
from core.plugin_meta import PLUGIN_ID

TEMPLATE = Path(__file__).parent / "template"
SUFFIX = ".tmpl"


class ScaffoldError(YishiError):
    """A name or folder `yishi plugin new` cannot use; the message says why and what to do."""


@dataclass(frozen=True)
class NewPlugin:
    """What the generated files are filled with."""

    id: str
    title: str
    folder: Path

    @property
    def package(self) -> str:
        return f"yishi_{self.id}"

    @property
    def dist(self) -> str:
        return f"yishi-{self.id.replace('_', '-')}"

    def placeholders(self) -> dict[str, str]:
        return {"@@ID@@": self.id, "@@PACKAGE@@": self.package, "@@DIST@@": self.dist,
                "@@TITLE@@": self.title, "@@CORE_RANGE@@": core_range(), "@@FOLDER@@": str(self.folder)}


def core_range(version: str = core.__version__) -> str:
    """The range a new plugin declares: this core's minor series, e.g. ``>=0.1,<0.2`` for 0.1.3."""
    major, minor = (int(part) for part in re.findall(r"\d+", version)[:2])
    if major == 0:
        return f">={major}.{minor},<{major}.{minor + 1}"
    return f">={major}.{minor},<{major + 1}"


def validate_name(name: str, taken: set[str]) -> None:
    """Refuse a plugin id that is not a valid id or is already used; ``taken`` holds the ids of
    installed and core plugins and the practice ids this deployment knows."""
    if not PLUGIN_ID.match(name) or keyword.iskeyword(name):
        raise ScaffoldError(_("插件名 {name!r} 无效：只能用 2–40 个小写英文字母、数字或下划线，以字母开头，"
                              "例如 hongqiao 或 jiexiang_luyang。").format(name=name)
                            + " / invalid plugin name: use 2–40 lowercase letters, digits or _, "
                              "starting with a letter")
    if name in taken:
        raise ScaffoldError(_("插件名 {name!r} 已被已安装的插件或议事实践使用，请换一个名字。").format(name=name)
                            + f" / {name!r} is already the id of an installed plugin or practice")
    if importlib.util.find_spec(f"yishi_{name}") is not None:
        raise ScaffoldError(_("已经可以导入名为 yishi_{name} 的 Python 包，请换一个名字。").format(name=name)
                            + f" / a package yishi_{name} is already importable")


def taken_ids() -> set[str]:
    """Ids a new plugin must not reuse: core's plugins, every installed plugin, their practices."""
    from core.plugins import DEFAULT_PLUGINS, installed_entry_points, load_plugins
    from core.settings import Settings

    taken = set(installed_entry_points())
    for dotted in DEFAULT_PLUGINS:
        module = importlib.import_module(dotted)
        taken.add(module.meta.id)
        practices = getattr(module, "yishi_practices", None)
        taken.update(p.id for p in (practices() if callable(practices) else ()))
    try:  # the practices of this deployment's plugins (a broken registry is no reason to refuse)
        taken.update(load_plugins(Settings.from_env().plugin_registry, on_error="skip").practices)
    except YishiError:
        pass
    return taken


def scaffold(name: str, parent: Path, title: str = "", taken: set[str] | None = None) -> Path:
    """Write the plugin package ``<parent>/yishi_<name>/`` and return its folder.

    Raises :class:`ScaffoldError` (nothing written) for a bad or taken name or an existing folder.
    """
    validate_name(name, taken_ids() if taken is None else taken)
    title = title.strip() or _("{name}议事会").format(name=name)
    if len(title) > 40 or any(ch in title for ch in '"\\\n\r'):
        raise ScaffoldError(_("名称 {title!r} 不能超过 40 个字，也不能含引号、反斜杠或换行。").format(title=title)
                            + " / the title must be at most 40 characters without quotes, backslashes or newlines")
    if parent.exists() and not parent.is_dir():
        raise ScaffoldError(_("{parent} 不是文件夹。").format(parent=parent) + f" / {parent} is not a folder")
    folder = parent / f"yishi_{name}"
    if folder.exists():
        raise ScaffoldError(_("文件夹 {folder} 已经存在：换一个名字，或用 --dir 指定别的位置。").format(folder=folder)
                            + f" / {folder} already exists: choose another name or --dir")
    plugin = NewPlugin(id=name, title=title, folder=folder)
    files = render(plugin)
    for relative, text in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


def render(plugin: NewPlugin) -> dict[Path, str]:
    """Every file of the new package, by path relative to its folder."""
    values = plugin.placeholders()

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace(key, value)
        return text

    files: dict[Path, str] = {}
    for source in sorted(TEMPLATE.rglob(f"*{SUFFIX}")):
        relative = Path(fill(str(source.relative_to(TEMPLATE))[: -len(SUFFIX)]))
        files[relative] = fill(source.read_text(encoding="utf-8"))
    files[Path(plugin.package) / "workflows" / f"{plugin.id}_topic.toml"] = topic_workflow(plugin)
    return files


def topic_workflow(plugin: NewPlugin) -> str:
    """Core's topic workflow under the plugin's id: every state and transition kept, so the
    practice fits core's topic pages; the header says how to add a step of one's own."""
    from core.lowcode.registry import forms_root

    core_topic = (Path(str(forms_root())) / "workflows" / "topic.toml").read_text(encoding="utf-8")
    body = core_topic[core_topic.index('id = "topic"'):]
    body = body.replace('id = "topic"', f'id = "{plugin.id}_topic"', 1)
    body = re.sub(r'^label = ".*"$', f'label = "{plugin.title}议题流程"', body, count=1, flags=re.MULTILINE)
    header = (
        f"# {plugin.title}议题流程 — generated from core's topic workflow (forms/workflows/topic.toml).\n"
        "# Keep every state and transition below (core's topic pages rely on them); you may add\n"
        "# roles, sources, labels and colours, and states and transitions of your own, for example a\n"
        "# 召集人初审 step before 受理:\n"
        "#   [states] … reviewed = { label = \"召集人已初审\" }\n"
        "#   [[transitions]] id = \"prereview\", label = \"召集人初审\", from = [\"raised\"], to = \"reviewed\",\n"
        "#                   roles = [\"convener\", \"chair\"]   — then add \"reviewed\" to accept's from.\n"
        "# Format: docs/lowcode-workflows.md. Check it: yishi plugin check <this plugin's folder>\n"
    )
    return header + body
