"""/admin/plugins: an administrator sees every installed plugin and switches a loaded one off and on
without a restart. A switched-off plugin's pages, files, menu link, practice and template override
disappear at once (in every server process within seconds), and so do its identity checks; its
councils and records stay; every switch is audited once, even when two administrators press it at the
same instant. Only administrators (``plugins.manage``) reach the page. Bad requests get a clear message
and change nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from litestar import Litestar

import core
from core import db
from core.accounts.permissions import ADMIN_PERMISSIONS
from core.app import create_app
from core.audit.tables import AuditEvent
from core.plugin_admin.tables import PluginSwitch
from core.plugin_meta import PluginMeta, hookimpl
from core.plugins import load_plugins
from core.practices import Practice
from core.residents.identity import IdentityCheck
from core.residents.tables import RosterEntry
from core.residents.tokens import make_token
from core.settings import Settings
from tests.conftest import SAMPLE_ID, database_state, http_client, login
from tests.factories import make_council, make_user

REGISTRY = """
[registry]
on_error = "skip"

[plugins.sample_county]
enabled = true
"""

PAGE = "/p/sample_county/"
CSS = "/static/plugins/sample_county/sample_county.css"
BANNER = "测试县邻里议事会插件已启用"  # the plugin's override of core's home.html
MENU_LINK = f'<a href="{PAGE}">邻里议事会</a>'
PRACTICE_ITEM = "<strong>邻里议事会</strong>"


def settings_for(tmp_path: Path, database_url: str) -> Settings:
    registry = tmp_path / "plugin_registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    return Settings.from_env(data_dir=tmp_path / "data", database_url=database_url, plugin_registry=registry)


@asynccontextmanager
async def running(settings: Settings, extra_modules: tuple[ModuleType, ...] = ()) -> AsyncIterator[Litestar]:
    """One server process: its own app and plugin system, on the shared database."""
    app = create_app(settings, load_plugins(settings.plugin_registry, extra_modules=extra_modules))
    engine = await db.connect(settings.database_url)
    app.state.engine = engine
    try:
        yield app
    finally:
        await db.disconnect(engine)


@asynccontextmanager
async def as_user(app: Litestar, username: str | None) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as client:
        if username:
            await login(client, username)
        yield client


async def switch(client: httpx.AsyncClient, plugin_id: str, enabled: str) -> httpx.Response:
    return await client.post(f"/admin/plugins/{plugin_id}/enabled", data={"enabled": enabled})


async def test_the_page_lists_every_plugin_with_its_state(
        sample_county: Path, tmp_path: Path, database_url: str) -> None:
    async with running(settings_for(tmp_path, database_url)) as app:
        await make_user("admin", is_admin=True)
        async with as_user(app, "admin") as client:
            page = await client.get("/admin/plugins")
            home = await client.get("/")

    assert page.status_code == 200
    html = page.text
    assert '<a href="/admin/plugins">插件管理</a>' in home.text  # in the admin's menu
    row = html[html.index('id="plugin-sample_county"'):]
    row = row[:row.index("</tr>")]
    assert 'data-state="on"' in row and "邻里议事会（测试县）" in row and "1.0.0" in row
    assert "yishi-sample-county" in row and "邻里议事会" in row and "停用" in row
    core_row = html[html.index('id="plugin-core"'):]
    assert "必需，不能停用" in core_row[:core_row.index("</tr>")]
    assert "三方联席会议" in html


async def test_only_admins_see_the_page(sample_county: Path, tmp_path: Path, database_url: str) -> None:
    async with running(settings_for(tmp_path, database_url)) as app:
        await make_council(practice="linli_test")  # chair: a seat, not an admin
        async with as_user(app, None) as anonymous:
            login_needed = await anonymous.get("/admin/plugins")
        async with as_user(app, "chair") as chair:
            refused = await chair.get("/admin/plugins")
            home = await chair.get("/")
            before = await database_state()
            post = await switch(chair, SAMPLE_ID, "0")
            after = await database_state()

    assert login_needed.status_code == 303 and login_needed.headers["location"] == "/login?next=/admin/plugins"
    assert refused.status_code == 403
    assert "/admin/plugins" not in home.text
    assert post.status_code == 403
    assert before == after


async def test_the_page_has_its_own_admin_only_permission(tmp_path: Path, database_url: str) -> None:
    """``plugins.manage``, not the account admin's ``users.manage``; no role grants it — not even one a
    plugin could add for a council, since the page names no council."""
    settings = Settings.from_env(data_dir=tmp_path / "data", database_url=database_url)
    async with running(settings) as app:
        permissions = {handler.opt.get("permission") for route in app.routes
                       if route.path.startswith("/admin/plugins") for handler in route.route_handlers}
        granted = set().union(*app.state.access.grants.values())
    assert permissions == {"plugins.manage"}
    assert "plugins.manage" in ADMIN_PERMISSIONS and "plugins.manage" not in granted


async def test_switching_off_hides_pages_links_and_practice_and_keeps_the_data(
        sample_county: Path, tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url)
    async with running(settings) as app:
        council = await make_council(practice="linli_test")
        await make_user("admin", is_admin=True)
        async with as_user(app, "admin") as client:
            before = (await client.get("/")).text
            off = await switch(client, SAMPLE_ID, "0")
            home = await client.get("/")
            page, css = await client.get(PAGE), await client.get(CSS)
            report = await client.get(f"/p/sample_county/report/{council.id}")
            admin_page = await client.get("/admin/plugins")
            topics = await client.get(f"/councils/{council.id}/topics")
            switches = await PluginSwitch.select(PluginSwitch.plugin, PluginSwitch.enabled)
            events = await AuditEvent.select().where(AuditEvent.entity == f"plugin:{SAMPLE_ID}")
            on = await switch(client, SAMPLE_ID, "1")
            back = await client.get("/")
            page_back = await client.get(PAGE)

    for part in (BANNER, MENU_LINK, PRACTICE_ITEM):
        assert part in before
    assert off.status_code == 303 and off.headers["location"] == "/admin/plugins"
    for part in (BANNER, MENU_LINK, PRACTICE_ITEM):
        assert part not in home.text, part
    assert "锦绣苑小区 · 邻里议事会" in home.text  # the council stays, still named by its practice
    assert page.status_code == 404 and "已被管理员停用" in page.text
    assert css.status_code == 404 and report.status_code == 404
    assert topics.status_code == 200  # its council's topics are core's pages, and stay
    row = admin_page.text[admin_page.text.index('id="plugin-sample_county"'):]
    assert 'data-state="off"' in row[:row.index("</tr>")] and "启用" in row
    assert switches == [{"plugin": SAMPLE_ID, "enabled": False}]
    assert [(e["action"], json.loads(e["before"]), json.loads(e["after"])) for e in events] == [
        ("plugin.disabled", {"enabled": True}, {"enabled": False})]
    assert events[0]["actor"].startswith("user:")
    assert on.status_code == 303
    for part in (BANNER, MENU_LINK, PRACTICE_ITEM):
        assert part in back.text
    assert page_back.status_code == 200


async def test_another_server_process_follows_the_switch(
        sample_county: Path, tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url)
    async with running(settings) as first, running(settings) as second:
        await make_user("admin", is_admin=True)
        async with as_user(second, "admin") as other:
            assert (await other.get(PAGE)).status_code == 200
        async with as_user(first, "admin") as client:
            assert (await switch(client, SAMPLE_ID, "0")).status_code == 303
        second.state.plugin_switches.checked_at = -1e9  # as if REFRESH_SECONDS had passed
        async with as_user(second, "admin") as other:
            page = await other.get(PAGE)
            home = await other.get("/")

    assert page.status_code == 404
    assert MENU_LINK not in home.text and BANNER not in home.text


async def test_the_switch_survives_a_restart(sample_county: Path, tmp_path: Path, database_url: str) -> None:
    settings = settings_for(tmp_path, database_url)
    async with running(settings) as app:
        await make_user("admin", is_admin=True)
        async with as_user(app, "admin") as client:
            await switch(client, SAMPLE_ID, "0")
    async with running(settings) as restarted, as_user(restarted, "admin") as client:
        page = await client.get(PAGE)
    assert page.status_code == 404


@pytest.mark.parametrize(("plugin_id", "enabled", "message"), [
    ("core", "0", "议事核心不能停用"),
    ("nonexistent", "0", "没有加载"),
    (SAMPLE_ID, "maybe", "请用页面上的"),
])
async def test_a_bad_switch_is_refused_and_changes_nothing(
        sample_county: Path, tmp_path: Path, database_url: str,
        plugin_id: str, enabled: str, message: str) -> None:
    async with running(settings_for(tmp_path, database_url)) as app:
        await make_user("admin", is_admin=True)
        async with as_user(app, "admin") as client:
            before = await database_state()
            answer = await switch(client, plugin_id, enabled)
            after = await database_state()
            page = await client.get(PAGE)

    assert answer.status_code == 422
    assert message in answer.text
    assert before == after
    assert page.status_code == 200


async def test_switching_twice_records_one_event(sample_county: Path, tmp_path: Path, database_url: str) -> None:
    """A retried press (weak Wi-Fi) changes nothing the second time."""
    async with running(settings_for(tmp_path, database_url)) as app:
        await make_user("admin", is_admin=True)
        async with as_user(app, "admin") as client:
            await switch(client, SAMPLE_ID, "0")
            again = await switch(client, SAMPLE_ID, "0")
            events = await AuditEvent.count().where(AuditEvent.entity == f"plugin:{SAMPLE_ID}")
    assert again.status_code == 303
    assert events == 1


@pytest.mark.parametrize("presses", [2, 6])
async def test_admins_pressing_the_same_switch_at_once_all_succeed(
        sample_county: Path, tmp_path: Path, database_url: str, presses: int) -> None:
    """Two administrators (on two server processes) switch a never-switched plugin off at the same
    instant, some pressing twice: every press is answered, the plugin ends off, one row, one event."""
    settings = settings_for(tmp_path, database_url)
    async with running(settings) as first, running(settings) as second:
        await make_user("admin", is_admin=True)
        await make_user("admin2", is_admin=True)
        async with as_user(first, "admin") as one, as_user(second, "admin2") as two:
            answers = await asyncio.gather(*[switch((one, two)[i % 2], SAMPLE_ID, "0") for i in range(presses)])
            switches = await PluginSwitch.select(PluginSwitch.plugin, PluginSwitch.enabled)
            events = await AuditEvent.select(AuditEvent.action).where(AuditEvent.entity == f"plugin:{SAMPLE_ID}")
            for app in (first, second):  # whichever made the change, the other reads it
                app.state.plugin_switches.checked_at = -1e9  # as if REFRESH_SECONDS had passed
            pages = [await one.get(PAGE), await two.get(PAGE)]
            # and back on, again all at once: one more change, one more event
            back = await asyncio.gather(*[switch((one, two)[i % 2], SAMPLE_ID, "1") for i in range(presses)])
            after = await PluginSwitch.select(PluginSwitch.plugin, PluginSwitch.enabled)
            actions = await AuditEvent.select(AuditEvent.action).where(AuditEvent.entity == f"plugin:{SAMPLE_ID}")

    assert [a.status_code for a in answers] == [303] * presses, [a.text[:300] for a in answers]
    assert switches == [{"plugin": SAMPLE_ID, "enabled": False}]
    assert events == [{"action": "plugin.disabled"}]
    assert [p.status_code for p in pages] == [404, 404]
    assert [a.status_code for a in back] == [303] * presses, [a.text[:300] for a in back]
    assert after == [{"plugin": SAMPLE_ID, "enabled": True}]
    assert sorted(e["action"] for e in actions) == ["plugin.disabled", "plugin.enabled"]


def doorbell_plugin() -> ModuleType:
    """A plugin whose practice (门栋议事会) asks residents for their 单元号 — a check it provides."""
    module = ModuleType("yishi_doorbell_test")
    module.meta = PluginMeta(id="doorbell", name="门栋议事会（测试）", version="1.0.0",  # type: ignore[attr-defined]
                             core=f"=={core.__version__}")

    @hookimpl
    def yishi_identity_checks() -> list[IdentityCheck]:
        return [IdentityCheck(id="unit_no", label="单元号", prompt="请输入您家所在的单元号",
                              input_mode="numeric", verify=lambda entry, value: value.strip() == entry["unit_no"])]

    @hookimpl
    def yishi_practices() -> list[Practice]:
        return [Practice(id="mendong", name="门栋议事会", identity_check="unit_no")]

    module.yishi_identity_checks = yishi_identity_checks  # type: ignore[attr-defined]
    module.yishi_practices = yishi_practices  # type: ignore[attr-defined]
    return module


async def test_a_switched_off_plugins_identity_check_goes_with_it(tmp_path: Path, database_url: str) -> None:
    """The check was in use (and so remembered) before the switch: it must still go, and the
    resident's link fails closed rather than checking them with a switched-off plugin's code."""
    registry = tmp_path / "plugin_registry.toml"
    registry.write_text('[registry]\non_error = "fail"\n', encoding="utf-8")
    settings = Settings.from_env(data_dir=tmp_path / "data", database_url=database_url, plugin_registry=registry)
    async with running(settings, (doorbell_plugin(),)) as app:
        council = await make_council(practice="mendong")
        entry = await RosterEntry.objects().create(unit=council.unit, name="朱秀英", building="3栋", unit_no="2",
                                                   room="1502", kind="owner", household="3-2-1502", phone_last4="4460")
        link = f"/r/{make_token(settings.secret(), entry.id, 1)}"
        await make_user("admin", is_admin=True)
        async with as_user(app, None) as phone, as_user(app, "admin") as admin:
            asked = await phone.get(link)
            assert (await switch(admin, "doorbell", "0")).status_code == 303
            refused = await phone.get(link)
            refused_answer = await phone.post(link, data={"answer": "2"})
            assert (await switch(admin, "doorbell", "1")).status_code == 303
            asked_again = await phone.get(link)
            passed = await phone.post(link, data={"answer": "2"})

    assert asked.status_code == 200 and "请输入您家所在的单元号" in asked.text
    assert refused.status_code == 503 and "unit_no" in refused.text and "请输入您家所在的单元号" not in refused.text
    assert refused_answer.status_code == 503
    assert asked_again.status_code == 200 and "请输入您家所在的单元号" in asked_again.text
    assert passed.status_code == 303 and passed.headers["location"] == link
