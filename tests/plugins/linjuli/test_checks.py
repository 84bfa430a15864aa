"""The rental-safety checklist (出租屋安全检查), kept by core's record engine: one building's results
from the TOML form, a follow-up (整改) per failed item until it is recorded as put right or its topic is
settled, and bad input that saves nothing."""

from __future__ import annotations

import re

import httpx
import pytest

from core.audit.tables import AuditEvent
from core.records.tables import Record
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


def checks_url(council: int) -> str:
    return f"/councils/{council}/records/linjuli_anquan"


async def fixes() -> list[dict]:
    return await Record.select().where(Record.kind == "linjuli_zhenggai").order_by(Record.id)


async def mark_fixed(c: httpx.AsyncClient, fix_id: int, **data: str) -> httpx.Response:
    row = await Record.select().where(Record.id == fix_id).first()
    return await c.post(f"/records/{fix_id}/act/fix",
                        data={"state": "open", "revision": str(row["revision"]), **data})


def test_the_checklist_items_come_from_the_toml_form(lj_plugins) -> None:
    kind = lj_plugins.specs.records["linjuli_anquan"]
    labels = dict(kind.checklist.items(lj_plugins.specs.form(kind.form)))
    assert tuple(labels) == ITEMS
    assert labels["stairwell"] == "楼道杂物" and labels["extinguisher"] == "灭火器"
    assert labels["gas"] == "煤气罐/液化气瓶" and labels["ebike"] == "电动车充电"


async def test_a_check_with_failed_items_opens_a_follow_up_for_each(lj_client, lj_engine: object) -> None:
    made = await make_linjuli_council()
    await login(lj_client, "grid")
    form = (await lj_client.get(f"{checks_url(made['council'])}/new?building=新村3栋")).text
    assert "出租屋安全检查表" in form and '<option value="新村3栋" selected>' in form and "新村8栋" in form
    assert re.search(r'name="checked_on"[^>]*value="\d{4}-\d{2}-\d{2}"', form)  # today, to start with

    data = checklist(stairwell="fail", stairwell_problem="3楼楼梯间堆放纸箱和旧床垫",
                     ebike="fail", ebike_problem="一楼楼道有 3 辆电动车充电", escape="na")
    r = await lj_client.post(f"{checks_url(made['council'])}/new", data=data)
    assert r.status_code == 303
    assert (await lj_client.post(f"{checks_url(made['council'])}/new", data=data)).status_code == 303  # a retry
    checks = await Record.select().where(Record.kind == "linjuli_anquan")
    assert len(checks) == 1 and checks[0]["title"] == "新村3栋" and str(checks[0]["day"]) == "2026-11-24"
    assert r.headers["location"] == f"/records/{checks[0]['id']}"

    page = (await lj_client.get(r.headers["location"])).text
    assert "3楼楼梯间堆放纸箱和旧床垫" in page and "不适用" in page and "合格 5 项，不合格 2 项" in page
    assert page.count("待整改") >= 2
    listed = (await lj_client.get(checks_url(made["council"]))).text
    assert "新村3栋" in listed and "2026-11-24" in listed
    rows = await fixes()
    assert [(f["title"], f["state"], f["parent"]) for f in rows] == [
        ("楼道杂物", "open", checks[0]["id"]), ("电动车充电", "open", checks[0]["id"])]

    step = await lj_client.get(f"/records/{rows[0]['id']}/act/fix")
    assert step.status_code == 200 and "整改日期" in step.text
    done = await mark_fixed(lj_client, rows[0]["id"], fixed_on="2026-11-26", fixed_note="房东已清理，复查合格")
    assert done.status_code == 303
    audit = await AuditEvent.count()
    again = await mark_fixed(lj_client, rows[0]["id"], fixed_on="2026-11-27", fixed_note="重复")  # a retried press
    assert again.status_code == 303 and await AuditEvent.count() == audit
    fixed = (await lj_client.get(f"/records/{rows[0]['id']}")).text
    assert "已整改" in fixed and "2026-11-26" in fixed and "房东已清理，复查合格" in fixed
    overview = (await lj_client.get(f"/p/linjuli/councils/{made['council']}")).text
    assert "一楼楼道有 3 辆电动车充电" in overview and "3楼楼梯间堆放纸箱和旧床垫" not in overview


async def test_bad_checklists_are_refused_with_the_reason_and_save_nothing(lj_client, lj_engine: object) -> None:
    made = await make_linjuli_council()
    await login(lj_client, "chair")
    before = await database_state()
    cases = [
        (checklist(building=""), "请选择被检查楼栋"),
        (checklist(building="新村99栋"), "被检查楼栋的选项无效"),
        (checklist(gas="fail"), "煤气罐/液化气瓶：存在问题"),  # 不合格 without saying what is wrong
        (checklist(extinguisher=""), "灭火器"),
        (checklist(checked_on="2099-01-01"), "检查日期"),
        (checklist(smoke="maybe"), "烟感报警器"),
    ]
    for data, message in cases:
        r = await lj_client.post(f"{checks_url(made['council'])}/new", data=data)
        assert r.status_code == 422, data
        assert "有些内容需要修改" in r.text and message in r.text, (data, message)
        assert "网格员 陈丽华、房东 李桂芬" in r.text  # what was typed is kept
    assert await database_state() == before


async def test_a_fix_date_in_the_future_or_someone_elses_fix_is_refused(lj_client, lj_engine: object) -> None:
    made = await make_linjuli_council()
    await make_linjuli_council("b")
    await login(lj_client, "grid")
    await lj_client.post(f"{checks_url(made['council'])}/new",
                         data=checklist(gas="fail", gas_problem="302 房用液化气瓶做饭"))
    fix = (await fixes())[0]
    before = await database_state()
    r = await mark_fixed(lj_client, fix["id"], fixed_on="2099-01-01", fixed_note="")
    assert r.status_code == 422 and "整改日期" in r.text
    r = await mark_fixed(lj_client, fix["id"], fixed_on="昨天")
    assert r.status_code == 422 and "整改日期" in r.text
    assert await database_state() == before
    # The fix belongs to council A: the grid worker of council B may not touch it.
    await login(lj_client, "gridb")
    before = await database_state()
    r = await mark_fixed(lj_client, fix["id"], fixed_on="2026-11-26")
    assert r.status_code == 403
    assert await database_state() == before


async def test_only_recorders_record_and_other_practices_have_no_checks(lj_client, lj_engine: object) -> None:
    from tests.factories import make_council

    made = await make_linjuli_council()
    sanfang = await make_council(suffix="s")
    await login(lj_client, "tenant")
    assert (await lj_client.get(checks_url(made["council"]))).status_code == 200
    assert (await lj_client.post(f"{checks_url(made['council'])}/new", data=checklist())).status_code == 403
    assert (await lj_client.get("/p/linjuli/councils/{}/checks".format(made["council"]),
                                follow_redirects=False)).headers["location"] == checks_url(made["council"])
    await login(lj_client, "chairs")
    assert (await lj_client.get(checks_url(sanfang.id))).status_code == 404
    # Follow-ups come from a check only: there is no form to make one by hand.
    await login(lj_client, "chair")
    assert (await lj_client.get(f"/councils/{made['council']}/records/linjuli_zhenggai/new")).status_code == 404
    assert await Record.count() == 0


async def test_a_hazard_becomes_a_topic_and_closes_when_the_topic_is_done(lj_client, lj_engine: object) -> None:
    from core.topics.tables import Topic

    made = await make_linjuli_council()
    await login(lj_client, "grid")
    await lj_client.post(f"{checks_url(made['council'])}/new",
                         data=checklist(gas="fail", gas_problem="203 房租户用液化气瓶做饭"))
    fix = (await fixes())[0]
    assert "转为议题交办" in (await lj_client.get(f"/records/{fix['id']}")).text
    for _ in range(2):  # a second press makes no second topic
        r = await lj_client.post(f"/records/{fix['id']}/topic")
        assert r.status_code == 303 and r.headers["location"] == f"/records/{fix['id']}"
    topics = await Topic.select().where(Topic.council == made["council"])
    assert len(topics) == 1
    topic = topics[0]
    assert topic["title"] == "新村3栋出租屋安全隐患：煤气罐/液化气瓶"
    assert (topic["state"], topic["category"], topic["proposer_name"]) == ("raised", "治安消防", "安全检查")
    assert topic["description"] == "203 房租户用液化气瓶做饭"
    assert (await Record.select(Record.topic).where(Record.id == fix["id"]).first())["topic"] == topic["id"]
    assert "已转为议题" in (await lj_client.get(f"/councils/{made['council']}/records/linjuli_zhenggai")).text

    # The chair settles the topic on core's topic page; the hazard's follow-up closes with it.
    await login(lj_client, "chair")
    page = (await lj_client.get(f"/councils/{made['council']}/topics")).text
    assert "新村3栋出租屋安全隐患" in page
    # What raised it is named as written, not masked like a resident's name (安**查).
    assert "提出人：安全检查" in page and "安**查" not in page
    r = await lj_client.post(f"/councils/{made['council']}/topics/{topic['id']}/override",
                             data={"target": "done", "state": "raised", "reason": "派出所已上门收缴气瓶"})
    assert r.status_code in (200, 303)
    row = await Record.select().where(Record.id == fix["id"]).first()
    assert row["state"] == "fixed"
    assert "议题已办结" in (await lj_client.get(f"/records/{fix['id']}")).text


async def test_a_fixed_hazard_is_not_turned_into_a_topic(lj_client, lj_engine: object) -> None:
    made = await make_linjuli_council()
    await login(lj_client, "grid")
    await lj_client.post(f"{checks_url(made['council'])}/new", data=checklist(exit="fail", exit_problem="天台门上锁"))
    fix = (await fixes())[0]
    await mark_fixed(lj_client, fix["id"], fixed_on="2026-11-25", fixed_note="已开锁")
    before = await database_state()
    r = await lj_client.post(f"/records/{fix['id']}/topic")
    assert r.status_code == 409 and "记录状态为“已整改”，不需要再转为议题。" in r.text
    assert await database_state() == before
