"""A responsible unit opens its link on a 360×640 phone, reports progress with a photo and finishes
the task — against ``yishi demo`` in a real browser.

The chair adds the unit and fills the 交办单 on a tablet; the decided topic is put straight into
the demo's SQLite file (the topic side's pages are tested on their own).
"""

from __future__ import annotations

import re
import sqlite3
from datetime import date, timedelta

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import TABLET, DemoServer

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
TITLE = "东门道路翻新后门槛过低问题"


def _decided_topic(server: DemoServer) -> tuple[int, int]:
    """(council id, topic id) of a new topic in state "decided" on the demo's council."""
    with sqlite3.connect(server.data_dir / "yishi.sqlite3", timeout=10) as conn:
        council = conn.execute("SELECT id FROM yishi_council ORDER BY id LIMIT 1").fetchone()[0]
        cur = conn.execute(
            "INSERT INTO yishi_topic (council, title, category, description, state, proposer_name, created_at,"
            " updated_at) VALUES (?, ?, '', '东门道路翻新后门槛只有2厘米，雨天积水倒灌。', 'decided', '', "
            "datetime('now'), datetime('now'))", (council, TITLE))
        return council, cur.lastrowid


def test_unit_reports_and_finishes_on_a_phone(browser, demo_server: DemoServer, artifacts, tmp_path) -> None:
    council, topic = _decided_topic(demo_server)
    staff = browser.new_context(viewport=TABLET, base_url=demo_server.url, locale="zh-CN")
    staff.set_default_timeout(15_000)
    page = staff.new_page()
    page.goto("/login")
    page.fill("#username", "wangjh")
    page.fill("#password", "yishi-demo")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/$"))
    page.goto(f"/councils/{council}/departments")
    if page.locator("tr", has_text="安居物业服务有限公司").count() == 0:  # the demo may not seed units yet
        page.fill("#d-name", "安居物业服务有限公司")
        page.select_option("#d-kind", "物业")
        page.click("form.dept-form button[type=submit]")
    row = page.locator("tr", has_text="安居物业服务有限公司")
    link = row.locator("details input").input_value()
    assert re.fullmatch(rf"{re.escape(demo_server.url)}/u/\d+\.\d+\.[A-Za-z0-9_-]{{22}}", link), link

    page.goto(f"/councils/{council}/topics/{topic}/assign")
    expect(page.get_by_role("heading", name="交办单")).to_be_visible()
    page.fill("#f-matter", "东门门槛加高并疏通排水沟")
    page.select_option("#f-unit", label="安居物业服务有限公司（物业）")
    page.fill("#f-deadline", (date.today() + timedelta(days=10)).isoformat())
    page.fill("#f-requirements", "办结后上传现场照片，并告知提事居民。")
    page.click("form.lc-form button[type=submit]")
    page.wait_for_url(re.compile(rf"/councils/{council}/tasks$"))
    expect(page.locator("main")).to_contain_text("东门门槛加高并疏通排水沟")
    staff.close()

    phone = browser.new_context(viewport=PHONE, base_url=demo_server.url, locale="zh-CN", is_mobile=True,
                                has_touch=True, device_scale_factor=2)
    phone.set_default_timeout(15_000)
    page = phone.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", name="安居物业服务有限公司")).to_be_visible()
    card = page.locator("section.unit-task", has_text="东门门槛加高并疏通排水沟")
    expect(card).to_contain_text(TITLE)
    card.get_by_role("button", name="接收").click()
    card = page.locator("section.unit-task", has_text="东门门槛加高并疏通排水沟")
    expect(card).to_contain_text("已接收")
    card.get_by_role("link", name="办理反馈").click()
    expect(page.get_by_role("heading", name="办理反馈")).to_be_visible()
    photo = tmp_path / "门槛.png"
    Image.new("RGB", (320, 240), "#7a8b99").save(photo)
    page.get_by_label("办理中").check()
    page.fill("#f-account", "已联系施工队，门槛加高材料已进场，预计三天内完工。")
    page.fill("#f-expected", (date.today() + timedelta(days=3)).isoformat())
    page.set_input_files("#f-photos", str(photo))
    page.fill("#f-handler", "吴海涛")
    page.fill("#f-phone", "13812345678")
    page.screenshot(path=str(artifacts / "unit-report-360x640.png"), full_page=True)
    page.click("form.lc-form button[type=submit]")
    card = page.locator("section.unit-task", has_text="东门门槛加高并疏通排水沟")
    expect(card).to_contain_text("办理中")
    expect(card.locator("img.task-photo")).to_have_count(1)
    assert card.locator("img.task-photo").evaluate("img => img.naturalWidth") == 320

    card.get_by_role("link", name="办理反馈").click()
    page.get_by_label("已办结").check()
    expect(page.locator("#f-expected")).to_be_hidden()
    page.fill("#f-account", "门槛已加高至8厘米，排水沟已疏通，雨天不再倒灌。")
    page.set_input_files("#f-photos", str(photo))
    page.fill("#f-handler", "吴海涛")
    page.fill("#f-phone", "13812345678")
    page.click("form.lc-form button[type=submit]")
    card = page.locator("section.unit-task", has_text="东门门槛加高并疏通排水沟")
    expect(card.locator(".badge").first).to_have_text("已办结")
    expect(card.get_by_role("link", name="办理反馈")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    page.screenshot(path=str(artifacts / "unit-360x640.png"))
    page.screenshot(path=str(artifacts / "unit-360x640-full.png"), full_page=True)
    phone.close()

    with sqlite3.connect(demo_server.data_dir / "yishi.sqlite3", timeout=10) as conn:
        assert conn.execute("SELECT state FROM yishi_topic WHERE id = ?", (topic,)).fetchone()[0] == "done"
