"""Dashboards: figures rolled up from a unit's subtree, the cohort rules, a council moved between
units counted once, periods, downloads, drill-down, the public page and who may see what."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from core.dashboard import figures, rollup
from core.dashboard.tables import StatsBuild
from core.meetings.tables import Meeting
from core.org import units
from core.org.tables import Council, Unit
from core.topics.tables import Department, Rating, Task, Topic, TopicEvent
from tests.conftest import database_state, login
from tests.factories import make_user

TODAY = datetime.now(rollup.LOCAL_TZ).date()


def months_ago(n: int, day: int = 10) -> datetime:
    y, m = TODAY.year, TODAY.month - n
    while m < 1:
        y, m = y - 1, m + 12
    return datetime(y, m, day, 2, 0, tzinfo=UTC)


async def county() -> dict[str, int]:
    """县 → 甲街道 (社区 → 小区 A, 小区 B) and 乙街道 (小区 C); a council on each 小区."""
    ids: dict[str, int] = {}
    ids["county"] = (await Unit.objects().create(name="示范县", kind="县")).id
    ids["jia"] = (await Unit.objects().create(name="甲街道", kind="街道", parent=ids["county"])).id
    ids["yi"] = (await Unit.objects().create(name="乙街道", kind="街道", parent=ids["county"])).id
    ids["sq"] = (await Unit.objects().create(name="甲社区", kind="社区", parent=ids["jia"])).id
    for key, parent in (("a", "sq"), ("b", "sq"), ("c", "yi")):
        ids[key] = (await Unit.objects().create(name=f"小区{key.upper()}", kind="小区", parent=ids[parent])).id
        practice = "sanfang" if key != "c" else "jiexiang"
        ids[f"council_{key}"] = (await Council.objects().create(
            name=f"小区{key.upper()}议事会", unit=ids[key], practice=practice)).id
    return ids


async def topic(council: int, raised: datetime, state: str, *, category: str = "停车", close_days: int | None = None,
                rating: str | None = None, deadline: date | None = None, task_state: str = "done") -> int:
    row = await Topic.objects().create(council=council, title=f"议题{raised:%m%d}{state}", category=category,
                                       state=state, created_at=raised, updated_at=raised)
    if close_days is not None:
        await TopicEvent.objects().create(topic=row.id, transition="finish", from_state="assigned",
                                          to_state="done", at=raised + timedelta(days=close_days, hours=1))
    if deadline is not None:
        dept = await Department.select(Department.id).where(Department.council == council).first()
        dept_id = dept["id"] if dept else (await Department.objects().create(council=council, name="物业")).id
        await Task.objects().create(topic=row.id, department=dept_id, deadline=deadline, state=task_state)
    if rating:
        await Rating.objects().create(topic=row.id, level=rating)
    return row.id


async def meeting(council: int, at: datetime, state: str = "published") -> None:
    await Meeting.objects().create(council=council, kind="regular", title="例会", starts_at=at, state=state)


async def sample() -> dict[str, int]:
    ids = await county()
    a, b, c = ids["council_a"], ids["council_b"], ids["council_c"]
    await meeting(a, months_ago(1))
    await meeting(a, months_ago(2))
    await meeting(a, months_ago(0, 1), state="draft")  # not held: does not count
    await meeting(c, months_ago(1))
    await topic(a, months_ago(1), "rated", close_days=3, rating="satisfied")
    await topic(a, months_ago(1), "rated", close_days=9, rating="unsatisfied", category="环境卫生")
    await topic(a, months_ago(2), "answered", close_days=1)
    await topic(a, months_ago(2), "assigned", deadline=TODAY - timedelta(days=2), task_state="assigned")
    await topic(a, months_ago(2), "merged")  # a duplicate: never counted
    await topic(b, months_ago(1), "accepted")
    await topic(c, months_ago(1), "done", close_days=5, category="环境卫生")
    await topic(c, months_ago(30), "rated", close_days=2, rating="basic")  # outside the last 12 months
    await rollup.rebuild()
    return ids


YEAR = figures.last_months(12, TODAY)


async def test_root_rolls_up_the_whole_tree(engine: object) -> None:
    ids = await sample()
    fig = await figures.unit_figures(ids["county"], YEAR, {"sanfang": "三方联席会议"})
    t = fig.totals
    assert (t.councils, t.active, t.meetings) == (3, 2, 3)
    assert (t.raised, t.solved, t.overdue) == (6, 4, 1)
    assert (t.satisfied, t.basic, t.unsatisfied) == (1, 0, 1)
    assert t.satisfaction == 0.5
    assert fig.median_days == 4.0  # closed after 1, 3, 5, 9 days
    by_child = {b.label: b.totals for b in fig.children}
    assert (by_child["甲街道"].councils, by_child["甲街道"].raised, by_child["甲街道"].meetings) == (2, 5, 2)
    assert (by_child["乙街道"].councils, by_child["乙街道"].raised) == (1, 1)
    by_practice = {b.label: b.totals.meetings for b in fig.practices}
    assert by_practice == {"三方联席会议": 2, "jiexiang": 1}
    by_category = {b.label: b.totals.raised for b in fig.categories}
    assert by_category == {"停车": 4, "环境卫生": 2}
    assert sum(m.totals.raised for m in fig.months) == 6


async def test_a_street_sees_only_its_subtree(engine: object) -> None:
    ids = await sample()
    fig = await figures.unit_figures(ids["yi"], YEAR, {})
    assert (fig.totals.councils, fig.totals.raised, fig.totals.solved, fig.totals.meetings) == (1, 1, 1, 1)
    assert fig.median_days == 5.0
    whole = await figures.unit_figures(ids["yi"], figures.last_months(60, TODAY), {})
    assert whole.totals.raised == 2 and whole.totals.basic == 1


async def test_a_moved_council_is_counted_once_under_its_new_unit(engine: object) -> None:
    ids = await sample()
    before = await figures.unit_figures(ids["county"], YEAR, {})
    await units.move_council(ids["council_a"], ids["c"], actor="test")
    after = await figures.unit_figures(ids["county"], YEAR, {})
    assert after.totals == before.totals
    by_child = {b.label: b.totals for b in after.children}
    assert (by_child["甲街道"].councils, by_child["甲街道"].raised) == (1, 1)
    assert (by_child["乙街道"].councils, by_child["乙街道"].raised, by_child["乙街道"].meetings) == (2, 5, 3)
    jia = await figures.unit_figures(ids["jia"], YEAR, {})
    assert jia.totals.raised == 1 and jia.totals.meetings == 0


async def test_a_period_with_no_data_is_empty_not_an_error(engine: object) -> None:
    ids = await sample()
    fig = await figures.unit_figures(ids["county"], figures.Period(201001, 201012), {})
    assert fig.empty and fig.median_days is None and fig.totals.satisfaction is None
    assert fig.totals.councils == 3 and len(fig.months) == 12


def test_periods_are_read_strictly() -> None:
    assert figures.parse_period("2025-01", "2025-12", TODAY) == figures.Period(202501, 202512)
    assert figures.parse_period(None, None, TODAY) == figures.last_months(12, TODAY)
    for start, end in (("2025-13", "2025-12"), ("2025-1", None), ("abc", None), ("2025-06", "2025-01")):
        with pytest.raises(figures.PeriodError):
            figures.parse_period(start, end, TODAY)


def test_long_periods_read_whole_years_from_yearly_rows() -> None:
    assert figures.Period(202111, 202611).ranges() == [(2022, 2025), (202111, 202112), (202601, 202611)]
    assert figures.Period(202301, 202312).ranges() == [(2023, 2023)]
    assert figures.Period(202302, 202311).ranges() == [(202302, 202311)]


def test_median() -> None:
    assert figures.median_of([]) is None
    assert figures.median_of([(3, 1)]) == 3
    assert figures.median_of([(1, 1), (9, 1)]) == 5
    assert figures.median_of([(1, 2), (2, 1), (10, 1)]) == 1.5
    assert figures.median_of([(5, 3), (1, 1)]) == 5
    # Beyond a week days are kept in buckets (8 = 8–10 days): the median is spread inside its bucket.
    assert figures.median_of([(8, 3)], rollup.DAY_BUCKETS) == 9.5
    assert figures.median_of([(3, 1), (7, 1), (31, 1)], rollup.DAY_BUCKETS) == 7


async def test_a_workflow_step_refreshes_its_council_at_once(engine: object) -> None:
    ids = await sample()
    await topic(ids["council_b"], months_ago(1), "done", close_days=2)
    stale = await figures.unit_figures(ids["b"], YEAR, {})
    assert stale.totals.raised == 1  # not yet rebuilt

    from core import builtin
    from core.events import TransitionEvent

    # Core's yishi_on_transition hook refreshes the council in the background.
    await builtin.yishi_on_transition(TransitionEvent(
        kind="topic", entity_id=1, council_id=ids["council_b"], workflow="topic", transition="finish",
        source="assigned", target="done", events=(), reason="", actor="test"))
    await asyncio.gather(*rollup._pending)
    fresh = await figures.unit_figures(ids["b"], YEAR, {})
    assert (fresh.totals.raised, fresh.totals.solved) == (2, 1)
    # The county's sums come from the all-council rows, behind now: it adds up councils meanwhile …
    assert not await rollup.totals_fresh()
    county_fig = await figures.unit_figures(ids["county"], YEAR, {})
    assert (county_fig.totals.raised, county_fig.median_days) == (7, 3.0)
    assert {b.label: b.totals.raised for b in county_fig.categories} == {"停车": 5, "环境卫生": 2}
    # … until the background pass brings them up to date: the same figures, from the totals.
    await rollup.rebuild_totals()
    assert await rollup.totals_fresh()
    again = await figures.unit_figures(ids["county"], YEAR, {})
    assert again.totals == county_fig.totals and again.median_days == 3.0
    assert [(m.key, m.totals) for m in again.months] == [(m.key, m.totals) for m in county_fig.months]


# --- pages -------------------------------------------------------------------------------------


async def test_dashboard_page_downloads_and_drill_down(client) -> None:
    ids = await sample()
    await make_user("boss", "县管理员", is_admin=True)
    await login(client, "boss")
    r = await client.get(f"/dashboard/units/{ids['county']}")
    assert r.status_code == 200
    assert "示范县" in r.text and "<svg" in r.text and 'id="table-categories"' in r.text
    assert "甲街道" in r.text and f"/dashboard/units/{ids['jia']}?from=" in r.text
    r = await client.get(f"/dashboard/units/{ids['county']}/export/categories?format=csv")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0] == "类别" and ["停车", "4"] == rows[1][:2]
    r = await client.get(f"/dashboard/units/{ids['county']}/export/children?format=xlsx")
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert [c.value for c in sheet[2]][:4] == ["甲街道", 2, 1, 2]
    r = await client.get(f"/dashboard/councils/{ids['council_a']}")
    assert r.status_code == 200 and "小区A议事会" in r.text and "议题" in r.text
    topic_id = (await Topic.select(Topic.id).where(Topic.state == "assigned").first())["id"]
    r = await client.get(f"/dashboard/councils/{ids['council_a']}/topics/{topic_id}")
    assert r.status_code == 200 and "已逾期" in r.text
    r = await client.get(f"/dashboard/councils/{ids['council_b']}/topics/{topic_id}")
    assert r.status_code == 404


async def test_bad_period_says_so_and_shows_the_last_year(client) -> None:
    ids = await sample()
    await make_user("boss", "县管理员", is_admin=True)
    await login(client, "boss")
    r = await client.get(f"/dashboard/units/{ids['county']}?from=2025-06&to=2025-01")
    assert r.status_code == 200 and "开始月份不能晚于结束月份" in r.text
    r = await client.get(f"/dashboard/units/{ids['county']}?from=2010-01&to=2010-03")
    assert "所选期间没有会议和议题数据" in r.text


OUT_OF_REACH = "这个单元不在您的管辖范围内"


async def test_staff_see_their_own_subtree_and_nothing_beside_it(client) -> None:
    ids = await sample()
    await make_user("jiastaff", "甲街道干部", unit=ids["jia"])
    await login(client, "jiastaff")
    r = await client.get("/dashboard")
    assert r.status_code == 303 and r.headers["location"] == f"/dashboard/units/{ids['jia']}"
    r = await client.get(f"/dashboard/units/{ids['jia']}")
    assert r.status_code == 200 and "甲街道 · 议事统计" in r.text
    # A unit below theirs: the trail links back to their own street, not to the county above it.
    r = await client.get(f"/dashboard/units/{ids['sq']}")
    assert r.status_code == 200 and f'href="/dashboard/units/{ids["jia"]}?' in r.text
    assert f'href="/dashboard/units/{ids["county"]}?' not in r.text and "示范县" in r.text
    # The sibling street, the county above, and their downloads: refused, with the reason, as a page.
    before = await database_state()
    for url in (f"/dashboard/units/{ids['yi']}", f"/dashboard/units/{ids['county']}",
                f"/dashboard/units/{ids['yi']}/export/councils?format=csv", f"/dashboard/units/{ids['c']}"):
        r = await client.get(url)
        assert r.status_code == 403 and OUT_OF_REACH in r.text, url
        assert r.headers["content-type"].startswith("text/html"), (url, r.headers["content-type"])
        assert "小区C议事会" not in r.text
    # A council's topics only within their subtree.
    assert (await client.get(f"/dashboard/councils/{ids['council_a']}")).status_code == 200
    r = await client.get(f"/dashboard/councils/{ids['council_c']}")
    assert r.status_code == 403 and "您没有权限" in r.text
    topic_c = (await Topic.select(Topic.id).where(Topic.council == ids["council_c"]).first())["id"]
    assert (await client.get(f"/dashboard/councils/{ids['council_c']}/topics/{topic_c}")).status_code == 403
    # Only an administrator may rebuild the figures, even of the staff member's own street.
    assert (await client.post(f"/dashboard/units/{ids['jia']}/refresh")).status_code == 403
    assert await database_state() == before
    # A unit that does not exist is a 404, as a stale council link is.
    assert (await client.get("/dashboard/units/999999")).status_code == 404


async def test_an_admin_sees_every_unit(client) -> None:
    ids = await sample()
    await make_user("boss", "县管理员", is_admin=True)
    await login(client, "boss")
    for key in ("county", "jia", "yi", "c"):
        assert (await client.get(f"/dashboard/units/{ids[key]}")).status_code == 200, key
    assert (await client.get(f"/dashboard/councils/{ids['council_c']}")).status_code == 200
    r = await client.post(f"/dashboard/units/{ids['yi']}/refresh")
    assert r.status_code == 303 and r.headers["location"] == f"/dashboard/units/{ids['yi']}"


async def test_a_council_member_sees_the_unit_of_their_council(client) -> None:
    from core.org.tables import CouncilMember, Person

    ids = await sample()
    person = await Person.objects().create(name="周明")
    await CouncilMember.objects().create(council=ids["council_a"], person=person.id, role="member")
    await make_user("zhouming", "周明", person=person.id)
    other = await Council.objects().create(name="小区A业委会", unit=ids["a"], practice="sanfang")
    await login(client, "zhouming")
    r = await client.get("/dashboard")
    assert r.status_code == 303 and r.headers["location"] == f"/dashboard/units/{ids['a']}"
    r = await client.get(f"/dashboard/units/{ids['a']}")
    assert r.status_code == 200 and "小区A业委会" in r.text
    # Their own council links to its topics; the other council on the same estate shows its figures only.
    assert f'href="/dashboard/councils/{ids["council_a"]}?' in r.text
    assert f'href="/dashboard/councils/{other.id}?' not in r.text
    assert (await client.get(f"/dashboard/councils/{other.id}")).status_code == 403
    for key in ("b", "sq", "jia", "county"):  # the neighbouring estate, and the units above their council
        r = await client.get(f"/dashboard/units/{ids[key]}")
        assert r.status_code == 403 and OUT_OF_REACH in r.text, key


async def test_someone_with_no_unit_is_told_so(client) -> None:
    ids = await sample()
    await make_user("nobody", "路人")
    await login(client, "nobody")
    r = await client.get("/dashboard")
    assert r.status_code == 200 and "没有可以查看的统计" in r.text
    r = await client.get(f"/dashboard/units/{ids['county']}")
    assert r.status_code == 403 and "您没有权限进行此操作" in r.text and OUT_OF_REACH not in r.text
    assert (await client.get(f"/public/units/{ids['county']}")).status_code == 200  # the public page stays public


async def test_the_demo_street_account_sees_its_own_street(client) -> None:
    from core.sanfang.demo import DEMO_PASSWORD, seed

    await seed()
    street = (await Unit.select(Unit.id).where(Unit.name == "荷叶地街道").first())["id"]
    district = (await Unit.select(Unit.id).where(Unit.name == "合肥市蜀山区").first())["id"]
    await login(client, "heyedi", DEMO_PASSWORD)
    r = await client.get("/dashboard")
    assert r.status_code == 303 and r.headers["location"] == f"/dashboard/units/{street}"
    r = await client.get(r.headers["location"])
    assert r.status_code == 200 and "荷叶地街道 · 议事统计" in r.text and "翠竹园小区三方联席会议" in r.text
    r = await client.get(f"/dashboard/units/{district}")
    assert r.status_code == 403 and OUT_OF_REACH in r.text


async def test_reading_a_dashboard_writes_nothing(client) -> None:
    ids = await sample()
    await make_user("boss", "县管理员", is_admin=True)
    await login(client, "boss")
    before = await database_state()
    for url in (f"/dashboard/units/{ids['county']}", f"/public/units/{ids['jia']}",
                f"/dashboard/units/{ids['county']}/export/months?format=xlsx",
                f"/dashboard/councils/{ids['council_a']}"):
        assert (await client.get(url)).status_code == 200, url
    assert await database_state() == before


async def test_the_server_rebuilds_a_missing_or_old_rollup(engine: object) -> None:
    ids = await county()
    assert await rollup.is_stale() and await rollup.built_at() is None
    await topic(ids["council_a"], months_ago(1), "accepted")
    task = asyncio.get_running_loop().create_task(rollup.keep_fresh(check_every=0.05))
    try:
        for _ in range(200):
            if await rollup.built_at() is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    assert not await rollup.is_stale()
    fig = await figures.unit_figures(ids["county"], YEAR, {})
    assert fig.totals.raised == 1
    await StatsBuild.update({StatsBuild.built_at: datetime.now(UTC) - rollup.MAX_AGE - timedelta(minutes=1)},
                            force=True)
    assert await rollup.is_stale()


async def test_public_summary_needs_no_login(client) -> None:
    ids = await sample()
    r = await client.get(f"/public/units/{ids['county']}")
    assert r.status_code == 200
    assert "3 个议事机构召开会议 3 场，居民提出议题 6 件，已办结 4 件" in r.text
    assert "议题0" not in r.text  # no topic titles, nothing personal
    assert (await client.get("/public/units/999999")).status_code == 404
    assert (await client.get(f"/dashboard/units/{ids['county']}")).status_code in (302, 303, 401)


def test_charts_are_svg_with_their_numbers() -> None:
    from core.dashboard import svg

    chart = str(svg.bar_chart("各类别议题数", ["停车", "<script>"], [4, 1]))
    assert chart.startswith("<svg") and 'role="img"' in chart and "<title>各类别议题数</title>" in chart
    assert chart.count("<rect") == 2 and "停车: 4" in chart and "<script>" not in chart
    columns = str(svg.column_chart("每月", ["01", "02"], [("会议", [1, 0]), ("议题", [3, 2])]))
    assert columns.count("<rect") == 2 + 4 and "02 议题: 2" in columns
