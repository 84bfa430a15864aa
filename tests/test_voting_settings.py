"""A council's "non-voters count with the majority" (未参与表决者计入多数意见), on SQLite and PostgreSQL:
off by default, applied only to owners' decisions under 民法典 第278条, shown on the result, kept with
the result once the poll closed; the settings page says where the law does not allow it, and only the
chair changes it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from core.audit.tables import AuditEvent
from core.org.tables import Council, Unit
from core.residents.tables import RosterEntry
from core.voting import council_settings, polls
from core.voting.loader import shared_rules
from tests.factories import make_meeting
from tests.test_topics import add_member, resident, staff

ACTOR = "user:1"
#: Five owners of 100 m² each in one building: A and B 赞成, C 反对, D 弃权, E does not vote.
OWNERS = ("欧阳甲", "欧阳乙", "欧阳丙", "欧阳丁", "欧阳戊")
VOTES = {"欧阳甲": ["赞成"], "欧阳乙": ["赞成"], "欧阳丙": ["反对"], "欧阳丁": ["弃权"]}


async def building_of_owners(council: Council) -> tuple[int, dict[str, int]]:
    """A building under the council's estate with the five owners; (its unit id, entry ids by name)."""
    building = await Unit.objects().create(name="7栋", kind="楼栋", parent=council.unit)
    ids = {}
    for i, name in enumerate(OWNERS):
        row = await RosterEntry.objects().create(
            unit=building.id, name=name, building="7栋", unit_no="1", room=f"{i + 1}01", kind="owner",
            household=f"7-1-{i + 1}01", phone_last4=f"{i + 1}{i + 1}{i + 1}{i + 1}", area=Decimal("100.00"))
        ids[name] = row.id
    return building.id, ids


async def voted_poll(council: Council, rule_id: str = "civil_code_278") -> int:
    """A named poll by area over the building, voted as in VOTES, still open."""
    unit_id, ids = await building_of_owners(council)
    poll_id = await polls.create_poll(
        council_id=council.id, item_id=None, title="7栋外墙维修使用公共维修资金", method="yesno", options=[],
        rule_id=rule_id, visibility="named", electorate={"kind": "roster", "unit_id": unit_id, "per": "person",
                                                         "weight": "area"}, actor=ACTOR)
    await polls.open_poll(poll_id, actor=ACTOR)
    for name, choice in VOTES.items():
        await polls.cast(poll_id, f"entry:{ids[name]}", choice, actor=ACTOR)
    return poll_id


async def test_off_by_default_and_the_abstention_sinks_the_vote(engine: object) -> None:
    council = await Council.objects().get(Council.id == (await make_meeting(1)).council)
    assert await council_settings.silent_follow_majority(council.id) is False
    poll_id = await voted_poll(council)
    result = await polls.close_poll(poll_id, actor=ACTOR)
    # Participation 4/5 ≥ 2/3 both ways; approval 2 of 4 participating is not more than half.
    assert result["quorum_met"] and result["outcome"] == "failed"
    assert result["rule"]["silent_follow_majority"] is False and result["silent"] == {}


async def test_on_the_non_voter_joins_the_majority_and_the_result_says_so(engine: object) -> None:
    council = await Council.objects().get(Council.id == (await make_meeting(1)).council)
    assert await council_settings.set_silent_follow_majority(council.id, True, actor=ACTOR)
    assert not await council_settings.set_silent_follow_majority(council.id, True, actor=ACTOR)  # no change
    poll_id = await voted_poll(council)
    result = await polls.close_poll(poll_id, actor=ACTOR)
    # E did not vote: counted with 赞成 (2 > 1), so 3 of 5 — in heads and in area — approve.
    assert result["outcome"] == "passed" and result["rule"]["silent_follow_majority"] is True
    assert result["silent"]["headcount"] == result["silent"]["area"] == "yes"
    assert any("未参与表决的人数按本会议事规则计入多数意见（赞成）" in line for line in result["lines"])
    assert result["measures"]["headcount"]["participating"] == "4"  # the real counts are kept
    # Turning it off later does not recount a closed poll differently.
    await council_settings.set_silent_follow_majority(council.id, False, actor=ACTOR)
    assert (await polls.tally_poll(poll_id)).passed
    changes = await AuditEvent.select(AuditEvent.after).where(AuditEvent.action == "council.voting_settings")
    assert [c["after"] for c in changes] == ['{"silent_follow_majority":true}', '{"silent_follow_majority":false}']


async def test_not_applied_where_the_law_asks_for_what_people_did(engine: object) -> None:
    council = await Council.objects().get(Council.id == (await make_meeting(1)).council)
    await council_settings.set_silent_follow_majority(council.id, True, actor=ACTOR)
    rules = shared_rules()
    assert {r for r in rules if council_settings.silent_allowed(rules[r])} == {"civil_code_278", "civil_code_278_major"}
    assert "全体受影响业主" in council_settings.not_allowed_reason(rules["civil_code_279"])
    assert "实际表决" in council_settings.not_allowed_reason(rules["villagers_22"])
    assert "实际表决" in council_settings.not_allowed_reason(rules["residents_9"])
    assert "第二百七十八条" in council_settings.not_allowed_reason(rules["simple_majority"])
    applied = await council_settings.applied_rule(council.id, rules["civil_code_279"])
    assert applied.silent_follow_majority is False
    # A simple-majority poll of the same council: the setting is not applied, the result says nothing of it.
    unit_id, ids = await building_of_owners(council)
    poll_id = await polls.create_poll(
        council_id=council.id, item_id=None, title="楼道灯更换为声控灯", method="yesno", options=[],
        rule_id="simple_majority", visibility="named",
        electorate={"kind": "roster", "unit_id": unit_id, "per": "person", "weight": "none"}, actor=ACTOR)
    await polls.open_poll(poll_id, actor=ACTOR)
    await polls.cast(poll_id, f"entry:{ids['欧阳甲']}", ["反对"], actor=ACTOR)
    result = await polls.close_poll(poll_id, actor=ACTOR)
    assert result["rule"]["silent_follow_majority"] is False and result["outcome"] == "failed"


async def test_the_settings_page_and_the_result_page(client: httpx.AsyncClient, settings: Any) -> None:
    council, _entry, _link, _entries = await resident(client, settings)
    chair = await staff(client, "chair")
    page = await chair.get(f"/councils/{council.id}/voting")
    assert page.status_code == 200
    assert 'id="silent-state">本会目前：<strong>不采用</strong>' in page.text
    assert "第二十六条" in page.text and "须经全体受影响业主同意" in page.text  # 第279条 explained

    bad = await chair.post(f"/councils/{council.id}/voting", data={"silent_follow_majority": "maybe"})
    assert bad.status_code == 422 and "请选择采用或不采用" in bad.text
    assert await council_settings.silent_follow_majority(council.id) is False

    await add_member(council, "member1")
    member = await staff(client, "member1")
    assert "只有本会主持人可以修改" in (await member.get(f"/councils/{council.id}/voting")).text
    refused = await member.post(f"/councils/{council.id}/voting", data={"silent_follow_majority": "1"})
    assert refused.status_code == 403
    assert await council_settings.silent_follow_majority(council.id) is False

    done = await chair.post(f"/councils/{council.id}/voting", data={"silent_follow_majority": "1"})
    assert done.status_code == 303
    assert "<strong>采用</strong>" in (await chair.get(f"/councils/{council.id}/voting")).text

    poll_id = await voted_poll(council)
    closed = await chair.post(f"/polls/{poll_id}/close")
    assert closed.status_code == 303
    result = await chair.get(f"/polls/{poll_id}")
    assert 'id="poll-outcome">通过<' in result.text
    assert "未参与表决者计入多数意见" in result.text and "未参与表决的人数计入“赞成”" in result.text
