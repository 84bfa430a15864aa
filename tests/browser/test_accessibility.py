"""Accessibility: axe-core's WCAG 2.0/2.1 AA checks on the pages people use, against ``yishi demo`` in a
real browser, in the default theme and in large print (大字高对比).

Staff pages at tablet size (1024×768): login, home, the chair's console before and during a meeting,
the council's topics and tasks, the 交办单, the units and the roster, and the projector page (投屏).
Phone pages at 360×640: the page a meeting's QR code opens, a resident's identity check, personal
page, 提事表 and the follow page of what they raised, and a responsible unit's task page. A serious or
critical violation fails (see tests/browser/axe.py); every page's full report is written to
test-artifacts/axe-<page>-<theme>.json.

Each test makes what it changes for itself — its own copy of the demo's draft meeting, its own topic
and task, with copies cancelled afterwards — so the other browser tests find the demo as it was.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from core.residents.tokens import make_token
from core.topics.unit_tokens import make_unit_token
from tests.browser.axe import assert_accessible
from tests.browser.conftest import TABLET, DemoServer, log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
THEMES = ("default", "large")
RESIDENT, RESIDENT_ANSWER = "郑卫东", "5596"  # a demo roster entry no other browser test uses
UNIT, UNIT_OPTION = "翠竹园社区居委会", "翠竹园社区居委会（社区）"


def _db(server: DemoServer) -> sqlite3.Connection:
    return sqlite3.connect(server.data_dir / "yishi.sqlite3", timeout=10)


def _secret(server: DemoServer) -> str:
    return os.environ.get("YISHI_SECRET_KEY") or (server.data_dir / "secret_key").read_text(encoding="ascii").strip()


def _council(server: DemoServer) -> int:
    with _db(server) as conn:
        return conn.execute("SELECT id FROM yishi_council ORDER BY id LIMIT 1").fetchone()[0]


def _copy_of_draft_meeting(server: DemoServer, title: str) -> int:
    """A new draft meeting with the details and agenda of the demo 三方 council's next meeting (the
    chair, wangjh, runs it), titled ``title``. Copied whatever state the source has reached — the
    chair's flow test may already have held it — and the copy starts as a draft."""
    with _db(server) as conn:
        source = conn.execute(
            "SELECT m.id FROM yishi_meeting m JOIN yishi_council c ON c.id = m.council "
            "WHERE c.practice = 'sanfang' AND m.state != 'cancelled' AND EXISTS "
            "(SELECT 1 FROM yishi_agenda_item a WHERE a.meeting = m.id) "
            "ORDER BY m.state = 'draft' DESC, m.id LIMIT 1").fetchone()[0]
        columns = [r[1] for r in conn.execute("PRAGMA table_info(yishi_meeting)")
                   if r[1] not in ("id", "title", "state")]
        meeting = conn.execute(
            f"INSERT INTO yishi_meeting (title, state, {', '.join(columns)}) SELECT ?, 'draft', {', '.join(columns)} "
            "FROM yishi_meeting WHERE id = ?", (title, source)).lastrowid
        columns = [r[1] for r in conn.execute("PRAGMA table_info(yishi_agenda_item)") if r[1] not in ("id", "meeting")]
        conn.execute(f"INSERT INTO yishi_agenda_item (meeting, {', '.join(columns)}) SELECT ?, {', '.join(columns)} "
                     "FROM yishi_agenda_item WHERE meeting = ? ORDER BY position", (meeting, source))
        return meeting


def _cancel(server: DemoServer, meeting: int) -> None:
    """Take a copy out of the way once checked: a cancelled meeting is neither the home page's draft
    (the chair's flow test expects one) nor a meeting residents see as coming or in session."""
    with _db(server) as conn:
        conn.execute("UPDATE yishi_meeting SET state = 'cancelled' WHERE id = ?", (meeting,))


def _decided_topic(server: DemoServer, title: str) -> int:
    """A new topic in state "decided" on the demo council, ready to be assigned (交办)."""
    with _db(server) as conn:
        return conn.execute(
            "INSERT INTO yishi_topic (council, title, category, description, state, proposer_name, created_at,"
            " updated_at) VALUES (?, ?, '', '小区南门人行道地砖松动，老人推车容易绊倒。', 'decided', '', "
            "datetime('now'), datetime('now'))", (_council(server), title)).lastrowid


def _resident_link(server: DemoServer) -> str:
    with _db(server) as conn:
        entry, generation = conn.execute(
            "SELECT id, token_generation FROM yishi_roster_entry WHERE name = ?", (RESIDENT,)).fetchone()
    return f"{server.url}/r/{make_token(_secret(server), entry, generation)}"


def _unit_link(server: DemoServer) -> str:
    with _db(server) as conn:
        unit, generation = conn.execute("SELECT id, token_generation FROM yishi_department WHERE name = ?",
                                         (UNIT,)).fetchone()
    return f"{server.url}/u/{make_unit_token(_secret(server), unit, generation)}"


def _context(browser: Browser, server: DemoServer, theme: str, *, phone: bool = False) -> BrowserContext:
    """A new browser (tablet or phone) showing ``theme``, switched the way a visitor switches it."""
    options = {"viewport": PHONE, "is_mobile": True, "has_touch": True} if phone else {"viewport": TABLET}
    context = browser.new_context(base_url=server.url, locale="zh-CN", **options)
    context.set_default_timeout(15_000)
    if theme != "default":
        page = context.new_page()
        page.goto(f"/theme?name={theme}&next=/login")
        expect(page.locator(f"link[rel=stylesheet][href*='/static/themes/{theme}/']")).to_have_count(1)
        page.close()
    return context


def _submit_empty(page: Page, form_selector: str) -> None:
    """Send the form empty, past the browser's own checks (as an old browser would), so the server
    answers with its messages beside the fields."""
    form = page.locator(form_selector)
    form.evaluate("f => { f.noValidate = true; }")
    form.locator("button[type=submit]").click()


@pytest.fixture(params=THEMES)
def theme(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def staff(browser: Browser, demo_server: DemoServer, theme: str) -> Iterator[Page]:
    """The chair 王建华 logged in on a tablet, in ``theme``."""
    context = _context(browser, demo_server, theme)
    page = context.new_page()
    log_in(page, "wangjh")
    try:
        yield page
    finally:
        context.close()


def test_login_page(browser: Browser, demo_server: DemoServer, theme: str, artifacts: Path) -> None:
    context = _context(browser, demo_server, theme)
    page = context.new_page()
    page.goto("/login")
    expect(page.locator("#username")).to_be_visible()
    assert_accessible(page, f"login-{theme}", artifacts)
    page.fill("#username", "wangjh")  # a wrong password: the page with the error must be accessible too
    page.fill("#password", "wrong-password")
    page.click("main button[type=submit]")
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, f"login-error-{theme}", artifacts)
    context.close()


def test_staff_pages(staff: Page, demo_server: DemoServer, theme: str, artifacts: Path) -> None:
    council = _council(demo_server)
    expect(staff.locator(".account")).to_contain_text("王建华")
    assert_accessible(staff, f"home-{theme}", artifacts)
    staff.goto(f"/councils/{council}/topics")
    expect(staff.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(staff, f"council-topics-{theme}", artifacts)
    staff.goto(f"/councils/{council}/departments")
    expect(staff.locator("tr", has_text=UNIT)).to_be_visible()
    assert_accessible(staff, f"departments-{theme}", artifacts)
    staff.goto(f"/councils/{council}/roster")
    expect(staff.locator("tr", has_text=RESIDENT)).to_be_visible()
    assert_accessible(staff, f"roster-{theme}", artifacts)

    topic = _decided_topic(demo_server, f"南门人行道地砖松动（{theme}）")
    staff.goto(f"/councils/{council}/topics/{topic}/assign")
    expect(staff.get_by_role("heading", name="交办单")).to_be_visible()
    assert_accessible(staff, f"assign-{theme}", artifacts)
    _submit_empty(staff, "form.lc-form")
    expect(staff.locator(".field-error").first).to_be_visible()
    assert_accessible(staff, f"assign-errors-{theme}", artifacts)


def test_chair_console(staff: Page, demo_server: DemoServer, theme: str, artifacts: Path) -> None:
    meeting = _copy_of_draft_meeting(demo_server, f"无障碍检查用会议（{theme}）")
    try:
        staff.goto(f"/meetings/{meeting}")
        expect(staff.locator("#meeting-state")).to_have_text("未开始")
        assert_accessible(staff, f"console-draft-{theme}", artifacts)
        staff.get_by_role("button", name="开始会议").click()
        expect(staff.locator("#meeting-state")).to_have_text("进行中")
        expect(staff.locator(".agenda-item.current")).to_have_count(1)
        staff.screenshot(path=str(artifacts / f"a11y-console-{theme}-1024x768.png"))
        assert_accessible(staff, f"console-in-session-{theme}", artifacts)
    finally:
        _cancel(demo_server, meeting)


def test_projector_and_meeting_phone(staff: Page, browser: Browser, demo_server: DemoServer, theme: str,
                                     artifacts: Path) -> None:
    """The 投屏 page a TV shows, and the page the meeting's QR code opens on a member's phone, in session."""
    meeting = _copy_of_draft_meeting(demo_server, f"无障碍检查用投屏（{theme}）")
    try:
        staff.goto(f"/meetings/{meeting}")
        staff.get_by_role("button", name="开始会议").click()
        expect(staff.locator("#meeting-state")).to_have_text("进行中")
        join = staff.get_by_role("link", name="扫码签到").get_attribute("href")
        assert join and re.search(rf"/m/{meeting}/[A-Za-z0-9_-]{{22}}$", join), join
        staff.goto(f"/meetings/{meeting}/screen")
        expect(staff.get_by_role("heading", level=1)).to_have_text(f"无障碍检查用投屏（{theme}）")
        staff.screenshot(path=str(artifacts / f"a11y-projector-{theme}-1024x768.png"))
        assert_accessible(staff, f"projector-{theme}", artifacts)
    finally:
        _cancel(demo_server, meeting)

    context = _context(browser, demo_server, theme, phone=True)
    page = context.new_page()
    page.goto(join)
    expect(page.locator("main")).to_contain_text(f"无障碍检查用投屏（{theme}）")
    page.screenshot(path=str(artifacts / f"a11y-meeting-phone-{theme}-360x640.png"))
    assert_accessible(page, f"meeting-phone-{theme}", artifacts)
    context.close()


def test_resident_pages_on_a_phone(browser: Browser, demo_server: DemoServer, theme: str, artifacts: Path) -> None:
    link = _resident_link(demo_server)
    context = _context(browser, demo_server, theme, phone=True)
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="请先核对身份")).to_be_visible()
    assert_accessible(page, f"resident-verify-{theme}", artifacts)
    page.fill("#answer", RESIDENT_ANSWER)
    page.click("main button[type=submit]")
    expect(page.get_by_role("heading", name=re.compile("您好"))).to_be_visible()
    assert_accessible(page, f"resident-personal-{theme}", artifacts)

    page.goto(f"{link}/tishi")
    expect(page.get_by_role("heading", name="居民提事表")).to_be_visible()
    assert_accessible(page, f"resident-tishi-{theme}", artifacts)
    _submit_empty(page, "form.t-tishi")
    expect(page.locator(".field-error").first).to_be_visible()
    assert_accessible(page, f"resident-tishi-errors-{theme}", artifacts)
    page.fill("#f-title", f"6栋2单元门禁经常失灵（{theme}）")
    page.locator("label.lc-option", has_text="治安消防").click()
    page.fill("#f-details", "门禁刷卡经常没反应，外人尾随进楼。")
    page.get_by_role("button", name="提交").click()
    page.wait_for_url(re.compile(r"/topics/\d+$"))
    expect(page.get_by_role("heading", name=f"6栋2单元门禁经常失灵（{theme}）")).to_be_visible()
    page.screenshot(path=str(artifacts / f"a11y-resident-follow-{theme}-360x640.png"))
    assert_accessible(page, f"resident-follow-{theme}", artifacts)
    context.close()


def test_unit_pages(staff: Page, browser: Browser, demo_server: DemoServer, theme: str, artifacts: Path) -> None:
    council = _council(demo_server)
    topic = _decided_topic(demo_server, f"东门垃圾房异味（{theme}）")
    matter = f"东门垃圾房每日清洗消毒（{theme}）"
    staff.goto(f"/councils/{council}/topics/{topic}/assign")
    staff.fill("#f-matter", matter)
    staff.select_option("#f-unit", label=UNIT_OPTION)
    staff.fill("#f-deadline", (date.today() + timedelta(days=14)).isoformat())
    staff.fill("#f-requirements", "每天清洗一次，办结后上传现场照片。")
    staff.click("form.lc-form button[type=submit]")
    staff.wait_for_url(re.compile(rf"/councils/{council}/tasks$"))
    expect(staff.locator("main")).to_contain_text(matter)
    assert_accessible(staff, f"council-tasks-{theme}", artifacts)

    context = _context(browser, demo_server, theme, phone=True)
    page = context.new_page()
    page.goto(_unit_link(demo_server))
    expect(page.locator("main")).to_contain_text(matter)
    page.screenshot(path=str(artifacts / f"a11y-unit-{theme}-360x640.png"))
    assert_accessible(page, f"unit-{theme}", artifacts)
    context.close()


def test_the_check_catches_a_violation(browser: Browser, demo_server: DemoServer, artifacts: Path) -> None:
    """The helper really runs axe on the page: a button without a name and grey-on-grey text fail it."""
    context = _context(browser, demo_server, "default")
    page = context.new_page()
    page.goto("/login")
    page.evaluate("""() => {
        const b = document.createElement("button"); document.querySelector("main").append(b);
        const p = document.createElement("p"); p.textContent = "看不清的字"; p.className = "broken-contrast";
        p.style.color = "#bbb"; document.querySelector("main").append(p);
    }""")
    with pytest.raises(AssertionError) as failed:
        assert_accessible(page, "self-check", artifacts)
    assert "button-name [critical]" in str(failed.value) and "color-contrast [serious]" in str(failed.value)
    assert ".broken-contrast" in str(failed.value)
    context.close()
