"""A deployment that recorded checks, follow-ups and points in the plugin's former tables keeps them:
the migration copies every row into core's record engine — balances, open hazards, their topics — and
the pages show them as before. The old tables are left as they were."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime

import pytest

from core.records import ledger, service
from core.records.tables import Record, RecordLedgerLine
from core.topics.tables import Topic
from tests.conftest import login
from tests.plugins.linjuli.conftest import make_linjuli_council
from tests.plugins.linjuli.test_points import add

pytestmark = pytest.mark.db

copy_rows = importlib.import_module("yishi_linjuli.migrations.linjuli_2026_11_30t05_50_00_000000").copy_rows
ITEMS = ("stairwell", "extinguisher", "gas", "ebike", "wiring", "exit", "smoke", "escape")


async def test_old_rows_are_copied_into_the_record_engine(lj_client, lj_plugins, lj_engine: object) -> None:
    made = await make_linjuli_council()
    council, who = made["council"], made["roster"]["刘小勇"]
    topic = await Topic.objects().create(council=council, title="新村3栋出租屋安全隐患：煤气罐/液化气瓶",
                                         state="assigned")
    values = {**{name: "pass" for name in ITEMS}, "gas": "fail", "gas_problem": "302 房用液化气瓶",
              "exit": "fail", "exit_problem": "天台门上锁", "checked_on": "2026-11-12", "inspector": "陈丽华"}
    data = json.dumps({"form": "linjuli_anquan", "version": 1, "values": values}, ensure_ascii=False)
    at = datetime(2026, 11, 12, 3, tzinfo=UTC)
    await Record.raw(
        "INSERT INTO linjuli_safety_check (id, council, building, checked_on, inspector, passed, failed, data, actor, "
        "nonce, created_at) VALUES (1, {}, '新村3栋', {}, '陈丽华', 6, 2, {}, 'user:grid', 'old-nonce', {})",
        council, datetime(2026, 11, 12).date(), data, at)
    await Record.raw(
        "INSERT INTO linjuli_check_fix (id, safety_check, council, building, item, label, problem, state, fixed_on, "
        "fixed_note, fixed_by, topic) VALUES (1, 1, {}, '新村3栋', 'gas', '煤气罐/液化气瓶', '302 房用液化气瓶', "
        "'open', "
        "NULL, '', '', {}), (2, 1, {}, '新村3栋', 'exit', '安全出口与应急照明', '天台门上锁', 'fixed', {}, '已开锁', "
        "'user:grid', NULL)", council, topic.id, council, datetime(2026, 11, 13).date())
    for seq, points, balance in ((1, 10, 10), (2, -4, 6)):
        await Record.raw(
            "INSERT INTO linjuli_points_entry (council, person, seq, points, balance, reason, happened_on, actor, "
            "nonce, created_at) VALUES ({}, {}, {}, {}, {}, {}, {}, 'user:grid', NULL, {})",
            council, who, seq, points, balance, "巡防" if points > 0 else "兑换洗衣液",
            datetime(2026, 11, 14).date(), at)

    await copy_rows()

    check = await Record.select().where(Record.kind == "linjuli_anquan").first()
    assert (check["title"], str(check["day"]), check["nonce"]) == ("新村3栋", "2026-11-12", "old-nonce")
    fixes = await Record.select().where(Record.kind == "linjuli_zhenggai").order_by(Record.id)
    assert [(f["title"], f["state"], f["parent"], f["topic"]) for f in fixes] == [
        ("煤气罐/液化气瓶", "open", check["id"], topic.id), ("安全出口与应急照明", "fixed", check["id"], None)]
    assert (await ledger.balances("linjuli_jifen", council))[who] == {"balance": 6, "earned": 10, "spent": 4}
    lines = await RecordLedgerLine.select(RecordLedgerLine.seq).order_by(RecordLedgerLine.seq)
    assert [r["seq"] for r in lines] == [1, 2]

    await login(lj_client, "grid")
    page = (await lj_client.get(f"/records/{check['id']}")).text
    assert "合格 6 项，不合格 2 项" in page and "302 房用液化气瓶" in page
    assert "已开锁" in (await lj_client.get(f"/records/{fixes[1]['id']}")).text
    listed = (await lj_client.get(f"/councils/{council}/records/linjuli_jifen")).text
    assert "兑换洗衣液" in listed and "-4" in listed
    # The balance carries on from the migrated lines: 6 points pay for 6, not 7.
    with pytest.raises(service.Refused):
        await add(lj_plugins.specs, council, who, -7)
    await add(lj_plugins.specs, council, who, -6)
    assert (await ledger.balances("linjuli_jifen", council))[who]["balance"] == 0
    assert (await Record.raw("SELECT COUNT(*) AS n FROM linjuli_points_entry"))[0]["n"] == 2  # left as it was
    for table in ("linjuli_check_fix", "linjuli_safety_check", "linjuli_points_entry"):  # not emptied between tests
        await Record.raw(f"DELETE FROM {table}")
