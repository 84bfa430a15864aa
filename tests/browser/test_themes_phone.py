"""A resident switches theme on a 360×640 phone, against ``yishi demo`` in a real browser: the switcher's
plain links change the stylesheet (large print, 党建红, back to 标准) and the page stays usable in each.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TABLET, DemoServer, log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}


def _px(page, selector: str, prop: str) -> float:
    return float(page.evaluate(f"parseFloat(getComputedStyle(document.querySelector({selector!r})).{prop})"))


def test_a_resident_switches_to_large_print_and_party_red(browser, demo_server: DemoServer, artifacts) -> None:
    staff = browser.new_context(viewport=TABLET, base_url=demo_server.url, locale="zh-CN")
    page = staff.new_page()
    log_in(page, "wangjh")
    page.get_by_role("link", name="居民名册与二维码").click()
    link = page.locator("tr", has_text="朱秀英").locator("details input").input_value()
    staff.close()

    phone = browser.new_context(viewport=PHONE, base_url=demo_server.url, locale="zh-CN", is_mobile=True,
                                has_touch=True)
    phone.set_default_timeout(15_000)
    page = phone.new_page()
    page.goto(link)
    page.fill("#answer", "4460")
    page.click("main button[type=submit]")
    expect(page.get_by_role("heading", name="您好，朱*英")).to_be_visible()
    switcher = page.get_by_role("navigation", name="显示方式")
    expect(switcher.locator("[aria-current]")).to_have_text("标准")
    expect(page.locator(".site-header")).to_have_css("background-color", "rgb(31, 95, 191)")

    switcher.get_by_role("link", name="大字高对比").click()
    expect(page.get_by_role("navigation", name="显示方式").locator("[aria-current]")).to_have_text("大字高对比")
    assert page.url == link  # back on the same page
    expect(page.locator(".site-header")).to_have_css("background-color", "rgb(11, 61, 145)")
    assert _px(page, "html", "fontSize") >= 20
    assert _px(page, ".resident", "fontSize") >= 22
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    for target in (page.get_by_role("link", name="我要提事"),
                   *page.get_by_role("navigation", name="显示方式").get_by_role("link").all()):
        box = target.bounding_box()
        assert box is not None and box["height"] >= 48, (target, box)
    page.keyboard.press("Tab")  # the first thing to focus is in the switcher: a thick ring shows it
    assert page.evaluate("getComputedStyle(document.activeElement).outlineWidth") == "4px"
    page.screenshot(path=str(artifacts / "theme-large-360x640.png"))

    page.get_by_role("navigation", name="显示方式").get_by_role("link", name="党建红").click()
    expect(page.get_by_role("navigation", name="显示方式").locator("[aria-current]")).to_have_text("党建红")
    expect(page.locator(".site-header")).to_have_css("background-color", "rgb(183, 28, 28)")
    expect(page.locator(".site-header")).to_have_css("color", "rgb(255, 255, 255)")
    assert _px(page, "html", "fontSize") == 17
    page.screenshot(path=str(artifacts / "theme-dangjian-360x640.png"))

    # the choice is the phone's: a new page load keeps it, and 标准 goes back to core's look
    page.goto(link + "/tishi")
    expect(page.locator(".site-header")).to_have_css("background-color", "rgb(183, 28, 28)")
    page.get_by_role("navigation", name="显示方式").get_by_role("link", name="标准").click()
    expect(page.get_by_role("navigation", name="显示方式").locator("[aria-current]")).to_have_text("标准")
    assert page.url == link + "/tishi"
    expect(page.locator(".site-header")).to_have_css("background-color", "rgb(31, 95, 191)")
    assert not [c for c in phone.cookies() if c["name"] == "yishi_theme"]
    phone.close()
