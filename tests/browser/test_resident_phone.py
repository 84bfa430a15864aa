"""A resident opens their personal link on a 360×640 phone, against ``yishi demo`` in a real browser.

The recorder finds the link on the roster page (and downloads the slips), then a phone — another
browser context, no login — opens it, answers the 三方联席会议's check (the phone's last four
digits), and reads the coming meeting's agenda in large print without sideways scrolling.
"""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.browser.conftest import TABLET, DemoServer, log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
TOUCH_PX = 44


def test_resident_opens_their_link_on_a_phone(browser, demo_server: DemoServer, artifacts) -> None:
    staff = browser.new_context(viewport=TABLET, base_url=demo_server.url, accept_downloads=True, locale="zh-CN")
    staff.set_default_timeout(15_000)
    page = staff.new_page()
    log_in(page, "liuxw")
    page.get_by_role("link", name="居民名册与二维码").click()
    expect(page.get_by_role("heading", name="居民名册与二维码")).to_be_visible()
    row = page.locator("tr", has_text="朱秀英")
    expect(row).to_contain_text("3栋 2单元 1502室")
    link = row.locator("details input").input_value()
    assert re.fullmatch(rf"{re.escape(demo_server.url)}/r/\d+\.1\.[A-Za-z0-9_-]{{22}}", link), link
    page.screenshot(path=str(artifacts / "roster-1024x768.png"))
    with page.expect_download() as info:
        page.click("#slips-all")
    pdf = PdfReader(io.BytesIO(info.value.path().read_bytes()))
    text = re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in pdf.pages))
    assert "朱秀英" in text and "3栋2单元1502室" in text and "请用手机扫码参与议事" in text
    staff.close()

    phone = browser.new_context(viewport=PHONE, base_url=demo_server.url, locale="zh-CN", is_mobile=True,
                                has_touch=True, device_scale_factor=2)
    phone.set_default_timeout(15_000)
    page = phone.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="请先核对身份")).to_be_visible()
    assert "朱" not in page.inner_text("main")  # nothing personal before the check
    page.screenshot(path=str(artifacts / "resident-verify-360x640.png"))
    page.fill("#answer", "1234")
    page.click("main button[type=submit]")
    expect(page.locator("#answer-error")).to_contain_text("回答不正确")
    expect(page.locator("#answer")).to_have_value("1234")
    page.fill("#answer", "4460")
    page.click("main button[type=submit]")
    expect(page.get_by_role("heading", name="您好，朱*英")).to_be_visible()
    expect(page.locator("main")).to_contain_text("翠竹园小区三方联席会议")
    main = page.inner_text("main")
    # the council's coming meetings with time and agenda (which ones depends on what the other browser
    # tests on the shared demo have closed or scheduled), or that none is planned
    meetings = page.locator(".r-meeting")
    if meetings.count():
        first = meetings.first.inner_text()
        assert "时间：" in first and ("议程" in first or "议程尚未公布" in first), first
    else:
        assert "近期没有安排会议" in main, main
    assert "朱秀英" not in page.inner_text("body")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    size = float(page.evaluate("parseFloat(getComputedStyle(document.querySelector('.resident')).fontSize)"))
    assert size >= 19, f"the resident's page is set in {size}px: not large print"
    page.screenshot(path=str(artifacts / "resident-360x640.png"))
    page.screenshot(path=str(artifacts / "resident-360x640-full.png"), full_page=True)

    page.reload()  # the phone is remembered: no second check
    expect(page.get_by_role("heading", name="您好，朱*英")).to_be_visible()
    page.goto(link[:-1] + ("x" if link[-1] != "x" else "y"))
    expect(page.locator("main")).to_contain_text("链接无效或已失效，请联系社区重新领取")
    phone.close()


def test_identity_form_is_big_enough_to_use(browser, demo_server: DemoServer) -> None:
    """The answer box and the button are large targets on a phone (≥ 44 px high, full width)."""
    staff = browser.new_context(viewport=TABLET, base_url=demo_server.url, locale="zh-CN")
    page = staff.new_page()
    log_in(page, "wangjh")
    page.get_by_role("link", name="居民名册与二维码").click()
    link = page.locator("tr", has_text="何志明").locator("details input").input_value()
    staff.close()
    phone = browser.new_context(viewport=PHONE, base_url=demo_server.url, locale="zh-CN", is_mobile=True,
                                has_touch=True)
    page = phone.new_page()
    page.goto(link)
    for selector in ("#answer", "main button[type=submit]"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["height"] >= TOUCH_PX and box["width"] >= 0.7 * PHONE["width"], (selector, box)
    assert page.locator("#answer").get_attribute("inputmode") == "numeric"
    phone.close()
