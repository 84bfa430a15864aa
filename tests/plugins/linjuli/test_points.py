"""The volunteer points ledger (志愿服务积分): earning and redeeming, a balance that never goes below
zero — also when several redemptions arrive at once — and the page's answers to bad input."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from yishi_linjuli import points
from yishi_linjuli.tables import PointsEntry

from core import db
from core.audit.tables import AuditEvent
from tests.conftest import database_state, login
from tests.plugins.linjuli.conftest import make_linjuli_council

pytestmark = pytest.mark.db


def council_row(made: dict) -> dict:
    return {"id": made["council"], "unit": made["unit"]}


async def test_earning_and_redeeming_keep_a_running_balance(lj_engine: object) -> None:
    made = await make_linjuli_council()
    council, who = council_row(made), made["roster"]["刘小勇"]
    await points.add_line(council, points.Line(who, 10, "协助清理新村8栋楼道杂物", date(2026, 11, 12)), "user:1")
    await points.add_line(council, points.Line(who, 5, "反诈宣传入户", date(2026, 11, 18)), "user:1")
    line = await points.add_line(council, points.Line(who, -8, "兑换洗衣液 1 瓶", date(2026, 11, 26)), "user:1")
    assert line["balance"] == 7
    assert await points.balance(who) == 7
    assert (await points.balances(made["council"]))[who] == {"balance": 7, "earned": 15, "redeemed": 8}
    rows = await PointsEntry.select(PointsEntry.seq, PointsEntry.points, PointsEntry.balance).where(
        PointsEntry.person == who).order_by(PointsEntry.seq)
    assert [(r["seq"], r["points"], r["balance"]) for r in rows] == [(1, 10, 10), (2, 5, 15), (3, -8, 7)]


async def test_a_redemption_larger_than_the_balance_is_refused_and_writes_nothing(lj_engine: object) -> None:
    made = await make_linjuli_council()
    council, who = council_row(made), made["roster"]["李桂芬"]
    await points.add_line(council, points.Line(who, 6, "参加夜间巡防", date(2026, 11, 5)), "user:1")
    before = await database_state()
    with pytest.raises(points.PointsError) as refused:
        await points.add_line(council, points.Line(who, -7, "兑换食用油 1 桶", date(2026, 11, 6)), "user:1")
    assert "李桂芬的积分余额为 6 分，不够兑换 7 分" in refused.value.message
    assert await database_state() == before
    assert await points.balance(who) == 6


async def test_concurrent_redemptions_never_spend_the_same_points_twice(lj_engine: object) -> None:
    made = await make_linjuli_council()
    council, who = council_row(made), made["roster"]["钟国华"]
    await points.add_line(council, points.Line(who, 10, "协调空地改建停车位", date(2026, 11, 2)), "user:1")

    async def redeem(n: int) -> str:
        try:
            await points.add_line(council, points.Line(who, -4, f"兑换第 {n} 件", date(2026, 11, 3)), "user:1")
            return "ok"
        except points.PointsError:
            return "refused"

    results = await asyncio.gather(*(redeem(n) for n in range(6)))
    assert results.count("ok") == 2, results  # 10 points pay for two redemptions of 4, never three
    assert await points.balance(who) == 2
    balances = [r["balance"] for r in await PointsEntry.select(PointsEntry.balance).where(PointsEntry.person == who)]
    assert min(balances) >= 0 and len(balances) == 3


async def test_the_database_refuses_two_lines_written_from_the_same_balance(lj_engine: object) -> None:
    """The unique index on (person, seq) is the backstop behind the lock."""
    made = await make_linjuli_council()
    council, who = council_row(made), made["roster"]["覃建新"]
    await points.add_line(council, points.Line(who, 5, "清理楼道", date(2026, 11, 2)), "user:1")
    with pytest.raises(Exception) as clash:
        async with db.atomic():
            await PointsEntry.insert(PointsEntry(council=made["council"], person=who, seq=1, points=-5, balance=0,
                                                 reason="绕过锁的第二笔", happened_on=date(2026, 11, 2)))
    assert points._is_unique_violation(clash.value)


async def test_only_landlords_and_tenants_of_the_councils_roster_get_points(lj_engine: object) -> None:
    made = await make_linjuli_council()
    other = await make_linjuli_council("b")
    council = council_row(made)
    for person in (made["roster"]["何美玲"], other["roster"]["李桂芬"]):  # a resident; another council's landlord
        with pytest.raises(points.PointsError) as refused:
            await points.add_line(council, points.Line(person, 5, "清理楼道", date(2026, 11, 2)), "user:1")
        assert refused.value.message == "名册上没有这位房东或租户。"
    assert await PointsEntry.count() == 0


async def test_the_points_page_records_a_line_and_refuses_bad_input(lj_client, lj_engine: object) -> None:
    made = await make_linjuli_council()
    base = f"/p/linjuli/councils/{made['council']}/points"
    who = made["roster"]["刘小勇"]
    await login(lj_client, "grid")
    page = await lj_client.get(base)
    assert page.status_code == 200 and "志愿服务积分登记" in page.text and "租户 刘小勇（新村8栋 402）" in page.text

    good = {"person": str(who), "direction": "earn", "points": "12", "reason": "参加片区夜间巡防 2 小时",
            "happened_on": "2026-11-20", "_nonce": "n-1"}
    r = await lj_client.post(base, data=good)
    assert r.status_code == 303
    again = await lj_client.post(base, data=good)  # a retried press on weak Wi-Fi
    assert again.status_code == 303
    assert await points.balance(who) == 12
    shown = (await lj_client.get(base)).text
    assert "参加片区夜间巡防 2 小时" in shown and "+12" in shown

    audit_before = await AuditEvent.count()
    before = await database_state()
    bad_cases = [
        ({**good, "points": "0", "_nonce": "n-2"}, "积分"),
        ({**good, "points": "十", "_nonce": "n-3"}, "积分"),
        ({**good, "reason": "", "_nonce": "n-4"}, "请填写事由"),
        ({**good, "person": "999999", "_nonce": "n-5"}, "房东/租户"),
        ({**good, "direction": "redeem", "points": "13", "reason": "兑换大米", "_nonce": "n-6"},
         "刘小勇的积分余额为 12 分，不够兑换 13 分，未登记。"),
    ]
    for data, message in bad_cases:
        r = await lj_client.post(base, data=data)
        assert r.status_code == 422, data
        assert message in r.text, (data, r.text[:2000])
        assert 'value="兑换大米"' in r.text or data["reason"] != "兑换大米"  # what was typed is kept
    assert await database_state() == before and await AuditEvent.count() == audit_before


async def test_a_tenant_representative_sees_the_ledger_but_cannot_record(lj_client, lj_engine: object) -> None:
    made = await make_linjuli_council()
    base = f"/p/linjuli/councils/{made['council']}/points"
    await login(lj_client, "tenant")
    page = await lj_client.get(base)
    assert page.status_code == 200 and "积分台账" in page.text and "志愿服务积分登记" not in page.text
    r = await lj_client.post(base, data={"person": str(made["roster"]["刘小勇"]), "direction": "earn", "points": "50",
                                         "reason": "自己给自己加分", "happened_on": "2026-11-20"})
    assert r.status_code == 403
    assert await PointsEntry.count() == 0
