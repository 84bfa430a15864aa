"""A county's plugin from `yishi plugin new`, installed with pip, served by `yishi demo`, switched off
and on by the administrator on /admin/plugins in a real browser — no restart in between.

This module starts its own demo server (its own data folder and plugin_registry.toml) rather than
the shared one: switching a plugin off there would change what other browser tests see.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from core.settings import PROJECT_ROOT
from tests.browser.conftest import TABLET, DemoServer, log_in, running_server
from tests.test_plugin_kit import pip_install

pytestmark = pytest.mark.browser

NAME = "browser_qiao"
TITLE = "桥头议事会"


@pytest.fixture(scope="module")
def kit_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """`yishi demo` with a freshly generated and pip-installed plugin enabled."""
    from core.plugin_kit.scaffold import scaffold

    work = tmp_path_factory.mktemp("kit_server")
    source = scaffold(NAME, work, title=TITLE)
    site = work / "site-packages"
    pip_install(source, site)
    registry = work / "plugin_registry.toml"
    registry.write_text(f"[plugins.sanfang]\nenabled = true\n\n[plugins.{NAME}]\nenabled = true\n", encoding="utf-8")
    env = {"YISHI_PLUGIN_REGISTRY": str(registry), "PYTHONPATH": os.pathsep.join([str(site), str(PROJECT_ROOT)])}
    with running_server(work / "demo", f"yishi demo with {NAME}", env=env) as server:
        yield server


def test_the_admin_switches_a_plugin_off_and_on(browser, kit_server: DemoServer, artifacts: Path) -> None:
    context = browser.new_context(viewport=TABLET, base_url=kit_server.url, locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        log_in(page, "admin")
        nav = page.locator("nav")
        expect(nav.get_by_role("link", name=TITLE)).to_be_visible()
        nav.get_by_role("link", name=TITLE).click()
        expect(page.get_by_role("heading", name=TITLE, level=1)).to_be_visible()
        expect(page.get_by_text(f"{TITLE}（示范）")).to_be_visible()  # the council its demo data made

        nav.get_by_role("link", name="插件管理").click()
        row = page.locator(f"#plugin-{NAME}")
        expect(row).to_contain_text("已启用")
        expect(row).to_contain_text("0.1.0")
        page.screenshot(path=str(artifacts / "plugin-admin.png"), full_page=True)
        row.get_by_role("button", name="停用").click()
        expect(row).to_contain_text("已停用")
        expect(row).to_contain_text("系统管理员")  # who switched it
        expect(nav.get_by_role("link", name=TITLE)).to_have_count(0)

        gone = page.goto(f"/p/{NAME}/")
        assert gone is not None and gone.status == 404
        expect(page.get_by_text("这个插件已被管理员停用")).to_be_visible()
        page.goto("/")
        expect(page.locator(".practices")).not_to_contain_text(TITLE)

        page.goto("/admin/plugins")
        page.locator(f"#plugin-{NAME}").get_by_role("button", name="启用").click()
        expect(page.locator(f"#plugin-{NAME}")).to_contain_text("已启用")
        back = page.goto(f"/p/{NAME}/")
        assert back is not None and back.status == 200
        expect(page.get_by_text(f"{TITLE}（示范）")).to_be_visible()  # its data stayed
    finally:
        context.close()
