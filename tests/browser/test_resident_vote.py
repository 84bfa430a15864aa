"""A resident votes on a 360×640 phone while the projector and the chair's poll page count up by
themselves, against ``yishi demo`` in a real browser.

The chair (王建华, 翠竹园小区三方联席会议) schedules a meeting, adds its agenda, starts it, puts a poll on
the current item to the estate's roster and opens it on a tablet; the room's TV (a second browser, no
login, the keyless screen link) shows "已投 0 票 / 应投 N". 朱秀英 opens her personal link on her phone,
answers the identity check, finds the poll on her page, votes 赞成 and sees "您的投票已记录" with a
receipt code; the TV and the chair's page show 1 without a reload — and never a running result.
Voting again (the same form sent twice) and opening the poll again say "您已投票"; in the 大字高对比
theme the page still fits the phone.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import TABLET, DemoServer
from tests.browser.test_projector_follows import (
    PROJECTOR,
    _add_items,
    _press,
    _screen_link,
    _watch_events,
)

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

    # A meeting of the chair's own, so other browser tests' meetings do not matter, in session on its
    # first item, and the room's TV on its screen link.
    chair.goto("/")
    chair.locator("a", has_text="新建会议").first.click()
    chair.wait_for_url(re.compile(r"/councils/\d+/meetings/new$"))
    chair.fill("#f-title", "地下车库充电桩安装表决会")  # not another test's title: a repeated form is one meeting
    chair.fill("#f-date", (date.today() + timedelta(days=2)).isoformat())
    chair.fill("#f-time", "19:30")
    chair.get_by_role("button", name="创建会议").click()
    chair.wait_for_url(re.compile(r"/meetings/\d+$"))
    meeting_path = "/meetings/" + chair.url.rsplit("/meetings/", 1)[1]
    _watch_events(chair)
    _add_items(chair)
    screen_path = _screen_link(tablet, chair, demo_server)
    _press(chair, chair.get_by_role("button", name="开始会议"), "/step")
    tv_context = browser.new_context(viewport=PROJECTOR, base_url=demo_server.url, locale="zh-CN")
    tv_context.set_default_timeout(15_000)
    tv = tv_context.new_page()
    tv.goto(screen_path)
    expect(tv.locator("#screen-state")).to_have_text("进行中")
    expect(tv.locator("#screen-poll")).to_have_count(0)
    tv.evaluate("window.__marker = 1")  # gone if the page reloads

    chair.goto(meeting_path)
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
    screen_poll = tv.locator("#screen-poll")
    expect(screen_poll).to_contain_text("是否同意在地下车库安装电动车充电桩")
    expect(screen_poll.locator("b")).to_have_text(["0", str(electorate)])
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
    form_html = page.locator("form", has=page.locator("input[name=choice]")).evaluate("f => f.outerHTML")
    page.get_by_role("button", name="投票").click()
    expect(page.locator("#vote-done")).to_contain_text("您的投票已记录")
    expect(page.locator("#vote-receipt")).to_have_text(re.compile(r"^[A-Z0-9]{8}$"))
    receipt = page.inner_text("#vote-receipt")
    page.screenshot(path=str(artifacts / "vote-done-360x640.png"))

    # The TV and the chair's page counted up by themselves; the TV shows no running result.
    expect(screen_poll.locator("b")).to_have_text(["1", str(electorate)])
    assert "赞成" not in screen_poll.inner_text()
    assert tv.evaluate("window.__marker") == 1, "the projector reloaded instead of updating"
    tv.screenshot(path=str(artifacts / "vote-projector-1920x1080.png"))
    expect(chair.locator("#poll-cast")).to_have_text("1")
    assert chair.evaluate("window.__marker") == 1, "the chair's page reloaded instead of updating"

    # The same ballot sent again (a second tap on a slow network, the page kept open): 您已投票, nothing counted.
    page.set_content(form_html.replace('action="/', f'action="{demo_server.url}/'))
    page.locator("input[name=choice][value=反对]").check()
    page.locator("form button[type=submit]").click()
    expect(page.locator("#vote-done")).to_contain_text("您已投票")
    assert receipt not in page.inner_text("main")
    expect(screen_poll.locator("b")).to_have_text(["1", str(electorate)])

    page.goto(f"{link_path}/polls/{poll_id}")
    expect(page.locator("#vote-done")).to_contain_text("您已投票")
    expect(page.locator("input[name=choice]")).to_have_count(0)

    page.goto(link_path)
    expect(page.locator("#my-polls .r-poll", has_text="地下车库")).to_contain_text("您已投票")

    chair.click("#poll-close")
    expect(chair.locator("#poll-outcome")).to_be_visible()
    expect(chair.locator("#poll-rule")).to_contain_text("简单多数")
    chair.screenshot(path=str(artifacts / "poll-result-1024x768.png"), full_page=True)
    expect(screen_poll.locator(".verdict")).to_have_text("通过")  # 1 赞成 of 1 valid: simple majority

    # 结束会议, so the demo's council has no meeting left in session for the next browser test.
    chair.on("dialog", lambda d: d.accept())
    chair.goto(meeting_path)
    _watch_events(chair)
    _press(chair, chair.get_by_role("button", name="结束会议"), "/step")
    expect(tv.locator("#screen-state")).to_have_text("已结束")
    phone.close()
    tv_context.close()
    tablet.close()
