"""The volunteer points ledger (志愿服务积分), a ledger kind of core's record engine: earning and
redeeming, a balance that never goes below zero — also when several redemptions arrive at once — and
the page's answers to bad input."""

from __future__ import annotations

import asyncio
import re
from datetime import date

import pytest

from core import db
from core.audit.tables import AuditEvent
from core.lowcode.forms import validate
from core.records import ledger, links, service
from core.records.tables import Record, RecordLedgerLine
from tests.conftest import database_state, login
from tests.plugins.linjuli.conftest import make_linjuli_council

pytestmark = pytest.mark.db


async def add(specs, council: int, person: int, points: int, reason: str = "巡防", day: str = "2026-11-20") -> int:
    """A line through the ledger kind's own form and the engine, as the page writes it."""
    kind = specs.records["linjuli_jifen"]
    result = validate(specs.form(kind.form), {"person": [str(person)],
                                              "direction": ["earn" if points > 0 else "redeem"],
                                              "points": [str(abs(points))], "reason": [reason], "happened_on": [day]},
                      None, await links.choices(kind, council))
    assert result.ok, result.errors
    return await service.create(kind, council, result, actor="user:1", spec=kind.workflow_of(specs), nonce=None,
                                specs=specs)


async def balance(person: int) -> int:
    last = await RecordLedgerLine.select(RecordLedgerLine.balance).where(RecordLedgerLine.person == person).order_by(
        RecordLedgerLine.seq, ascending=False).first()
    return last["balance"] if last else 0


async def test_earning_and_redeeming_keep_a_running_balance(lj_plugins, lj_engine: object) -> None:
    made = await make_linjuli_council()
    council, who = made["council"], made["roster"]["刘小勇"]
    await add(lj_plugins.specs, council, who, 10, "协助清理新村8栋楼道杂物")
    await add(lj_plugins.specs, council, who, 5, "反诈宣传入户")
    await add(lj_plugins.specs, council, who, -8, "兑换洗衣液 1 瓶")
    assert await balance(who) == 7
    assert (await ledger.balances("linjuli_jifen", council))[who] == {"balance": 7, "earned": 15, "spent": 8}
    rows = await RecordLedgerLine.select(RecordLedgerLine.seq, RecordLedgerLine.amount, RecordLedgerLine.balance).where(
        RecordLedgerLine.person == who).order_by(RecordLedgerLine.seq)
    assert [(r["seq"], r["amount"], r["balance"]) for r in rows] == [(1, 10, 10), (2, 5, 15), (3, -8, 7)]


async def test_a_redemption_larger_than_the_balance_is_refused_and_writes_nothing(lj_plugins,
                                                                                  lj_engine: object) -> None:
    made = await make_linjuli_council()
    council, who = made["council"], made["roster"]["李桂芬"]
    await add(lj_plugins.specs, council, who, 6, "参加夜间巡防")
    before = await database_state()
    with pytest.raises(service.Refused) as refused:
        await add(lj_plugins.specs, council, who, -7, "兑换食用油 1 桶")
    assert refused.value.message == "李桂芬的积分余额为 6 分，不够扣减 7 分，未登记。"
    assert await database_state() == before
    assert await balance(who) == 6


async def test_concurrent_redemptions_never_spend_the_same_points_twice(lj_plugins, lj_engine: object) -> None:
    made = await make_linjuli_council()
    council, who = made["council"], made["roster"]["钟国华"]
    await add(lj_plugins.specs, council, who, 10, "协调空地改建停车位")

    async def redeem(n: int) -> str:
        try:
            await add(lj_plugins.specs, council, who, -4, f"兑换第 {n} 件")
            return "ok"
        except service.Refused:
            return "refused"

    results = await asyncio.gather(*(redeem(n) for n in range(6)))
    assert results.count("ok") == 2, results  # 10 points pay for two redemptions of 4, never three
    assert await balance(who) == 2
    balances = [r["balance"] for r in await RecordLedgerLine.select(RecordLedgerLine.balance).where(
        RecordLedgerLine.person == who)]
    assert min(balances) >= 0 and len(balances) == 3
    assert await Record.count().where(Record.kind == "linjuli_jifen") == 3  # no record without its line


async def test_the_database_refuses_two_lines_written_from_the_same_balance(lj_plugins, lj_engine: object) -> None:
    """The unique index on (kind, person, seq) is the backstop behind the lock."""
    made = await make_linjuli_council()
    council, who = made["council"], made["roster"]["覃建新"]
    record = await add(lj_plugins.specs, council, who, 5, "清理楼道")
    with pytest.raises(Exception) as clash:
        async with db.atomic():
            await RecordLedgerLine.insert(RecordLedgerLine(record=record, kind="linjuli_jifen", council=council,
                                                           person=who, seq=1, amount=-5, balance=0,
                                                           day=date(2026, 11, 2)))
    assert ledger.is_unique_violation(clash.value)


async def test_only_landlords_and_tenants_of_the_councils_roster_get_points(lj_plugins, lj_engine: object) -> None:
    made = await make_linjuli_council()
    other = await make_linjuli_council("b")
    kind = lj_plugins.specs.records["linjuli_jifen"]
    choices = await links.choices(kind, made["council"])
    offered = dict(choices.by_field["person"])
    assert offered[str(made["roster"]["刘小勇"])] == "租户 刘小勇（新村8栋 402）"
    assert str(made["roster"]["何美玲"]) not in offered and str(other["roster"]["李桂芬"]) not in offered
    for person in (made["roster"]["何美玲"], other["roster"]["李桂芬"]):  # a resident; another council's landlord
        with pytest.raises(AssertionError):
            await add(lj_plugins.specs, made["council"], person, 5)  # the form refuses the choice
        forged = validate(lj_plugins.specs.form(kind.form), {"person": [str(person)], "direction": ["earn"],
                                                              "points": ["5"], "reason": ["清理楼道"],
                                                              "happened_on": ["2026-11-02"]},
                          None, type(choices)(by_field={"person": [(str(person), "?")]}))
        with pytest.raises(service.Refused) as refused:  # and the engine, under its lock, refuses it too
            await service.create(kind, made["council"], forged, actor="user:1", spec=kind.workflow_of(lj_plugins.specs),
                                 nonce=None)
        assert refused.value.message == "名册上没有这个人，未登记。"
    assert await RecordLedgerLine.count() == 0 and await Record.count() == 0


async def test_the_points_page_records_a_line_and_refuses_bad_input(lj_client, lj_engine: object) -> None:
    made = await make_linjuli_council()
    base = f"/councils/{made['council']}/records/linjuli_jifen"
    who = made["roster"]["刘小勇"]
    await login(lj_client, "grid")
    page = await lj_client.get(f"{base}/new")
    assert page.status_code == 200 and "志愿服务积分登记" in page.text and "租户 刘小勇（新村8栋 402）" in page.text
    assert re.search(r'value="earn"[^>]*checked', page.text)  # 获得积分, to start with

    good = {"person": str(who), "direction": "earn", "points": "12", "reason": "参加片区夜间巡防 2 小时",
            "happened_on": "2026-11-20", "_nonce": "n-1"}
    r = await lj_client.post(f"{base}/new", data=good)
    assert r.status_code == 303
    again = await lj_client.post(f"{base}/new", data=good)  # a retried press on weak Wi-Fi
    assert again.status_code == 303 and again.headers["location"] == r.headers["location"]
    assert await balance(who) == 12
    shown = (await lj_client.get(base)).text
    assert "参加片区夜间巡防 2 小时" in shown and "+12" in shown and f'id="person-{who}"' in shown

    audit_before = await AuditEvent.count()
    before = await database_state()
    bad_cases = [
        ({**good, "points": "0", "_nonce": "n-2"}, "积分"),
        ({**good, "points": "十", "_nonce": "n-3"}, "积分"),
        ({**good, "reason": "", "_nonce": "n-4"}, "请填写事由"),
        ({**good, "person": "999999", "_nonce": "n-5"}, "房东/租户"),
        ({**good, "direction": "redeem", "points": "13", "reason": "兑换大米", "_nonce": "n-6"},
         "刘小勇的积分余额为 12 分，不够扣减 13 分，未登记。"),
    ]
    for data, message in bad_cases:
        r = await lj_client.post(f"{base}/new", data=data)
        assert r.status_code == 422, data
        assert message in r.text, (data, r.text[:2000])
        assert 'value="兑换大米"' in r.text or data["reason"] != "兑换大米"  # what was typed is kept
    assert await database_state() == before and await AuditEvent.count() == audit_before


async def test_a_tenant_representative_sees_the_ledger_but_cannot_record(lj_client, lj_plugins,
                                                                         lj_engine: object) -> None:
    made = await make_linjuli_council()
    await add(lj_plugins.specs, made["council"], made["roster"]["刘小勇"], 10, "协助清理楼道")
    base = f"/councils/{made['council']}/records/linjuli_jifen"
    await login(lj_client, "tenant")
    page = await lj_client.get(base)
    assert page.status_code == 200 and "协助清理楼道" in page.text and 'id="rec-new"' not in page.text
    r = await lj_client.post(f"{base}/new", data={"person": str(made["roster"]["刘小勇"]), "direction": "earn",
                                                  "points": "50", "reason": "自己给自己加分",
                                                  "happened_on": "2026-11-20"})
    assert r.status_code == 403
    assert await RecordLedgerLine.count() == 1
