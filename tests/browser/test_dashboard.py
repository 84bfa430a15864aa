"""A county administrator on a 1366×768 PC: the unit tree (a refused move), a street's dashboard
with its SVG charts beside their tables, a CSV download, the drill-down to a council and a topic,
and the public summary page without login — against ``yishi demo`` in a real browser.

The street, its estates, councils, meetings and topics are this test's own rows, put straight into
the demo's SQLite file under a unique name, so other tests' changes to the demo cannot disturb it.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DemoServer, log_in

pytestmark = pytest.mark.browser

PC = {"width": 1366, "height": 768}


def _street(server: DemoServer) -> dict[str, object]:
    """A street under the demo's district with two estates, a council on each, meetings and topics."""
    name = f"测试街道{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    with sqlite3.connect(server.data_dir / "yishi.sqlite3", timeout=10) as conn:
        root = conn.execute("SELECT id FROM yishi_unit WHERE parent IS NULL ORDER BY id LIMIT 1").fetchone()[0]

        def unit(title: str, kind: str, parent: int) -> int:
            return conn.execute("INSERT INTO yishi_unit (name, kind, parent, code) VALUES (?, ?, ?, '')",
                                (title, kind, parent)).lastrowid

        street = unit(name, "街道", root)
        community = unit(f"{name}社区", "社区", street)
        estates = [unit(f"{name}{k}小区", "小区", community) for k in ("东苑", "西苑")]
        councils = []
        for i, estate in enumerate(estates):
            council = conn.execute(
                "INSERT INTO yishi_council (name, unit, practice, description, quorum) VALUES (?, ?, ?, '', '1/2')",
                (f"{name}{'东西'[i]}苑议事会", estate, "sanfang")).lastrowid
            councils.append(council)
            for m in range(2 + i):
                at = (now - timedelta(days=20 + 30 * m)).isoformat(sep=" ")
                conn.execute(
                    "INSERT INTO yishi_meeting (council, kind, title, place, starts_at, state, is_open,"
                    " agenda_revision, recurrence) VALUES (?, 'regular', '例会', '会议室', ?, 'published', 0, 0, '')",
                    (council, at))
        topics = []
        for council, title, category, state, days in (
                (councils[0], "地下车库照明维修", "物业服务", "rated", 4),
                (councils[0], "电动车充电棚选址", "停车", "done", 6),
                (councils[1], "楼道杂物清理", "环境卫生", "accepted", None)):
            raised = now - timedelta(days=40)
            tid = conn.execute(
                "INSERT INTO yishi_topic (council, title, category, description, state, proposer_name,"
                " created_at, updated_at) VALUES (?, ?, ?, '', ?, '', ?, ?)",
                (council, title, category, state, raised.isoformat(sep=" "), raised.isoformat(sep=" "))).lastrowid
            topics.append(tid)
            if days is not None:
                conn.execute("INSERT INTO yishi_topic_event (topic, transition, from_state, to_state, reason, actor,"
                             " at) VALUES (?, 'finish', 'assigned', 'done', '', 'test', ?)",
                             (tid, (raised + timedelta(days=days)).isoformat(sep=" ")))
        conn.execute("INSERT INTO yishi_rating (topic, level, comment, created_at) VALUES (?, 'satisfied', '', ?)",
                     (topics[0], now.isoformat(sep=" ")))
    return {"name": name, "street": street, "estates": estates, "councils": councils, "topics": topics}


def test_street_dashboard_on_a_pc(browser, demo_server: DemoServer, artifacts, tmp_path) -> None:
    data = _street(demo_server)
    name, street = data["name"], data["street"]
    context = browser.new_context(viewport=PC, base_url=demo_server.url, accept_downloads=True, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, "admin")

    # The tree: the street is there; moving it under its own estate is refused with the reason.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="组织单元").click()
    page.locator("#unit-tree").get_by_role("link", name=name, exact=True).click()
    page.select_option("select[name=parent]", value=str(data["estates"][0]))
    page.get_by_role("button", name="移动").click()
    expect(page.get_by_role("alert")).to_contain_text("不能把单元移到它自己或它的下级单元之下")
    page.screenshot(path=str(artifacts / "units-refused-move-1366.png"))

    # The dashboard, after the administrator has the figures rebuilt (the rows went in behind the app's back).
    page.get_by_role("link", name="查看统计").click()
    page.get_by_role("button", name="立即更新统计").click()
    cards = page.get_by_role("list", name="主要数字")
    expect(cards.locator("li", has_text="议事机构")).to_contain_text("2")
    expect(cards.locator("li", has_text="会议场次")).to_contain_text("5")
    expect(cards.locator("li", has_text="提出议题")).to_contain_text("3")
    expect(cards.locator("li", has_text="已办结")).to_contain_text("66.7%")
    expect(cards.locator("li", has_text="办结天数中位数")).to_contain_text("5.0")
    expect(cards.locator("li", has_text="满意率")).to_contain_text("100.0%")

    # Each chart is an SVG drawn by the server, with its table beside it (to its right on a PC).
    section = page.locator("section", has=page.get_by_role("heading", name="按议题类别"))
    chart, table = section.locator("svg.chart"), section.locator("#table-categories")
    expect(chart).to_be_visible()
    expect(table.locator("tr", has_text="物业服务")).to_contain_text("1")
    chart_box, table_box = chart.bounding_box(), table.bounding_box()
    assert chart_box["x"] + chart_box["width"] <= table_box["x"] + 1
    assert abs(chart_box["y"] - table_box["y"]) < 40
    page.screenshot(path=str(artifacts / "dashboard-street-1366.png"), full_page=True)

    with page.expect_download() as download_info:
        section.get_by_role("link", name="CSV").click()
    path = tmp_path / "categories.csv"
    download_info.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0][:2] == ["类别", "提出议题"] and ["停车", "1"] in [r[:2] for r in rows]

    # Drill down: council → topic.
    councils = page.locator("#table-councils")
    councils.get_by_role("link", name=f"{name}东苑议事会").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{name}东苑议事会")
    page.screenshot(path=str(artifacts / "dashboard-council-1366.png"), full_page=True)
    page.get_by_role("link", name="地下车库照明维修").click()
    expect(page.locator("main")).to_contain_text("用时 4 天")
    expect(page.locator("main")).to_contain_text("满意")

    # The public page needs no login and shows the headline figures only.
    public = browser.new_context(viewport=PC, base_url=demo_server.url, locale="zh-CN").new_page()
    public.goto(f"/public/units/{street}")
    expect(public.locator("main")).to_contain_text("2 个议事机构召开会议 5 场，居民提出议题 3 件，已办结 2 件。")
    expect(public.locator("main")).not_to_contain_text("地下车库照明维修")
    public.context.close()
    context.close()


def test_street_staff_see_their_street_and_not_the_next_one(browser, demo_server: DemoServer, artifacts) -> None:
    """The demo's street account 荷叶地街道办 (heyedi): 统计 leads to its own street; another street of
    the district is refused with the reason, and the district above is named but not linked."""
    other = _street(demo_server)
    context = browser.new_context(viewport=PC, base_url=demo_server.url, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    log_in(page, "heyedi")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="统计").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("荷叶地街道 · 议事统计")
    trail = page.get_by_role("navigation", name="上级单元")
    expect(trail).to_contain_text("合肥市蜀山区")
    expect(trail.get_by_role("link")).to_have_count(0)
    expect(page.locator("#table-councils")).to_contain_text("翠竹园小区三方联席会议")
    page.screenshot(path=str(artifacts / "dashboard-street-staff-1366.png"), full_page=True)
    response = page.goto(f"/dashboard/units/{other['street']}")
    assert response is not None and response.status == 403
    expect(page.locator("main")).to_contain_text("这个单元不在您的管辖范围内")
    expect(page.locator("main")).not_to_contain_text(other["name"])
    page.screenshot(path=str(artifacts / "dashboard-refused-1366.png"))
    context.close()
