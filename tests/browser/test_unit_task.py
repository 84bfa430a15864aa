"""A responsible unit opens its link on a 360×640 phone, reports progress with a photo and finishes
the task — against ``yishi demo`` in a real browser; then, with HTMX at work, a unit sends a task
back, the chair 重新交办 it to another unit from the task list, and that unit receives it and
reports — every step updating the page in place.

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

from tests.browser.conftest import TABLET, DemoServer, log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 640}
TITLE = "东门道路翻新后门槛过低问题"


def _decided_topic(server: DemoServer, title: str = TITLE) -> tuple[int, int]:
    """(council id, topic id) of a new topic in state "decided" on the demo's council."""
    with sqlite3.connect(server.data_dir / "yishi.sqlite3", timeout=10) as conn:
        council = conn.execute("SELECT id FROM yishi_council ORDER BY id LIMIT 1").fetchone()[0]
        cur = conn.execute(
            "INSERT INTO yishi_topic (council, title, category, description, state, proposer_name, created_at,"
            " updated_at) VALUES (?, ?, '', '东门道路翻新后门槛只有2厘米，雨天积水倒灌。', 'decided', '', "
            "datetime('now'), datetime('now'))", (council, title))
        return council, cur.lastrowid


def test_unit_reports_and_finishes_on_a_phone(browser, demo_server: DemoServer, artifacts, tmp_path) -> None:
    council, topic = _decided_topic(demo_server)
    staff = browser.new_context(viewport=TABLET, base_url=demo_server.url, locale="zh-CN")
    staff.set_default_timeout(15_000)
    page = staff.new_page()
    log_in(page, "wangjh")
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


IN_PLACE = "window.__yishiInPlace"  # set on the page; a full page load would clear it


def _staff(browser, server: DemoServer):
    context = browser.new_context(viewport=TABLET, base_url=server.url, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, "wangjh")
    return context, page


def _unit_links(page, council: int) -> dict[str, str]:
    """The links of the two units this test uses (added if the demo has not seeded them)."""
    page.goto(f"/councils/{council}/departments")
    links = {}
    for name, kind in (("安居物业服务有限公司", "物业"), ("荷叶地派出所", "派出所")):
        if page.locator("tr", has_text=name).count() == 0:
            page.fill("#d-name", name)
            page.select_option("#d-kind", kind)
            page.click("form.dept-form button[type=submit]")
        links[name] = page.locator("tr", has_text=name).locator("details input").input_value()
    return links


def test_return_reassign_and_report_update_in_place(browser, demo_server: DemoServer, artifacts, tmp_path) -> None:
    matter = "北门雨棚漏水维修"
    council, topic = _decided_topic(demo_server, "北门雨棚漏水，雨天居民无处避雨")
    staff, desk = _staff(browser, demo_server)
    links = _unit_links(desk, council)
    desk.goto(f"/councils/{council}/topics/{topic}/assign")
    desk.fill("#f-matter", matter)
    desk.select_option("#f-unit", label="荷叶地派出所（派出所）")
    desk.fill("#f-deadline", (date.today() + timedelta(days=7)).isoformat())
    desk.fill("#f-requirements", "更换破损雨棚板，办结后上传照片。")
    desk.click("form.lc-form button[type=submit]")
    desk.wait_for_url(re.compile(rf"/councils/{council}/tasks$"))

    phone = browser.new_context(viewport=PHONE, base_url=demo_server.url, locale="zh-CN", is_mobile=True,
                                has_touch=True, device_scale_factor=2)
    phone.set_default_timeout(15_000)
    page = phone.new_page()
    # the police send it back, with a reason, without leaving the page
    page.goto(links["荷叶地派出所"])
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate(f"{IN_PLACE} = true")
    card = page.locator("section.unit-task", has_text=matter)
    card.get_by_text("不属于本单位职责？退回").click()
    card.locator("textarea[name=reason]").fill("雨棚属小区共用设施，应由物业维修")
    card.get_by_role("button", name="退回").click()
    card = page.locator("section.unit-task", has_text=matter)
    expect(card.locator(".badge").first).to_have_text("已退回")
    expect(card.get_by_role("status")).to_have_text("已退回，议事会将重新交办。")
    assert page.evaluate(IN_PLACE) is True, "the page was reloaded instead of updated in place"
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "unit-returned-360x640.png"))

    # the chair sees why and 重新交办 it to the property company from the list, in place
    desk.goto(f"/councils/{council}/tasks")
    desk.wait_for_function("() => window.htmx !== undefined")
    desk.evaluate(f"{IN_PLACE} = true")
    row = desk.locator("tr", has_text=matter)
    expect(row).to_contain_text("雨棚属小区共用设施，应由物业维修")
    actions = desk.locator("tr.task-returned").filter(has=desk.locator(f"input[value='{matter}']"))
    actions.get_by_text("重新交办").first.click()
    form = actions.locator("form").first
    form.locator("select[name=unit]").select_option(label="安居物业服务有限公司（物业）")
    form.locator("input[name=deadline]").fill((date.today() + timedelta(days=5)).isoformat())
    desk.screenshot(path=str(artifacts / "tasks-reassign-1024x768.png"), full_page=True)
    form.get_by_role("button", name="重新交办").click()
    expect(desk.locator("#council-tasks .notice")).to_contain_text(f"已将“{matter}”重新交办给安居物业服务有限公司")
    expect(desk.locator("tr", has_text=matter).locator(".badge").first).to_have_text("已交办")
    assert desk.evaluate(IN_PLACE) is True
    desk.screenshot(path=str(artifacts / "tasks-after-reassign-1024x768.png"), full_page=True)
    staff.close()

    # the property company receives, starts and reports with a photo — the list and the form swap in place
    page.goto(links["安居物业服务有限公司"])
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate(f"{IN_PLACE} = true")
    card = page.locator("section.unit-task", has_text=matter)
    card.get_by_role("button", name="接收").click()
    card = page.locator("section.unit-task", has_text=matter)
    expect(card.locator(".badge").first).to_have_text("已接收")
    card.get_by_role("button", name="开始办理").click()
    card = page.locator("section.unit-task", has_text=matter)
    expect(card.locator(".badge").first).to_have_text("办理中")
    card.get_by_role("link", name="办理反馈").click()
    expect(page.get_by_role("heading", name="办理反馈")).to_be_visible()
    page.wait_for_url(re.compile(r"/report$"))  # the address follows, so a reload shows the form
    page.get_by_label("办理中").check()
    page.click("form.lc-form button[type=submit]")  # nothing typed: the errors appear beside the fields
    expect(page.locator(".lc-field.invalid").first).to_be_visible()
    expect(page.locator("#f-account")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate(IN_PLACE) is True
    page.screenshot(path=str(artifacts / "unit-report-errors-360x640.png"))
    photo = tmp_path / "雨棚.png"
    Image.new("RGB", (320, 240), "#5f7f6f").save(photo)
    page.fill("#f-account", "已更换三块破损雨棚板，剩余两块材料明天到货。")
    page.fill("#f-expected", (date.today() + timedelta(days=2)).isoformat())
    page.set_input_files("#f-photos", str(photo))
    page.fill("#f-handler", "吴海涛")
    page.fill("#f-phone", "13812345678")
    page.click("form.lc-form button[type=submit]")
    card = page.locator("section.unit-task", has_text=matter)
    expect(card.get_by_role("status")).to_have_text("已提交办理反馈。")
    expect(card.locator("img.task-photo")).to_have_count(1)
    assert card.locator("img.task-photo").evaluate("img => img.naturalWidth") == 320
    assert page.url == links["安居物业服务有限公司"]
    assert page.evaluate(IN_PLACE) is True, "the page was reloaded instead of updated in place"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "unit-htmx-360x640.png"))
    # the back button brings the form back as a whole page (htmx asks the server for it again)
    page.go_back()
    page.wait_for_url(re.compile(r"/report$"))
    expect(page.locator("h1", has_text="办理反馈")).to_be_visible()
    expect(page.locator("form.lc-form")).to_have_count(1)
    expect(page.locator("header.site-header")).to_have_count(1)
    expect(page.locator("#unit-main")).to_have_count(1)
    phone.close()
