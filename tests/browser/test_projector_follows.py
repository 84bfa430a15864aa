"""The TV follows the chair: a tablet runs the meeting while a second browser shows the projector.

Issue 5 item 9. Two browser contexts against ``yishi demo``: the chair's tablet (1024×768, logged in)
and the TV (1920×1080, no account) on the meeting's keyless screen link. Every chair action — 开始会议,
下一项, a show-of-hands count, marking a member present, 结束会议 — must reach the TV by itself: the TV
page is never reloaded (a marker set on it survives) and nobody touches it. The TV must also be
readable from the back of the room (big type) and fit its screen (nothing scrolls).
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser.conftest import TABLET, DemoServer
from tests.browser.test_phone_signin import _log_in

pytestmark = pytest.mark.browser

PROJECTOR = {"width": 1920, "height": 1080}
TITLE_PX = 48  # the current item's title, read from the back of a meeting room
MEETING = "3号楼楼道堆物清理协商会"
ITEMS = [("楼道堆物限期清理", "3号楼楼长", "15"),
         ("电动车集中充电点选址", "物业服务中心", "20"),
         ("清理后的日常巡查分工", "社区网格员", "10")]
CLOSE_CONFIRM = "确定结束会议吗？结束后不能再记录。"


def _new_meeting(console: Page) -> str:
    """The chair schedules a meeting of their own (新建会议), so earlier browser tests that changed
    the demo's meetings cannot get in the way; its console path."""
    console.goto("/")
    console.locator("a", has_text="新建会议").first.click()
    console.wait_for_url(re.compile(r"/councils/\d+/meetings/new$"))
    console.fill("#f-title", MEETING)
    console.fill("#f-date", (date.today() + timedelta(days=1)).isoformat())
    console.fill("#f-time", "19:00")
    console.fill("#f-place", "3号楼一层大厅")
    console.get_by_role("button", name="创建会议").click()
    console.wait_for_url(re.compile(r"/meetings/\d+$"))
    return "/meetings/" + console.url.rsplit("/meetings/", 1)[1]


def _watch_events(console: Page) -> None:
    """Count the events of the meeting's live stream in the console page, on a stream of our own
    beside live.js's (the names the console follows, from its data-live-on)."""
    console.evaluate("""() => new Promise(resolve => {
        const el = document.getElementById('console');
        const source = new EventSource(el.dataset.live);
        window.__events = 0;
        for (const name of el.dataset.liveOn.split(/\\s+/)) {
            source.addEventListener(name, () => { window.__events += 1; });
        }
        source.onopen = () => resolve();
    })""")


def _press(console: Page, button: Locator, path_part: str) -> None:
    """The chair presses a console button. Then wait until the console is quiet: the action's HTMX
    answer is in, its event has come back on the live stream, and no live re-fetch is on its way —
    a press while live.js swaps the console can be lost (see this test's report), and that race is
    not what this test is about."""
    before = console.evaluate("window.__events")
    with console.expect_response(lambda r: r.request.method == "POST" and path_part in r.url) as info:
        button.click()
    response = info.value
    assert response.request.headers.get("hx-request") == "true", "the form was posted without HTMX"
    assert response.status == 200, f"POST {response.url}: {response.status} {response.text()[:300]}"
    console.wait_for_function(
        "n => window.__events > n && !document.body.classList.contains('htmx-request')", arg=before)


def _add_items(console: Page) -> None:
    """Build the agenda in the console's editor (添加议题), one item at a time."""
    cards = console.locator(".agenda-card .agenda-card-title")
    expect(cards).to_have_count(0)
    for n, (title, proposer, minutes) in enumerate(ITEMS, start=1):
        if not console.locator("#add-title").is_visible():  # the form folds away once the agenda has items
            console.locator("details.agenda-add > summary").click()
        console.fill("#add-title", title)
        console.fill("#add-proposer", proposer)
        console.fill("#add-duration_minutes", minutes)
        _press(console, console.locator("details.agenda-add form.item-form button[type=submit]"), "/agenda")
        expect(cards).to_have_count(n)
    expect(cards).to_have_text([t for t, _, _ in ITEMS])


def _screen_link(tablet: BrowserContext, console: Page, server: DemoServer) -> str:
    """The chair opens 投屏 from the console (a new tab) and reads the TV's keyless link off it."""
    with tablet.expect_page() as info:
        console.get_by_role("link", name="投屏").click()
    members_screen = info.value
    members_screen.wait_for_load_state()
    link = members_screen.locator("#screen-link")
    link.locator("summary").click()
    url = link.locator("code").inner_text().strip()
    members_screen.close()
    assert re.fullmatch(rf"{re.escape(server.url)}/public/screen/[A-Za-z0-9._-]+", url), url
    return url.removeprefix(server.url)


def _assert_fits(tv: Page) -> None:
    """Nothing scrolls or spills at 1920×1080: the whole meeting is on the TV at once."""
    size = tv.evaluate("""() => {
        const d = document.documentElement, s = document.getElementById('screen');
        return {width: d.scrollWidth, height: d.scrollHeight, screenHeight: s.scrollHeight,
                screenWidth: s.scrollWidth, innerWidth: innerWidth, innerHeight: innerHeight};
    }""")
    assert size["innerWidth"] == PROJECTOR["width"] and size["innerHeight"] == PROJECTOR["height"], size
    assert size["width"] <= PROJECTOR["width"] and size["height"] <= PROJECTOR["height"], f"the page scrolls: {size}"
    assert size["screenWidth"] <= PROJECTOR["width"] and size["screenHeight"] <= PROJECTOR["height"], \
        f"the screen's content overflows it: {size}"
    foot = tv.locator("footer.foot").bounding_box()
    last = tv.locator("#screen-agenda li").last.bounding_box()
    assert foot and last and last["y"] + last["height"] <= foot["y"], "the agenda runs into the footer"
    assert foot["y"] + foot["height"] <= PROJECTOR["height"], "the footer is below the bottom of the TV"


def _assert_big(text: Locator) -> None:
    """Readable from the back of a meeting room."""
    px = float(text.evaluate("e => getComputedStyle(e).fontSize").removesuffix("px"))
    assert px >= TITLE_PX, f"{text.inner_text()!r} is {px} px on the TV, under {TITLE_PX} px"


def _assert_not_reloaded(tv: Page) -> None:
    assert tv.evaluate("window.__marker") == 1, "the projector page was reloaded instead of updated live"


def test_projector_follows_the_chair(browser: Browser, demo_server: DemoServer, artifacts) -> None:
    dialogs: list[str] = []
    tablet = browser.new_context(viewport=TABLET, base_url=demo_server.url, locale="zh-CN")
    tablet.set_default_timeout(15_000)
    console = tablet.new_page()
    console.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    _log_in(console, "wangjh")
    console.wait_for_url(re.compile(r"/$"))
    console_path = _new_meeting(console)
    _watch_events(console)
    _add_items(console)
    screen_path = _screen_link(tablet, console, demo_server)

    # The TV: its own browser, no login, only the keyed link.
    tv_context = browser.new_context(viewport=PROJECTOR, base_url=demo_server.url, locale="zh-CN")
    tv_context.set_default_timeout(15_000)
    tv = tv_context.new_page()
    tv_errors: list[str] = []
    # Every message counts: the page's CSS is a static file (css/projector.css), so a live re-fetch
    # parses no inline <style> with a nonce the open page's CSP does not know.
    tv.on("console", lambda msg: tv_errors.append(msg.text) if msg.type in ("error", "warning") else None)
    tv.goto(screen_path)
    expect(tv.locator("#screen-state")).to_have_text("未开始")
    expect(tv.locator("#screen-current")).to_have_text("会议即将开始")
    expect(tv.locator("#screen-agenda li .t")).to_have_text([t for t, _, _ in ITEMS])
    expect(tv.locator("#screen-qr svg")).to_be_visible()
    expected = int(tv.inner_text("#screen-expected"))
    present = int(tv.inner_text("#screen-present"))
    assert expected >= 1, "the demo council has members, so someone is expected"
    assert tv.locator("#screen-link").count() == 0, "the TV's page must not offer its own link again"
    tv.evaluate("window.__marker = 1")

    # 开始会议 → the TV shows the first item as current.
    _press(console, console.get_by_role("button", name="开始会议"), "/step")
    expect(console.locator("#meeting-state")).to_have_text("进行中")
    expect(tv.locator("#screen-state")).to_have_text("进行中")
    expect(tv.locator("#screen-current .current-title")).to_have_text(ITEMS[0][0])
    expect(tv.locator("#screen-current .label")).to_have_text("当前议题 1 / 3")
    expect(tv.locator("#screen-agenda li.current .t")).to_have_text(ITEMS[0][0])
    expect(tv.locator("#screen-counts")).to_contain_text("讨论中")
    _assert_not_reloaded(tv)

    # 下一项 → the second.
    _press(console, console.locator("#next-item"), "/goto")
    expect(console.locator("#current-title")).to_have_text(ITEMS[1][0])
    expect(tv.locator("#screen-current .current-title")).to_have_text(ITEMS[1][0])
    expect(tv.locator("#screen-current .label")).to_have_text("当前议题 2 / 3")
    expect(tv.locator("#screen-agenda li.current .t")).to_have_text(ITEMS[1][0])
    expect(tv.locator("#screen-agenda li.past .t")).to_have_text([ITEMS[0][0]])
    _assert_not_reloaded(tv)

    # A show of hands 赞成 6 / 反对 2 / 弃权 1 → the TV shows the counts, 通过 and the outcome 表决.
    hands = console.locator("form.hands")
    hands.locator("input[name=yes]").fill("6")
    hands.locator("input[name=no]").fill("2")
    hands.locator("input[name=abstain]").fill("1")
    _press(console, hands.get_by_role("button", name="记录结果"), "/hands")
    expect(console.locator("#hands-result")).to_contain_text("赞成 6，反对 2，弃权 1")
    counts = tv.locator("#screen-counts")
    expect(counts.locator("span", has_text="赞成").locator("b")).to_have_text("6")
    expect(counts.locator("span", has_text="反对").locator("b")).to_have_text("2")
    expect(counts.locator("span", has_text="弃权").locator("b")).to_have_text("1")
    expect(counts.locator(".verdict.pass")).to_have_text("通过")
    expect(counts.locator(".verdict.outcome")).to_have_text("表决")  # a count records the item's outcome as a vote
    expect(tv.locator("#screen-agenda li.current .tag")).to_have_text("通过")
    _assert_not_reloaded(tv)
    _assert_big(tv.locator("#screen-current .current-title"))
    _assert_fits(tv)
    tv.screenshot(path=str(artifacts / "projector-in-session-1920x1080.png"), caret="initial")

    # The recorder marks the first expected member present → the TV's 实到 goes up by one.
    row = console.locator("#attendance .att-row").first
    _press(console, row.get_by_role("button", name="出席", exact=True), "/attendance/")
    expect(row.locator(".att-status")).to_contain_text("出席")
    expect(console.locator("#attendance-present")).to_have_text(str(present + 1))
    expect(tv.locator("#screen-present")).to_have_text(str(present + 1))
    expect(tv.locator("#screen-expected")).to_have_text(str(expected))
    _assert_not_reloaded(tv)

    # 结束会议 (asks first) → the TV says the meeting has ended and stops offering the sign-in QR.
    _press(console, console.get_by_role("button", name="结束会议"), "/step")
    expect(console.locator("#meeting-state")).to_have_text("已结束")
    assert dialogs == [CLOSE_CONFIRM]
    expect(tv.locator("#screen-state")).to_have_text("已结束")
    expect(tv.locator("#screen-current")).to_have_text("会议已结束")
    expect(tv.locator("#screen-agenda li.current")).to_have_count(0)
    expect(tv.locator("#screen-qr")).to_have_count(0)
    expect(tv.locator("#screen-agenda li").nth(1).locator(".tag")).to_have_text("通过")
    expect(tv.locator("#screen-present")).to_have_text(str(present + 1))
    _assert_not_reloaded(tv)
    _assert_big(tv.locator("#screen-current"))
    _assert_fits(tv)
    tv.screenshot(path=str(artifacts / "projector-closed-1920x1080.png"), caret="initial")

    assert tv.url.endswith(screen_path) and console.url.endswith(console_path)
    assert not tv_errors, f"projector console errors (CSP violations show up here): {tv_errors}"
    tv_context.close()
    tablet.close()
