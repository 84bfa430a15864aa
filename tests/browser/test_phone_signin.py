"""Self sign-in by the meeting's QR link on a 360×640 phone, against ``yishi demo`` in a real browser.

The chair has the console open on a tablet; the recorder opens the join link on their phone,
logs in, presses 签到 and sees 已签到 with the count one higher — and the chair's console shows the
new count by itself (live update, no reload).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import TABLET, DemoServer

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
TOUCH_PX = 44


def _log_in(page: Page, username: str, next_path: str = "/") -> None:
    page.goto(f"/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", "yishi-demo")
    page.click("main button[type=submit]")


def _open_console_with_qr(page: Page) -> tuple[str, str]:
    """The chair schedules a meeting of their own (新建会议 on the home page), so this test does not
    depend on what other browser tests did to the demo's meetings; its console path and join link."""
    page.goto("/")
    page.locator("a", has_text="新建会议").first.click()
    page.wait_for_url(re.compile(r"/councils/\d+/meetings/new$"))
    page.fill("#f-title", "1号楼加装电梯意见征集会")
    page.fill("#f-date", (date.today() + timedelta(days=2)).isoformat())
    page.fill("#f-time", "19:30")
    page.fill("#f-place", "1号楼架空层")
    page.get_by_role("button", name="创建会议").click()
    page.wait_for_url(re.compile(r"/meetings/\d+$"))
    link = page.locator("#attendance .att-qr figcaption a")
    expect(link).to_have_count(1)
    return page.url.removeprefix(page.url.split("/meetings/")[0]), link.get_attribute("href") or ""


def test_member_signs_in_by_qr_link_and_the_console_follows(browser: Browser, demo_server: DemoServer,
                                                            artifacts) -> None:
    tablet = browser.new_context(viewport=TABLET, base_url=demo_server.url, locale="zh-CN")
    tablet.set_default_timeout(15_000)
    console = tablet.new_page()
    _log_in(console, "wangjh")  # the chair keeps the console open (with its override form's select)
    console.wait_for_url(re.compile(r"/$"))
    console_path, join = _open_console_with_qr(console)
    assert re.fullmatch(rf"{re.escape(demo_server.url)}/m/\d+/[A-Za-z0-9_-]{{22}}", join), join
    join_path = join.removeprefix(demo_server.url)
    expect(console.locator("#attendance svg")).to_be_visible()  # the QR code itself
    before = int(console.inner_text("#attendance-present"))
    console.evaluate("window.__marker = 1")

    phone = browser.new_context(viewport=PHONE, base_url=demo_server.url, locale="zh-CN", is_mobile=True,
                                has_touch=True, device_scale_factor=2)
    phone.set_default_timeout(15_000)
    page = phone.new_page()
    page.goto(join_path)
    expect(page.locator("#login-to-sign-in")).to_be_visible()  # not logged in: told how
    page.click("#login-to-sign-in")
    page.fill("#username", "liuxw")
    page.fill("#password", "yishi-demo")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(re.escape(join_path) + "$"))

    button = page.locator("#sign-in")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box and box["height"] >= TOUCH_PX and box["width"] >= TOUCH_PX
    expect(page.locator("#phone-present")).to_have_text(str(before))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    page.screenshot(path=str(artifacts / "phone-signin-360x640.png"), full_page=True)

    button.click()
    expect(page.locator("#phone-done")).to_contain_text("已签到")
    expect(page.locator("#phone-present")).to_have_text(str(before + 1))
    page.screenshot(path=str(artifacts / "phone-signed-in-360x640.png"), full_page=True)

    # the console was not touched: the live stream brought the new count
    expect(console.locator("#attendance-present")).to_have_text(str(before + 1))
    expect(console.locator("#attendance .att-row", has_text="刘晓雯").locator(".att-status")).to_contain_text("出席")
    assert console.evaluate("window.__marker") == 1, "the console was reloaded instead of updated live"
    assert console.url.endswith(console_path)

    # pressing 签到 again (a second tab, a retry) changes nothing and says so
    page.goto(join_path)
    expect(page.locator("#phone-done")).to_contain_text("已签到")
    expect(page.locator("#sign-in")).to_have_count(0)
    phone.close()
    tablet.close()
