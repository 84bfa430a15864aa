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
                                                 "htmx_js": "", "core_version": "0", "user_of": lambda r: None,
                                                 "csrf_token_of": lambda r: "t"})

    class FakeRequest:
        class url:
            path = "/x"

    html = env.get_template("error.html").render(title="页面不存在", detail="d", status=404,
                                                 request=FakeRequest(), csrf_input="")
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


def test_dates_and_page_counters_are_whole_messages_in_english(tmp_path: Path) -> None:
    """No 年/月/日 or 第…页 glued around numbers: an English deployment reads whole sentences."""
    from core.i18n import use_locale

    from core.meetings.notice import notice_date
    from core.meetings.recurrence import parse_rule

    when = datetime(2026, 11, 20, 11, 30, tzinfo=UTC)
    try:
        use_locale("en")
        assert local_time(when) == "2026-11-20 (Fri) 19:30"
        assert local_time(when, "date") == "2026-11-20"
        assert notice_date(when) == "2026-11-20 (Friday)"
        assert parse_rule("weekly:wed").label == "every Wednesday"
    finally:
        use_locale("zh_CN")
    assert notice_date(when) == "2026年11月20日（星期五）"
    assert parse_rule("weekly:wed").label == "每周星期三"
    assert local_time(when) == "2026年11月20日（周五）19:30"
    css = "{{ page_counter_content() }}"
    assert build_environment(tmp_path, [], "en").from_string(css).render() == \
        '"Page " counter(page) " of " counter(pages)'
    assert build_environment(tmp_path, [], "zh_CN").from_string(css).render() == \
        '"第 " counter(page) " 页 共 " counter(pages) " 页"'


def test_english_catalogue_translates_pages_and_python_messages(tmp_path: Path) -> None:
    """zh_CN is the source language; another locale comes from its .po catalogue through Babel."""
    from core.i18n import _, translations, use_locale
    from core.meetings.handcount import parse_counts

    env = build_environment(tmp_path, [], "en")
    assert env.from_string("{{ _('开始会议') }}").render() == "Open meeting"
    try:
        use_locale("en")
        assert _("页面不存在") == "Page not found"
        counts, errors = parse_counts({"yes": "x", "no": "0", "abstain": "0"})
        assert counts is None
        assert errors["yes"] == "For must be 0 or a positive whole number"
    finally:
        use_locale("zh_CN")
    assert _("页面不存在") == "页面不存在"
    assert translations("zh_CN").gettext("开始会议") == "开始会议"


def test_every_message_has_an_english_translation(tmp_path: Path) -> None:
    """scripts/i18n.sh keeps messages.pot current; a new message without a translation fails here.

    Messages come from core/, the shared TOML specs (forms/) and the bundled plugins
    (plugins/*/yishi_*/, their TOML specs included), one catalogue for all.
    """
    from babel.messages.pofile import read_po

    from core.i18n import LOCALE_DIR

    with (LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    import subprocess
    import sys

    root = LOCALE_DIR.parent.parent
    pot = tmp_path / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", str(root / "babel.cfg"),
                    "-o", str(pot), str(root / "core"), str(root / "forms"), str(root / "plugins")],
                   check=True, capture_output=True)
    with pot.open("rb") as fh:
        template = read_po(fh)
    ids = {m.id for m in template if m.id}
    assert ids <= {m.id for m in catalog if m.id}, "run scripts/i18n.sh and translate the new messages"
    assert not [m.id for m in catalog if m.id and not m.string], "untranslated messages in en"


def test_toml_specs_are_read_in_the_deployments_language(tmp_path: Path) -> None:
    """Forms, workflows and plugin manifests are written in Chinese; an English deployment reads their
    labels in English (the TOML texts are msgids, core.i18n_toml), while what is stored — an option's
    value, a state's id — stays as written, so data is the same whatever the language."""
    from core.i18n import translations, use_locale
    from core.lowcode.registry import shared_form
    from core.lowcode.workflows import shared_workflows
    from core.plugins import load_plugins

    english = translations("en").gettext
    registry = tmp_path / "plugin_registry.toml"
    registry.write_text("[plugins.jiexiang]\nenabled = true\n", encoding="utf-8")
    try:
        use_locale("en")
        form = shared_form("tishi")
        title, category = form.field("title"), form.field("category")
        topic = shared_workflows()["topic"]
        plugins = load_plugins(registry)
        practice = plugins.practices["jiexiang"]
        mediation = plugins.specs.records["jiexiang_tiaojie"]
    finally:
        use_locale("zh_CN")
    for chinese, read in [("居民提事表", form.title), ("议题", title.label), ("停车", category.options[0].label),
                          ("已提出", topic.state_label("raised")), ("街巷议事会", practice.name),
                          ("巷导", practice.role_label("lane_guide")), ("纠纷调解", mediation.title),
                          ("甲方", mediation.party("a").label)]:
        assert read == english(chinese) and read != chinese
    assert category.options[0].value == "停车"
    assert [t.id for t in topic.transitions][:2] == ["accept", "merge"]
    # the Chinese deployment is untouched by the English one read before it
    assert shared_form("tishi").field("title").label == "议题"
    assert shared_workflows()["topic"].state_label("raised") == "已提出"


def test_the_toml_extractor_takes_texts_and_leaves_identifiers() -> None:
    """What reaches the catalogue from a spec: labels, titles, help and option labels — not a field's
    name, an option's value, a state's id or capture.toml's field mapping."""
    import io

    from core.i18n_toml import extract_toml

    spec = """
title = "居民提事表"
[[fields]]
name = "category"
label = "类别"
help = "选一个"
options = ["停车", { value = "env", label = "环境卫生" }]
[states]
raised = { label = "已提出", colour = "#2563EB" }
[nouns]
meeting = "恳谈会"
"""
    texts = [message for _line, _f, message, _c in extract_toml(io.BytesIO(spec.encode()), None, None, {})]
    assert texts == ["居民提事表", "类别", "选一个", "停车", "环境卫生", "已提出", "恳谈会"]
    capture = ('[fields]\nproposer = "speaker"\ntitle = "title"\n'
               '[ledger]\ntitle = "民情台账"\nlabels = { a = "责任单位" }\n')
    texts = [message for _line, _f, message, _c in extract_toml(io.BytesIO(capture.encode()), None, None, {})]
    assert texts == ["民情台账", "责任单位"]


def test_voting_rules_are_named_in_the_deployments_language_and_quote_the_law_as_enacted(tmp_path: Path) -> None:
    """A rule's name and citation are msgids (core.i18n_toml.extract_rules), shown through the
    ``spec_text`` filter; its article is the law's text and stays as enacted. A text that is no msgid
    (a council's own rule) shows as written, and escaped like any value."""
    import io

    from core.i18n_toml import extract_rules
    from core.voting.loader import shared_rules

    rule = shared_rules()["civil_code_278"]
    source = (Path(__file__).parent.parent / "forms" / "rules" / "civil_code_278.toml").read_bytes()
    extracted = [text for _line, _f, text, _c in extract_rules(io.BytesIO(source), None, None, {})]
    assert extracted == [rule.name, rule.citation]
    assert rule.article not in extracted

    page = "{{ rule.name | spec_text }}（{{ rule.citation | spec_text }}）"
    values = {"rule": {"name": rule.name, "citation": rule.citation}}
    assert build_environment(tmp_path, [], "en").from_string(page).render(values) == \
        "Owners&#39; joint decisions (ordinary matters)（Civil Code of the People&#39;s Republic of China, Article 278）"
    assert build_environment(tmp_path, [], "zh_CN").from_string(page).render(values) == \
        "业主共同决定事项（一般事项）（《中华人民共和国民法典》第二百七十八条）"
    own = {"rule": {"name": "本会<章程>第5条", "citation": ""}}
    assert build_environment(tmp_path, [], "en").from_string(page).render(own) == "本会&lt;章程&gt;第5条（）"
