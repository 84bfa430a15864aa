"""The installed plugin, loaded through its entry point: metadata, practice, specs, routes only when
enabled; and the demo data a council of 沥林新村 starts from (a monthly series from core)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest

from core.meetings import recurrence
from core.meetings.tables import AgendaItem, Meeting
from core.org.tables import Council, CouncilMember
from core.plugins import installed_entry_points, load_plugins
from core.records import ledger
from core.records.tables import Record
from core.residents.tables import RosterEntry
from core.settings import Settings
from core.templating import LOCAL_TZ
from core.topics.tables import Department
from tests.conftest import http_client


def test_the_plugin_loads_through_its_entry_point(lj_plugins) -> None:
    assert "linjuli" in installed_entry_points()
    meta = lj_plugins.metas["linjuli"]
    assert (meta.name, meta.url_prefix) == ("邻聚力·月月谈", "/p/linjuli")
    practice = lj_plugins.practice("linjuli")
    assert practice.meeting_kinds[0] == "月月谈"
    labels = {r.id: r.label for r in practice.all_roles}
    assert (labels["party_landlord"], labels["grid_worker"], labels["police"]) == ("党员房东", "网格员", "社区民警")
    assert lj_plugins.specs.form("linjuli_anquan").title == "出租屋安全检查表"
    assert lj_plugins.specs.form("linjuli_jifen").title == "志愿服务积分登记"
    kinds = lj_plugins.specs.records
    assert kinds["linjuli_anquan"].checklist.follow_up == "linjuli_zhenggai"
    assert kinds["linjuli_jifen"].ledger.min_balance == 0 and kinds["linjuli_zhenggai"].topic is not None


async def test_disabled_it_leaves_nothing_behind(tmp_path: Path, lj_settings: Settings, lj_engine: object) -> None:
    from core.app import create_app

    registry = tmp_path / "off.toml"
    registry.write_text("[plugins.linjuli]\nenabled = false\n", encoding="utf-8")
    settings = dataclasses.replace(lj_settings, plugin_registry=registry)
    plugins = load_plugins(registry)
    assert "linjuli" not in plugins.metas and plugins.practice("linjuli") is None
    async with http_client(create_app(settings, plugins)) as c:
        assert (await c.get("/p/linjuli/")).status_code == 404
        assert (await c.get("/static/plugins/linjuli/linjuli.css")).status_code == 404


@pytest.mark.db
async def test_the_demo_seeds_a_monthly_council_with_landlords_tenants_checks_and_points(
        lj_client, lj_engine: object, lj_settings: Settings, lj_plugins) -> None:
    from yishi_linjuli.plugin import HERE

    from core.records.seed import load_seed
    from core.topics.tables import Task, Topic

    counts = await load_seed(HERE / "demo.toml", lj_settings, plugins=lj_plugins)
    assert counts == {"units": 4, "councils": 1, "people": 7, "members": 7, "roster": 13, "departments": 4,
                      "meetings": 1, "topics": 4, "records": 9}
    council = await Council.select().where(Council.practice == "linjuli").first()
    held = await Meeting.select().where((Meeting.council == council["id"]) & (Meeting.state == "published")).first()
    ids = {"meeting": held["id"]}
    assert council["practice"] == "linjuli" and "出租屋" in council["description"]
    seats = await CouncilMember.select(CouncilMember.role).where(CouncilMember.council == council["id"])
    roles = {m["role"] for m in seats}
    assert {"chair", "party_landlord", "tenant_rep", "grid_worker", "police"} <= roles
    kinds = {r["kind"] for r in await RosterEntry.select(RosterEntry.kind).where(RosterEntry.unit == council["unit"])}
    assert kinds == {"landlord", "tenant"}
    assert {d["kind"] for d in await Department.select(Department.kind).where(Department.council == council["id"])} \
        >= {"派出所", "网格"}

    # The held meeting starts a series; core wrote the next three, each on the rule's day at 19:30.
    series = await Meeting.select().where(Meeting.series == ids["meeting"]).order_by(Meeting.starts_at)
    assert [m["state"] for m in series] == ["published", "draft", "draft", "draft"]
    rule = recurrence.parse_rule("monthly:-1:fri")
    for m in series:
        local = m["starts_at"].astimezone(LOCAL_TZ)
        assert rule.matches(local.date()) and (local.hour, local.minute) == (19, 30)
    assert series[1]["starts_at"] > datetime.now(LOCAL_TZ)
    assert await AgendaItem.count().where(AgendaItem.meeting == ids["meeting"]) == 3

    # Residents' topics went through core's workflow: accepted, decided, assigned, done by the unit.
    topics = {t["title"]: t["state"] for t in await Topic.select(Topic.title, Topic.state)}
    assert topics["新村8栋一楼电动车飞线充电"] == "done" and topics["希望片区增设快递柜（微心愿）"] == "raised"
    assert topics["片区路灯晚上不亮，下夜班回来不安全"] == "assigned" and len(topics) == 5  # + the gas hazard
    assert sorted(t["state"] for t in await Task.select(Task.state)) == ["done", "done", "in_progress"]

    assert await Record.count().where(Record.kind == "linjuli_anquan") == 3
    fixes = await Record.select(Record.state, Record.topic).where(Record.kind == "linjuli_zhenggai")
    assert sorted(f["state"] for f in fixes) == ["fixed", "open", "open"] and sum(bool(f["topic"]) for f in fixes) == 1
    balances = await ledger.balances("linjuli_jifen", council["id"])
    assert all(b["balance"] >= 0 for b in balances.values()) and sum(b["spent"] for b in balances.values()) == 8

    r = await lj_client.post("/login", data={"username": "yejm", "password": "yishi-demo", "next": "/"})
    assert r.status_code == 303
    page = await lj_client.get(f"/p/linjuli/councils/{council['id']}")
    assert page.status_code == 200 and "每月最后一个星期五" in page.text and "新村12栋" in page.text
    assert "月月谈" in (await lj_client.get("/")).text
