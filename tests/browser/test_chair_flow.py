"""The chair's flow in a real browser at tablet size, against ``yishi demo`` served by uvicorn.

What the HTTP tests cannot see: that HTMX really swaps the console in place (no page reload), that
the browser keeps what was typed when the server refuses it, that ``hx-confirm`` asks first, that
the PDF download arrives, and that every button is big enough to hit with a finger.
"""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import Locator, Page, Response, expect
from pypdf import PdfReader

from tests.browser.conftest import TABLET, DemoServer

pytestmark = pytest.mark.browser

TOUCH_PX = 44
CLOSE_CONFIRM = "确定结束会议吗？结束后不能再记录。"
NOTE = "物业同意在6栋北侧先建40个充电位，收费标准下次会议前公示。"
ITEM = '<section class="current-item" id="current-item"'  # an item action's answer: only the item panel


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_not_reloaded(page: Page) -> None:
    """The marker set on the first load survives only if HTMX swapped a fragment in place."""
    assert page.evaluate("window.__marker") == 1, "the page was reloaded instead of swapped by HTMX"


def act(page: Page, target: Locator, path_part: str, status: int = 200, part: str = '<div id="console"') -> Response:
    """Click ``target`` and return the HTMX POST it caused (checked: an HTMX request, ``status``, and
    the answer is the fragment ``part`` — the whole console, or only the current item for item actions)."""
    with page.expect_response(lambda r: r.request.method == "POST" and path_part in r.url) as info:
        target.click()
    response = info.value
    assert response.request.headers.get("hx-request") == "true", "the form was posted without HTMX"
    assert response.status == status, f"POST {response.url}: {response.status} {response.text()[:300]}"
    body = response.text()
    assert body.lstrip().startswith(part) and "<html" not in body, \
        "the server answered the HTMX request with a whole page"
    return response


def assert_touch_targets(page: Page, state: str) -> int:
    """Every visible button (and link styled as one) in the console is at least 44 px each way."""
    checked = 0
    too_small = []
    for el in page.locator("#console button, #console a.button").all():
        if not el.is_visible():
            continue
        box = el.bounding_box()
        assert box is not None
        checked += 1
        if box["height"] < TOUCH_PX or box["width"] < TOUCH_PX:
            too_small.append(f"{el.inner_text().strip()!r}: {box['width']:.0f}×{box['height']:.0f}")
    assert checked, f"no visible buttons in the console ({state})"
    assert not too_small, f"touch targets under {TOUCH_PX} px ({state}): {too_small}"
    return checked


def test_chair_runs_a_meeting_on_a_tablet(page: Page, demo_server: DemoServer, artifacts) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", on_dialog)
    console_errors: list[str] = []
    page.on("console", lambda msg: console_errors.append(msg.text)
            if msg.type == "error" and "status of 422" not in msg.text else None)  # 422: the invalid count, on purpose

    # Not logged in: the home page sends the chair to the login form, then back.
    page.goto("/")
    page.wait_for_url(re.compile(r"/login\?next=/$"))
    page.fill("#username", "wangjh")
    page.fill("#password", "yishi-demo")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(".account")).to_contain_text("王建华")

    # Home → the upcoming (draft) meeting of the demo council, found by its state badge.
    upcoming = page.locator("a.meeting-link", has=page.locator(".badge.state-draft"))
    expect(upcoming).to_have_count(1)
    upcoming.click()
    page.wait_for_url(re.compile(r"/meetings/\d+$"))
    meeting_url = page.url
    expect(page.locator("#meeting-state")).to_have_text("未开始")
    titles = [t.strip() for t in page.locator("#console .agenda-item .t").all_inner_texts()]
    assert len(titles) == 5, titles
    first, second = titles[0], titles[1]
    assert_touch_targets(page, "draft")

    page.evaluate("window.__marker = 1")

    # 开始会议: in session, on the first item.
    act(page, page.get_by_role("button", name="开始会议"), "/step")
    expect(page.locator("#meeting-state")).to_have_text("进行中")
    expect(page.locator("#current-title")).to_have_text(first)
    expect(page.locator(".agenda-item.current .t")).to_have_text(first)
    expect(page.locator(".agenda-item.current button")).to_have_attribute("aria-current", "step")
    assert_not_reloaded(page)

    # Hand count 赞成 7 / 反对 1 / 弃权 1 → 通过.
    hands = page.locator("form.hands")
    hands.locator("input[name=yes]").fill("7")
    hands.locator("input[name=no]").fill("1")
    hands.locator("input[name=abstain]").fill("1")
    act(page, hands.get_by_role("button", name="记录结果"), "/hands", part=ITEM)
    result = page.locator("#hands-result")
    expect(result).to_contain_text("赞成 7，反对 1，弃权 1")
    expect(result.locator("strong")).to_have_text("通过")
    assert_not_reloaded(page)

    # A negative count never leaves the browser: min="0" blocks the submit, the record stays.
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    hands.locator("input[name=no]").fill("-1")
    hands.get_by_role("button", name="记录结果").click()
    assert hands.locator("input[name=no]").evaluate("e => e.validity.rangeUnderflow") is True
    page.wait_for_timeout(400)
    assert posts == [], f"an invalid count was posted: {posts}"
    expect(result).to_contain_text("赞成 7，反对 1，弃权 1")

    # An empty count goes to the server, which answers 422: the error sits beside that field and
    # what was typed is kept.
    hands.locator("input[name=yes]").fill("8")
    hands.locator("input[name=no]").fill("1")
    hands.locator("input[name=abstain]").fill("")
    act(page, hands.get_by_role("button", name="记录结果"), "/hands", status=422, part=ITEM)
    abstain_label = page.locator("label.count", has=page.locator("input[name=abstain]"))
    expect(abstain_label.locator(".field-error")).to_have_text("请填写弃权人数")
    expect(abstain_label).to_have_class(re.compile(r"\binvalid\b"))
    expect(abstain_label.locator("input")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("form.hands .field-error")).to_have_count(1)
    expect(page.locator("input[name=yes]")).to_have_value("8")
    expect(page.locator("input[name=no]")).to_have_value("1")
    expect(page.locator("input[name=abstain]")).to_have_value("")
    expect(page.locator("#hands-result")).to_contain_text("赞成 7，反对 1，弃权 1")  # unchanged
    expect(page.locator("#current-title")).to_have_text(first)
    assert_not_reloaded(page)

    # A note appears under the current item. Its answer swaps only the item panel: a proxy's name
    # the recorder is typing in the sign-in panel meanwhile is not wiped.
    proxy = page.locator("#attendance input[name=proxy_name]").first
    proxy.fill("王秀兰")
    page.locator("#note-body").fill(NOTE)
    act(page, page.get_by_role("button", name="添加记录"), "/notes", part=ITEM)
    expect(proxy).to_have_value("王秀兰")
    proxy.fill("")  # leave the sign-in panel as it was, and let the live refresh that waited for it run
    proxy.blur()
    expect(page.locator("#console[data-live-pending]")).to_have_count(0)  # the waiting refresh has swapped in
    expect(page.locator("ul.notes li")).to_have_count(1)
    expect(page.locator("ul.notes li")).to_contain_text(NOTE)
    expect(page.locator("#note-body")).to_have_value("")
    assert_not_reloaded(page)

    # Mid-meeting: every button is finger-sized; keep a picture of the console.
    assert assert_touch_targets(page, "in session") >= 5 + 4  # 5 agenda buttons, 记录结果, 添加记录, 下一项, 结束会议
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"], \
        "the console scrolls sideways on a 1024 px tablet"
    page.evaluate("window.scrollTo(0, 0)")  # what the chair sees first, not where the last click scrolled
    # caret="initial": Playwright would otherwise inject a <style>, which our CSP rightly refuses.
    page.screenshot(path=str(artifacts / "console-1024x768.png"), caret="initial")
    page.screenshot(path=str(artifacts / "console-1024x768-full.png"), full_page=True, caret="initial")

    # 下一项 → the second item.
    act(page, page.locator("#next-item"), "/goto", part=ITEM)
    expect(page.locator("#current-title")).to_have_text(second)
    expect(page.locator(".agenda-item.current .t")).to_have_text(second)
    expect(page.locator("#console")).to_contain_text("当前议题 2 / 5")
    assert_not_reloaded(page)

    # 结束会议 asks first (hx-confirm); accepting closes the meeting.
    act(page, page.get_by_role("button", name="结束会议"), "/step")
    assert dialogs == [CLOSE_CONFIRM]
    expect(page.locator("#meeting-state")).to_have_text("已结束")
    expect(page.locator(".current-item h2")).to_have_text("会议已结束")
    expect(page.get_by_role("button", name="结束会议")).to_have_count(0)
    assert_not_reloaded(page)
    assert page.url == meeting_url
    assert_touch_targets(page, "closed")

    # The minutes PDF downloads and carries what was recorded.
    with page.expect_download() as info:
        page.locator("#minutes-pdf").click()
    download = info.value
    assert download.failure() is None
    assert download.suggested_filename.endswith(".pdf")
    assert "会议纪要" in download.suggested_filename
    data = open(download.path(), "rb").read()
    assert data.startswith(b"%PDF")
    text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)
    assert _squash(first) in _squash(text), text[:2000]
    assert "赞成 7" in text, text[:2000]
    assert _squash(NOTE) in _squash(text)
    # Closed but not yet approved (审定): the minutes say they are a draft until the meeting approves them.
    assert "纪要尚未审定" in text and "会议尚未结束" not in text
    assert_not_reloaded(page)
    assert not console_errors, f"browser console errors (CSP violations show up here): {console_errors}"


def test_tablet_viewport(page: Page) -> None:
    """The fixture really gives the 10" tablet size the console is designed for."""
    page.goto("/login")
    assert page.evaluate("[innerWidth, innerHeight]") == [TABLET["width"], TABLET["height"]]
    assert page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"], \
        "the home page scrolls sideways at 1024 px"
