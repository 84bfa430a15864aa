"""The `yishi` command: demo seeding, migrate, doctor, and clear errors for bad settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import db
from core.cli import main
from core.errors import ConfigError, DatabaseError
from core.settings import Settings, documented_fields

DOCS = Path(__file__).resolve().parent.parent / "docs"


DEMO_LOGINS = ("admin    系统管理员 — 管理员，可管理账号",
               "wangjh   王建华 — 翠竹园小区三方联席会议 主持人（翠竹园小区党支部书记）",
               "heyedi   荷叶地街道办 — 荷叶地街道工作人员，查看辖区内的议事机构",
               "chenhy   陈海燕 — 四牌楼商圈街巷议事会 主持人",
               "yejm     叶建明 — 沥林新村邻聚力·月月谈议事会 主持人",
               "pengxl   彭秀兰 — 马王巷小区屋场恳谈会 主持人")


def test_demo_seeds_once_and_reset_starts_over(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """And lists every practice's demo logins, with council and seat, whether just seeded or reused."""
    data = tmp_path / "demo"
    assert main(["demo", "--data-dir", str(data), "--no-serve"]) == 0
    seeded = capsys.readouterr().out
    assert "已载入演示数据" in seeded
    assert (data / "yishi.sqlite3").exists()
    assert main(["demo", "--data-dir", str(data), "--no-serve"]) == 0
    reused = capsys.readouterr().out
    assert "沿用已有演示数据" in reused
    for out in (seeded, reused):
        assert all(line in out for line in DEMO_LOGINS), out
    assert main(["demo", "--data-dir", str(data), "--no-serve", "--reset"]) == 0
    assert "已载入演示数据" in capsys.readouterr().out


def test_demo_ignores_a_database_url_in_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Demo data must never land in a real database named in YISHI_DATABASE_URL."""
    monkeypatch.setenv("YISHI_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/production")
    assert main(["demo", "--data-dir", str(tmp_path / "d"), "--no-serve"]) == 0
    assert (tmp_path / "d" / "yishi.sqlite3").exists()


def test_migrate_is_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("YISHI_DATABASE_URL", raising=False)
    assert main(["migrate"]) == 0
    assert main(["migrate"]) == 0
    assert "数据库已是最新" in capsys.readouterr().out


@pytest.mark.parametrize("url, words", [
    ("mysql://root@localhost/yishi", "不支持的数据库"),
    ("sqlite://relative.db", "sqlite:////absolute/path"),
    ("postgresql://", "postgresql://user:password@host:5432/dbname"),
    ("postgresql://u:secret@db:99999/yishi", "端口无效"),
])
def test_malformed_database_urls_are_named(url: str, words: str) -> None:
    with pytest.raises(DatabaseError) as info:
        db.engine_from_url(url)
    assert words in str(info.value)
    assert "secret" not in str(info.value)  # passwords never printed


def test_unreachable_database_is_a_clear_error_without_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("YISHI_DATABASE_URL", "postgresql://yishi:pw@127.0.0.1:1/yishi")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert "无法连接数据库" in err and "127.0.0.1:1" in err and ":***@" in err
    assert "Traceback" not in err


def test_unknown_theme_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YISHI_THEME", "no-such-theme")
    with pytest.raises(ConfigError) as info:
        Settings.from_env()
    assert "YISHI_THEME='no-such-theme'" in str(info.value) and "default" in str(info.value)


def test_doctor_passes_here_and_prints_fixes_when_something_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("YISHI_DATABASE_URL", raising=False)
    assert main(["doctor"]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "✓ 中文字体 CJK font" in out and "✓ libharfbuzz-subset" in out

    import core.doctor

    monkeypatch.setattr(core.doctor, "cjk_font_families", lambda: ())
    monkeypatch.setattr(core.doctor, "harfbuzz_subset_available", lambda: False)
    monkeypatch.setenv("YISHI_DATABASE_URL", "postgresql://yishi@127.0.0.1:1/yishi")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "✗ 中文字体 CJK font" in out and "apt-get install -y fonts-wqy-microhei" in out
    assert "✗ libharfbuzz-subset" in out and "apt-get install -y libharfbuzz-subset0" in out
    assert "✗ 数据库 database" in out


def test_pdf_refuses_to_print_boxes_without_a_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    import core.minutes.render as render
    from core.fonts import MissingFontError

    monkeypatch.setattr(render, "cjk_font_families", lambda: ())
    with pytest.raises(MissingFontError) as info:
        render.render_pdf("<p>会议纪要</p>", base_url=".")
    assert "fonts-wqy-microhei" in str(info.value)


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for env, doc in documented_fields():
        assert f"| `{env}` | {doc} |" in text, f"{env} is missing or out of date in docs/configuration.md"
