"""`yishi plugin new`: the generated package installs with pip and runs as generated — the app finds
it through its entry point, shows its practice and its page, `yishi demo` seeds a council of it,
`yishi plugin check` finds nothing wrong and its own tests pass. Bad names change nothing.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import db
from core.cli import main as cli_main
from core.cli import seed_demo
from core.plugin_kit.scaffold import core_range
from core.plugins import installed_entry_points, load_plugins
from core.settings import Settings
from tests.conftest import forget_modules, http_client, login
from tests.factories import make_user

NAME = "kit_hongqiao"
TITLE = "虹桥议事会"
PACKAGE = f"yishi_{NAME}"


def pip_install(source: Path, target: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--quiet", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"pip could not install the generated plugin:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """The plugin made by `yishi plugin new`, pip-installed into a folder on sys.path:
    yields (its source folder, the install folder)."""
    work = tmp_path_factory.mktemp("kit")
    assert cli_main(["plugin", "new", NAME, "--dir", str(work), "--title", TITLE]) == 0
    source = work / PACKAGE
    target = work / "site-packages"
    pip_install(source, target)
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    try:
        yield source, target
    finally:
        sys.path.remove(str(target))
        forget_modules(PACKAGE)
        importlib.invalidate_caches()


def registry(tmp_path: Path) -> Path:
    path = tmp_path / "plugin_registry.toml"
    path.write_text(f"[plugins.{NAME}]\nenabled = true\n", encoding="utf-8")
    return path


def test_the_package_has_what_the_guide_promises(generated: tuple[Path, Path]) -> None:
    source, _target = generated
    pyproject = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["entry-points"]["yishi"] == {NAME: f"{PACKAGE}.plugin"}
    assert pyproject["project"]["dependencies"] == [f"yishi{core_range()}"]
    for relative in ("plugin.py", "plugin.toml", f"forms/{NAME}_tishi.toml", f"workflows/{NAME}_topic.toml",
                     f"templates/{NAME}/index.html", f"static/{NAME}.css"):
        assert (source / PACKAGE / relative).is_file(), relative
    assert (source / "tests" / f"test_{NAME}.py").is_file()
    assert f'name = "{TITLE}"' in (source / PACKAGE / "plugin.toml").read_text(encoding="utf-8")


def test_the_installed_plugin_loads_through_its_entry_point(generated: tuple[Path, Path], tmp_path: Path) -> None:
    _source, target = generated
    assert NAME in installed_entry_points()
    plugins = load_plugins(registry(tmp_path))

    assert plugins.warnings == []
    assert Path(sys.modules[f"{PACKAGE}.plugin"].__file__ or "").is_relative_to(target)
    practice = plugins.practices[NAME]
    assert (practice.name, practice.plugin) == (TITLE, NAME)
    assert plugins.specs.form(practice.intake_form).field("title").required
    workflow = plugins.specs.workflow(practice.topic_workflow)
    core_topic = plugins.specs.workflow("topic")
    assert set(core_topic.states) <= set(workflow.states)  # every state core's pages expect


async def test_the_app_shows_its_practice_and_its_page(
        generated: tuple[Path, Path], tmp_path: Path, database_url: str) -> None:
    from core.app import create_app

    settings = Settings.from_env(data_dir=tmp_path / "data", database_url=database_url,
                                 plugin_registry=registry(tmp_path))
    plugins = load_plugins(settings.plugin_registry)
    app = create_app(settings, plugins)
    engine = await db.connect(settings.database_url)
    app.state.engine = engine
    try:
        assert await seed_demo(plugins, settings)  # `yishi demo`: core's data and the plugin's council
        async with http_client(app) as client:
            anonymous = await client.get(f"/p/{NAME}/")
            await make_user("kit_admin", is_admin=True)
            await login(client, "kit_admin")
            home = await client.get("/")
            page = await client.get(f"/p/{NAME}/")
            css = await client.get(f"/static/plugins/{NAME}/{NAME}.css")
    finally:
        await db.disconnect(engine)

    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert home.status_code == 200
    assert f"<strong>{TITLE}</strong>" in home.text  # among the practices on the home page
    assert f'<a href="/p/{NAME}/">{TITLE}</a>' in home.text  # its menu link
    assert page.status_code == 200, page.text
    assert f"<h1>{TITLE}</h1>" in page.text
    assert f"{TITLE}提事表" in page.text and "议题（必填）" in page.text  # its TOML form
    assert f"{TITLE}（示范）" in page.text  # the council its demo data made
    assert '<header class="site-header">' in page.text  # inside core's layout
    assert css.status_code == 200 and f".{NAME}" in css.text


def test_plugin_check_and_the_generated_tests_pass(
        generated: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    source, target = generated
    assert cli_main(["plugin", "check", str(source)]) == 0
    assert "全部有效" in capsys.readouterr().out

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(Path.cwd())])}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                            cwd=source, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


@pytest.mark.parametrize(("name", "expected"), [
    ("Hong-Qiao", "无效"), ("1hongqiao", "无效"), ("x", "无效"), ("红桥", "无效"), ("class", "无效"),
    ("sanfang", "已被已安装的插件或议事实践使用"), ("core", "已被已安装的插件或议事实践使用"),
])
def test_a_bad_name_is_refused_and_nothing_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, expected: str) -> None:
    assert cli_main(["plugin", "new", name, "--dir", str(tmp_path)]) == 2
    assert expected in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_name_of_an_installed_plugin_is_refused(
        generated: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["plugin", "new", NAME, "--dir", str(tmp_path)]) == 2
    assert f"'{NAME}'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "yishi_lvyuan"
    existing.mkdir()
    (existing / "notes.txt").write_text("县里的笔记", encoding="utf-8")
    assert cli_main(["plugin", "new", "lvyuan", "--dir", str(tmp_path)]) == 2
    assert "已经存在" in capsys.readouterr().err
    assert [p.name for p in existing.iterdir()] == ["notes.txt"]


def test_a_title_that_would_break_the_files_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["plugin", "new", "lvyuan", "--dir", str(tmp_path), "--title", '绿园"议事会']) == 2
    assert "引号" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
