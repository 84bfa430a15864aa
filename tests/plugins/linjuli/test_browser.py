"""A grid worker on a tablet records a rental-safety check in a real browser: the 存在问题 box appears
only for an item marked 不合格, the failed item waits on the overview as 待整改 until recorded as fixed;
then a redemption larger than the balance is refused on the points page.

Runs ``yishi demo`` of its own with this plugin enabled (the shared demo server follows the project's
registry), and creates its own check rather than relying on the demo's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.browser.conftest import launched_chromium, running_server
from tests.plugins.linjuli.conftest import REGISTRY

pytestmark = pytest.mark.browser

TABLET = {"width": 1024, "height": 768}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("linjuli_demo")
    registry = work / "plugin_registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    with running_server(work / "data", env={"YISHI_PLUGIN_REGISTRY": str(registry)}, timeout=60) as demo:
        yield demo.url


@pytest.fixture(scope="module")
def page(server: str) -> Iterator[object]:
    with launched_chromium() as browser:
        context = browser.new_context(viewport=TABLET, base_url=server, locale="zh-CN")
        context.set_default_timeout(10_000)
        pg = context.new_page()
        pg.goto("/login")
        pg.fill("#username", "chenlh")
        pg.fill("#password", "yishi-demo")
        pg.click("main button[type=submit]")
        pg.wait_for_url(re.compile(r"/$"))
        yield pg


def test_a_grid_worker_records_a_check_and_its_fix(page) -> None:
    page.click("nav >> text=月月谈")
    page.click("text=沥林新村邻聚力·月月谈议事会")
    page.click("#buildings tr:has-text('新村8栋') >> text=安全检查")
    assert page.locator("#f-building").input_value() == "新村8栋"
    page.fill("#f-inspector", "网格员 陈丽华（浏览器测试）")
    for item in ("stairwell", "extinguisher", "gas", "ebike", "wiring", "exit", "smoke", "escape"):
        page.check(f"#f-{item}-1")  # 合格
    assert not page.locator("#f-wiring_problem").is_visible()
    page.check("#f-wiring-2")  # 不合格: now the box asking what is wrong appears
    assert page.locator("#f-wiring_problem").is_visible()
    with page.expect_navigation():
        page.click("main form.lc-form button[type=submit]")
    assert page.locator("#f-wiring_problem-error").is_visible()  # required once 不合格: nothing saved yet
    page.fill("#f-wiring_problem", "天台私拉电线给水泵供电（浏览器测试）")
    page.click("main form.lc-form button[type=submit]")
    page.wait_for_url(re.compile(r"/records/\d+$"))
    assert page.locator(".rec-values").get_by_text("电气线路", exact=True).is_visible()
    assert page.locator("#rec-checklist").get_by_text("不合格 1 项").is_visible()

    page.click(".linjuli-tabs >> text=概览")
    hazard = page.locator("#fixes li", has_text="天台私拉电线给水泵供电（浏览器测试）")
    assert hazard.count() == 1
    hazard.locator("text=查看").click()
    page.click(".rec-actions >> text=已整改")
    page.fill("#f-fixed_note", "已拆除私拉电线")
    page.click("main form.lc-form button[type=submit]")
    page.wait_for_url(re.compile(r"/records/\d+$"))
    assert page.locator("#rec-state").inner_text() == "已整改"
    assert page.locator(".rec-step").get_by_text("已拆除私拉电线").is_visible()
    page.click(".linjuli-tabs >> text=概览")
    assert page.locator("#fixes li", has_text="天台私拉电线给水泵供电（浏览器测试）").count() == 0


def test_a_redemption_beyond_the_balance_is_refused_on_the_page(page) -> None:
    def line(direction: int, points: str, reason: str) -> None:
        page.click(".linjuli-tabs >> text=志愿积分")
        page.click("#rec-new")
        page.select_option("#f-person", label="租户 邓志勇（新村12栋 602）")
        page.check(f"#f-direction-{direction}")
        page.fill("#f-points", points)
        page.fill("#f-reason", reason)
        with page.expect_navigation():
            page.click("main form.lc-form button[type=submit]")

    line(1, "5", "协助搬运灭火器（浏览器测试）")
    page.click(".linjuli-tabs >> text=志愿积分")
    assert page.locator("#rec-list").get_by_text("协助搬运灭火器（浏览器测试）").count() == 1
    line(2, "6", "兑换洗衣液（浏览器测试）")
    assert page.get_by_text("邓志勇的积分余额为 5 分，不够扣减 6 分，未登记。").is_visible()
    assert page.locator("#f-reason").input_value() == "兑换洗衣液（浏览器测试）"
    page.click(".linjuli-tabs >> text=志愿积分")
    assert page.locator("#rec-list").get_by_text("兑换洗衣液（浏览器测试）").count() == 0
