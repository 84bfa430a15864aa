"""Plugins end to end: a real out-of-tree package installed with pip and found by its entry point,
enabled and disabled in plugin_registry.toml, and every way a registry or a plugin can be wrong.

The sample plugin lives in tests/fixtures/yishi_sample_county. The session fixture ``sample_county``
(tests/conftest.py) installs it with the venv's pip into a temporary folder and puts that folder on
``sys.path``: the loader must find it through ``importlib.metadata`` like any county's package, never
by importing a path. Its pages declare their permissions like core's; one of them needs a permission
the plugin grants itself through ``yishi_permissions``.
"""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
import types
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

import core
from core import PluginMeta, db, hookimpl
from core.app import create_app
from core.cli import main as cli_main
from core.errors import ConfigError, PluginError
from core.plugins import installed_entry_points, load_plugins
from core.practices import Practice
from core.settings import Settings
from tests.conftest import SAMPLE_ID, SAMPLE_PACKAGE, forget_modules, http_client, login
from tests.factories import make_council, make_meeting, make_user

SAMPLE_DIST = "yishi-sample-county"
SAMPLE_PAGE = "/p/sample_county/"
SAMPLE_REPORT = "/p/sample_county/report/{}"
SAMPLE_CSS = "/static/plugins/sample_county/sample_county.css"
BANNER = "测试县邻里议事会插件已启用"
CORE_PRACTICES_HEADING = "已启用的议事实践"  # from core's home.html, kept by the override's super()

ENABLED = """
[registry]
on_error = "fail"

[plugins.sanfang]
enabled = true

[plugins.sample_county]
enabled = true
"""

DISABLED = """
[registry]
on_error = "fail"

[plugins.sample_county]
enabled = false
"""

ABSENT = """
[registry]
on_error = "fail"

[plugins.sanfang]
enabled = true
"""


# -------------------------------------------------------------------------------------------------
# Fixtures and helpers
# -------------------------------------------------------------------------------------------------


@pytest.fixture
def fake_dist(tmp_path: Path) -> Iterator[Callable[..., None]]:
    """Install a one-file plugin distribution the way pip lays it out (a module and its dist-info).

    For plugins that must be broken on purpose, reached through the entry point like a real one.
    """
    site = tmp_path / "fake-site"
    site.mkdir()
    modules: list[str] = []

    def install(plugin_id: str, source: str, files: dict[str, str] | None = None) -> None:
        """``files``: more files beside the module (specs, templates), by path relative to it."""
        module = f"yishi_{plugin_id}"
        (site / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        for relative, text in (files or {}).items():
            (site / relative).parent.mkdir(parents=True, exist_ok=True)
            (site / relative).write_text(textwrap.dedent(text), encoding="utf-8")
        info = site / f"{module}-0.1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: yishi-{plugin_id.replace('_', '-')}\nVersion: 0.1.0\n",
            encoding="utf-8")
        (info / "entry_points.txt").write_text(f"[yishi]\n{plugin_id} = {module}\n", encoding="utf-8")
        modules.append(module)
        importlib.invalidate_caches()

    sys.path.insert(0, str(site))
    try:
        yield install
    finally:
        sys.path.remove(str(site))
        for module in modules:
            forget_modules(module)
        importlib.invalidate_caches()


def write_registry(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "plugin_registry.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def settings_for(tmp_path: Path, database_url: str, registry: Path) -> Settings:
    return Settings.from_env(data_dir=tmp_path / "data", database_url=database_url,
                             plugin_registry=registry)


@asynccontextmanager
async def running_app(settings: Settings, plugins: Any = None) -> AsyncIterator[Litestar]:
    """The app with its database connected (the pattern of tests/conftest.py's ``client``)."""
    app = create_app(settings, plugins or load_plugins(settings.plugin_registry))
    engine = await db.connect(settings.database_url)
    app.state.engine = engine
    try:
        yield app
    finally:
        await db.disconnect(engine)


@asynccontextmanager
async def app_client(settings: Settings, plugins: Any = None,
                     admin: str | None = "admin") -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the app (CSRF cookie and header, as tests/conftest.py's
    ``http_client``), logged in as a new admin named ``admin`` — or anonymous with ``admin=None``."""
    async with running_app(settings, plugins) as app, http_client(app) as client:
        if admin is not None:
            await make_user(admin, is_admin=True)
            await login(client, admin)
        yield client


#: What core's yishi_menu_links reads from an anonymous request (the hook always gets a request).
ANONYMOUS_REQUEST = types.SimpleNamespace(scope={})


def tiny_meta(plugin_id: str = "tiny", **changes: str) -> PluginMeta:
    values = {"id": plugin_id, "name": "小插件", "version": "0.3.0", "core": ">=0.1,<0.2"} | changes
    return PluginMeta(**values)


def tiny_plugin(module_name: str, meta: PluginMeta | None, **hooks: Callable[..., Any]) -> types.ModuleType:
    """A plugin module made on the fly: ``meta`` plus the given functions marked with ``hookimpl``."""
    module = types.ModuleType(module_name)
    if meta is not None:
        module.meta = meta  # type: ignore[attr-defined]
    for name, function in hooks.items():
        setattr(module, name, hookimpl(function))
    return module


def practices_of(*ids: str) -> Callable[[], list[Practice]]:
    return lambda: [Practice(id=pid, name=f"议事实践 {pid}") for pid in ids]


def plugin_list(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                registry: Path) -> tuple[str, str]:
    """Run `yishi plugin list` against ``registry``; returns (stdout, stderr)."""
    monkeypatch.setenv("YISHI_PLUGIN_REGISTRY", str(registry))
    assert cli_main(["plugin", "list"]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def row_of(output: str, plugin_id: str) -> str:
    rows = [line for line in output.splitlines() if line.split()[:1] == [plugin_id]]
    assert len(rows) == 1, f"expected one row for {plugin_id} in:\n{output}"
    return rows[0]


# -------------------------------------------------------------------------------------------------
# Enabled in the registry
# -------------------------------------------------------------------------------------------------


def test_enabled_plugin_is_found_through_its_entry_point(sample_county: Path, tmp_path: Path) -> None:
    plugins = load_plugins(write_registry(tmp_path, ENABLED))

    assert plugins.warnings == []
    record = next(r for r in plugins.records if r.id == SAMPLE_ID)
    assert (record.source, record.enabled, record.loaded, record.problem) == (SAMPLE_DIST, True, True, "")
    assert plugins.metas[SAMPLE_ID].name == "邻里议事会（测试县）"
    assert plugins.metas[SAMPLE_ID].version == "1.0.0"
    # imported by the entry point from where pip put it, not from the fixture's source folder
    assert Path(sys.modules[SAMPLE_PACKAGE].__file__ or "").is_relative_to(sample_county)

    practice = plugins.practices["linli_test"]
    assert (practice.name, practice.plugin) == ("邻里议事会", SAMPLE_ID)
    assert practice.role_label("building_head") == "楼栋长"
    assert "sanfang" in plugins.practices  # core's practice is still there


def test_hooks_are_called_in_load_order_core_first(sample_county: Path, tmp_path: Path) -> None:
    plugins = load_plugins(write_registry(tmp_path, ENABLED))

    links = plugins.call_each("yishi_menu_links", request=ANONYMOUS_REQUEST)
    assert [pid for pid, _ in links] == ["core", SAMPLE_ID]
    assert list(plugins.metas) == ["core", "sanfang", SAMPLE_ID]


async def test_home_page_shows_practice_banner_and_core_content(
        sample_county: Path, tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url, write_registry(tmp_path, ENABLED))
    async with app_client(settings) as client:
        await make_council(practice="linli_test")
        page = await client.get("/")

    assert page.status_code == 200
    html = page.text
    assert "锦绣苑小区 · 邻里议事会" in html  # the council's practice, named by the plugin
    assert BANNER in html  # the override of home.html …
    assert CORE_PRACTICES_HEADING in html  # … keeps core's block through super()
    assert html.index(BANNER) < html.index(CORE_PRACTICES_HEADING)
    assert "<strong>邻里议事会</strong>" in html and "<strong>三方联席会议</strong>" in html
    nav = html[html.index("<nav"):html.index("</nav>")]
    assert f'<a href="{SAMPLE_PAGE}">邻里议事会</a>' in nav
    assert nav.index('href="/"') < nav.index(SAMPLE_PAGE)  # core's link first


async def test_plugin_page_renders_inside_core_layout(
        sample_county: Path, tmp_path: Path, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YISHI_TEST_COUNTY", "示范县")
    registry = write_registry(tmp_path, ENABLED + """
        [plugins.sample_county.settings]
        county = "$env:YISHI_TEST_COUNTY"
        """)
    settings = settings_for(tmp_path, database_url, registry)
    async with app_client(settings) as client:
        page = await client.get(SAMPLE_PAGE)

    assert page.status_code == 200
    html = page.text
    assert "<h1>邻里议事会（示范县）</h1>" in html  # its template, with its $env: setting
    assert "<li>楼栋长</li>" in html
    assert '<header class="site-header">' in html and 'class="site-footer"' in html  # core's base.html
    assert f'href="{SAMPLE_CSS}"' in html
    assert f'<a href="{SAMPLE_PAGE}">邻里议事会</a>' in html


async def test_plugin_static_files_are_served(
        sample_county: Path, tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url, write_registry(tmp_path, ENABLED))
    async with app_client(settings, admin=None) as client:  # static files are public
        css = await client.get(SAMPLE_CSS)
        core_css = await client.get("/static/css/yishi.css")

    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ".sample-county-banner" in css.text
    assert core_css.status_code == 200  # core's static files are not shadowed


# -------------------------------------------------------------------------------------------------
# Permissions of a plugin's routes
# -------------------------------------------------------------------------------------------------


async def test_plugin_page_needs_a_login(sample_county: Path, tmp_path: Path, database_url: str) -> None:
    """The page declares "authenticated": anonymous visitors are sent to the login page and back."""
    settings = settings_for(tmp_path, database_url, write_registry(tmp_path, ENABLED))
    async with app_client(settings, admin=None) as client:
        plain = await client.get(SAMPLE_PAGE)
        htmx = await client.get(SAMPLE_PAGE, headers={"HX-Request": "true"})
        await make_user("resident_helper")  # no seat, no staff scope: logged in is enough here
        await login(client, "resident_helper")
        page = await client.get(SAMPLE_PAGE)

    assert plain.status_code == 303
    assert plain.headers["location"].rstrip("/") == "/login?next=/p/sample_county"
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"] == plain.headers["location"]
    assert page.status_code == 200 and "<h1>邻里议事会（测试县）</h1>" in page.text


async def test_plugin_permission_is_granted_to_the_roles_it_names(
        sample_county: Path, tmp_path: Path, database_url: str) -> None:
    """sample_county.report, granted by the plugin's yishi_permissions to its practice role 楼栋长
    and to core's role chair, checked against the council in the path."""
    from core.org.tables import CouncilMember, Person

    settings = settings_for(tmp_path, database_url, write_registry(tmp_path, ENABLED))
    async with running_app(settings) as app:
        council = await make_council(practice="linli_test")  # logins chair, recorder
        other = await make_council(practice="linli_test", suffix="_b")  # chair_b
        meeting = await make_meeting(1, council=council)
        other_meeting = await make_meeting(1, council=other)
        head = await Person.objects().create(name="李楼长")
        await CouncilMember.objects().create(council=council.id, person=head.id, role="building_head")
        await make_user("head", person=head.id)
        await make_user("nobody")  # logged in, no seat anywhere, no staff scope
        await make_user("admin", is_admin=True)
        report = SAMPLE_REPORT.format(council.id)

        async def get_as(username: str | None, url: str = report,
                         headers: dict[str, str] | None = None) -> httpx.Response:
            async with http_client(app) as client:
                if username:
                    await login(client, username)
                return await client.get(url, headers=headers)

        chair, head_page, admin = await get_as("chair"), await get_as("head"), await get_as("admin")
        recorder, nobody, other_chair = await get_as("recorder"), await get_as("nobody"), await get_as("chair_b")
        anonymous = await get_as(None)
        anonymous_htmx = await get_as(None, headers={"HX-Request": "true"})
        missing = await get_as("admin", SAMPLE_REPORT.format(99999))

    assert "sample_county.report" in app.state.access.grants["building_head"]
    assert "sample_county.report" in app.state.access.grants["chair"]
    for allowed in (chair, head_page, admin):
        assert allowed.status_code == 200, allowed.text
        assert f"<h1>{council.name}</h1>" in allowed.text
        assert f'href="/meetings/{meeting.id}"' in allowed.text
        assert f'href="/meetings/{other_meeting.id}"' not in allowed.text
    for refused in (recorder, nobody, other_chair):  # a seat without the grant; no seat; another council
        assert refused.status_code == 403, refused.text
        assert "您没有权限进行此操作" in refused.text
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/login?next={report}"
    assert anonymous_htmx.status_code == 401 and anonymous_htmx.headers["hx-redirect"] == f"/login?next={report}"
    assert missing.status_code == 404


NO_PERMISSION_PLUGIN = """
    from litestar import Controller, get, post
    from litestar.params import FromPath

    from core import PluginMeta, hookimpl

    meta = PluginMeta(id="careless_county", name="粗心县", version="0.1.0", core=">=0.1,<0.2")


    @get("/forgotten", name="careless_county:forgotten")
    async def forgotten() -> str:
        return "谁都能看"


    @get("/declared", name="careless_county:declared", opt={"permission": "authenticated"})
    async def declared() -> str:
        return "登录后可看"


    class Records(Controller):
        path = "/records"

        @get("/", name="careless_county:records", opt={"permission": "authenticated"})
        async def index(self) -> str:
            return "记录"

        @post("/{record_id:int}/delete", name="careless_county:delete")
        async def delete(self, record_id: FromPath[int]) -> str:
            return "删了"


    @hookimpl
    def yishi_routes() -> list:
        return [forgotten, declared, Records]
"""


def test_plugin_route_without_permission_stops_the_start(
        tmp_path: Path, fake_dist: Callable[[str, str], None], monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dist("careless_county", NO_PERMISSION_PLUGIN)

    async def no_database(*args: object, **kwargs: object) -> None:
        raise AssertionError("the database was reached although a route declares no permission")

    monkeypatch.setattr(db, "connect", no_database)
    registry = write_registry(tmp_path, "[plugins.careless_county]\nenabled = true\n")
    plugins = load_plugins(registry)  # the plugin itself is fine …
    with pytest.raises(PluginError) as caught:  # … but the app will not serve its routes
        create_app(settings_for(tmp_path, f"sqlite:///{tmp_path / 'yishi.sqlite3'}", registry), plugins)

    message = str(caught.value)
    assert 'opt={"permission": ...}' in message
    assert "/p/careless_county/forgotten (yishi_careless_county.forgotten)" in message
    assert "/p/careless_county/records/{record_id:int}/delete (yishi_careless_county.Records.delete)" in message
    assert "declared" not in message and "careless_county/records (" not in message  # these declare one
    assert "/meetings" not in message  # core's routes all declare theirs


def test_plugin_list_shows_enabled_plugin(sample_county: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out, err = plugin_list(monkeypatch, capsys, write_registry(tmp_path, ENABLED))

    row = row_of(out, SAMPLE_ID)
    assert "已启用" in row and "1.0.0" in row and SAMPLE_DIST in row and "邻里议事会（测试县）" in row
    assert f"linli_test — 邻里议事会 (插件 {SAMPLE_ID})" in out
    assert err == ""


# -------------------------------------------------------------------------------------------------
# Disabled or absent from the registry
# -------------------------------------------------------------------------------------------------

NOT_ENABLED = pytest.mark.parametrize("registry_body", [DISABLED, ABSENT], ids=["disabled", "absent"])


@NOT_ENABLED
def test_not_enabled_plugin_is_not_loaded(sample_county: Path, tmp_path: Path, registry_body: str) -> None:
    plugins = load_plugins(write_registry(tmp_path, registry_body))

    assert SAMPLE_ID in installed_entry_points()
    assert SAMPLE_ID not in plugins.metas
    assert "linli_test" not in plugins.practices
    record = next(r for r in plugins.records if r.id == SAMPLE_ID)
    assert (record.enabled, record.loaded, record.source) == (False, False, SAMPLE_DIST)
    assert [pid for pid, _ in plugins.call_each("yishi_template_dirs")] == []
    assert plugins.warnings == []


@NOT_ENABLED
async def test_not_enabled_plugin_leaves_no_trace_on_the_site(
        sample_county: Path, tmp_path: Path, database_url: str, registry_body: str) -> None:
    settings = settings_for(tmp_path, database_url, write_registry(tmp_path, registry_body))
    async with app_client(settings) as client:
        home = await client.get("/")
        page = await client.get(SAMPLE_PAGE)
        css = await client.get(SAMPLE_CSS)

    assert home.status_code == 200
    assert CORE_PRACTICES_HEADING in home.text and "三方联席会议" in home.text
    assert BANNER not in home.text
    assert "邻里议事会" not in home.text
    assert SAMPLE_PAGE not in home.text
    assert page.status_code == 404
    assert css.status_code == 404


@NOT_ENABLED
def test_plugin_list_shows_installed_but_not_enabled(
        sample_county: Path, tmp_path: Path, registry_body: str,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    out, err = plugin_list(monkeypatch, capsys, write_registry(tmp_path, registry_body))

    row = row_of(out, SAMPLE_ID)
    assert "未启用" in row and SAMPLE_DIST in row
    assert "已启用" in row_of(out, "core")
    assert "linli_test" not in out
    assert err == ""


# -------------------------------------------------------------------------------------------------
# Core's own plugins
# -------------------------------------------------------------------------------------------------


def test_sanfang_can_be_disabled_but_core_cannot(tmp_path: Path) -> None:
    plugins = load_plugins(write_registry(tmp_path, """
        [plugins.core]
        enabled = false

        [plugins.sanfang]
        enabled = false
        """))

    assert "sanfang" not in plugins.practices
    assert "sanfang" not in plugins.metas
    assert "core" in plugins.metas
    assert [pid for pid, _ in plugins.call_each("yishi_routes")] == ["core"]
    records = {r.id: r for r in plugins.records}
    assert (records["sanfang"].enabled, records["sanfang"].loaded) == (False, False)
    assert (records["core"].enabled, records["core"].loaded) == (True, True)


async def test_site_without_sanfang(tmp_path: Path, database_url: str) -> None:
    registry = write_registry(tmp_path, "[plugins.sanfang]\nenabled = false\n")
    async with app_client(settings_for(tmp_path, database_url, registry)) as client:
        home = await client.get("/")

    assert home.status_code == 200
    assert CORE_PRACTICES_HEADING in home.text
    assert "三方联席会议" not in home.text


# -------------------------------------------------------------------------------------------------
# A wrong plugin_registry.toml
# -------------------------------------------------------------------------------------------------

BAD_REGISTRIES = [
    pytest.param('[registry]\non_error = "fail"\n\n[plugins.sanfang]\nenabled = tru\n',
                 ["malformed TOML", "line 5"], id="malformed-toml"),
    pytest.param("[plugin.sample_county]\nenabled = true\n",
                 ["unknown key(s): plugin;", "[plugins.<id>]"], id="unknown-top-level-key"),
    pytest.param("[plugins.sanfang]\nenable = true\n",
                 ["plugins.sanfang", "unknown key(s) enable"], id="unknown-plugin-key"),
    pytest.param('[plugins.sample_county]\nenabled = "yes"\n',
                 ["plugins.sample_county.enabled = 'yes'", "true or false"], id="enabled-not-bool"),
    pytest.param("[plugins.nonexistent]\nenabled = true\n",
                 ["[plugins.nonexistent]", "no such plugin is installed",
                  "installed: core, ", "sample_county", "sanfang"], id="unknown-plugin"),
    pytest.param('[registry]\non_error = "maybe"\n',
                 ["registry.on_error = 'maybe'", '"fail"', '"skip"'], id="bad-on-error"),
    pytest.param('[plugins.sanfang.settings]\ntoken = "$env:YISHI_TEST_MISSING"\n',
                 ["plugins.sanfang.settings.token", "YISHI_TEST_MISSING", "is not set"], id="missing-env"),
]


@pytest.mark.parametrize(("body", "expected"), BAD_REGISTRIES)
def test_bad_registry_is_refused_naming_file_and_key(
        sample_county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        body: str, expected: list[str]) -> None:
    monkeypatch.delenv("YISHI_TEST_MISSING", raising=False)
    registry = write_registry(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_plugins(registry)

    message = str(caught.value)
    assert message.startswith(f"{registry}:")
    for part in expected:
        assert part in message


@pytest.mark.parametrize(("body", "expected"), BAD_REGISTRIES)
def test_bad_registry_stops_the_app_before_the_database(
        sample_county: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        body: str, expected: list[str]) -> None:
    monkeypatch.delenv("YISHI_TEST_MISSING", raising=False)

    async def no_database(*args: object, **kwargs: object) -> None:
        raise AssertionError("the database was reached with a broken plugin_registry.toml")

    monkeypatch.setattr(db, "connect", no_database)
    database = tmp_path / "data" / "yishi.sqlite3"
    settings = settings_for(tmp_path, f"sqlite:///{database}", write_registry(tmp_path, body))
    with pytest.raises(ConfigError):
        create_app(settings)
    assert not database.exists()
    assert not (tmp_path / "data").exists()


def test_registry_env_settings_are_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YISHI_TEST_TOKEN", "s3cret")
    plugins = load_plugins(write_registry(tmp_path, """
        [plugins.sanfang.settings]
        token = "$env:YISHI_TEST_TOKEN"
        plain = "$env is only a prefix when it is the whole value"
        nested = { list = ["$env:YISHI_TEST_TOKEN", 3] }
        """))
    assert plugins.settings_for("sanfang") == {
        "token": "s3cret",
        "plain": "$env is only a prefix when it is the whole value",
        "nested": {"list": ["s3cret", 3]},
    }
    assert plugins.settings_for("core") == {}


# -------------------------------------------------------------------------------------------------
# A broken plugin
# -------------------------------------------------------------------------------------------------


def yishi_menu_links_with_wrong_argument(req: object) -> list[dict[str, str]]:
    return []


BROKEN_PLUGINS = [
    pytest.param(lambda: [tiny_plugin("tiny_without_meta", None)],
                 ["tiny_without_meta", "meta = core.PluginMeta(...)"], id="missing-meta"),
    pytest.param(lambda: [tiny_plugin("tiny_bad_id", tiny_meta("Tiny-County"))],
                 ["tiny_bad_id", "meta.id = 'Tiny-County'", "invalid"], id="bad-id"),
    pytest.param(lambda: [tiny_plugin("tiny", tiny_meta(version="第一版"))],
                 ["插件 tiny", "meta.version = '第一版'", "PEP 440"], id="bad-version"),
    pytest.param(lambda: [tiny_plugin("tiny", tiny_meta(core="about 0.1"))],
                 ["插件 tiny", "meta.core = 'about 0.1'", "version range"], id="invalid-core-range"),
    pytest.param(lambda: [tiny_plugin("tiny", tiny_meta(core=">=0.2,<0.3"))],
                 ["插件 tiny 0.3.0", "needs core >=0.2,<0.3", f"this is {core.__version__}"],
                 id="core-range-excludes-this-core"),
    pytest.param(lambda: [tiny_plugin("tiny", tiny_meta(), yishi_practises=practices_of("tiny_practice"))],
                 ["插件 tiny", "unknown hook", "yishi_practises", "docs/plugins.md"], id="misspelt-hook"),
    pytest.param(lambda: [tiny_plugin("tiny", tiny_meta(),
                                      yishi_menu_links=yishi_menu_links_with_wrong_argument)],
                 ["插件 tiny", "bad hook implementation", "yishi_menu_links", "'req'"], id="wrong-argument"),
    pytest.param(lambda: [tiny_plugin("tiny_a", tiny_meta("tiny_a"), yishi_practices=practices_of("shared")),
                          tiny_plugin("tiny_b", tiny_meta("tiny_b"), yishi_practices=practices_of("shared"))],
                 ["插件 tiny_b 与插件 tiny_a", "'shared'"], id="duplicate-practice"),
    pytest.param(lambda: [tiny_plugin("tiny", tiny_meta(), yishi_practices=practices_of("sanfang"))],
                 ["插件 tiny 与插件 sanfang", "'sanfang'"], id="practice-id-of-core"),
    pytest.param(lambda: [tiny_plugin("tiny", tiny_meta(), yishi_practices=practices_of("twice", "twice"))],
                 ["插件 tiny", "'twice'", "declares the same practice id twice"], id="practice-declared-twice"),
    pytest.param(lambda: [tiny_plugin("tiny", tiny_meta(), yishi_practices=lambda: ["三方联席会议"])],
                 ["插件 tiny", "yishi_practices", "got str"], id="practices-not-practice"),
]


@pytest.mark.parametrize(("make_modules", "expected"), BROKEN_PLUGINS)
def test_broken_plugin_stops_the_start_naming_it(
        tmp_path: Path, make_modules: Callable[[], list[types.ModuleType]], expected: list[str]) -> None:
    registry = write_registry(tmp_path, ABSENT)
    with pytest.raises(PluginError) as caught:
        load_plugins(registry, extra_modules=make_modules())

    message = str(caught.value)
    for part in expected:
        assert part in message


NEEDS_CORE_9 = ('from core import PluginMeta\n'
                'meta = PluginMeta(id="broken_county", name="坏插件", version="0.1.0", core=">=9.0")\n')

ENTRY_POINT_PROBLEMS = [
    pytest.param(NEEDS_CORE_9,
                 ["插件 broken_county 0.1.0 (yishi-broken-county)", "needs core >=9.0",
                  f"this is {core.__version__}"], id="core-range"),
    pytest.param('from core import PluginMeta\n'
                 'meta = PluginMeta(id="other_name", name="坏插件", version="0.1.0", core=">=0.1")\n',
                 ["插件 broken_county (yishi-broken-county)", "'other_name'", "entry-point name"],
                 id="id-differs-from-entry-point"),
    pytest.param('raise RuntimeError("数据库密码没有配置")\n',
                 ["插件 broken_county (yishi-broken-county)", "cannot be imported",
                  "RuntimeError: 数据库密码没有配置"], id="import-error"),
]


MISSING_TEMPLATE = """
    from pathlib import Path

    from litestar import get
    from litestar.response import Template

    from core import PluginMeta, hookimpl

    meta = PluginMeta(id="broken_county", name="坏插件", version="0.1.0", core=">=0.1")


    @get("/", name="broken_county:index", opt={"permission": "authenticated"})
    async def index() -> Template:
        return Template("broken_county/index.html")


    @hookimpl
    def yishi_routes() -> list:
        return [index]


    @hookimpl
    def yishi_template_dirs() -> list:
        return [Path(__file__).parent / "broken_county_templates"]
    """

BAD_SPEC = """
    from pathlib import Path

    from core import PluginMeta, hookimpl

    meta = PluginMeta(id="broken_county", name="坏插件", version="0.1.0", core=">=0.1")


    @hookimpl
    def yishi_forms() -> list:
        return [Path(__file__).parent / "broken_county_forms"]
    """

BAD_FORM = """
    id = "broken_county_tishi"
    version = 1
    title = "提事表"

    [[fields]]
    name = "title"
    label = "议题"
    type = "essay"
    """

#: (module source, files beside it, what the message names) for problems only a real package has.
PACKAGE_PROBLEMS = [
    pytest.param(MISSING_TEMPLATE, {"broken_county_templates/broken_county/list.html":
                                    '{% extends "base.html" %}{% include "broken_county/row.html" %}'},
                 ["插件 broken_county", "template not found", "'broken_county/index.html'",
                  "yishi_broken_county.py:14", "'broken_county/row.html'", "broken_county/list.html"],
                 id="missing-template"),
    pytest.param(MISSING_TEMPLATE, {},
                 ["插件 broken_county", "template folder does not exist", "broken_county_templates",
                  "package-data"], id="missing-template-folder"),
    pytest.param(BAD_SPEC, {"broken_county_forms/tishi.toml": BAD_FORM},
                 ["插件 broken_county", "bad form", "tishi.toml", "fields.title.type", "line 9", "'essay'"],
                 id="bad-spec"),
]


@pytest.mark.parametrize(("source", "files", "expected"), PACKAGE_PROBLEMS)
def test_installed_plugin_with_a_missing_template_or_bad_spec_stops_the_start(
        tmp_path: Path, fake_dist: Callable[..., None], source: str, files: dict[str, str],
        expected: list[str]) -> None:
    fake_dist("broken_county", source, files)
    registry = write_registry(tmp_path, "[plugins.broken_county]\nenabled = true\n")
    with pytest.raises(PluginError) as caught:
        load_plugins(registry)

    for part in expected:
        assert part in str(caught.value)


@pytest.mark.parametrize(("source", "files", "expected"), PACKAGE_PROBLEMS)
def test_installed_plugin_with_a_missing_template_or_bad_spec_is_skipped(
        tmp_path: Path, fake_dist: Callable[..., None], source: str, files: dict[str, str],
        expected: list[str]) -> None:
    fake_dist("broken_county", source, files)
    plugins = load_plugins(write_registry(tmp_path, SKIP))

    assert "broken_county" not in plugins.metas
    assert plugins.pm.get_plugin("broken_county") is None
    assert [pid for pid, _ in plugins.call_each("yishi_routes")] == ["core"]
    assert len(plugins.warnings) == 1
    for part in [*expected, "skipped"]:
        assert part in plugins.warnings[0]


@pytest.mark.parametrize("on_error", ["fail", "skip"])
def test_yishi_serve_refuses_or_starts_without_the_plugin_as_the_registry_says(
        tmp_path: Path, fake_dist: Callable[..., None], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], on_error: str) -> None:
    """`yishi serve` and `yishi migrate` load the plugins first: with on_error = "fail" a plugin with a
    missing template stops them before the database is touched, naming the plugin and the template."""
    fake_dist("broken_county", MISSING_TEMPLATE, {})
    registry = write_registry(tmp_path, f'[registry]\non_error = "{on_error}"\n\n'
                                        '[plugins.broken_county]\nenabled = true\n')
    database = tmp_path / "data" / "yishi.sqlite3"
    monkeypatch.setenv("YISHI_PLUGIN_REGISTRY", str(registry))
    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("YISHI_DATABASE_URL", f"sqlite:///{database}")

    status = cli_main(["migrate"])

    err = capsys.readouterr().err
    if on_error == "fail":
        assert status == 2
        assert "插件 broken_county" in err and "'broken_county/index.html'" in err and "template not found" in err
        assert not database.exists()
    else:
        assert status == 0 and database.exists()
        out, _err = plugin_list(monkeypatch, capsys, registry)
        assert "出错" in row_of(out, "broken_county") and "template folder does not exist" in out


@pytest.mark.parametrize(("source", "expected"), ENTRY_POINT_PROBLEMS)
def test_broken_installed_plugin_stops_the_start_naming_it(
        tmp_path: Path, fake_dist: Callable[[str, str], None], source: str, expected: list[str]) -> None:
    fake_dist("broken_county", source)
    registry = write_registry(tmp_path, "[plugins.broken_county]\nenabled = true\n")
    with pytest.raises(PluginError) as caught:
        load_plugins(registry)

    for part in expected:
        assert part in str(caught.value)


@pytest.mark.parametrize(("source", "expected"), ENTRY_POINT_PROBLEMS)
def test_broken_installed_plugin_is_harmless_until_enabled(
        tmp_path: Path, fake_dist: Callable[[str, str], None], source: str, expected: list[str]) -> None:
    fake_dist("broken_county", source)
    plugins = load_plugins(write_registry(tmp_path, ABSENT))
    record = next(r for r in plugins.records if r.id == "broken_county")
    assert (record.enabled, record.loaded, record.problem) == (False, False, "")
    assert "yishi_broken_county" not in sys.modules  # not even imported


# -------------------------------------------------------------------------------------------------
# on_error = "skip": leave the broken plugin out, warn, and start
# -------------------------------------------------------------------------------------------------

SKIP = """
[registry]
on_error = "skip"

[plugins.broken_county]
enabled = true
"""


def skipping_modules() -> list[types.ModuleType]:
    """One good plugin and three broken ones, each of which must be left out whole."""
    return [
        tiny_plugin("tiny_good", tiny_meta("tiny_good"), yishi_practices=practices_of("good_practice")),
        # registered fine, then refused by check_pending
        tiny_plugin("tiny_typo", tiny_meta("tiny_typo"), yishi_practises=practices_of("typo_practice"),
                    yishi_menu_links=lambda request: [{"href": "/typo", "label": "拼错"}]),
        # one good hook, one with a wrong argument
        tiny_plugin("tiny_args", tiny_meta("tiny_args"), yishi_practices=practices_of("args_practice"),
                    yishi_menu_links=yishi_menu_links_with_wrong_argument),
        # its second practice clashes with the good plugin's; its first must go too
        tiny_plugin("tiny_dup", tiny_meta("tiny_dup"), yishi_practices=practices_of("dup_own", "good_practice"),
                    yishi_menu_links=lambda request: [{"href": "/dup", "label": "重复"}]),
    ]


BROKEN_IDS = ["broken_county", "tiny_typo", "tiny_args", "tiny_dup"]


def test_skip_leaves_broken_plugins_out_with_warnings(
        tmp_path: Path, fake_dist: Callable[[str, str], None]) -> None:
    fake_dist("broken_county", NEEDS_CORE_9)
    plugins = load_plugins(write_registry(tmp_path, SKIP), extra_modules=skipping_modules())

    assert list(plugins.metas) == ["core", "sanfang", "tiny_good"]
    assert set(plugins.practices) == {"sanfang", "good_practice"}
    assert plugins.practices["good_practice"].plugin == "tiny_good"
    assert [pid for pid, _ in plugins.call_each("yishi_menu_links", request=ANONYMOUS_REQUEST)] == ["core"]
    for plugin_id in BROKEN_IDS:
        assert plugins.pm.get_plugin(plugin_id) is None
        record = next(r for r in plugins.records if r.id == plugin_id)
        assert not record.loaded and plugin_id in record.problem
        assert any(plugin_id in w and "skipped" in w for w in plugins.warnings), plugin_id
    assert len(plugins.warnings) == len(BROKEN_IDS)


def test_skip_never_replaces_core_practice(tmp_path: Path) -> None:
    impostor = tiny_plugin("tiny", tiny_meta(), yishi_practices=practices_of("sanfang"))
    plugins = load_plugins(write_registry(tmp_path, '[registry]\non_error = "skip"\n'),
                           extra_modules=[impostor])

    assert plugins.practices["sanfang"].plugin == "sanfang"
    assert plugins.practices["sanfang"].name == "三方联席会议"
    assert "tiny" not in plugins.metas
    assert any("插件 tiny 与插件 sanfang" in w for w in plugins.warnings)


def test_skip_also_tolerates_unknown_plugin_in_registry(tmp_path: Path) -> None:
    plugins = load_plugins(write_registry(tmp_path, """
        [registry]
        on_error = "skip"

        [plugins.nonexistent]
        enabled = true
        """))
    assert len(plugins.warnings) == 1 and "[plugins.nonexistent]" in plugins.warnings[0]


def test_skip_does_not_excuse_a_malformed_registry(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_plugins(write_registry(tmp_path, '[registry]\non_error = "skip"\n[plugins.x]\nenabled = "no"\n'))


async def test_app_starts_without_skipped_plugins(
        tmp_path: Path, database_url: str, fake_dist: Callable[[str, str], None]) -> None:
    fake_dist("broken_county", NEEDS_CORE_9)
    registry = write_registry(tmp_path, SKIP)
    plugins = load_plugins(registry, extra_modules=skipping_modules())
    async with app_client(settings_for(tmp_path, database_url, registry), plugins) as client:
        home = await client.get("/")

    assert home.status_code == 200
    assert "议事实践 good_practice" in home.text and "三方联席会议" in home.text
    for left_out in ("typo_practice", "args_practice", "dup_own", "/typo", "/dup"):
        assert left_out not in home.text


def test_plugin_list_shows_skipped_plugin_and_warning(
        tmp_path: Path, fake_dist: Callable[[str, str], None],
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    fake_dist("broken_county", NEEDS_CORE_9)
    out, err = plugin_list(monkeypatch, capsys, write_registry(tmp_path, SKIP))

    assert "出错" in row_of(out, "broken_county")
    assert "! 插件 broken_county 0.1.0 (yishi-broken-county)" in out
    assert re.search(r"警告 / warning: 插件 broken_county .*needs core >=9\.0", err)
