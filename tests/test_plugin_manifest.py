"""plugin.toml (core/plugin_manifest.py): a plugin declared as data, loaded like any other.

A small package is laid out the way pip installs it (the package folder and a dist-info with its
entry point) in a temporary folder on ``sys.path``, so the loader reaches it through
``importlib.metadata`` like a county's plugin. Its plugin.py holds one hook or none; everything else
comes from plugin.toml and the folders beside it.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from core.errors import PluginError
from core.i18n import use_locale
from core.lowcode.check import check_path, check_plugin_folder
from core.lowcode.specs import SpecError
from core.plugin_manifest import load_manifest
from core.plugins import load_plugins

GOOD = """\
[plugin]
id = "lvyuan"
name = "绿园议事会"
version = "0.2.0"
core = ">=0.1,<0.2"
description = "小区绿地怎么用，居民一起商量。"
author = "某街道"

[practice]
meeting_kinds = ["议事会", "现场协商会"]
identity_check = "phone_last4"
intake_form = "lvyuan_tishi"

[[practice.roles]]
id = "gardener"
label = "护绿员"

[permissions]
gardener = ["meeting.view", "topic.view"]
chair = ["lvyuan.manage"]

[[menu]]
href = "/p/lvyuan/"
label = "月月谈"

[[menu]]
href = "/p/lvyuan/manage"
label = "绿地管理"
who = "staff"

[[menu]]
href = "/p/lvyuan/mine"
label = "我的认领"
who = "user"
"""

FORM = """\
id = "lvyuan_tishi"
version = 1
title = "绿园提事表"

[[fields]]
name = "title"
label = "议题"
type = "text"
required = true
max_length = 60
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Install a package plugin as pip lays it out; returns its package folder."""
    root = tmp_path / "site"
    root.mkdir()
    packages: list[str] = []

    def install(plugin_id: str, files: dict[str, str]) -> Path:
        package = root / f"yishi_{plugin_id}"
        for relative, text in {"__init__.py": "", **files}.items():
            (package / relative).parent.mkdir(parents=True, exist_ok=True)
            (package / relative).write_text(textwrap.dedent(text), encoding="utf-8")
        info = root / f"yishi_{plugin_id}-0.1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: yishi-{plugin_id}\nVersion: 0.1.0\n",
                                       encoding="utf-8")
        (info / "entry_points.txt").write_text(f"[yishi]\n{plugin_id} = yishi_{plugin_id}.plugin\n",
                                               encoding="utf-8")
        (root.parent / "plugin_registry.toml").write_text(f"[plugins.{plugin_id}]\nenabled = true\n",
                                                          encoding="utf-8")
        packages.append(f"yishi_{plugin_id}")
        importlib.invalidate_caches()
        return package

    sys.path.insert(0, str(root))
    try:
        yield install
    finally:
        sys.path.remove(str(root))
        for name in list(sys.modules):
            if name.partition(".")[0] in packages:
                del sys.modules[name]
        importlib.invalidate_caches()


def request_of(user: object) -> SimpleNamespace:
    return SimpleNamespace(scope={"yishi_user": user})


def menu(plugins: object, plugin_id: str, user: object) -> list[dict[str, str]]:
    return dict(plugins.call_each("yishi_menu_links", only=[plugin_id], request=request_of(user))).get(plugin_id, [])


def test_a_manifest_plugin_loads_through_its_entry_point(site: Callable[..., Path], tmp_path: Path) -> None:
    package = site("lvyuan", {"plugin.py": '"""Nothing but the manifest."""\n', "plugin.toml": GOOD,
                              "forms/lvyuan_tishi.toml": FORM, "templates/lvyuan/index.html": "<p>绿园</p>",
                              "static/lvyuan.css": "p {}", "piccolo_app.py": "APP_CONFIG = None\n"})
    plugins = load_plugins(tmp_path / "plugin_registry.toml")

    meta = plugins.metas["lvyuan"]
    assert (meta.name, meta.version, meta.author, meta.url_prefix) == ("绿园议事会", "0.2.0", "某街道", "/p/lvyuan")
    practice = plugins.practices["lvyuan"]
    assert (practice.name, practice.plugin) == ("绿园议事会", "lvyuan")
    assert practice.description == "小区绿地怎么用，居民一起商量。"  # the plugin's, by default
    assert practice.meeting_kinds == ("议事会", "现场协商会")
    assert practice.role_label("gardener") == "护绿员"
    assert plugins.specs.form("lvyuan_tishi").field("title").required
    assert dict(plugins.call_each("yishi_permissions"))["lvyuan"] == {
        "gardener": ("meeting.view", "topic.view"), "chair": ("lvyuan.manage",)}
    assert dict(plugins.call_each("yishi_template_dirs"))["lvyuan"] == [package / "templates"]
    assert dict(plugins.call_each("yishi_static_dirs"))["lvyuan"] == [package / "static"]
    assert dict(plugins.call_each("yishi_piccolo_apps"))["lvyuan"] == ["yishi_lvyuan.piccolo_app"]
    # no workflows/, rules/ or records/ folder: no hook for them
    assert "lvyuan" not in dict(plugins.call_each("yishi_workflows"))
    assert "lvyuan" not in dict(plugins.call_each("yishi_records"))


def test_menu_links_follow_who_and_are_translated_when_shown(site: Callable[..., Path], tmp_path: Path) -> None:
    site("lvyuan", {"plugin.py": "", "plugin.toml": GOOD, "forms/lvyuan_tishi.toml": FORM})
    plugins = load_plugins(tmp_path / "plugin_registry.toml")
    resident = SimpleNamespace(is_admin=False, unit=None)
    staff = SimpleNamespace(is_admin=False, unit=7)

    assert [link["href"] for link in menu(plugins, "lvyuan", None)] == ["/p/lvyuan/"]
    assert [link["href"] for link in menu(plugins, "lvyuan", resident)] == ["/p/lvyuan/", "/p/lvyuan/mine"]
    assert [link["label"] for link in menu(plugins, "lvyuan", staff)] == ["月月谈", "绿地管理", "我的认领"]
    use_locale("en")
    try:
        assert menu(plugins, "lvyuan", None)[0]["label"] == "Monthly Talk"
    finally:
        use_locale("zh_CN")


def test_a_hook_in_the_module_wins_over_the_convention(site: Callable[..., Path], tmp_path: Path) -> None:
    site("lvyuan", {"plugin.toml": GOOD, "forms/lvyuan_tishi.toml": FORM, "plugin.py": """\
        from core import hookimpl

        @hookimpl
        def yishi_menu_links(request):
            return [{"href": "/p/lvyuan/own", "label": "自己的链接"}]
        """})
    plugins = load_plugins(tmp_path / "plugin_registry.toml")

    assert menu(plugins, "lvyuan", None) == [{"href": "/p/lvyuan/own", "label": "自己的链接"}]
    mine = [impl for impl in plugins.pm.hook.yishi_menu_links.get_hookimpls() if impl.plugin_name == "lvyuan"]
    assert len(mine) == 1
    # the rest still comes from the manifest
    assert plugins.practices["lvyuan"].role_label("gardener") == "护绿员"


def test_member_links_show_to_the_practices_members_and_administrators(site: Callable[..., Path],
                                                                        tmp_path: Path) -> None:
    """A 三方 chair's menu does not list 屋场恳谈会: ``who = "member"`` needs a seat on a council of
    the plugin's practice (or an administrator's account); staff and other councils' members don't see it."""
    site("lvyuan", {"plugin.py": "", "plugin.toml": GOOD.replace('who = "user"', 'who = "member"'),
                    "forms/lvyuan_tishi.toml": FORM})
    plugins = load_plugins(tmp_path / "plugin_registry.toml")
    member = SimpleNamespace(is_admin=False, unit=None, practices=frozenset({"lvyuan"}))
    other = SimpleNamespace(is_admin=False, unit=None, practices=frozenset({"sanfang"}))
    staff = SimpleNamespace(is_admin=False, unit=7, practices=frozenset())
    admin = SimpleNamespace(is_admin=True, unit=None, practices=frozenset())

    def hrefs(user: object) -> list[str]:
        return [link["href"] for link in menu(plugins, "lvyuan", user)]

    assert hrefs(None) == ["/p/lvyuan/"]
    assert hrefs(other) == ["/p/lvyuan/"]
    assert hrefs(staff) == ["/p/lvyuan/", "/p/lvyuan/manage"]
    assert hrefs(member) == ["/p/lvyuan/", "/p/lvyuan/mine"]
    assert hrefs(admin) == ["/p/lvyuan/", "/p/lvyuan/manage", "/p/lvyuan/mine"]


def test_a_member_link_needs_a_practice(tmp_path: Path) -> None:
    text = GOOD.replace('who = "user"', 'who = "member"')
    text = text[:text.index("[practice]")] + text[text.index("[permissions]"):]
    (tmp_path / "plugin.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as refused:
        load_manifest(tmp_path / "plugin.toml")
    assert "menu[3].who" in str(refused.value) and "[practice]" in str(refused.value)


def test_the_bundled_plugins_are_declared_by_their_manifests(tmp_path: Path) -> None:
    registry = tmp_path / "plugin_registry.toml"
    registry.write_text("[plugins.linjuli]\nenabled = true\n[plugins.wuchang]\nenabled = true\n", encoding="utf-8")
    plugins = load_plugins(registry)

    assert plugins.practices["wuchang"].topic_workflow == "wuchang_topic"
    assert plugins.practices["linjuli"].meeting_kinds == ("月月谈", "临时议事会")
    grants = dict(plugins.call_each("yishi_permissions"))["linjuli"]
    assert "linjuli.record" in grants["police"] and "linjuli.record" not in grants["tenant_rep"]
    assert menu(plugins, "linjuli", None) == []  # its councils' members only
    assert menu(plugins, "wuchang", None) == []  # its councils' members only
    member = SimpleNamespace(is_admin=False, unit=None, practices=frozenset({"wuchang"}))
    assert menu(plugins, "wuchang", member) == [{"href": "/p/wuchang/", "label": "屋场恳谈会"}]
    assert menu(plugins, "linjuli", member) == []  # a 屋场恳谈会 recorder is not a 月月谈 member
    assert dict(plugins.call_each("yishi_piccolo_apps"))["linjuli"] == ["yishi_linjuli.piccolo_app"]
    # capture.toml and demo.toml are conventions too: 屋场恳谈会's plugin.py has no code at all
    conventional = {(impl.plugin_name, name) for name in ("yishi_routes", "yishi_documents", "yishi_demo_data")
                    for impl in getattr(plugins.pm.hook, name).get_hookimpls()
                    if getattr(impl.function, "yishi_manifest", False)}
    assert {("wuchang", "yishi_routes"), ("wuchang", "yishi_documents"), ("wuchang", "yishi_demo_data"),
            ("linjuli", "yishi_demo_data")} <= conventional
    assert ("linjuli", "yishi_routes") not in conventional  # its own pages: plugin.py's hook wins
    routes = dict(plugins.call_each("yishi_routes"))["wuchang"]  # the capture page, 台账, 测评 and 交办单
    assert {getattr(r, "path", None) for r in routes} >= {"/meetings/{meeting_id:int}", "/councils/{council_id:int}",
                                                         "/meetings/{meeting_id:int}/jiaoban/{department_id:int}"}
    ids = {doc.id for doc in dict(plugins.call_each("yishi_documents"))["wuchang"]}
    assert {"wuchang_huiyin", "wuchang_jiaoban"} <= ids


def test_a_bad_capture_toml_stops_the_plugin_naming_the_file_and_key(site: Callable[..., Path],
                                                                      tmp_path: Path) -> None:
    """capture.toml is read when the plugin loads: a form it names that does not exist is a refusal."""
    capture = (Path(__file__).parent.parent / "plugins" / "wuchang" / "yishi_wuchang" / "capture.toml").read_text(
        encoding="utf-8").replace('practice = "wuchang"', 'practice = "lvyuan"').replace(
        'form = "wuchang_minqing"', 'form = "lvyuan_minqing"')
    site("lvyuan", {"plugin.py": "", "plugin.toml": GOOD, "forms/lvyuan_tishi.toml": FORM, "capture.toml": capture})
    with pytest.raises(PluginError) as refused:
        load_plugins(tmp_path / "plugin_registry.toml")
    assert "capture.toml" in str(refused.value) and "lvyuan_minqing" in str(refused.value)


def bad(replace: str, by: str) -> str:
    assert replace in GOOD
    return GOOD.replace(replace, by, 1)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


BAD = [
    # (manifest, key named, text on the line named)
    (bad('version = "0.2.0"', 'version = "0.2 beta"'), "plugin.version", 'version = "0.2 beta"'),
    (bad('core = ">=0.1,<0.2"', 'core = "0.1 以上"'), "plugin.core", 'core = "0.1 以上"'),
    (bad('id = "lvyuan"', 'id = "LvYuan"'), "plugin.id", 'id = "LvYuan"'),
    (bad('name = "绿园议事会"\n', ''), "plugin.name", "[plugin]"),
    (bad('author = "某街道"', 'author = "某街道"\nwebsite = "x"'), "plugin.website", 'website = "x"'),
    (bad('meeting_kinds = ["议事会", "现场协商会"]', 'meeting_kinds = "议事会"'), "practice.meeting_kinds",
     'meeting_kinds = "议事会"'),
    (bad('identity_check = "phone_last4"', 'identity_check = 4'), "practice.identity_check", "identity_check = 4"),
    (bad('label = "护绿员"', 'lable = "护绿员"'), "practice.roles[1].lable", 'lable = "护绿员"'),
    (bad('id = "gardener"', 'id = "护绿员"'), "practice.roles[1].id", 'id = "护绿员"'),
    (bad('chair = ["lvyuan.manage"]', 'chair = "lvyuan.manage"'), "permissions.chair", 'chair = "lvyuan.manage"'),
    (bad('href = "/p/lvyuan/manage"', 'href = "p/lvyuan/manage"'), "menu[2].href", 'href = "p/lvyuan/manage"'),
    (bad('who = "staff"', 'who = "admin"'), "menu[2].who", 'who = "admin"'),
    (bad('[permissions]', '[permission]'), "permission", "[permission]"),
]


@pytest.mark.parametrize(("text", "key", "needle"), BAD, ids=[case[1] for case in BAD])
def test_each_bad_key_is_named_with_its_line(tmp_path: Path, text: str, key: str, needle: str) -> None:
    path = tmp_path / "plugin.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_manifest(path)
    found = {(p.key, p.line) for p in caught.value.problems}
    assert (key, line_of(text, needle)) in found, caught.value
    assert str(path) in str(caught.value)


def test_a_toml_syntax_error_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "plugin.toml"
    path.write_text(bad('label = "护绿员"', 'label = "护绿员'), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_manifest(path)
    assert caught.value.problems[0].line == line_of(path.read_text(encoding="utf-8"), 'label = "护绿员')


def test_a_malformed_manifest_refuses_the_plugin_naming_file_key_and_line(
        site: Callable[..., Path], tmp_path: Path) -> None:
    text = bad('who = "staff"', 'who = "admin"')
    package = site("lvyuan", {"plugin.py": "", "plugin.toml": text, "forms/lvyuan_tishi.toml": FORM})
    with pytest.raises(PluginError) as caught:
        load_plugins(tmp_path / "plugin_registry.toml")
    message = str(caught.value)
    assert "插件 lvyuan" in message and str(package / "plugin.toml") in message
    line = line_of(text, 'who = "admin"')
    assert f"menu[2].who (第 {line} 行 / line {line})" in message

    (tmp_path / "plugin_registry.toml").write_text(
        '[registry]\non_error = "skip"\n[plugins.lvyuan]\nenabled = true\n', encoding="utf-8")
    plugins = load_plugins(tmp_path / "plugin_registry.toml")
    assert "lvyuan" not in plugins.metas and "lvyuan" not in plugins.practices
    assert any("menu[2].who" in warning for warning in plugins.warnings)


def test_yishi_plugin_check_reports_manifest_problems(tmp_path: Path) -> None:
    folder = tmp_path / "yishi-lvyuan"
    package = folder / "yishi_lvyuan"
    (package / "forms").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "plugin.py").write_text("", encoding="utf-8")
    (package / "forms" / "lvyuan_tishi.toml").write_text(FORM, encoding="utf-8")
    (folder / "pyproject.toml").write_text(
        '[project]\nname = "yishi-lvyuan"\nversion = "0.1.0"\n'
        '[project.entry-points.yishi]\nlvyuan = "yishi_lvyuan.plugin"\n', encoding="utf-8")
    (package / "plugin.toml").write_text(bad('label = "护绿员"', 'label = ""'), encoding="utf-8")

    found = "\n".join(problem for _file, problem in check_plugin_folder(folder))
    assert "practice.roles[1].label" in found and "plugin.toml" in found
    assert any("practice.roles[1].label" in problem for _file, problem in check_path(package))

    (package / "plugin.toml").write_text(GOOD, encoding="utf-8")
    assert list(check_path(package)) == []
