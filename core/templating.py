"""Jinja2 environment: layered template lookup, i18n, filters and globals.

Lookup order is theme > plugins (load order) > core. A name prefixed with ``core:`` (or
``theme:``, or ``<plugin id>:``) goes straight to that layer, so an override can extend what it
overrides: ``{% extends "core:base.html" %}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)
from markupsafe import Markup

from core.i18n import N_, _, translations
from core.themes import ThemeChoice

CORE_TEMPLATES = Path(__file__).parent / "templates"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
WEEKDAYS = "一二三四五六日"


#: Monday = 0; msgids, translated when shown (one gettext lookup per date rendered, not seven)
WEEKDAY_NAMES = (N_("周一"), N_("周二"), N_("周三"), N_("周四"), N_("周五"), N_("周六"), N_("周日"))
LONG_WEEKDAY_NAMES = (N_("星期一"), N_("星期二"), N_("星期三"), N_("星期四"), N_("星期五"), N_("星期六"),
                      N_("星期日"))


def weekday_name(index: int) -> str:
    """Monday = 0 → 周一 (Mon in English)."""
    return _(WEEKDAY_NAMES[index])


def long_weekday_name(index: int) -> str:
    """Monday = 0 → 星期一 (Monday in English), as notices and recurrence rules write it."""
    return _(LONG_WEEKDAY_NAMES[index])


def date_text(value: date) -> str:
    """2026年11月20日 (20 Nov 2026 in English): one msgid, not 年/月/日 glued to numbers."""
    return _("{year}年{month}月{day}日").format(year=value.year, month=value.month, day=value.day)


class LayeredLoader(BaseLoader):
    """Look a template up through named layers, first match wins; ``layer:name`` picks one."""

    def __init__(self, layers: list[tuple[str, list[Path]]]) -> None:
        self.layers = [(name, FileSystemLoader([str(d) for d in dirs])) for name, dirs in layers]
        self.by_name = dict(self.layers)

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        prefix, sep, rest = template.partition(":")
        if sep and prefix in self.by_name:
            return self.by_name[prefix].get_source(environment, rest)
        for _name, loader in self.layers:
            try:
                return loader.get_source(environment, template)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(template)

    def list_templates(self) -> list[str]:
        found: set[str] = set()
        for _name, loader in self.layers:
            found.update(loader.list_templates())
        return sorted(found)


def local_time(value: datetime | None, fmt: str = "full") -> str:
    """A timestamp as people in China read it: 2026年11月20日（周五）19:30."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    value = value.astimezone(LOCAL_TZ)
    if fmt == "date":
        return date_text(value)
    if fmt == "time":
        return value.strftime("%H:%M")
    return _("{date}（{weekday}）{time}").format(date=date_text(value), weekday=weekday_name(value.weekday()),
                                                time=f"{value:%H:%M}")


def page_counter_content(gettext: Callable[[str], str]) -> Markup:
    """The CSS ``content`` of a PDF's page counter (第 N 页 共 M 页 / Page N of M), from one msgid.

    Used in an ``@page`` rule: ``content: {{ page_counter_content() }};``. The message's ``{page}`` and
    ``{pages}`` become CSS counters; the words around them become quoted CSS strings.
    """
    parts = []
    for piece in re.split(r"(\{pages?\})", gettext("第 {page} 页 共 {pages} 页")):
        if piece in ("{page}", "{pages}"):
            parts.append(f"counter({piece[1:-1]})")
        elif piece:
            parts.append('"' + piece.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return Markup(" ".join(parts))


def build_environment(theme_dir: Path, plugin_template_dirs: list[tuple[str, list[Path]]],
                      locale: str, globals_: dict[str, Any] | None = None) -> Environment:
    """The one Jinja environment of an app (pages and documents share it)."""
    layers = [("theme", [theme_dir / "templates"]), *plugin_template_dirs, ("core", [CORE_TEMPLATES])]
    env = Environment(
        loader=LayeredLoader(layers),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    env.filters["local_time"] = local_time
    # A text from a TOML spec shown as data (a voting rule's name and citation): translated like the
    # spec's msgids, but escaped as any value — unlike _(), which trusts its msgid as markup.
    env.filters["spec_text"] = lambda text: translations(locale).gettext(text) if text else text
    env.globals["page_counter_content"] = lambda: page_counter_content(translations(locale).gettext)
    env.globals["themes"] = ThemeChoice.for_dir(theme_dir)  # base.html: this request's stylesheet
    env.globals.update(globals_ or {})
    return env
