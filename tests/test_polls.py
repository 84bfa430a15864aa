"""Polls and ballots through the services (core.voting.polls), on SQLite and PostgreSQL: named and
secret polls end to end, what the secret tables hold, exactly one ballot under 100 concurrent
submissions, refusals, proxies, paper ballots, hand counts and the electorate snapshot."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.audit import verify as audit_verify
from core.audit.tables import AuditEvent
from core.meetings import attendance
from core.meetings.tables import AgendaItem, Meeting
from core.org.tables import Council, CouncilMember
from core.residents.tables import RosterEntry
from core.voting import polls, seal
from core.voting.polls import PollError, VoteRefused
from core.voting.tables import Elector, NamedBallot, Participation, Poll, Proxy, SecretBallot
from tests.factories import make_meeting

ACTOR = "user:1"


async def meeting_with_members(n_present: int = 3) -> tuple[Meeting, int, dict[str, int]]:
    """A meeting in session with a council of three, the first ``n_present`` signed in; (meeting, item
    id, person ids by name)."""
    meeting = await make_meeting(2, state="in_session")
    seats = await CouncilMember.select(CouncilMember.person, CouncilMember.person.name.as_alias("name")).where(
        CouncilMember.council == meeting.council).order_by(CouncilMember.position)
    for seat in seats[:n_present]:
        await attendance.mark(meeting.id, seat["person"], "present", "", ACTOR)
    item = await AgendaItem.select(AgendaItem.id).where(AgendaItem.meeting == meeting.id).order_by(
        AgendaItem.position).first()
    return meeting, item["id"], {s["name"]: s["person"] for s in seats}


ROSTER = [  # building, unit, room, name, kind, area, phone digits
    ("3栋", "1", "101", "王建国", "owner", "89.50", "1234"),
    ("3栋", "1", "102", "王建国", "owner", "120.00", "1234"),  # the same owner's second flat
    ("3栋", "1", "201", "李秀英", "owner", "95.25", "5678"),
    ("3栋", "1", "202", "赵磊", "owner", "110.00", ""),
    ("3栋", "1", "202", "钱芳", "tenant", None, "2468"),
]


async def roster_council() -> tuple[Council, dict[str, list[int]]]:
    """A council whose estate has the roster above; entry ids by name (王建国 has two)."""
    meeting = await make_meeting(1)
    council = await Council.objects().get(Council.id == meeting.council)
    ids: dict[str, list[int]] = {}
    for building, unit_no, room, name, kind, area, phone in ROSTER:
        row = await RosterEntry.objects().create(
            unit=council.unit, name=name, building=building, unit_no=unit_no, room=room, kind=kind,
            household=f"{building}-{unit_no}-{room}", phone_last4=phone, area=Decimal(area) if area else None)
        ids.setdefault(name, []).append(row.id)
    return council, ids


async def roster_poll(council: Council, *, visibility: str = "named", method: str = "yesno",
                      options: list[str] | None = None, weight: str = "none", rule_id: str = "simple_majority",
                      max_choices: int = 1, proxy_limit: int = 1) -> int:
    return await polls.create_poll(
        council_id=council.id, item_id=None, title="东门道路翻新后门槛过低问题的处理方案", method=method,
        options=options or [], rule_id=rule_id, visibility=visibility, max_choices=max_choices,
        electorate={"kind": "roster", "unit_id": council.unit, "per": "person", "weight": weight},
        closes_at=datetime.now(UTC) + timedelta(days=7), actor=ACTOR, proxy_limit=proxy_limit)


async def refused(coro: Any) -> VoteRefused:
    """The refusal ``coro`` raises (the test fails if it does not)."""
    with pytest.raises(VoteRefused) as info:
        await coro
    return info.value


async def rows_of(poll_id: int) -> tuple[int, int, int]:
    """(participations, named ballots, secret ballots) stored for the poll."""
    return (await Participation.count().where(Participation.poll == poll_id),
            await NamedBallot.count().where(NamedBallot.poll == poll_id),
            await SecretBallot.count().where(SecretBallot.poll == poll_id))


# -------------------------------------------------------------------------------------------------
# End to end
# -------------------------------------------------------------------------------------------------


async def test_named_poll_of_members_present_end_to_end(engine: object) -> None:
    meeting, item_id, people = await meeting_with_members(n_present=2)
    await attendance.mark(meeting.id, people["吴海涛"], "absent", "", ACTOR)
    poll_id = await polls.create_poll(
        council_id=meeting.council, item_id=item_id, title="电动自行车集中充电棚选址", method="yesno", options=[],
        rule_id="simple_majority", visibility="named", electorate={"kind": "members_present"}, actor=ACTOR)
    draft = await polls.poll_view(poll_id)
    assert draft is not None
    assert (draft["state"], draft["options"], draft["meeting_id"], draft["electorate"]) == (
        "draft", ["赞成", "反对"], meeting.id, None)

    await polls.open_poll(poll_id, actor=ACTOR)
    await polls.open_poll(poll_id, actor=ACTOR)  # a retry: one snapshot, one audit event
    assert await Elector.count().where(Elector.poll == poll_id) == 2
    receipt = await polls.cast(poll_id, f"person:{people['张国庆']}", ["赞成"], actor="user:2")
    assert len(receipt) == polls.RECEIPT_LENGTH
    await polls.cast(poll_id, f"person:{people['黄丽娟']}", ["yes"], actor="user:3")
    absent = await refused(polls.cast(poll_id, f"person:{people['吴海涛']}", ["反对"], actor="user:4"))
    assert (absent.message, absent.code) == ("您不在本次表决的范围内", "not_eligible")
    again = await refused(polls.cast(poll_id, f"person:{people['张国庆']}", ["反对"], actor="user:2"))
    assert (again.message, again.code) == ("您已投票", "already_voted")

    running = await polls.poll_view(poll_id)
    assert running is not None and (running["cast"], running["electorate"], running["result"]) == (2, 2, None)
    result = await polls.close_poll(poll_id, actor=ACTOR)
    assert result["outcome"] == "passed" and result["outcome_label"] == "通过"
    assert result["measures"]["headcount"]["votes"] == {"赞成": "2", "反对": "0"}
    assert result["rule"]["id"] == "simple_majority" and result["cast"] == 2 and result["electorate"] == 2
    assert await polls.close_poll(poll_id, actor=ACTOR) == result  # closing again returns what was stored
    closed = await polls.poll_view(poll_id)
    assert closed is not None and closed["state"] == "closed" and closed["result"] == result

    ballots = await polls.named_ballots(poll_id)
    assert [(b["name"], b["choices"], b["channel"]) for b in ballots] == [
        ("张国庆", ["赞成"], "phone"), ("黄丽娟", ["赞成"], "phone")]
    stored = await NamedBallot.select(NamedBallot.receipt).where(
        NamedBallot.voter_key == f"person:{people['张国庆']}").first()
    assert stored["receipt"] == receipt
    actions = [e["action"] for e in await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.entity == f"poll:{poll_id}").order_by(AuditEvent.seq)]
    # A voter's own ballot is no event of its own: the close event seals them all.
    assert actions == ["poll.create", "poll.open", "poll.close"]
    assert (await audit_verify()).ok
    assert (await seal.verify_poll(poll_id)).ok is True


async def test_secret_poll_keeps_no_link_between_voter_and_choice(engine: object) -> None:
    council, ids = await roster_council()
    poll_id = await roster_poll(council, visibility="secret", method="single",
                                options=["方案一：加装坡道", "方案二：降低门槛"])
    await polls.open_poll(poll_id, actor=ACTOR)
    receipts = {}
    for name, choice in (("李秀英", "方案一：加装坡道"), ("赵磊", "方案二：降低门槛"), ("钱芳", "方案二：降低门槛")):
        receipts[name] = await polls.cast(poll_id, f"entry:{ids[name][0]}", [choice], actor=f"resident:{ids[name][0]}")

    # The ballot table has the poll, the choices and a random id: no voter, no time, no sequence.
    assert {c._meta.db_column_name for c in SecretBallot._meta.columns} == {"id", "poll", "choices"}
    ballots = await SecretBallot.select().where(SecretBallot.poll == poll_id)
    assert sorted(b["choices"] for b in ballots) == sorted(
        ['["方案一：加装坡道"]', '["方案二：降低门槛"]', '["方案二：降低门槛"]'])
    assert all(len(str(b["id"])) == 36 for b in ballots)  # UUIDs, not 1, 2, 3
    import core.piccolo_conf as conf

    if conf.DB.engine_type == "sqlite":  # not even SQLite's hidden row number
        with pytest.raises(Exception, match="rowid"):
            await SecretBallot.raw("SELECT rowid FROM yishi_poll_secret_ballot")
    # Who took part is recorded apart, with the receipt; nothing there points at a ballot.
    taken = await Participation.select().where(Participation.poll == poll_id).order_by(Participation.id)
    assert {r["receipt"] for r in taken} == set(receipts.values())
    assert not any(str(b["id"]) in str(r.values()) for r in taken for b in ballots)
    assert await NamedBallot.count() == 0
    # No audit event per ballot: a sequence of them could be lined up against the participations.
    assert await AuditEvent.count().where(AuditEvent.action == "poll.cast") == 0

    running = await polls.poll_view(poll_id)
    assert running is not None and running["cast"] == 3 and running["result"] is None
    assert "方案二" not in str({k: v for k, v in running.items() if k != "options"})  # no running result
    result = await polls.close_poll(poll_id, actor=ACTOR)
    assert result["winners"] == ["方案二：降低门槛"]
    assert result["measures"]["headcount"]["votes"] == {"方案一：加装坡道": "1", "方案二：降低门槛": "2"}


async def test_area_weighted_poll_counts_one_head_per_owner_and_every_room(engine: object) -> None:
    council, ids = await roster_council()
    poll_id = await roster_poll(council, weight="area", rule_id="civil_code_278")
    await polls.open_poll(poll_id, actor=ACTOR)
    view = await polls.poll_view(poll_id)
    assert view is not None and view["electorate"] == 3  # 王建国 (two flats), 李秀英, 赵磊; the tenant is no owner
    await polls.cast(poll_id, f"entry:{ids['王建国'][0]}", ["赞成"], actor=ACTOR)
    second_flat = await refused(polls.cast(poll_id, f"entry:{ids['王建国'][1]}", ["反对"], actor=ACTOR))
    assert second_flat.message == "您已投票"
    await polls.cast(poll_id, f"entry:{ids['李秀英'][0]}", ["反对"], actor=ACTOR)
    result = await polls.close_poll(poll_id, actor=ACTOR)
    area = result["measures"]["area"]
    assert (area["eligible"], area["participating"], area["votes"]["赞成"]) == ("1659/4", "1219/4", "419/2")
    assert area["text"]["eligible"] == "414.75 m²"  # 89.50 + 120.00 + 95.25 + 110.00
    assert (result["measures"]["headcount"]["participating"], result["outcome"]) == ("2", "failed")


async def test_secret_poll_cannot_be_counted_by_area_and_missing_areas_are_named(engine: object) -> None:
    council, ids = await roster_council()
    bad = await refused(roster_poll(council, visibility="secret", weight="area", rule_id="civil_code_278"))
    assert isinstance(bad, PollError) and bad.field == "visibility" and "无记名" in bad.message
    await RosterEntry.update({RosterEntry.area: None}).where(RosterEntry.id == ids["李秀英"][0])
    poll_id = await roster_poll(council, weight="area", rule_id="civil_code_278")
    missing = await refused(polls.open_poll(poll_id, actor=ACTOR))
    assert "3栋-1-201 李秀英" in missing.message
    assert (await polls.poll_view(poll_id) or {})["state"] == "draft"
    assert await Elector.count() == 0


# -------------------------------------------------------------------------------------------------
# Exactly once
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["named", "secret"])
async def test_100_concurrent_submissions_by_one_voter_store_one_ballot(engine: object, visibility: str) -> None:
    council, ids = await roster_council()
    poll_id = await roster_poll(council, visibility=visibility)
    await polls.open_poll(poll_id, actor=ACTOR)
    voter = f"entry:{ids['李秀英'][0]}"
    outcomes = await asyncio.gather(
        *(polls.cast(poll_id, voter, ["赞成" if i % 2 else "反对"], actor=voter) for i in range(100)),
        return_exceptions=True)
    receipts = [o for o in outcomes if isinstance(o, str)]
    refusals = [o for o in outcomes if isinstance(o, VoteRefused)]
    assert len(receipts) == 1 and len(refusals) == 99, [o for o in outcomes if not isinstance(o, str | VoteRefused)]
    assert {r.message for r in refusals} == {"您已投票"}
    participations, named, secret = await rows_of(poll_id)
    assert participations == 1 and named + secret == 1 and (named if visibility == "named" else secret) == 1
    assert await AuditEvent.count().where(AuditEvent.action == "poll.cast") == 0  # sealed at close instead
    assert (await polls.poll_view(poll_id) or {})["cast"] == 1


async def test_the_database_refuses_a_second_participation_whatever_the_code_does(engine: object) -> None:
    council, ids = await roster_council()
    poll_id = await roster_poll(council)
    await polls.open_poll(poll_id, actor=ACTOR)
    await polls.cast(poll_id, f"entry:{ids['赵磊'][0]}", ["赞成"], actor=ACTOR)
    with pytest.raises(Exception) as info:
        await Participation.insert(Participation(poll=poll_id, voter_key=f"entry:{ids['赵磊'][0]}", channel="paper"))
    assert polls._is_unique_violation(info.value)


async def test_paper_and_phone_by_the_same_voter_count_once(engine: object) -> None:
    council, ids = await roster_council()
    poll_id = await roster_poll(council)
    await polls.open_poll(poll_id, actor=ACTOR)
    await polls.cast(poll_id, f"entry:{ids['李秀英'][0]}", ["赞成"], actor=ACTOR)
    paper = await refused(polls.record_paper_ballot(poll_id, "李秀英", ["反对"], actor="user:3"))
    assert paper.message == "您已投票"
    await polls.record_paper_ballot(poll_id, "赵磊", ["反对"], actor="user:3")  # by name, as the recorder writes it
    phone = await refused(polls.cast(poll_id, f"entry:{ids['赵磊'][0]}", ["赞成"], actor=ACTOR))
    assert phone.message == "您已投票"
    await polls.record_paper_ballot(poll_id, f"entry:{ids['钱芳'][0]}", [], invalid=True, actor="user:3")
    assert await rows_of(poll_id) == (3, 3, 0)
    ballots = {b["name"]: (b["choices"], b["channel"]) for b in await polls.named_ballots(poll_id)}
    assert ballots == {"李秀英": (["赞成"], "phone"), "赵磊": (["反对"], "paper"), "钱芳": (["废票"], "paper")}
    result = await polls.close_poll(poll_id, actor=ACTOR)
    assert result["measures"]["headcount"]["invalid"] == "1" and result["outcome"] == "failed"  # 1 赞成, 1 反对


# -------------------------------------------------------------------------------------------------
# Refusals: nothing is counted
# -------------------------------------------------------------------------------------------------


async def test_refusals_are_clear_and_count_nothing(engine: object) -> None:
    council, ids = await roster_council()
    poll_id = await roster_poll(council, method="multi", options=["修坡道", "换地砖", "装扶手"], max_choices=2)
    voter = f"entry:{ids['李秀英'][0]}"
    early = await refused(polls.cast(poll_id, voter, ["修坡道"], actor=ACTOR))
    assert (early.message, early.code) == ("投票尚未开始", "not_open")
    await polls.open_poll(poll_id, actor=ACTOR)
    cases = [
        ("entry:999999", ["修坡道"], "您不在本次表决的范围内"),
        (voter, ["修电梯"], "没有这个选项"),
        (voter, ["修坡道", "换地砖", "装扶手"], "最多只能选 2 项"),
        (voter, [], "请选择后再提交"),
    ]
    for key, choices, message in cases:
        assert (await refused(polls.cast(poll_id, key, choices, actor=ACTOR))).message == message
    assert await rows_of(poll_id) == (0, 0, 0)
    await polls.cast(poll_id, voter, ["装扶手", "修坡道"], actor=ACTOR)
    await polls.close_poll(poll_id, actor=ACTOR)
    late = await refused(polls.cast(poll_id, f"entry:{ids['赵磊'][0]}", ["修坡道"], actor=ACTOR))
    assert (late.message, late.code) == ("投票已结束", "closed")
    assert await rows_of(poll_id) == (1, 1, 0)
    assert (await polls.named_ballots(poll_id))[0]["choices"] == ["修坡道", "装扶手"]  # in the poll's order


async def test_a_poll_past_its_closing_time_takes_no_ballot(engine: object) -> None:
    council, ids = await roster_council()
    poll_id = await roster_poll(council)
    await polls.open_poll(poll_id, actor=ACTOR)
    await Poll.update({Poll.closes_at: datetime.now(UTC) - timedelta(minutes=1)}).where(Poll.id == poll_id)
    late = await refused(polls.cast(poll_id, f"entry:{ids['赵磊'][0]}", ["赞成"], actor=ACTOR))
    assert late.message == "投票已结束"
    view = await polls.poll_view(poll_id)
    assert view is not None and view["state"] == "open" and not view["accepting"]


async def test_bad_polls_are_refused_beside_the_field(engine: object) -> None:
    council, _ids = await roster_council()
    base: dict[str, Any] = {"council_id": council.id, "item_id": None, "title": "选址", "method": "single",
                            "options": ["东门", "西门"], "rule_id": "simple_majority", "visibility": "named",
                            "electorate": {"kind": "roster", "unit_id": council.unit}, "actor": ACTOR}
    for change, field in [({"title": "  "}, "title"), ({"options": ["东门", "东门"]}, "options"),
                          ({"options": ["东门"]}, "options"), ({"rule_id": "no_such_rule"}, "rule_id"),
                          ({"visibility": "open"}, "visibility"),
                          ({"electorate": {"kind": "members_present"}}, "electorate"),
                          ({"method": "multi", "min_choices": 2, "max_choices": 3}, "max_choices"),
                          ({"closes_at": datetime.now(UTC) - timedelta(days=1)}, "closes_at")]:
        error = await refused(polls.create_poll(**{**base, **change}))
        assert isinstance(error, PollError) and error.field == field and error.message, change
    assert await Poll.count() == 0


# -------------------------------------------------------------------------------------------------
# Proxies, hand counts, the snapshot
# -------------------------------------------------------------------------------------------------


async def test_proxies_with_a_per_holder_limit(engine: object) -> None:
    council, ids = await roster_council()
    poll_id = await roster_poll(council, proxy_limit=1)
    await polls.open_poll(poll_id, actor=ACTOR)
    zhao, li, qian = (f"entry:{ids[n][0]}" for n in ("赵磊", "李秀英", "钱芳"))
    proxy_id = await polls.add_proxy(poll_id, li, "赵磊", actor=ACTOR)  # the holder by name: found in the snapshot
    assert await polls.add_proxy(poll_id, li, "赵磊", actor=ACTOR) == proxy_id  # recorded twice: once
    over = await refused(polls.add_proxy(poll_id, qian, "赵磊", actor=ACTOR))
    assert "最多代理 1 人" in over.message
    other = await refused(polls.add_proxy(poll_id, li, "孙大伟", actor=ACTOR))
    assert "已委托赵磊" in other.message
    assert [(p["voter_name"], p["holder_name"], p["holder_key"]) for p in await polls.proxies(poll_id)] == [
        ("李秀英", "赵磊", zhao)]

    stranger = await refused(polls.cast(poll_id, qian, ["赞成"], actor=ACTOR, acting_for=li))
    assert stranger.code == "no_proxy"
    await polls.cast(poll_id, zhao, ["赞成"], actor=ACTOR, acting_for=li)
    own = await refused(polls.cast(poll_id, li, ["反对"], actor=ACTOR))
    assert own.message == "您已投票"
    await polls.cast(poll_id, zhao, ["反对"], actor=ACTOR)  # the holder's own ballot is still theirs
    ballots = {b["voter_key"]: (b["acting"], b["channel"], b["choices"]) for b in await polls.named_ballots(poll_id)}
    assert ballots == {li: (zhao, "proxy", ["赞成"]), zhao: ("", "phone", ["反对"])}
    late = await refused(polls.add_proxy(poll_id, li, "孙大伟", actor=ACTOR))
    assert "已经投票" in late.message
    assert await Proxy.count() == 1


async def test_hand_totals_of_members_present(engine: object) -> None:
    meeting, item_id, people = await meeting_with_members(n_present=3)
    poll_id = await polls.create_poll(
        council_id=meeting.council, item_id=item_id, title="楼道杂物清理", method="yesno", options=[],
        rule_id="absolute_majority", visibility="named", electorate={"kind": "members_present"}, actor=ACTOR)
    await polls.open_poll(poll_id, actor=ACTOR)
    await polls.cast(poll_id, f"person:{people['张国庆']}", ["反对"], actor=ACTOR)
    too_many = await refused(polls.record_hand_totals(poll_id, {"赞成": 3}, actor=ACTOR))
    assert "超过了应参与表决的 3 人" in too_many.message
    await polls.record_hand_totals(poll_id, {"赞成": 1, "反对": 0, "abstain": 1}, actor=ACTOR)
    await polls.record_hand_totals(poll_id, {"赞成": 2}, actor=ACTOR)  # corrected: replaces the first
    assert (await polls.poll_view(poll_id) or {})["cast"] == 3
    result = await polls.close_poll(poll_id, actor=ACTOR)
    assert result["measures"]["headcount"]["votes"] == {"赞成": "2", "反对": "1"} and result["passed"]
    assert await AuditEvent.count().where(AuditEvent.action == "poll.hand_totals") == 2


async def test_the_snapshot_does_not_follow_the_roster_after_opening(engine: object) -> None:
    council, ids = await roster_council()
    poll_id = await roster_poll(council)
    await polls.open_poll(poll_id, actor=ACTOR)
    before = await Elector.select(Elector.voter_key, Elector.owner_key, Elector.name).where(
        Elector.poll == poll_id).order_by(Elector.id)
    newcomer = await RosterEntry.objects().create(unit=council.unit, name="孙大伟", building="3栋", unit_no="1",
                                                  room="301", kind="owner", area=Decimal("88.00"))
    await RosterEntry.update({RosterEntry.name: "赵磊（已搬走）"}).where(RosterEntry.id == ids["赵磊"][0])
    after = await Elector.select(Elector.voter_key, Elector.owner_key, Elector.name).where(
        Elector.poll == poll_id).order_by(Elector.id)
    assert after == before and len(before) == 5
    assert (await polls.poll_view(poll_id) or {})["electorate"] == 4  # 王建国's two flats are one voter
    late = await refused(polls.cast(poll_id, f"entry:{newcomer.id}", ["赞成"], actor=ACTOR))
    assert late.message == "您不在本次表决的范围内"
    await polls.cast(poll_id, f"entry:{ids['赵磊'][0]}", ["赞成"], actor=ACTOR)
    assert (await polls.close_poll(poll_id, actor=ACTOR))["measures"]["headcount"]["eligible"] == "4"


# -------------------------------------------------------------------------------------------------
# The seal: the close event's digest detects a later change to the ballots
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("visibility", ["named", "secret"])
async def test_the_close_seal_detects_a_ballot_changed_added_or_removed_afterwards(
        engine: object, visibility: str) -> None:
    council, ids = await roster_council()
    poll_id = await roster_poll(council, visibility=visibility)
    await polls.open_poll(poll_id, actor=ACTOR)
    for name, choice in (("李秀英", "赞成"), ("赵磊", "反对"), ("钱芳", "赞成")):
        await polls.cast(poll_id, f"entry:{ids[name][0]}", [choice], actor=f"resident:{ids[name][0]}")
    await polls.record_paper_ballot(poll_id, f"entry:{ids['王建国'][0]}", ["反对"], actor="user:3")  # staff: audited
    assert await AuditEvent.count().where(AuditEvent.action == "poll.cast") == 1
    await polls.close_poll(poll_id, actor=ACTOR)
    close = await AuditEvent.select(AuditEvent.after).where(AuditEvent.action == "poll.close").first()
    assert '"sealed_ballots":4' in close["after"] and '"sealed_participations":4' in close["after"]
    assert (await seal.verify_poll(poll_id)).ok is True
    assert (await audit_verify()).ok

    # Someone with database access flips a ballot after the close: the chain is intact, the seal is not.
    table = SecretBallot if visibility == "secret" else NamedBallot
    first = await table.select(table.id, table.choices).where(table.poll == poll_id).first()
    flipped = '["反对"]' if "赞成" in first["choices"] else '["赞成"]'
    await table.update({table.choices: flipped}).where(table.id == first["id"])
    assert (await audit_verify()).ok
    check = await seal.verify_poll(poll_id)
    assert check.ok is False and "被改动" in check.message
    await table.update({table.choices: '["赞成"]'}).where(table.poll == poll_id)  # every ballot 赞成 now
    assert (await seal.verify_poll(poll_id)).ok is False  # still not what was sealed

    # A participation removed is named with the counts.
    other = await roster_poll(council, visibility=visibility)
    await polls.open_poll(other, actor=ACTOR)
    await polls.cast(other, f"entry:{ids['李秀英'][0]}", ["赞成"], actor=ACTOR)
    await polls.close_poll(other, actor=ACTOR)
    await Participation.delete().where(Participation.poll == other)
    removed = await seal.verify_poll(other)
    assert removed.ok is False and "封存时 1 张选票、1 条参与记录" in removed.message
    assert [c.ok for c in await seal.verify_all()] == [False, False]


async def test_poll_verify_command(engine: object, database_url: str, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    from core.cli import main

    council, ids = await roster_council()
    poll_id = await roster_poll(council)
    await polls.open_poll(poll_id, actor=ACTOR)
    await polls.cast(poll_id, f"entry:{ids['李秀英'][0]}", ["赞成"], actor=ACTOR)
    await polls.close_poll(poll_id, actor=ACTOR)
    from core import db

    async def command(*argv: str) -> int:
        """``yishi`` in a thread (it runs its own event loop and binds the tables to its own engine,
        with the plugins' apps); the test's binding is restored after."""
        try:
            return await asyncio.to_thread(main, list(argv))
        finally:
            db.use_engine(engine)  # type: ignore[arg-type]

    monkeypatch.setenv("YISHI_DATABASE_URL", database_url)
    assert await command("poll", "verify") == 0
    assert f"✓ 表决 {poll_id} 的选票与结束时封存的一致" in capsys.readouterr().out
    await NamedBallot.update({NamedBallot.choices: '["反对"]'}).where(NamedBallot.poll == poll_id)
    assert await command("poll", "verify", "--poll", str(poll_id)) == 1
    assert f"✗ 表决 {poll_id} 的选票在结束后被改动" in capsys.readouterr().out


async def test_closing_while_ballots_arrive_takes_none_after_the_close(engine: object) -> None:
    """Ballots and the close at the same moment: every ballot is either counted in the result (and the
    seal) or refused "投票已结束" — none is stored after the close."""
    council, _ids = await roster_council()
    for i in range(40):
        await RosterEntry.objects().create(unit=council.unit, name=f"住户{i:02d}", building="5栋", unit_no="1",
                                           room=f"{i + 101}", kind="resident", household=f"5-1-{i + 101}")
    poll_id = await roster_poll(council)
    await polls.open_poll(poll_id, actor=ACTOR)
    keys = [e["voter_key"] for e in await Elector.select(Elector.voter_key).where(Elector.poll == poll_id)]

    async def close_soon() -> dict:
        await asyncio.sleep(0.01)
        return await polls.close_poll(poll_id, actor=ACTOR)

    outcomes = await asyncio.gather(*(polls.cast(poll_id, k, ["赞成"], actor=k) for k in keys), close_soon(),
                                    return_exceptions=True)
    result = outcomes[-1]
    assert isinstance(result, dict), result
    receipts = [o for o in outcomes[:-1] if isinstance(o, str)]
    refused_ = [o for o in outcomes[:-1] if isinstance(o, VoteRefused)]
    assert len(receipts) + len(refused_) == len(keys)
    # 王建国's two flats are one owner: his second key hears 您已投票 (unless the close came first).
    assert {r.code for r in refused_} <= {"closed", "already_voted"}
    assert sum(r.code == "already_voted" for r in refused_) <= 1
    participations, named, _secret = await rows_of(poll_id)
    assert participations == named == len(receipts) == result["cast"]
    assert (await seal.verify_poll(poll_id)).ok is True
