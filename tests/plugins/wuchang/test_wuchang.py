"""屋场恳谈会 (plugins/wuchang) over HTTP on SQLite and PostgreSQL, through its entry point: the
recorder's capture screen (a resent issue counts once, bad input saves nothing), the three tracks,
the chair's 交办单, the 回音 sheet, the 民情台账 CSV, the department scores and the demo data.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import httpx

from core.meetings.tables import AgendaItem, Meeting
from core.org.tables import Council
from core.settings import Settings
from core.topics.tables import Department, Rating, Task, Topic
from core.topics.unit_scores import UnitScore, one_decimal, score_units
from tests.conftest import database_state, login
from tests.factories import make_council


def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("yishi_csrf") or ""}


HX = {"hx-request": "true"}


async def seed(state: str = "in_session") -> tuple[Council, int, dict[str, int]]:
    council = await make_council(practice="wuchang")
    meeting = await Meeting.objects().create(
        council=council.id, kind="屋场恳谈会", title="11月马王巷5栋前坪屋场恳谈会", place="马王巷小区5栋前坪",
        starts_at=datetime(2026, 11, 20, 11, 30, tzinfo=UTC), state=state)
    departments = {}
    for name, kind in [("人民街道城管中队", "职能部门"), ("马王巷社区居委会", "社区")]:
        departments[name] = (await Department.insert(Department(council=council.id, name=name, kind=kind))
                             .returning(Department.id))[0]["id"]
    return council, meeting.id, departments


async def seed_meeting_of(council: Council) -> tuple[Council, int, dict[str, int]]:
    meeting = await Meeting.objects().create(
        council=council.id, kind="屋场恳谈会", title="12月马王巷2栋前坪屋场恳谈会", place="马王巷小区2栋前坪",
        starts_at=datetime(2026, 12, 5, 11, 30, tzinfo=UTC), state="in_session")
    return council, meeting.id, {}


async def log_issue(client: httpx.AsyncClient, meeting_id: int, nonce: str, **fields: str) -> httpx.Response:
    data = {"speaker": "周建国（2栋）", "category": "道路交通", "title": "巷子口晚上乱停车，救护车进不来",
            "_nonce": nonce, **fields}
    return await client.post(f"/p/wuchang/meetings/{meeting_id}/issues", data=data, headers={**csrf(client), **HX})


async def test_capture_logs_each_issue_once_and_keeps_bad_input_out(client: httpx.AsyncClient) -> None:
    council, meeting_id, _ = await seed()
    await login(client, "recorder")
    page = await client.get(f"/p/wuchang/meetings/{meeting_id}/capture")
    assert page.status_code == 200 and "民情记录" in page.text and 'name="_nonce"' in page.text

    first = await log_issue(client, meeting_id, "n-1")
    assert first.status_code == 200
    assert "巷子口晚上乱停车，救护车进不来" in first.text and "共记录 1 条" in first.text
    again = await log_issue(client, meeting_id, "n-1")  # the same press, resent on weak Wi-Fi
    assert again.status_code == 200 and "共记录 1 条" in again.text
    topics = await Topic.select().where(Topic.council == council.id)
    assert len(topics) == 1
    assert topics[0]["proposer_name"] == "周建国（2栋）" and topics[0]["category"] == "道路交通"
    assert topics[0]["state"] == "raised"
    item = await AgendaItem.select().where(AgendaItem.id == topics[0]["agenda_item"]).first()
    assert item["meeting"] == meeting_id  # the meeting's open floor (群众提事)

    before = await database_state()
    bad = await log_issue(client, meeting_id, "n-2", speaker="", category="天气")
    assert bad.status_code == 422
    assert "提出人" in bad.text and "类别" in bad.text
    assert "巷子口晚上乱停车" in bad.text  # what was typed is kept
    assert await database_state() == before

    plain = await client.post(f"/p/wuchang/meetings/{meeting_id}/issues", headers=csrf(client), data={
        "speaker": "陈丽华（7栋）", "category": "环境卫生", "title": "7栋后面垃圾桶满了没人清", "_nonce": "n-3"})
    assert plain.status_code == 303 and plain.headers["location"].endswith("/capture")
    assert await Topic.count().where(Topic.council == council.id) == 2


async def test_capture_refused_before_the_meeting_opens(client: httpx.AsyncClient) -> None:
    council, meeting_id, _ = await seed(state="draft")
    await login(client, "recorder")
    page = await client.get(f"/p/wuchang/meetings/{meeting_id}/capture")
    assert "恳谈会还没有开始" in page.text
    r = await log_issue(client, meeting_id, "n-1")
    assert r.status_code == 422 and "恳谈会还没有开始" in r.text
    assert await Topic.count().where(Topic.council == council.id) == 0
    # A 屋场恳谈会 has no agenda, and core opens no meeting without one: the page puts the open floor on it.
    assert 'id="cap-prepare"' in page.text
    prepared = await client.post(f"/p/wuchang/meetings/{meeting_id}/prepare", headers=csrf(client))
    assert prepared.status_code == 303 and prepared.headers["location"] == f"/meetings/{meeting_id}"
    again = await client.post(f"/p/wuchang/meetings/{meeting_id}/prepare", headers=csrf(client))
    assert again.status_code == 303
    items = await AgendaItem.select(AgendaItem.title).where(AgendaItem.meeting == meeting_id)
    assert [i["title"] for i in items] == ["屋场恳谈：群众提事、现场答复"]
    assert 'id="cap-prepare"' not in (await client.get(f"/p/wuchang/meetings/{meeting_id}/capture")).text


async def test_three_tracks_assignment_reply_sheet_and_ledger(client: httpx.AsyncClient) -> None:
    council, meeting_id, departments = await seed()
    await login(client, "recorder")
    for n, (speaker, category, title) in enumerate([
            ("刘桂英（5栋）", "政策咨询", "老旧小区改造居民要不要出钱"),
            ("谭志明（3栋）", "水电气", "3栋楼道声控灯坏了半个月"),
            ("王海波（6栋）", "治安安全", "小区东门门禁坏了")]):
        await log_issue(client, meeting_id, f"t-{n}", speaker=speaker, category=category, title=title)
    ids = [t["id"] for t in await Topic.select(Topic.id).where(Topic.council == council.id).order_by(Topic.id)]
    base = f"/p/wuchang/meetings/{meeting_id}/issues"

    before = await database_state()
    no_answer = await client.post(f"{base}/{ids[0]}/triage", data={"track": "explain", "reply": " "},
                                  headers={**csrf(client), **HX})
    assert no_answer.status_code == 422 and "答复内容" in no_answer.text
    assert await database_state() == before

    for data in ({"track": "vote"}, {"track": ""}):
        r = await client.post(f"{base}/{ids[0]}/triage", data=data, headers={**csrf(client), **HX})
        assert r.status_code == 422 and "请选择分流方式" in r.text
    _, other_meeting, _ = await seed_meeting_of(council)
    before = await database_state()
    r = await client.post(f"/p/wuchang/meetings/{other_meeting}/issues/{ids[0]}/triage",
                          data={"track": "concentrate"}, headers={**csrf(client), **HX})
    assert r.status_code == 422 and "不是本次恳谈会记录的" in r.text
    assert await database_state() == before

    answer = "基础类改造由政府投入，居民不需出钱。"
    r = await client.post(f"{base}/{ids[0]}/triage", data={"track": "explain", "reply": answer},
                          headers={**csrf(client), **HX})
    assert r.status_code == 200 and answer in r.text
    resent = await client.post(f"{base}/{ids[0]}/triage", data={"track": "explain", "reply": answer},
                               headers={**csrf(client), **HX})
    assert resent.status_code == 200
    other = await client.post(f"{base}/{ids[0]}/triage", data={"track": "onsite", "reply": "换了"},
                              headers={**csrf(client), **HX})
    assert other.status_code == 422 and "已分流" in other.text
    await client.post(f"{base}/{ids[1]}/triage", data={"track": "onsite", "reply": "当场更换了3盏声控灯。"},
                      headers={**csrf(client), **HX})
    await client.post(f"{base}/{ids[2]}/triage", data={"track": "concentrate"}, headers={**csrf(client), **HX})
    states = {t["id"]: t["state"] for t in await Topic.select(Topic.id, Topic.state).where(Topic.council == council.id)}
    assert states == {ids[0]: "answered", ids[1]: "solved", ids[2]: "decided"}

    deadline = (date.today() + timedelta(days=10)).isoformat()
    jiaoban = {"unit": str(departments["马王巷社区居委会"]), "deadline": deadline, "requirements": "维修东门门禁。"}
    refused = await client.post(f"{base}/{ids[2]}/assign", data=jiaoban, headers={**csrf(client), **HX})
    assert refused.status_code == 403  # the recorder triages; the chair assigns

    await client.post("/logout", headers=csrf(client))
    await login(client, "chair")
    bad = await client.post(f"{base}/{ids[2]}/assign", data={**jiaoban, "deadline": "2020-01-01"},
                            headers={**csrf(client), **HX})
    assert bad.status_code == 422 and await Task.count() == 0
    ok = await client.post(f"{base}/{ids[2]}/assign", data=jiaoban, headers={**csrf(client), **HX})
    assert ok.status_code == 200 and "马王巷社区居委会" in ok.text
    again = await client.post(f"{base}/{ids[2]}/assign", data=jiaoban, headers={**csrf(client), **HX})
    assert again.status_code == 200
    tasks = await Task.select().where(Task.topic == ids[2])
    assert tasks[0]["deadline"].isoformat() == deadline
    assert len(tasks) == 1 and tasks[0]["department"] == departments["马王巷社区居委会"]
    assert (await Topic.select(Topic.state).where(Topic.id == ids[2]).first())["state"] == "assigned"

    sheet = await client.get(f"/meetings/{meeting_id}/documents/wuchang_huiyin.html")
    assert sheet.status_code == 200
    assert answer in sheet.text and "尚有 1 条未回音" in sheet.text and "办理中" in sheet.text

    slip = await client.get(f"/p/wuchang/meetings/{meeting_id}/jiaoban/{departments['马王巷社区居委会']}")
    assert "小区东门门禁坏了" in slip.text and "维修东门门禁。" in slip.text and deadline in slip.text
    other_slip = await client.get(f"/p/wuchang/meetings/{meeting_id}/jiaoban/{departments['人民街道城管中队']}")
    assert "小区东门门禁坏了" not in other_slip.text
    pdf = await client.get(f"/p/wuchang/meetings/{meeting_id}/jiaoban/{departments['马王巷社区居委会']}/pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    ledger = await client.get(f"/p/wuchang/councils/{council.id}/ledger.csv")
    assert ledger.status_code == 200 and ledger.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(ledger.content.decode("utf-8-sig"))))
    assert rows[0][:7] == ["恳谈会", "日期", "序号", "提出人", "类别", "反映的问题", "分流"]
    by_title = {r[5]: r for r in rows[1:]}
    assert by_title["老旧小区改造居民要不要出钱"][6] == "解疑释惑"
    assert by_title["老旧小区改造居民要不要出钱"][10] == answer
    assert by_title["3栋楼道声控灯坏了半个月"][6] == "现场办公"
    assert by_title["小区东门门禁坏了"][7] == "马王巷社区居委会" and by_title["小区东门门禁坏了"][11] == "办理中"


async def test_rating_a_finished_issue_scores_its_department(client: httpx.AsyncClient) -> None:
    council, meeting_id, departments = await seed()
    await login(client, "chair")
    await log_issue(client, meeting_id, "r-1")
    topic_id = (await Topic.select(Topic.id).where(Topic.council == council.id).first())["id"]
    base = f"/p/wuchang/meetings/{meeting_id}/issues/{topic_id}"
    await client.post(f"{base}/triage", data={"track": "concentrate"}, headers={**csrf(client), **HX})
    await client.post(f"{base}/assign", headers={**csrf(client), **HX}, data={
        "unit": str(departments["人民街道城管中队"]), "deadline": (date.today() + timedelta(days=7)).isoformat(),
        "requirements": "施划禁停线。"})
    early = await client.post(f"{base}/rating", data={"rating": "满意"}, headers={**csrf(client), **HX})
    assert early.status_code == 422 and "办结后才能测评" in early.text
    # The department finishes (core's task flow), then the return visit is recorded.
    task = (await Task.select().where(Task.topic == topic_id).first())
    await Task.update({Task.state: "done", Task.done_at: datetime.now(UTC)}).where(Task.id == task["id"])
    await Topic.update({Topic.state: "done"}).where(Topic.id == topic_id)
    r = await client.post(f"{base}/rating", data={"rating": "基本满意"}, headers={**csrf(client), **HX})
    assert r.status_code == 200
    assert (await Rating.select(Rating.level).where(Rating.topic == topic_id).first())["level"] == "basic"
    assert (await Topic.select(Topic.state).where(Topic.id == topic_id).first())["state"] == "rated"
    scores = await client.get(f"/p/wuchang/councils/{council.id}/scores")
    row = scores.text.split(f'id="score-{departments["人民街道城管中队"]}"')[1].split("</tr>")[0]
    assert "60.0" in row and "84.0" in row  # 60 × 40% + 100 × 30% + 100 × 30%


async def test_pages_of_another_practice_are_not_found(client: httpx.AsyncClient) -> None:
    council = await make_council(practice="sanfang")
    meeting = await Meeting.objects().create(council=council.id, kind="联席会议", title="三方联席会议",
                                             starts_at=datetime(2026, 11, 20, 11, 0, tzinfo=UTC), state="in_session")
    await login(client, "chair")
    assert (await client.get(f"/p/wuchang/meetings/{meeting.id}/capture")).status_code == 404
    assert (await client.get(f"/p/wuchang/councils/{council.id}/ledger")).status_code == 404
    assert (await client.get(f"/meetings/{meeting.id}/documents/wuchang_huiyin.html")).status_code == 404


async def test_demo_data_tells_a_true_story(client: httpx.AsyncClient, settings: Settings) -> None:
    from yishi_wuchang.plugin import yishi_demo_data as demo

    await demo(settings)
    council = await Council.select().where(Council.practice == "wuchang").first()
    assert council["name"] == "马王巷小区屋场恳谈会"
    await login(client, "xiaoyq", "yishi-demo")
    meeting = await Meeting.select().where((Meeting.council == council["id"]) & (Meeting.state == "closed")).first()
    sheet = await client.get(f"/meetings/{meeting['id']}/documents/wuchang_huiyin.html")
    assert "共记录民情 8 条：解疑释惑 2 条，现场办公 2 条，集中交办 4 条。" in sheet.text
    assert "尚有 2 条未回音" in sheet.text and "已超期未办结" in sheet.text
    scores = await client.get(f"/p/wuchang/councils/{council['id']}/scores")
    names = [n for n in ("人民街道城管中队", "马王巷社区居委会", "石鼓区住房和城乡建设局") if n in scores.text]
    assert names == ["人民街道城管中队", "马王巷社区居委会", "石鼓区住房和城乡建设局"]  # ranked
    assert "100.0" in scores.text and "54.0" in scores.text and "待测评" in scores.text
    pdf = await client.get(f"/meetings/{meeting['id']}/documents/wuchang_huiyin.pdf")
    assert pdf.content.startswith(b"%PDF")
    slips = await client.get(f"/meetings/{meeting['id']}/documents/wuchang_jiaoban.html")
    assert slips.text.count('class="sheet"') == 3  # a page for each department with work from this meeting
    assert "巷子里下水道井盖松动" in slips.text and "已超期" in slips.text
    word = await client.get(f"/meetings/{meeting['id']}/documents/wuchang_jiaoban.docx")
    assert word.status_code == 200 and word.content.startswith(b"PK")


# -------------------------------------------------------------------------------------------------
# The scoring rule alone
# -------------------------------------------------------------------------------------------------


def test_scores_weigh_satisfaction_completion_and_deadlines() -> None:
    on = date(2026, 12, 1)
    tasks = [
        {"department": 1, "department_name": "城管", "topic": 10, "state": "done", "deadline": date(2026, 11, 20),
         "done_on": date(2026, 11, 18)},
        {"department": 1, "department_name": "城管", "topic": 11, "state": "done", "deadline": date(2026, 11, 20),
         "done_on": date(2026, 11, 25)},
        {"department": 2, "department_name": "社区", "topic": 12, "state": "in_progress",
         "deadline": date(2026, 11, 25), "done_on": None},
        {"department": 2, "department_name": "社区", "topic": 13, "state": "cancelled",
         "deadline": date(2026, 11, 25), "done_on": None},
    ]
    scores = score_units(tasks, {10: "satisfied", 11: "unsatisfied", 12: "satisfied"}, on)
    first, second = scores
    assert (first.name, first.assigned, first.done, first.on_time, first.rated) == ("城管", 2, 2, 1, 2)
    assert first.satisfaction == 50 and first.total == Fraction(2, 5) * 50 + 30 + 15
    assert one_decimal(first.total) == "65.0"
    assert (second.name, second.assigned, second.overdue, second.rated, second.total) == ("社区", 1, 1, 0, None)
    assert one_decimal(None) == "—" and one_decimal(Fraction(2, 3)) == "0.7"
    assert UnitScore(3, "空").done_rate == 0
