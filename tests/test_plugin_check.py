"""`yishi plugin check [PATH]`: every spec problem printed with file, key and line; exit 1."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.cli import main


def test_shared_specs_and_plugins_check_clean(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugin", "check"]) == 0
    assert "全部有效" in capsys.readouterr().out


def test_a_folder_with_bad_specs_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "good.toml").write_text(
        'id = "county.tishi"\nversion = 1\ntitle = "提事"\n[[fields]]\nname = "title"\nlabel = "议题"\ntype = "text"\n',
        encoding="utf-8")
    (tmp_path / "bad_form.toml").write_text(
        'id = "county.bad"\nversion = 1\ntitle = "坏表单"\n[[fields]]\nname = "x"\nlabel = "X"\ntype = "colour"\n',
        encoding="utf-8")
    (tmp_path / "flow.toml").write_text(
        'id = "county.flow"\nversion = 1\ninitial = "raised"\n[states]\nraised = { label = "已提出" }\n'
        'done = { label = "完成", terminal = true }\n[[transitions]]\nid = "finish"\nlabel = "完成"\n'
        'from = ["raised"]\nto = "donee"\nroles = ["chair"]\n', encoding="utf-8")
    (tmp_path / "gbk.toml").write_bytes('id = "乱码"\n'.encode("gbk"))
    (tmp_path / "notes.toml").write_text('title = "说明"\n', encoding="utf-8")
    assert main(["plugin", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "bad_form.toml" in out and "colour" in out
    assert "flow.toml" in out and "donee" in out and "transitions[1].to" in out
    assert "gbk.toml" in out and "UTF-8" in out
    assert "notes.toml" in out and "neither a form" in out
    assert "good.toml" not in out


def test_a_missing_path_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugin", "check", str(tmp_path / "nope")]) == 2
    assert "no such file or folder" in capsys.readouterr().err


def broken_plugin(tmp_path: Path) -> Path:
    """A generated plugin with one of each mistake a county's author makes."""
    from core.plugin_kit.scaffold import scaffold

    folder = scaffold("checkme", tmp_path, title="检查议事会")
    package = folder / "yishi_checkme"
    plugin = package / "plugin.py"
    source = plugin.read_text(encoding="utf-8")
    source = source.replace('Template("checkme/index.html"', 'Template("checkme/home.html"')
    source += "\n\n@hookimpl\ndef yishi_menu_links(req: Request) -> list:\n    return []\n"
    source += "\n\n@hookimpl\ndef yishi_practises() -> list:\n    return []\n"
    plugin.write_text(source, encoding="utf-8")
    manifest = package / "plugin.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('core = ">=', 'core = ">=9.0,<10,>='),
                        encoding="utf-8")
    index = package / "templates" / "checkme" / "index.html"
    index.write_text(index.read_text(encoding="utf-8") + '{% include "checkme/_row.html" %}\n', encoding="utf-8")
    form = package / "forms" / "checkme_tishi.toml"
    form.write_text(form.read_text(encoding="utf-8").replace('type = "textarea"', 'type = "essay"'), encoding="utf-8")
    (package / "static" / "logo.png").write_bytes(b"\x89PNG")
    return folder


def test_a_plugin_folder_is_checked_whole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = broken_plugin(tmp_path)
    assert main(["plugin", "check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "logo.png" in out and "package-data" in out and '"static/*.png"' in out
    assert "插件 checkme 0.1.0" in out and "needs core >=9.0" in out and "this is" in out
    assert "插件 checkme: 钩子 yishi_menu_links 的参数 req 不存在" in out and "available: request" in out
    assert "插件 checkme: 未知的钩子 / unknown hook: yishi_practises" in out
    assert "checkme_tishi.toml" in out and "fields.details.type" in out and "'essay'" in out
    assert "模板 'checkme/home.html' 不存在" in out and "plugin.py:" in out
    assert "模板 'checkme/_row.html' 不存在" in out and "(checkme/index.html)" in out
    assert "yishi_checkme" not in sys.modules  # imported for the check only


def test_a_plugin_that_cannot_be_imported_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from core.plugin_kit.scaffold import scaffold

    folder = scaffold("importfail", tmp_path)
    (folder / "yishi_importfail" / "plugin.py").write_text("import yishi_no_such_module\n", encoding="utf-8")
    assert main(["plugin", "check", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "插件 importfail: 无法导入 yishi_importfail.plugin" in out and "yishi_no_such_module" in out


def test_a_route_without_permission_is_found_by_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from core.plugin_kit.scaffold import scaffold

    folder = scaffold("openroute", tmp_path)
    plugin = folder / "yishi_openroute" / "plugin.py"
    plugin.write_text(plugin.read_text(encoding="utf-8").replace(', opt={"permission": "authenticated"}', ""),
                      encoding="utf-8")
    assert main(["plugin", "check", str(folder)]) == 1
    assert "/p/openroute (yishi_openroute.plugin.index)" in capsys.readouterr().out
