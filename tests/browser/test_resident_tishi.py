"""A resident raises an issue (提事) from a 360×640 phone against ``yishi demo`` in a real browser:
open the personal link, answer the identity check, fill the 居民提事表, land on the follow page."""

from __future__ import annotations

import os
import re
import sqlite3

import pytest
from playwright.sync_api import expect

from core.residents.tokens import make_token
from tests.browser.conftest import DemoServer

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}


def resident_link(server: DemoServer, name: str) -> str:
    """The personal link of a demo roster entry, computed as the server does (its data dir's key)."""
    key_file = server.data_dir / "secret_key"
    secret = os.environ.get("YISHI_SECRET_KEY") or key_file.read_text(encoding="ascii").strip()
    with sqlite3.connect(server.data_dir / "yishi.sqlite3") as conn:
        entry_id, generation = conn.execute(
            "SELECT id, token_generation FROM yishi_roster_entry WHERE name = ?", (name,)).fetchone()
    return f"{server.url}/r/{make_token(secret, entry_id, generation)}"


def test_resident_raises_an_issue_on_a_phone(browser, demo_server: DemoServer, artifacts) -> None:
    link = resident_link(demo_server, "马晓东")
    phone = browser.new_context(viewport=PHONE, base_url=demo_server.url, locale="zh-CN", is_mobile=True,
                                has_touch=True, device_scale_factor=2)
    phone.set_default_timeout(15_000)
    page = phone.new_page()
    page.goto(f"{link}/tishi")
    expect(page.get_by_role("heading", name="请先核对身份")).to_be_visible()
    page.fill("#answer", "7305")
    page.click("main button[type=submit]")
    # the check leads back to the page the link was opened on: the form itself
    expect(page.get_by_role("heading", name="居民提事表")).to_be_visible()
    assert page.url.endswith(f"{link.removeprefix(demo_server.url)}/tishi"), page.url
    page.fill("#f-title", "3栋1单元楼道电动车飞线充电")
    page.locator("label.lc-option", has_text="治安消防").click()
    page.fill("#f-details", "晚上有人从8楼窗户拉电线到楼下给电动车充电，电线垂在楼道口，很危险。")
    page.fill("#f-where-building", "3栋")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the form scrolls sideways"
    page.screenshot(path=str(artifacts / "resident-tishi-360x640.png"))
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r"/topics/\d+$"))
    expect(page.get_by_role("heading", name="3栋1单元楼道电动车飞线充电")).to_be_visible()
    expect(page.locator(".t-chip").first).to_have_text("已提出")
    expect(page.locator(".t-history")).to_contain_text("提出议题")
    assert "马晓东" not in page.inner_text("body")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    page.screenshot(path=str(artifacts / "resident-follow-360x640.png"))
    page.goto(link)
    expect(page.locator(".t-mine")).to_contain_text("3栋1单元楼道电动车飞线充电")
    phone.close()
