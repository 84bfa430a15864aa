"""The console's agenda editing and weak-Wi-Fi behaviour in a real browser at tablet size.

What the HTTP tests cannot see: that 上移 really moves the card in place, that a delete asks first
(without a script dialog), that a failed post shows "未保存，请重试" and keeps what was typed, that
the pressed button says "正在保存…" while the post is on its way, and that the timer ticks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import DemoServer, running_server
from tests.browser.test_chair_flow import assert_touch_targets

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    """A demo of this module's own: this test opens the demo's draft meeting, which the chair-flow
    test (sharing the session's demo) expects to find still a draft."""
    with running_server(tmp_path_factory.mktemp("demo-console")) as server:
        yield server


def _login(page: Page) -> None:
    page.goto("/login")
    page.fill("#username", "wangjh")
    page.fill("#password", "yishi-demo")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))


def test_agenda_editing_and_weak_wifi(page: Page, demo_server: DemoServer, artifacts) -> None:
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text)
            if msg.type == "error" and "503" not in msg.text else None)  # the 503 below is on purpose
    _login(page)
    page.locator("a.meeting-link", has=page.locator(".badge.state-draft")).click()
    page.wait_for_url(re.compile(r"/meetings/\d+$"))
    cards = page.locator(".agenda-card .agenda-card-title")
    titles = cards.all_inner_texts()
    assert len(titles) == 5

    # 下移 on the first card swaps it with the second, in place.
    page.locator(".agenda-card").first.get_by_role("button", name="下移").click()
    expect(cards.nth(0)).to_have_text(titles[1])
    expect(cards.nth(1)).to_have_text(titles[0])

    # Add an item; the new card appears last.
    page.locator(".agenda-add > summary").click()
    page.fill("#add-title", "东门增设无障碍坡道")
    page.fill("#add-proposer", "第三网格")
    page.fill("#add-duration_minutes", "15")
    page.locator(".agenda-add").get_by_role("button", name="添加议题").click()
    expect(cards).to_have_count(6)
    expect(cards.nth(5)).to_have_text("东门增设无障碍坡道")

    # Delete asks first (a second button, no script dialog), then removes the card.
    last = page.locator(".agenda-card").nth(5)
    last.locator(".agenda-delete > summary").click()
    last.get_by_role("button", name="确定删除").click()
    expect(cards).to_have_count(5)
    assert_touch_targets(page, "draft, editing")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "console-draft-1024x768.png"), caret="initial")

    # In session: a failed post shows the banner and keeps the note; the button said 正在保存… meanwhile.
    page.get_by_role("button", name="开始会议").click()
    expect(page.locator("#meeting-state")).to_have_text("进行中")
    page.locator("#timer-button").click()
    expect(page.locator("#item-timer")).to_have_attribute("data-running", "1")
    page.fill("#note-body", "物业承诺本周内清理楼道杂物。")
    seen: list[str] = []

    def fail(route: Route) -> None:
        seen.append(page.locator("form.note button[type=submit]").inner_text())
        route.fulfill(status=503, body="down")

    page.route("**/notes", fail)
    page.locator("form.note button[type=submit]").click()
    expect(page.locator("#save-failed")).to_be_visible()
    expect(page.locator("#save-failed")).to_have_text("未保存，请重试")
    assert seen == ["正在保存…"]
    expect(page.locator("#note-body")).to_have_value("物业承诺本周内清理楼道杂物。")
    expect(page.locator("form.note button[type=submit]")).to_have_text("添加记录")

    page.unroute("**/notes")
    page.locator("form.note button[type=submit]").click()
    expect(page.locator("ul.notes li")).to_contain_text("物业承诺本周内清理楼道杂物。")
    expect(page.locator("#save-failed")).to_be_hidden()
    expect(page.locator("#item-timer .timer-value")).not_to_have_text("0:00")  # ticking from the server's start

    page.fill("#speaker-name", "李秀英")
    page.fill("#speaker-affiliation", "6栋")
    page.get_by_role("button", name="登记发言").click()
    expect(page.locator(".speaker")).to_have_count(1)
    page.locator(".outcome-option", has_text="协商一致").click()
    page.fill("#outcome-note", "物业一周内答复")
    page.get_by_role("button", name="保存结论").click()
    expect(page.locator("#outcome-result")).to_have_text("协商一致")
    assert_touch_targets(page, "in session")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "console-session-1024x768.png"), caret="initial")
    page.screenshot(path=str(artifacts / "console-session-1024x768-full.png"), full_page=True, caret="initial")
    assert not console_errors, console_errors
