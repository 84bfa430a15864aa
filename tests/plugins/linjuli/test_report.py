"""The monthly report (月报): the month's counts of meetings, issues raised and solved, tasks given
to the police and grid workers, checklist results and volunteer points — as a page, a PDF, and a
meeting document (HTML, PDF, Word) through core's documents."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from yishi_linjuli import report

from core.meetings.tables import Meeting
from core.records import months
from core.topics.tables import Department, Task, Topic, TopicEvent
from tests.conftest import login
from tests.plugins.linjuli.conftest import make_linjuli_council


def test_months_are_read_strictly_and_roll_over_the_year() -> None:
    now = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # already 1 December in China
    assert months.parse_month("", now) == (months.Month(2026, 12), "")
    assert months.parse_month("2026-10", now) == (months.Month(2026, 10), "")
    for bad in ("2026-13", "26-10", "2026/10", "二〇二六年十月", "1999-01", "2026-1"):
        month, problem = months.parse_month(bad, now)
        assert month == months.Month(2026, 12) and "2026-11" in problem, bad
    assert months.Month(2026, 12).next == months.Month(2027, 1)
    assert months.Month(2027, 1).previous == months.Month(2026, 12)
    start, end = months.Month(2026, 10).utc_range()
    assert start == datetime(2026, 9, 30, 16, 0, tzinfo=UTC) and end == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)


def at(day: int, month: int = 10, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


async def seed_october(made: dict, plugins) -> int:
    """A held October meeting, one in November; three October topics (two solved, one via the police);
    two checks with one failure; points earned and redeemed. Returns the October meeting's id."""
    council = made["council"]
    held = await Meeting.objects().create(council=council, kind="月月谈", title="10月邻聚力·月月谈",
                                          starts_at=at(30, hour=11), state="published")
    await Meeting.objects().create(council=council, kind="月月谈", title="11月邻聚力·月月谈",
                                   starts_at=at(27, 11, 11), state="draft")
    police = await Department.objects().create(council=council, name="沥林派出所", kind="派出所")
    for title, state, solved in [("新村8栋电动车飞线充电", "done", at(20)), ("反诈宣传进出租屋", "answered", at(21)),
                                 ("片区路灯不亮", "assigned", None)]:
        topic = await Topic.objects().create(council=council, title=title, category="治安消防", state=state,
                                             created_at=at(3), updated_at=at(3))
        await TopicEvent.objects().create(topic=topic.id, to_state="raised", at=at(3))
        if solved:
            await TopicEvent.objects().create(topic=topic.id, from_state="assigned", to_state=state, at=solved)
        if state != "answered":
            await Task.objects().create(topic=topic.id, department=police.id, deadline=date(2026, 10, 31),
                                        state="done" if state == "done" else "in_progress", created_at=at(5))
    old = await Topic.objects().create(council=council, title="九月的旧问题", state="done", created_at=at(3, 9))
    await TopicEvent.objects().create(topic=old.id, to_state="done", at=at(28, 9))  # solved in September

    from core.lowcode.forms import validate
    from core.records import links, service

    specs = plugins.specs

    async def create(kind_id: str, answers: dict) -> None:
        kind = specs.records[kind_id]
        result = validate(specs.form(kind.form), {k: [v] for k, v in answers.items()}, None,
                          await links.choices(kind, council), now=datetime(2026, 11, 30))
        assert result.ok, result.errors
        await service.create(kind, council, result, actor="user:1", spec=kind.workflow_of(specs), nonce=None,
                             specs=specs)

    kind = specs.records["linjuli_anquan"]
    base = {name: "pass" for name, _label in kind.checklist.items(specs.form(kind.form))}
    for building, day, extra in [("新村3栋", "2026-10-12", {"gas": "fail", "gas_problem": "302 房用液化气瓶"}),
                                 ("新村8栋", "2026-10-14", {"escape": "na"}),
                                 ("新村8栋", "2026-11-02", {"ebike": "fail", "ebike_problem": "飞线充电"})]:
        await create("linjuli_anquan", {**base, **extra, "building": building, "checked_on": day,
                                        "inspector": "陈丽华"})
    for name, pts, day in [("刘小勇", 10, 8), ("李桂芬", 15, 9), ("刘小勇", -4, 25)]:
        await create("linjuli_jifen", {"person": str(made["roster"][name]),
                                       "direction": "earn" if pts > 0 else "redeem",
                                       "points": str(abs(pts)), "reason": "巡防", "happened_on": f"2026-10-{day:02d}"})
    return held.id


@pytest.mark.db
async def test_the_figures_count_only_the_month_asked_for(lj_engine: object, lj_plugins) -> None:
    made = await make_linjuli_council()
    await seed_october(made, lj_plugins)
    r = await report.figures(made["council"], months.Month(2026, 10), lj_plugins.specs)
    assert (r["meetings_held"], len(r["meetings"])) == (1, 1)
    assert (len(r["raised"]), len(r["solved"])) == (3, 2)
    assert r["tasks_assigned"] == 2
    assert r["tasks_by_unit"] == [("沥林派出所", {"kind": "派出所", "assigned": 2, "done": 1})]
    checks = r["checks"]
    assert (checks["count"], checks["titles"], checks["passed"], checks["failed"]) == (2, 2, 14, 1)
    assert checks["follow_ups_by_title"] == [("煤气罐/液化气瓶", 1)] and r["open_fixes"] == 2
    assert (r["points"]["earned"], r["points"]["spent"], r["points"]["people"]) == (25, 4, 2)
    november = await report.figures(made["council"], months.Month(2026, 11), lj_plugins.specs)
    assert (november["meetings_held"], len(november["raised"]), november["checks"]["count"]) == (0, 0, 1)


@pytest.mark.db
async def test_the_report_page_pdf_and_meeting_document(lj_client, lj_engine: object, lj_plugins) -> None:
    made = await make_linjuli_council()
    meeting_id = await seed_october(made, lj_plugins)
    base = f"/p/linjuli/councils/{made['council']}/report"
    await login(lj_client, "tenant")  # every member may read the report
    page = await lj_client.get(f"{base}?month=2026-10")
    assert page.status_code == 200
    assert "2026年10月" in page.text and "本月收集群众反映问题 3 件，解决 2 件。" in page.text
    assert "本月检查出租屋 2 栋 2 次，合格 14 项，不合格 1 项" in page.text
    assert "本月 2 名房东、租户参加志愿服务，发放积分 25 分，兑换积分 4 分。" in page.text
    bad = await lj_client.get(f"{base}?month=2026-99")
    assert bad.status_code == 422 and "月份应写成 2026-11 这样的格式" in bad.text

    pdf = await lj_client.get(f"{base}.pdf?month=2026-10")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "2026-10.pdf" in pdf.headers["content-disposition"]

    await login(lj_client, "chair")
    doc = await lj_client.get(f"/meetings/{meeting_id}/documents/linjuli_yuebao.html")
    assert doc.status_code == 200 and "邻聚力·月月谈工作月报" in doc.text and "2026年10月" in doc.text
    assert "下载 PDF" not in doc.text  # the document is the report alone, without the page's toolbar
    docx = await lj_client.get(f"/meetings/{meeting_id}/documents/linjuli_yuebao.docx")
    assert docx.status_code == 200 and docx.content.startswith(b"PK")
