"""`yishi plugin check [PATH]`: every spec problem printed with file, key and line; exit 1."""

from __future__ import annotations

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
