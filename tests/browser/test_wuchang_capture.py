"""屋场恳谈会 in a real browser against ``yishi demo``: on a tablet the chair logs issues with the
keyboard only (提出人 → Tab → 类别 → Tab → one line → Enter, and the cursor is back in 提出人),
a dropped request shows 未保存，请重试 and keeps what was typed, an issue is answered on the spot,
another assigned to a department with a deadline, and the 回音表 flags the one still unanswered.

The meeting is put straight into the demo's SQLite file, in session, on the demo's 屋场恳谈会
council, so no other test's rows are touched.
"""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DemoServer, log_in

pytestmark = pytest.mark.browser


def _meeting(server: DemoServer) -> int:
    with sqlite3.connect(server.data_dir / "yishi.sqlite3", timeout=10) as conn:
        council = conn.execute("SELECT id FROM yishi_council WHERE practice = 'wuchang'").fetchone()[0]
        cur = conn.execute(
            "INSERT INTO yishi_meeting (council, kind, title, place, starts_at, state, opened_at, is_open,"
            " agenda_revision, recurrence) VALUES (?, '屋场恳谈会', ?, '马王巷小区3栋前坪',"
            " datetime('now'), 'in_session', datetime('now'), 0, 0, '')", (council, "马王巷3栋前坪屋场恳谈会（测试）"))
        return cur.lastrowid


def _log(page, speaker: str, category: str, line: str) -> None:
    page.keyboard.type(speaker)
    page.keyboard.press("Tab")
    page.select_option("#cap-category", category)
    page.keyboard.press("Tab")
    page.keyboard.type(line)
    page.keyboard.press("Enter")


def test_recorder_logs_triages_and_assigns_on_a_tablet(page, demo_server: DemoServer, artifacts) -> None:
    meeting = _meeting(demo_server)
    log_in(page, "pengxl")
    page.goto(f"/p/wuchang/meetings/{meeting}/capture")
    expect(page.locator("#cap-speaker")).to_be_focused()

    _log(page, "肖满秀（3栋）", "环境卫生", "3栋门口化粪池满了，味道很大")
    expect(page.locator("#cap-issues li", has_text="3栋门口化粪池满了")).to_be_visible()
    expect(page.locator("#cap-speaker")).to_be_focused()
    expect(page.locator("#cap-speaker")).to_have_value("")

    # Weak Wi-Fi: the next press is lost; the banner says so and nothing typed is lost.
    page.route("**/issues", lambda route: route.abort())
    _log(page, "邓国华（1栋）", "政策咨询", "电动车充电桩能不能装到小区里")
    expect(page.locator("#save-failed")).to_be_visible()
    expect(page.locator("#cap-title")).to_have_value("电动车充电桩能不能装到小区里")
    page.unroute("**/issues")
    page.click("#cap-add")
    expect(page.locator("#cap-issues li", has_text="电动车充电桩能不能装到小区里")).to_be_visible()
    expect(page.locator("#save-failed")).to_be_hidden()
    expect(page.locator("#cap-counts")).to_contain_text("共记录 2 条")

    answered = page.locator("#cap-issues li", has_text="电动车充电桩能不能装到小区里")
    answered.locator("textarea[name=reply]").fill("小区充电桩由业委会统一规划，下月恳谈会上公布选址方案。")
    answered.get_by_role("button", name="解疑释惑").click()
    expect(page.locator("#cap-issues li", has_text="电动车充电桩").locator(".t-chip")).to_have_text("已答复")

    page.locator("#cap-issues li", has_text="3栋门口化粪池满了").get_by_role("button", name="集中交办").click()
    assigned = page.locator("#cap-issues li", has_text="3栋门口化粪池满了")
    expect(assigned.locator(".t-chip")).to_have_text("待交办")
    assigned.locator("select[name=unit]").select_option(label="人民街道城管中队")
    assigned.locator("input[name=deadline]").fill((date.today() + timedelta(days=7)).isoformat())
    assigned.locator("input[name=requirements]").fill("一周内清掏化粪池，办结后告知提出人。")
    assigned.get_by_role("button", name="交办").click()
    done = page.locator("#cap-issues li", has_text="3栋门口化粪池满了")
    expect(done.locator(".t-chip")).to_have_text("已交办")
    expect(done).to_contain_text("人民街道城管中队")
    page.screenshot(path=str(artifacts / "wuchang-capture-tablet.png"), full_page=True)

    page.goto(f"/meetings/{meeting}/documents/wuchang_huiyin.html")
    expect(page.locator("#huiyin-summary")).to_contain_text("尚有 1 条未回音")
    expect(page.locator("#huiyin-table")).to_contain_text("小区充电桩由业委会统一规划")
