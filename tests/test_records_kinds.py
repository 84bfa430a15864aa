"""The record engine's optional tables (docs/records.md), declared by a practice in TOML
(tests/fixtures/records_kinds_kit): roster choices and defaults, a checklist that opens follow-ups, a
follow-up raised as a topic and closed with it, a ledger whose balance never goes below its floor, and
a month's counts — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from core import db
from core.app import create_app
from core.lowcode.specs import SpecError
from core.plugins import load_plugins
from core.records import months, service
from core.records.spec import load_record
from core.records.tables import Record, RecordLedgerLine
from core.residents.tables import RosterEntry
from core.settings import Settings
from core.topics.tables import Topic
from tests.conftest import database_state, http_client, login
from tests.factories import make_council

KIT = Path(__file__).parent / "fixtures" / "records_kinds_kit"


def kit_module() -> ModuleType:
    name = "yishi_records_kinds_kit"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, KIT / "plugin.py")
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def catalogue() -> tuple[dict, dict]:
    from core.lowcode.catalogue import collect, core_catalogue

    specs = collect(core_catalogue(), "rkk", [KIT / "forms"], [KIT / "workflows"])
    return dict(specs.forms), dict(specs.workflows)


# -------------------------------------------------------------------------------------------------
# The spec
# -------------------------------------------------------------------------------------------------


def test_the_kinds_load_with_their_tables() -> None:
    forms, workflows = catalogue()
    check = load_record((KIT / "records" / "rkk_check.toml").read_text(), "rkk_check.toml", forms=forms,
                        workflows=workflows)
    assert check.workflow == "" and check.workflow_of(None).initial == "recorded"  # no workflow: 已登记
    assert check.checklist.items(forms["rkk_check"]) == [("bins", "分类桶"), ("signs", "宣传标识")]
    assert check.extras.choices["building"].roster == "buildings" and check.edit_states == ()
    hours = load_record((KIT / "records" / "rkk_hours.toml").read_text(), "rkk_hours.toml", forms=forms,
                        workflows=workflows)
    assert hours.ledger.amount({"hours": 3, "direction": "use"}) == -3 and hours.ledger.min_balance == 0


@pytest.mark.parametrize(("kind", "old", "new", "expected"), [
    ("rkk_check", 'follow_up = "rkk_fix"', 'fail = "bad"',
     "checklist (第 19 行 / line 19): 表单 'rkk_check' 没有检查项"),
    ("rkk_check", 'roster = "buildings"', 'roster = "streets"', "choices.building.roster"),
    ("rkk_check", 'checked_on = "today"', 'signs = 3', "defaults.signs"),
    ("rkk_check", 'date_field = "checked_on"', 'date_field = "bins"',
     "date_field (第 7 行 / line 7): 字段 'bins' 的类型须是 date"),
    ("rkk_hours", 'person_field = "person"', 'person_field = "note"', "ledger.person_field"),
    ("rkk_hours", 'title_field = "note"', 'title_field = "note"\nedit_states = ["recorded"]', "edit_states"),
    ("rkk_fix", 'close_transition = "topic_done"', 'close_transition = "fix"', "topic.close_transition"),
    ("rkk_fix", 'title = "{parent}：{title}"', 'button = "转"', "topic.title"),
    ("rkk_hours", 'filters = ["person", "direction"]', 'filters = ["note"]',
     "filters (第 9 行 / line 9): filters 须是"),
    ("rkk_hours", 'export = ["csv", "xlsx"]', 'export = ["pdf"]', "export (第 8 行 / line 8): export 只能取 csv、xlsx"),
])
def test_bad_tables_are_refused_naming_the_key(kind: str, old: str, new: str, expected: str) -> None:
    forms, workflows = catalogue()
    text = (KIT / "records" / f"{kind}.toml").read_text(encoding="utf-8")
    assert old in text
    with pytest.raises(SpecError) as exc:
        load_record(text.replace(old, new), f"{kind}.toml", forms=forms, workflows=workflows)
    assert any(expected in str(p) for p in exc.value.problems), [str(p) for p in exc.value.problems]


# -------------------------------------------------------------------------------------------------
# Through the pages
# -------------------------------------------------------------------------------------------------


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings, load_plugins(settings.plugin_registry, extra_modules=[kit_module()]))
    engine = await db.connect(settings.database_url)
    application.state.engine = engine
    yield application
    await db.disconnect(engine)


@pytest.fixture
async def council(app: Any) -> dict[str, Any]:
    council = await make_council()  # chair / recorder logins, practice sanfang
    people = {}
    for building, room, name in (("3栋", "101", "王秀兰"), ("12栋", "502", "李海峰"), ("3栋", "202", "赵敏")):
        people[name] = (await RosterEntry.objects().create(unit=council.unit, name=name, building=building, room=room,
                                                          kind="resident")).id
    return {"id": council.id, "people": people}


@pytest.fixture
async def chair(app: Any, council: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as c:
        await login(c, "chair")
        yield c


def nonce_of(html: str) -> str:
    return re.search(r'name="_nonce" value="([^"]+)"', html)[1]


@pytest.mark.db
async def test_a_checklist_opens_follow_ups_raised_as_topics_and_closed_with_them(app, chair, council) -> None:
    base = f"/councils/{council['id']}/records/rkk_check"
    form = (await chair.get(f"{base}/new?building=3栋")).text
    assert re.findall(r'<option value="([^"]+)"', form)[-2:] == ["3栋", "12栋"]  # the roster's, in people's order
    assert '<option value="3栋" selected>' in form and re.search(r'name="checked_on"[^>]*value="20\d\d-', form)
    r = await chair.post(f"{base}/new", data={"building": "3栋", "checked_on": "2026-11-20", "bins": "fail",
                                              "bins_problem": "厨余桶破损", "signs": "pass", "_nonce": nonce_of(form)})
    assert r.status_code == 303
    check = await Record.select().where(Record.kind == "rkk_check").first()
    (fix,) = await Record.select().where(Record.kind == "rkk_fix")
    assert (fix["title"], fix["parent"], fix["state"]) == ("分类桶", check["id"], "open")
    page = (await chair.get(f"/records/{check['id']}")).text
    assert "合格 1 项，不合格 1 项" in page and "厨余桶破损" in page
    assert (await chair.get(f"/councils/{council['id']}/records/rkk_fix/new")).status_code == 404  # only from a check

    assert (await chair.post(f"/records/{fix['id']}/topic")).status_code == 303
    topic = await Topic.select().where(Topic.council == council["id"]).first()
    assert (topic["title"], topic["category"], topic["description"]) == ("3栋：分类桶", "环境卫生", "厨余桶破损")
    r = await chair.post(f"/councils/{council['id']}/topics/{topic['id']}/override",
                         data={"target": "done", "state": "raised", "reason": "物业已更换分类桶"})
    assert r.status_code in (200, 303)
    assert (await Record.select(Record.state).where(Record.id == fix["id"]).first())["state"] == "fixed"
    # The pseudo-role "topic" is nobody's: no button offers 议题已办结, not even to an administrator.
    assert "议题已办结" not in (await chair.get(f"/councils/{council['id']}/records/rkk_fix")).text.split("rec-list")[0]

    summary = await months.summary(app.state.plugins.specs, "rkk_check", council["id"],
                                   months.Month(2026, 11))
    assert (summary["count"], summary["passed"], summary["failed"]) == (1, 1, 1)
    assert summary["follow_ups_by_title"] == [("分类桶", 1)] and summary["follow_ups_by_state"]["fixed"] == 1
    assert (await months.summary(app.state.plugins.specs, "rkk_check", council["id"],
                                 months.Month(2026, 10)))["count"] == 0


@pytest.mark.db
async def test_a_ledger_never_goes_below_its_floor(app, chair, council) -> None:
    base = f"/councils/{council['id']}/records/rkk_hours"
    who = council["people"]["王秀兰"]
    form = (await chair.get(f"{base}/new")).text
    assert "王秀兰（3栋 101）" in form

    async def post(direction: str, hours: int, nonce: str) -> httpx.Response:
        return await chair.post(f"{base}/new", data={"person": str(who), "direction": direction, "hours": str(hours),
                                                     "note": f"{direction} {hours}", "day": "2026-11-20",
                                                     "_nonce": nonce})

    assert (await post("add", 5, "a")).status_code == 303
    before = await database_state()
    r = await post("use", 6, "b")
    assert r.status_code == 422 and "王秀兰的时长余额为 5 小时，不够扣减 6 小时，未登记。" in r.text
    assert await database_state() == before
    listed = (await chair.get(base)).text
    assert f'id="person-{who}"' in listed and "+5" in listed

    async def use(n: int) -> int:
        async with http_client(app) as c:
            await login(c, "chair")
            return (await c.post(f"{base}/new", data={"person": str(who), "direction": "use", "hours": "2",
                                                      "note": f"兑换 {n}", "day": "2026-11-21",
                                                      "_nonce": f"use-{n}"})).status_code

    codes = await asyncio.gather(*(use(n) for n in range(4)))
    assert sorted(codes) == [303, 303, 422, 422], codes  # 5 hours pay for two uses of 2, never three
    lines = await RecordLedgerLine.select().where(RecordLedgerLine.person == who).order_by(RecordLedgerLine.seq)
    assert [(x["seq"], x["balance"]) for x in lines] == [(1, 5), (2, 3), (3, 1)]
    csv = await chair.get(f"{base}/export/csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    text = csv.content.decode("utf-8-sig").splitlines()
    assert text[0].startswith("编号,志愿者,类型,小时,说明,日期,时长增减,余额,登记时间")
    assert any(",王秀兰（3栋 101）,兑换,2," in row and ",-2,1," in row for row in text[1:]), text
    other = council["people"]["李海峰"]
    await chair.post(f"{base}/new", data={"person": str(other), "direction": "add", "hours": "1", "note": "李的服务",
                                          "day": "2026-11-23", "_nonce": "other"})
    narrowed = (await chair.get(f"{base}?person={who}")).text
    assert "add 5" in narrowed.split('id="rec-list"')[1]
    assert "李的服务" not in narrowed.split('id="rec-list"')[1] and f'<option value="{who}" selected>' in narrowed
    assert "李的服务" in (await chair.get(f"{base}?person={other}")).text.split('id="rec-list"')[1]
    assert "李的服务" not in (await chair.get(f"{base}/export/csv?person={who}")).content.decode("utf-8-sig")
    assert "李的服务" in (await chair.get(f"{base}?person=nobody")).text  # an unknown choice narrows nothing
    xlsx = await chair.get(f"{base}/export/xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
    undeclared = await chair.get(f"/councils/{council['id']}/records/rkk_check/export/csv")
    assert undeclared.status_code == 404
    summary = await months.summary(app.state.plugins.specs, "rkk_hours", council["id"], months.Month(2026, 11))
    assert (summary["earned"], summary["spent"], summary["people"]) == (6, 4, 2)  # 王秀兰 5, 李海峰 1
    with pytest.raises(service.Refused):  # the floor holds below the pages too
        kind = app.state.plugins.specs.records["rkk_hours"]
        from core.lowcode.forms import Choices, validate

        result = validate(app.state.plugins.specs.form("rkk_hours"), {
            "person": [str(who)], "direction": ["use"], "hours": ["2"], "note": ["x"], "day": ["2026-11-22"]},
            None, Choices(by_field={"person": [(str(who), "王秀兰")]}))
        await service.create(kind, council["id"], result, actor="t", spec=kind.workflow_of(app.state.plugins.specs),
                             nonce=None)
