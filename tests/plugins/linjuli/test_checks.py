"""The rental-safety checklist (出租屋安全检查): one building's results from the TOML form, a follow-up
(整改) per failed item until it is recorded as put right, and bad input that saves nothing."""

from __future__ import annotations

import json

import pytest
from yishi_linjuli import checks
from yishi_linjuli.tables import CheckFix, SafetyCheck

from core.audit.tables import AuditEvent
from tests.conftest import database_state, login
from tests.plugins.linjuli.conftest import make_linjuli_council

pytestmark = pytest.mark.db

ITEMS = ("stairwell", "extinguisher", "gas", "ebike", "wiring", "exit", "smoke", "escape")


def checklist(**answers: str) -> dict[str, str]:
    data = {name: "pass" for name in ITEMS}
    data.update({"building": "新村3栋", "checked_on": "2026-11-24", "inspector": "网格员 陈丽华、房东 李桂芬",
                 "notes": "已给每户发放消防安全告知书", "_nonce": "check-1"})
    data.update(answers)
    return data


def test_the_checklist_items_come_from_the_toml_form(lj_plugins) -> None:
    spec = lj_plugins.specs.form("linjuli_anquan")
    labels = dict(checks.items(spec))
    assert tuple(labels) == ITEMS
    assert labels["stairwell"] == "楼道杂物" and labels["extinguisher"] == "灭火器"
    assert labels["gas"] == "煤气罐/液化气瓶" and labels["ebike"] == "电动车充电"


async def test_a_check_with_failed_items_opens_a_follow_up_for_each(lj_client, lj_engine: object) -> None:
    made = await make_linjuli_council()
    base = f"/p/linjuli/councils/{made['council']}"
    await login(lj_client, "grid")
    form = (await lj_client.get(f"{base}/checks?building=新村3栋")).text
    assert "出租屋安全检查表" in form and '<option value="新村3栋" selected>' in form and "新村8栋" in form

    data = checklist(stairwell="fail", stairwell_problem="3楼楼梯间堆放纸箱和旧床垫",
                     ebike="fail", ebike_problem="一楼楼道有 3 辆电动车充电", escape="na")
    r = await lj_client.post(f"{base}/checks", data=data)
    assert r.status_code == 303
    assert (await lj_client.post(f"{base}/checks", data=data)).status_code == 303  # a retry writes nothing more
    check = await SafetyCheck.select().first()
    assert await SafetyCheck.count() == 1
    assert (check["building"], check["passed"], check["failed"]) == ("新村3栋", 5, 2)
    assert json.loads(check["data"])["form"] == "linjuli_anquan"
    assert r.headers["location"] == f"{base}/checks/{check['id']}"

    page = (await lj_client.get(r.headers["location"])).text
    assert "3楼楼梯间堆放纸箱和旧床垫" in page and "不适用" in page and page.count("待整改") >= 2
    fixes = await CheckFix.select().order_by(CheckFix.id)
    assert [(f["label"], f["state"]) for f in fixes] == [("楼道杂物", "open"), ("电动车充电", "open")]

    done = await lj_client.post(f"{base}/fixes/{fixes[0]['id']}",
                                data={"fixed_on": "2026-11-26", "fixed_note": "房东已清理，复查合格",
                                      "back": f"{base}/checks/{check['id']}"})
    assert done.status_code == 303 and done.headers["location"] == f"{base}/checks/{check['id']}"
    audit = await AuditEvent.count()
    again = await lj_client.post(f"{base}/fixes/{fixes[0]['id']}",
                                 data={"fixed_on": "2026-11-27", "fixed_note": "重复"})
    assert again.status_code == 303 and await AuditEvent.count() == audit  # already fixed: nothing changes
    row = await CheckFix.select().where(CheckFix.id == fixes[0]["id"]).first()
    assert (row["state"], str(row["fixed_on"]), row["fixed_note"]) == ("fixed", "2026-11-26", "房东已清理，复查合格")
    overview = (await lj_client.get(base)).text
    assert "一楼楼道有 3 辆电动车充电" in overview and "3楼楼梯间堆放纸箱和旧床垫" not in overview


async def test_bad_checklists_are_refused_with_the_reason_and_save_nothing(lj_client, lj_engine: object) -> None:
    made = await make_linjuli_council()
    base = f"/p/linjuli/councils/{made['council']}"
    await login(lj_client, "chair")
    before = await database_state()
    cases = [
        (checklist(building=""), "请从名册的楼栋中选择被检查的出租屋。"),
        (checklist(building="新村99栋"), "请从名册的楼栋中选择被检查的出租屋。"),
        (checklist(gas="fail"), "煤气罐/液化气瓶：存在问题"),  # 不合格 without saying what is wrong
        (checklist(extinguisher=""), "灭火器"),
        (checklist(checked_on="2099-01-01"), "检查日期"),
        (checklist(smoke="maybe"), "烟感报警器"),
    ]
    for data, message in cases:
        r = await lj_client.post(f"{base}/checks", data=data)
        assert r.status_code == 422, data
        assert "检查表没有保存" in r.text and message in r.text, (data, message)
        assert "网格员 陈丽华、房东 李桂芬" in r.text  # what was typed is kept
    assert await database_state() == before


async def test_a_fix_date_in_the_future_or_a_foreign_fix_is_refused(lj_client, lj_engine: object) -> None:
    made = await make_linjuli_council()
    other = await make_linjuli_council("b")
    await login(lj_client, "grid")
    base = f"/p/linjuli/councils/{made['council']}"
    await lj_client.post(f"{base}/checks", data=checklist(gas="fail", gas_problem="302 房用液化气瓶做饭"))
    fix = await CheckFix.select().first()
    before = await database_state()
    r = await lj_client.post(f"{base}/fixes/{fix['id']}", data={"fixed_on": "2099-01-01", "fixed_note": ""})
    assert r.status_code == 422 and "整改日期不能晚于今天" in r.text
    r = await lj_client.post(f"{base}/fixes/{fix['id']}", data={"fixed_on": "昨天"})
    assert r.status_code == 422 and "请填写整改日期" in r.text
    assert await database_state() == before
    # The fix belongs to council A: through council B's URL it does not exist (grid b has the seat there).
    await login(lj_client, "gridb")
    before = await database_state()
    r = await lj_client.post(f"/p/linjuli/councils/{other['council']}/fixes/{fix['id']}",
                             data={"fixed_on": "2026-11-26"})
    assert r.status_code == 404
    assert await database_state() == before


async def test_only_recorders_record_and_other_practices_have_no_checks(lj_client, lj_engine: object) -> None:
    from tests.factories import make_council

    made = await make_linjuli_council()
    sanfang = await make_council(suffix="s")
    await login(lj_client, "tenant")
    base = f"/p/linjuli/councils/{made['council']}"
    assert (await lj_client.get(f"{base}/checks")).status_code == 200
    assert (await lj_client.post(f"{base}/checks", data=checklist())).status_code == 403
    await login(lj_client, "chairs")
    assert (await lj_client.get(f"/p/linjuli/councils/{sanfang.id}/checks")).status_code == 404
    assert await SafetyCheck.count() == 0


async def test_a_hazard_becomes_a_topic_and_closes_when_the_topic_is_done(lj_client, lj_engine: object) -> None:
    from core.topics.tables import Topic

    made = await make_linjuli_council()
    base = f"/p/linjuli/councils/{made['council']}"
    await login(lj_client, "grid")
    await lj_client.post(f"{base}/checks", data=checklist(gas="fail", gas_problem="203 房租户用液化气瓶做饭"))
    fix = await CheckFix.select().first()
    for _ in range(2):  # a second press makes no second topic
        r = await lj_client.post(f"{base}/fixes/{fix['id']}/topic", data={"back": f"{base}/checks"})
        assert r.status_code == 303 and r.headers["location"] == f"{base}/checks"
    topics = await Topic.select().where(Topic.council == made["council"])
    assert len(topics) == 1
    topic = topics[0]
    assert topic["title"] == "新村3栋出租屋安全隐患：煤气罐/液化气瓶"
    assert (topic["state"], topic["category"]) == ("raised", "治安消防")
    assert topic["description"] == "203 房租户用液化气瓶做饭"
    assert (await CheckFix.select(CheckFix.topic).first())["topic"] == topic["id"]
    assert "已转为议题" in (await lj_client.get(f"{base}/checks")).text

    # The chair settles the topic on core's topic page; the hazard's follow-up closes with it.
    await login(lj_client, "chair")
    assert "新村3栋出租屋安全隐患" in (await lj_client.get(f"/councils/{made['council']}/topics")).text
    r = await lj_client.post(f"/councils/{made['council']}/topics/{topic['id']}/override",
                             data={"target": "done", "state": "raised", "reason": "派出所已上门收缴气瓶"})
    assert r.status_code in (200, 303)
    row = await CheckFix.select().where(CheckFix.id == fix["id"]).first()
    assert (row["state"], row["fixed_note"]) == ("fixed", "议题已办结")
    r = await lj_client.post(f"{base}/fixes/{fix['id']}/topic", data={})
    assert r.status_code == 303  # it already has its topic: the same answer, nothing new


async def test_a_fixed_hazard_is_not_turned_into_a_topic(lj_client, lj_engine: object) -> None:
    made = await make_linjuli_council()
    base = f"/p/linjuli/councils/{made['council']}"
    await login(lj_client, "grid")
    await lj_client.post(f"{base}/checks", data=checklist(exit="fail", exit_problem="天台门上锁"))
    fix = await CheckFix.select().first()
    await lj_client.post(f"{base}/fixes/{fix['id']}", data={"fixed_on": "2026-11-25", "fixed_note": "已开锁"})
    before = await database_state()
    r = await lj_client.post(f"{base}/fixes/{fix['id']}/topic", data={})
    assert r.status_code == 409 and "这个隐患已经整改，不需要再转为议题。" in r.text
    assert await database_state() == before
