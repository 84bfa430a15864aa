"""A resident votes on a 360×640 phone while the chair's poll page counts up by itself, against
``yishi demo`` in a real browser.

The chair (王建华, 翠竹园小区三方联席会议) schedules a meeting, puts a poll to the estate's roster and
opens it on a tablet; 朱秀英 opens her personal link on her phone, answers the identity check, finds
the poll on her page, votes 赞成 and sees "您的投票已记录" with a receipt code; the chair's page shows
"已投 1 票" without a reload. Opening the poll again says "您已投票"; in the 大字高对比 theme the page
still fits the phone.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import TABLET, DemoServer

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
TOUCH_PX = 44


def test_resident_votes_on_a_phone_and_the_chair_sees_the_count(browser: Browser, demo_server: DemoServer,
                                                                artifacts) -> None:
    tablet = browser.new_context(viewport=TABLET, base_url=demo_server.url, locale="zh-CN")
    tablet.set_default_timeout(15_000)
    chair = tablet.new_page()
    chair.goto("/login?next=/")
    chair.fill("#username", "wangjh")
    chair.fill("#password", "yishi-demo")
    chair.click("main button[type=submit]")
    chair.wait_for_url(re.compile(r"/$"))

    # The resident's link, from the roster.
    chair.get_by_role("link", name="居民名册与二维码").click()
    link = chair.locator("tr", has_text="朱秀英").locator("details input").input_value()
    link_path = link.removeprefix(demo_server.url)

    # A meeting of the chair's own, so other browser tests' meetings do not matter, and a poll on it.
    chair.goto("/")
    chair.locator("a", has_text="新建会议").first.click()
    chair.wait_for_url(re.compile(r"/councils/\d+/meetings/new$"))
    chair.fill("#f-title", "充电桩安装方案表决会")
    chair.fill("#f-date", (date.today() + timedelta(days=1)).isoformat())
    chair.fill("#f-time", "19:00")
    chair.get_by_role("button", name="创建会议").click()
    chair.wait_for_url(re.compile(r"/meetings/\d+$"))
    chair.goto(chair.url.removeprefix(demo_server.url) + "/polls/new")
    expect(chair.locator("#f-rule")).to_contain_text("第二百七十八条")  # each rule with its citation
    chair.fill("#f-title", "是否同意在地下车库安装电动车充电桩")
    chair.select_option("#f-electorate", "roster_person")
    chair.get_by_role("button", name="创建表决").click()
    chair.wait_for_url(re.compile(r"/polls/\d+$"))
    poll_path = chair.url.removeprefix(demo_server.url)
    poll_id = poll_path.rsplit("/", 1)[1]
    chair.click("#poll-open")
    expect(chair.locator("#poll-cast")).to_have_text("0")
    electorate = int(chair.inner_text("#poll-electorate"))
    assert electorate > 1
    chair.evaluate("window.__marker = 1")  # gone if the page reloads

    phone = browser.new_context(viewport=PHONE, base_url=demo_server.url, locale="zh-CN", is_mobile=True,
                                has_touch=True, device_scale_factor=2)
    phone.set_default_timeout(15_000)
    page = phone.new_page()
    page.goto(link_path)
    page.fill("#answer", "4460")
    page.click("main button[type=submit]")
    expect(page.get_by_role("heading", name="您好，朱*英")).to_be_visible()
    page.screenshot(path=str(artifacts / "vote-home-360x640.png"))
    page.locator(f'#my-polls a[href$="/polls/{poll_id}"]').click()
    expect(page.locator("#vote-title")).to_have_text("是否同意在地下车库安装电动车充电桩")
    options = page.locator(".v-option")
    expect(options).to_have_count(3)  # 赞成, 反对, 弃权
    for i in range(3):
        box = options.nth(i).bounding_box()
        assert box and box["height"] >= TOUCH_PX, f"option {i} is {box} high: too small to tap"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    page.screenshot(path=str(artifacts / "vote-360x640.png"))

    # Large print: the 大字高对比 theme still fits the phone, options included.
    page.get_by_role("link", name=re.compile("大字")).first.click()
    expect(page.locator("#vote-title")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "large print scrolls sideways"
    page.screenshot(path=str(artifacts / "vote-large-360x640.png"), full_page=True)

    page.locator(".v-option", has_text="赞成").click()
    page.get_by_role("button", name="投票").click()
    expect(page.locator("#vote-done")).to_contain_text("您的投票已记录")
    expect(page.locator("#vote-receipt")).to_have_text(re.compile(r"^[A-Z0-9]{8}$"))
    page.screenshot(path=str(artifacts / "vote-done-360x640.png"))

    # The chair's page counted up by itself.
    expect(chair.locator("#poll-cast")).to_have_text("1")
    assert chair.evaluate("window.__marker") == 1, "the chair's page reloaded instead of updating"

    page.goto(f"{link_path}/polls/{poll_id}")
    expect(page.locator("#vote-done")).to_contain_text("您已投票")
    expect(page.locator("input[name=choice]")).to_have_count(0)

    page.goto(link_path)
    expect(page.locator("#my-polls .r-poll", has_text="地下车库")).to_contain_text("您已投票")

    chair.click("#poll-close")
    expect(chair.locator("#poll-outcome")).to_be_visible()
    expect(chair.locator("#poll-rule")).to_contain_text("简单多数")
    chair.screenshot(path=str(artifacts / "poll-result-1024x768.png"), full_page=True)
    phone.close()
    tablet.close()
