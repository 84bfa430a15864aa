"""Template lookup (theme > plugins > core, with layer prefixes) and the date filter."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from jinja2 import TemplateNotFound

from core.templating import build_environment, local_time


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_theme_overrides_plugin_overrides_core_and_prefix_reaches_a_layer(tmp_path: Path) -> None:
    theme = tmp_path / "theme"
    plugin = tmp_path / "plugin"
    _write(theme / "templates" / "t.html", "theme({% include 'myplugin:t.html' %})")
    _write(plugin / "t.html", "plugin")
    env = build_environment(theme, [("myplugin", [plugin])], "zh_CN")
    assert env.get_template("t.html").render() == "theme(plugin)"
    assert env.get_template("myplugin:t.html").render() == "plugin"
    with pytest.raises(TemplateNotFound):
        env.get_template("core:t.html")
    with pytest.raises(TemplateNotFound):
        env.get_template("nowhere.html")


def test_core_prefix_lets_an_override_extend_the_original(tmp_path: Path) -> None:
    theme = tmp_path / "theme"
    _write(theme / "templates" / "error.html",
           "{% extends 'core:error.html' %}{% block title %}主题:{{ super() }}{% endblock %}")
    env = build_environment(theme, [], "zh_CN", {"site_name": "议事", "menu_links": lambda r: [],
                                                 "htmx_js": "", "core_version": "0"})
    html = env.get_template("error.html").render(title="页面不存在", detail="d", status=404, request=None)
    assert "<title>主题:页面不存在 · 议事</title>" in html


def test_autoescape_in_templates(tmp_path: Path) -> None:
    env = build_environment(tmp_path, [], "zh_CN")
    assert env.from_string("{{ x }}").render(x="<script>") == "&lt;script&gt;"


def test_local_time_is_shanghai() -> None:
    when = datetime(2026, 11, 20, 11, 30, tzinfo=UTC)  # 19:30 in Beijing, a Friday
    assert local_time(when) == "2026年11月20日（周五）19:30"
    assert local_time(when, "date") == "2026年11月20日"
    assert local_time(when, "time") == "19:30"
    assert local_time(None) == ""
