"""The 街巷议事会 practice as the loader sees it, its topic loop with the 巷导走访 step, and its demo
data (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from core.lowcode.catalogue import practice_problems
from core.org.tables import Council
from core.plugins import load_plugins
from core.records.tables import Record, RecordSignature
from core.topics.tables import Topic, TopicEvent
from tests.conftest import http_client, login
from tests.factories import make_council
from tests.plugins.jiexiang.conftest import REGISTRY, make_jiexiang_council


def test_the_practice_its_roles_and_its_specs(tmp_path: Path) -> None:
    registry = tmp_path / "plugin_registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    jx_plugins = load_plugins(registry)
    practice = jx_plugins.practices["jiexiang"]
    assert practice.name == "街巷议事会" and practice.plugin == "jiexiang"
    assert practice.meeting_kinds == ("议事会", "巷导下午茶")
    assert practice.role_label("lane_guide") == "巷导" and practice.role_label("merchant_rep") == "商户代表"
    for form in ("jiexiang_tiaojie", "jiexiang_xieyi"):
        assert jx_plugins.specs.owner("form", form) == "jiexiang"
    dispute = jx_plugins.specs.form("jiexiang_tiaojie")
    assert {"lane", "facts", "a_name", "a_request", "b_name", "b_request", "b_shop"} <= {f.name for f in dispute.fields}
    mediation = jx_plugins.specs.workflow("jiexiang_mediation")
    assert mediation.state_label("effective") == "已生效" and "effective" in mediation.terminal_states
    redraft = mediation.transition("redraft")
    assert redraft.sources == ("signing",) and redraft.target == "signing" and redraft.form == "jiexiang_xieyi"
    kind = jx_plugins.specs.records["jiexiang_tiaojie"]
    assert kind.practices == ("jiexiang",) and kind.meeting and kind.signing.lock
    assert [(p.id, p.label, p.name_field) for p in kind.parties] == [("a", "甲方", "a_name"), ("b", "乙方", "b_name")]
    assert [d.id for d in kind.documents] == ["agreement"]
    topic = jx_plugins.specs.workflow("jiexiang_topic")
    assert topic.state_label("visited") == "巷导已走访"
    assert practice_problems(jx_plugins.specs, practice) == []  # keeps every core topic state and step


async def test_a_lane_guide_visits_a_raised_topic_before_the_council_accepts_it(jx_app) -> None:
    council = await make_jiexiang_council()
    topic = await Topic.objects().create(council=council.id, title="宿州路东侧无名小巷命名征询",
                                         category="其他",
                                         description="快递外卖常找不到门牌，居民提议命名为“金斗河巷”。")
    act = f"/councils/{council.id}/topics/{topic.id}/act"
    async with http_client(jx_app) as guide, http_client(jx_app) as chair:
        await login(guide, "jx_guide")
        page = await guide.get(f"/councils/{council.id}/topics")
        assert "巷导走访" in page.text
        no_note = await guide.post(act, data={"transition": "visit", "state": "raised", "reason": ""})
        assert no_note.status_code == 422 and "需要填写理由" in no_note.text
        visited = await guide.post(act, data={"transition": "visit", "state": "raised",
                                              "reason": "现场查看：小巷长约 120 米，沿线 23 户，无路牌。"})
        assert visited.status_code == 303
        not_his = await guide.post(act, data={"transition": "accept", "state": "visited"})
        assert not_his.status_code == 422 and "您没有“受理”的权限" in not_his.text
        await login(chair, "jx_chair")
        assert (await chair.post(act, data={"transition": "accept", "state": "visited"})).status_code == 303
    steps = await TopicEvent.select(TopicEvent.transition, TopicEvent.to_state).where(
        TopicEvent.topic == topic.id).order_by(TopicEvent.id)
    assert [(s["transition"], s["to_state"]) for s in steps] == [("visit", "visited"), ("accept", "accepted")]


async def test_demo_data_is_a_working_lane_council(jx_app, jx_settings, jx_plugins) -> None:
    from core.meetings.tables import AgendaItem, Meeting

    for _pid, loading in jx_plugins.call_each("yishi_demo_data", only=["jiexiang"], settings=jx_settings):
        await loading
    council = await Council.select().where(Council.practice == "jiexiang").first()
    assert council["name"] == "四牌楼商圈街巷议事会"
    states = {m["title"]: m["state"] for m in await Record.select(Record.title, Record.state)}
    assert states == {"益民街烧烤店油烟扰民": "effective", "步行街服装店纸箱堆放堵塞楼道口": "signing",
                      "宿州路歌厅夜间噪音": "mediating"}
    effective = await Record.select(Record.id, Record.meeting).where(Record.state == "effective").first()
    signatures = await RecordSignature.select(RecordSignature.how).where(
        RecordSignature.record == effective["id"]).order_by(RecordSignature.party)
    assert [s["how"] for s in signatures] == ["link", "paper"]
    tea = await Meeting.select().where(Meeting.id == effective["meeting"]).first()
    assert tea["kind"] == "巷导下午茶" and tea["state"] == "published"
    assert await AgendaItem.count().where(AgendaItem.meeting == tea["id"]) == 3
    upcoming = await Meeting.select().where((Meeting.council == council["id"]) & (Meeting.id != tea["id"])).first()
    assert upcoming["kind"] == "议事会" and upcoming["state"] == "draft"
    next_items = await AgendaItem.select(AgendaItem.title, AgendaItem.duration_minutes).where(
        AgendaItem.meeting == upcoming["id"]).order_by(AgendaItem.position)
    assert [(i["title"][:4], i["duration_minutes"]) for i in next_items] == [("无名背街", 30), ("宿州路早", 25),
                                                                             ("商圈夜间", 30)]
    async with http_client(jx_app) as tablet:
        r = await tablet.post("/login", data={"username": "zhangjp", "password": "yishi-demo", "next": "/"})
        assert r.status_code == 303
        page = await tablet.get(f"/councils/{council['id']}/records/jiexiang_tiaojie")
        assert page.status_code == 200 and "步行街服装店纸箱堆放堵塞楼道口" in page.text and "待签字" in page.text
        doc = await tablet.get(f"/records/{effective['id']}/documents/agreement/html")
        assert "双方已签字，本协议已生效" in doc.text and "2027-01-15" in doc.text
        minutes = await tablet.get(f"/meetings/{tea['id']}/documents/jiexiang_jiyao.html")
        assert minutes.status_code == 200 and "益民街烧烤店油烟扰民" in minutes.text
        assert "排烟口改至楼顶" in minutes.text
        # What the 巷导下午茶 noted on each item, and who came: 王磊 sent his apologies.
        assert "物业同意在楼道口划出禁止堆放标线。" in minutes.text and "报区民政部门审批" in minutes.text
        assert "王磊" in minutes.text and "请假" in minutes.text
        held = await tablet.get(f"/meetings/{tea['id']}")
        assert "纪要已公示" in held.text and '<strong id="attendance-present">8</strong>' in held.text


async def test_the_chair_schedules_a_lane_tea_and_staff_of_the_street_see_the_council(jx_app) -> None:
    from core.org.tables import Unit
    from tests.factories import make_user

    council = await make_jiexiang_council()
    street = await Unit.select(Unit.id).where(Unit.name == "逍遥津街道").first()
    await make_user("xiaoyaojin", "逍遥津街道办", unit=street["id"])
    other_street = await Unit.objects().create(name="杏花村街道", kind="街道")
    await make_user("xinghuacun", "杏花村街道办", unit=other_street.id)
    async with http_client(jx_app) as chair, http_client(jx_app) as staff, http_client(jx_app) as far:
        await login(chair, "jx_chair")
        page = await chair.get(f"/councils/{council.id}/meetings/new")
        assert page.status_code == 200 and "巷导下午茶" in page.text and "议事会" in page.text
        await login(staff, "xiaoyaojin")
        assert "四牌楼商圈街巷议事会" in (await staff.get("/p/jiexiang/")).text
        assert (await staff.get(f"/councils/{council.id}/records/jiexiang_tiaojie")).status_code == 200
        await login(far, "xinghuacun")
        assert "四牌楼商圈街巷议事会" not in (await far.get("/p/jiexiang/")).text
        assert (await far.get(f"/councils/{council.id}/records/jiexiang_tiaojie")).status_code == 403


async def test_the_menu_lists_jiexiang_only_for_its_members(jx_app) -> None:
    """The 街巷议事会 link is in the header of its own councils' members, not in a 三方 chair's nor a
    resident's (the page behind it would only say "您还不是任何街巷议事会的成员")."""
    await make_jiexiang_council()
    await make_council("sanfang")
    link = 'href="/p/jiexiang/"'
    async with http_client(jx_app) as guide, http_client(jx_app) as chair, http_client(jx_app) as anyone:
        await login(guide, "jx_guide")
        await login(chair, "chair")
        assert link in (await guide.get("/")).text
        assert link not in (await chair.get("/")).text
        assert link not in (await anyone.get("/login")).text
