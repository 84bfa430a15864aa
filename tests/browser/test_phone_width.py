"""No page is wider than a 360×640 phone, against ``yishi demo`` in a real browser.

Staff of each practice (三方联席会议, 街巷议事会, 邻聚力·月月谈, 屋场恳谈会), the street's account and the
administrator log in on a phone and open their main pages: home, topics, records and a record, a
meeting's console, its screen and minutes, dashboards, each plugin's pages. None may scroll sideways
(a wide table scrolls inside its own labelled box instead), and the header keeps the signed-in
name on one line with 退出 in reach. The same in the 大字高对比 theme, and for a resident's link.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.browser.conftest import TABLET, DemoServer, log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
TOUCH_PX = 44
LONG_NAME = "荷叶地街道办事处社区网格化服务管理中心工作人员王小明"


def _phone(browser: Browser, server: DemoServer, theme: str = "") -> Any:
    context = browser.new_context(viewport=PHONE, base_url=server.url, locale="zh-CN", is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    if theme:
        page.goto(f"/theme?name={theme}&next=/")
    return page


def _width_problem(page: Any, what: str) -> str | None:
    """Why the page does not fit the phone, or None. A page without a viewport meta is laid out
    980 px wide and shrunk: it "fits" its own width, so the layout width is checked too."""
    size = page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth})"
    )
    if size["client"] != PHONE["width"]:
        return f"{what} ({page.url}) is laid out {size['client']} px wide, not for a {PHONE['width']} px phone"
    if size["scroll"] > size["client"] + 1:
        return f"{what} ({page.url}) is {size['scroll']} px wide on a {PHONE['width']} px phone: it scrolls sideways"
    return None


def _assert_header_tidy(page: Any, who: str) -> None:
    """The signed-in name on one line (a long one shortened with …), the name and 退出 big enough to
    tap and inside the screen."""
    name = page.locator(".site-header .account-name")
    lines = name.locator("span").evaluate(
        "s => s.getBoundingClientRect().height / parseFloat(getComputedStyle(s).lineHeight)"
    )
    assert lines < 1.5, f"{who}: the name in the header takes {lines:.1f} lines on a phone"
    for target in (name, page.get_by_role("button", name="退出")):
        box = target.bounding_box()
        assert box is not None and box["height"] >= TOUCH_PX, f"{who}: {target} is {box}: too small to tap"
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1, f"{who}: {target} is off screen: {box}"


def _council(page: Any) -> str:
    """``/councils/<id>`` of the signed-in person's council, from the home page's roster link."""
    page.goto("/")
    href = page.locator('main a[href$="/roster"]').first.get_attribute("href")
    return href.removesuffix("/roster")


def _href(page: Any, start: str, selector: str) -> str:
    page.goto(start)
    return page.locator(selector).first.get_attribute("href")


# Who logs in, and the pages they open: (name for the failure message, path or a function of the page).
Pages = list[tuple[str, str | Callable[[Any], str]]]
STAFF: dict[str, Pages] = {
    "wangjh": [
        ("首页", "/"),
        ("议题", lambda p: _council(p) + "/topics"),
        ("居民名册", lambda p: _council(p) + "/roster"),
        ("会议控制台", lambda p: _href(p, "/", "a.meeting-link")),
        ("投屏", lambda p: _href(p, "/", "a.meeting-link") + "/screen"),
        ("会议纪要", lambda p: _href(p, "/", "a.meeting-link") + "/minutes"),
        ("会议通知", lambda p: _href(p, "/", "a.meeting-link") + "/notice"),
        ("文档核验", "/documents/verify"),
        ("修改密码", "/account/password"),
    ],
    "heyedi": [("首页", "/"), ("统计", "/dashboard")],
    "yejm": [
        ("首页", "/"),
        ("月月谈", "/p/linjuli/"),
        ("月月谈议事会", lambda p: _href(p, "/p/linjuli/", 'main a[href^="/p/linjuli/councils/"]')),
        ("安全检查列表", lambda p: _council(p) + "/records/linjuli_anquan"),
        ("隐患整改列表", lambda p: _council(p) + "/records/linjuli_zhenggai"),
        ("志愿积分列表", lambda p: _council(p) + "/records/linjuli_jifen"),
        ("一条安全检查", lambda p: _href(p, _council(p) + "/records/linjuli_anquan", "#rec-list a")),
        ("议题", lambda p: _council(p) + "/topics"),
        ("交办任务", lambda p: _council(p) + "/tasks"),
        ("月报", lambda p: _href(p, "/p/linjuli/", 'main a[href^="/p/linjuli/councils/"]') + "/report"),
    ],
    "chenhy": [
        ("首页", "/"),
        ("街巷议事会", "/p/jiexiang/"),
        ("纠纷调解列表", lambda p: _council(p) + "/records/jiexiang_tiaojie"),
        ("一条纠纷调解", lambda p: _href(p, _council(p) + "/records/jiexiang_tiaojie", "#rec-list a")),
        ("调解结果公示", lambda p: _href(p, "/p/jiexiang/", 'main a[href^="/p/jiexiang/public/"]')),
        ("会议控制台", lambda p: _href(p, "/", "a.meeting-link")),
    ],
    "pengxl": [
        ("首页", "/"),
        ("屋场恳谈会", "/p/wuchang/"),
        ("民情台账", lambda p: _href(p, "/p/wuchang/", 'main a[href$="/ledger"]')),
        ("单位测评", lambda p: _href(p, "/p/wuchang/", 'main a[href$="/scores"]')),
        ("民情记录", lambda p: _href(p, "/p/wuchang/", 'main a[href$="/capture"]')),
        ("回音表", lambda p: _href(p, "/p/wuchang/", 'main a[href$="wuchang_huiyin.html"]')),
        ("会议控制台", lambda p: _href(p, "/", "a.meeting-link")),
    ],
    "admin": [
        ("账号管理", "/admin/users"),
        ("插件管理", "/admin/plugins"),
        ("组织单元", "/units"),
        ("导入组织单元", "/units/import"),
    ],
}


def _sweep(browser: Browser, server: DemoServer, user: str, pages: Pages, theme: str = "") -> list[str]:
    page = _phone(browser, server, theme)
    log_in(page, user)
    _assert_header_tidy(page, user)
    problems = []
    for what, where in pages:
        path = where if isinstance(where, str) else where(page)
        response = page.goto(path)
        assert response is not None and response.ok, f"{user}: {what} ({path}) answered {response and response.status}"
        if problem := _width_problem(page, f"{user}: {what}"):
            problems.append(problem)
    page.context.close()
    return problems


@pytest.mark.parametrize("user", list(STAFF))
def test_staff_pages_fit_a_phone(browser: Browser, demo_server: DemoServer, user: str) -> None:
    problems = _sweep(browser, demo_server, user, STAFF[user])
    assert not problems, "\n".join(problems)


def test_large_print_pages_fit_a_phone(browser: Browser, demo_server: DemoServer) -> None:
    """大字高对比 (20 px type, thick borders) makes forms and tables wider: still no sideways scroll."""
    problems = []
    for user in ("yejm", "wangjh", "admin"):
        problems += _sweep(browser, demo_server, user, STAFF[user], theme="large")
    assert not problems, "\n".join(problems)


def test_a_record_table_scrolls_in_its_own_box(browser: Browser, demo_server: DemoServer, artifacts) -> None:
    """The 安全检查 list is wider than the phone: the table scrolls inside a labelled box that the
    keyboard can reach and scroll, and the page itself stays put."""
    page = _phone(browser, demo_server)
    log_in(page, "yejm")
    page.goto(_council(page) + "/records/linjuli_anquan")
    box = page.get_by_role("region", name="安全检查列表")
    expect(box.locator("#rec-list")).to_be_visible()
    assert box.evaluate("b => b.scrollWidth > b.clientWidth"), "the table fits: nothing to scroll"
    assert _width_problem(page, "安全检查列表") is None
    page.screenshot(path=str(artifacts / "records-list-360x640.png"))
    box.focus()
    expect(box).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.activeElement.scrollLeft > 0")
    assert page.evaluate("window.scrollX") == 0, "the page scrolled instead of the table"
    page.context.close()


def test_a_long_name_stays_on_one_line(browser: Browser, demo_server: DemoServer, artifacts) -> None:
    """A 26-character display name ends in … on a phone; the full name is still the link's name."""
    tablet = browser.new_context(viewport=TABLET, base_url=demo_server.url, locale="zh-CN")
    admin = tablet.new_page()
    log_in(admin, "admin")
    admin.goto("/admin/users")
    admin.fill("#f-username", "changmingzi")
    admin.fill("#f-display_name", LONG_NAME)
    admin.fill("#f-password", "yishi-demo-long")
    admin.get_by_role("button", name="创建").click()
    expect(admin.locator("main table")).to_contain_text(LONG_NAME)
    tablet.close()

    page = _phone(browser, demo_server)
    page.goto("/login")
    page.fill("#username", "changmingzi")
    page.fill("#password", "yishi-demo-long")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    _assert_header_tidy(page, LONG_NAME)
    name = page.get_by_role("link", name=LONG_NAME)
    assert name.locator("span").evaluate("s => s.scrollWidth > s.clientWidth"), "the long name is not shortened"
    assert LONG_NAME in (name.get_attribute("title") or "")
    assert _width_problem(page, "首页") is None
    page.screenshot(path=str(artifacts / "header-long-name-360x640.png"))
    name.click()
    expect(page).to_have_url(re.compile(r"/account/password$"))
    page.context.close()


def test_a_residents_pages_fit_a_phone_in_large_print(browser: Browser, demo_server: DemoServer) -> None:
    staff = browser.new_context(viewport=TABLET, base_url=demo_server.url, locale="zh-CN")
    page = staff.new_page()
    log_in(page, "wangjh")
    page.get_by_role("link", name="居民名册与二维码").click()
    link = page.locator("tr", has_text="朱秀英").locator("details input").input_value()
    staff.close()
    problems = []
    for theme in ("", "large"):
        phone = _phone(browser, demo_server, theme)
        phone.goto(link)
        phone.fill("#answer", "4460")
        phone.click("main button[type=submit]")
        expect(phone.get_by_role("heading", name="您好，朱*英")).to_be_visible()
        for what, path in (("居民首页", link), ("我要提事", link + "/tishi")):
            phone.goto(path)
            if problem := _width_problem(phone, f"{theme or '标准'}: {what}"):
                problems.append(problem)
        phone.context.close()
    assert not problems, "\n".join(problems)
