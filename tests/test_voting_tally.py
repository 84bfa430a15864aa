"""The tally: legal scenarios with hand-checked outcomes, the numbers the minutes print, and
hypothesis properties (order independence, totals add up, area and weight respected, one head per owner)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.voting.loader import shared_rules
from core.voting.rules import Rule
from core.voting.tally import NO, YES, Ballot, Electorate, Poll, TallyResult, Voter, VotingError, tally

YES_NO = Poll.yes_no()


def rule(rule_id: str) -> Rule:
    return shared_rules()[rule_id]


def owners(*areas: float | str, present: bool = False) -> list[Voter]:
    """Owners o1, o2 … each holding one unit of the given area."""
    return [Voter(f"o{i}", unit=f"u{i}", area=Fraction(str(a)), present=present) for i, a in enumerate(areas, 1)]


def votes(yes: range | list[int] = (), no: range | list[int] = (), abstain: range | list[int] = (),
          invalid: range | list[int] = ()) -> list[Ballot]:
    return ([Ballot(f"o{i}", (YES,)) for i in yes] + [Ballot(f"o{i}", (NO,)) for i in no]
            + [Ballot(f"o{i}", abstain=True) for i in abstain] + [Ballot(f"o{i}", invalid=True) for i in invalid])


# -- legal scenarios, outcomes checked by hand ------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    name: str
    rule: str
    voters: list[Voter]
    ballots: list[Ballot]
    quorum: bool
    outcome: str


AREAS_1000 = (300, 200, *([62.5] * 8))  # o1 300 m², o2 200 m², o3–o10 62.5 m² each: 1,000 m², 10 owners

VILLAGE = [  # 10 adults in 4 households: h1 a1–a3, h2 a4–a6, h3 a7–a8, h4 a9–a10
    Voter(f"o{i}", household=h) for i, h in
    ((1, "h1"), (2, "h1"), (3, "h1"), (4, "h2"), (5, "h2"), (6, "h2"), (7, "h3"), (8, "h3"), (9, "h4"), (10, "h4"))
]


def village(present: list[int]) -> list[Voter]:
    return [Voter(v.id, household=v.household, present=int(v.id[1:]) in present) for v in VILLAGE]


SCENARIOS = [
    Scenario("过半数：恰好一半不通过", "simple_majority", owners(*[1] * 10), votes(range(1, 6), range(6, 11)),
             True, "failed"),
    Scenario("过半数：多一票通过", "simple_majority", owners(*[1] * 10), votes(range(1, 7), range(7, 11)),
             True, "passed"),
    Scenario("简单多数不计弃权", "simple_majority", owners(*[1] * 10), votes([1, 2], [3], range(4, 11)),
             True, "passed"),
    Scenario("全体过半数：缺席等于不赞成", "absolute_majority", owners(*[1] * 10), votes(range(1, 6)), True, "failed"),
    Scenario("三分之二以上：恰好三分之二通过", "two_thirds", owners(*[1] * 9), votes(range(1, 7), range(7, 10)), True,
             "passed"),
    Scenario("三分之二以上：差一票不通过", "two_thirds", owners(*[1] * 9), votes(range(1, 6), range(6, 10)), True,
             "failed"),
    Scenario("三分之二以上：弃权算在参与表决之内", "two_thirds", owners(*[1] * 9), votes(range(1, 6), [], range(6, 10)),
             True, "failed"),
    Scenario("四分之三以上：恰好四分之三通过", "three_quarters", owners(*[1] * 8), votes(range(1, 7), [7, 8]), True,
             "passed"),
    Scenario("278：面积过半而人数不过半", "civil_code_278", owners(*AREAS_1000), votes([1, 2, 3], range(4, 11)), True,
             "failed"),
    Scenario("278：人数过半而面积不过半", "civil_code_278", owners(*AREAS_1000), votes(range(3, 9), [1, 2, 9, 10]),
             True, "failed"),
    Scenario("278：面积与人数都过半", "civil_code_278", owners(*AREAS_1000), votes([1, 3, 4, 5, 6, 7], [2, 8, 9, 10]),
             True, "passed"),
    Scenario("278：赞成恰好一半不通过", "civil_code_278", owners(*[100] * 8), votes(range(1, 5), range(5, 9)), True,
             "failed"),
    Scenario("278：参与恰好三分之二即可表决", "civil_code_278", owners(*[100] * 9), votes(range(1, 7)), True, "passed"),
    Scenario("278：参与人数差一人", "civil_code_278", owners(*[100] * 9), votes(range(1, 6)), False, "failed"),
    Scenario("278：人数够三分之二但面积不够", "civil_code_278", owners(500, *[50] * 8), votes(range(2, 10)), False,
             "failed"),
    Scenario("278：面积够三分之二但人数不够", "civil_code_278", owners(500, 300, *[10] * 7), votes([1, 2, 3]), False,
             "failed"),
    Scenario("278 第六至八项：恰好四分之三通过", "civil_code_278_major", owners(*[100] * 8), votes(range(1, 7), [7, 8]),
             True, "passed"),
    Scenario("278 第六至八项：过半数不够", "civil_code_278_major", owners(*[100] * 8), votes(range(1, 6), [6, 7, 8]),
             True, "failed"),
    Scenario("279：全体一致同意", "civil_code_279", owners(*[90] * 5), votes(range(1, 6)), True, "passed"),
    Scenario("279：一人反对即不通过", "civil_code_279", owners(*[90] * 5), votes(range(1, 5), [5]), True, "failed"),
    Scenario("279：一人未表态即不通过", "civil_code_279", owners(*[90] * 5), votes(range(1, 5)), True, "failed"),
    Scenario("村民会议：人数不过半但三分之二的户到会", "villagers_22", village([1, 4, 7]), votes([1, 4], [7]), True,
             "passed"),
    Scenario("村民会议：人数过半，户数不够", "villagers_22", village([1, 2, 3, 4, 5, 6]), votes([1, 2, 3, 4], [5]),
             True, "passed"),
    Scenario("村民会议：恰好一半的人、一半的户", "villagers_22", village([1, 2, 4, 5, 6]), votes([1, 2, 4, 5, 6]),
             False, "failed"),
    Scenario("村民会议：到会未表决的人计入基数", "villagers_22", village([1, 2, 3, 4, 5, 6]), votes([1, 2, 3], [4, 5]),
             True, "failed"),
    Scenario("村民小组会议：三分之二的户", "villagers_28", village([1, 4, 7]), votes([1, 4, 7]), True, "passed"),
    Scenario("村民小组会议：不满三分之二", "villagers_28", village([1, 2, 3, 4, 5, 6]), votes(range(1, 7)), False,
             "failed"),
    Scenario("村民代表会议：恰好三分之二到会", "villagers_26", [Voter(f"o{i}", present=i >= 4) for i in range(1, 10)],
             votes([4, 5, 6, 7], [8, 9]), True, "passed"),
    Scenario("村民代表会议：差一人", "villagers_26", [Voter(f"o{i}", present=i >= 5) for i in range(1, 10)],
             votes([5, 6, 7, 8, 9]), False, "failed"),
    Scenario("居民会议：恰好一半出席不能举行", "residents_9", owners(*[0] * 10), votes(range(1, 6)), False, "failed"),
    Scenario("居民会议：过半数出席，出席人过半数通过", "residents_9",
             [Voter(f"o{i}", present=i <= 6) for i in range(1, 11)], votes([1, 2, 3, 4], [5]), True, "passed"),
]


@pytest.mark.parametrize("case", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_legal_scenario(case: Scenario) -> None:
    result = tally(rule(case.rule), YES_NO, case.voters, case.ballots)
    assert (result.quorum_met, result.outcome) == (case.quorum, case.outcome)
    assert result.passed is (case.outcome == "passed")


def test_area_passing_while_headcount_fails_shows_both_measures() -> None:
    result = tally(rule("civil_code_278"), YES_NO, owners(*AREAS_1000), votes([1, 2, 3], range(4, 11)))
    assert result.approval is not None
    assert result.approval.lines() == [
        "赞成的专有部分面积占参与表决专有部分面积的比例 > 1/2：已达到（562.5/1,000.0 m²）",
        "赞成的人数占参与表决人数的比例 > 1/2：未达到（3/10 人）",
    ]
    assert result.outcome_label == "未通过"


def test_threshold_line_reads_as_the_minutes_print_it() -> None:
    voters = [Voter("big", unit="1-101", area=Fraction("7812.5")),
              Voter("small", unit="1-102", area=Fraction("3147.5"))]
    result = tally(rule("civil_code_278"), YES_NO, voters, [Ballot("big", (YES,))])
    assert result.participation is not None
    assert result.participation.lines() == [
        "参与表决的专有部分面积占比 ≥ 2/3：已达到（7,812.5/10,960.0 m²）",
        "参与表决的人数占比 ≥ 2/3：未达到（1/2 人）",
    ]
    assert not result.quorum_met and result.outcome == "failed"


def test_the_result_prints_rule_counts_thresholds_and_outcome() -> None:
    voters = [Voter("a", unit="1-101", area=Fraction("89.37")), Voter("a", unit="1-102", area=Fraction("120")),
              *owners(*[89.37] * 4)]
    ballots = [Ballot("a", (YES,)), *votes([1, 2], [3])]
    assert tally(rule("civil_code_278"), YES_NO, voters, ballots).lines() == [
        "表决规则：业主共同决定事项（一般事项）（《中华人民共和国民法典》第二百七十八条）",
        "人数：应参与 5 人，参与表决 4 人，赞成 3 人，反对 1 人，弃权 0 人，废票 0 人",
        "专有部分面积：应参与 566.85 m²，参与表决 477.48 m²，赞成 388.11 m²，反对 89.37 m²，弃权 0.0 m²，废票 0.0 m²",
        "参与表决的专有部分面积占比 ≥ 2/3：已达到（477.48/566.85 m²）",
        "参与表决的人数占比 ≥ 2/3：已达到（4/5 人）",
        "赞成的专有部分面积占参与表决专有部分面积的比例 > 1/2：已达到（388.11/477.48 m²）",
        "赞成的人数占参与表决人数的比例 > 1/2：已达到（3/4 人）",
        "表决结果：通过",
    ]


def test_one_head_per_owner_however_many_units() -> None:
    voters = [Voter("A", unit=u, area=Fraction(100)) for u in ("1-101", "1-102", "1-103")]
    voters += [Voter("B", unit="1-201", area=Fraction(100)), Voter("C", unit="1-202", area=Fraction(100))]
    ballots = [Ballot("A", (NO,)), Ballot("B", (YES,)), Ballot("C", (YES,))]
    result = tally(rule("civil_code_278"), YES_NO, voters, ballots)
    heads, area = result.counts["headcount"], result.counts["area"]
    assert (heads.eligible, heads.votes[YES], heads.votes[NO]) == (3, 2, 1)
    assert (area.eligible, area.votes[YES], area.votes[NO]) == (500, 200, 300)
    assert result.outcome == "failed"  # 2 of 3 owners, but only 200 of 500 m²


def test_proxy_and_paper_ballots_are_just_ballots_of_the_represented_voter() -> None:
    result = tally(rule("simple_majority"), YES_NO, owners(1, 1, 1), votes([1], [2], [], [3]))
    heads = result.counts["headcount"]
    assert (heads.participating, heads.valid, heads.invalid) == (3, 2, 1)
    assert result.outcome == "failed"  # 1 of 2 valid votes is not more than half


# -- non-voters counted with the majority (per-council flag) ------------------------------------------

def test_non_voters_join_the_majority_when_the_council_says_so() -> None:
    voters, ballots = owners(*[100] * 9), votes([1, 2, 3], [4, 5], [6])
    plain = tally(rule("civil_code_278"), YES_NO, voters, ballots)
    assert plain.quorum_met and plain.outcome == "failed"  # 3 of 6 participating is not more than half
    council = tally(rule("civil_code_278").for_council(silent_follow_majority=True), YES_NO, voters, ballots)
    assert council.outcome == "passed"
    assert council.approval is not None
    assert council.approval.lines()[1] == "赞成的人数占参与表决人数的比例 > 1/2：已达到（6/9 人）"
    assert council.counts == plain.counts, "what really happened is still printed"
    assert council.silent["headcount"] == YES and council.silent["area"] == YES
    assert "未参与表决的人数按本会议事规则计入多数意见（赞成）" in council.lines()


def test_silence_cannot_make_a_quorum_or_break_a_tie() -> None:
    flagged = rule("civil_code_278").for_council(silent_follow_majority=True)
    no_quorum = tally(flagged, YES_NO, owners(*[100] * 9), votes(range(1, 6)))
    assert not no_quorum.quorum_met and no_quorum.outcome == "failed" and not no_quorum.silent
    tied = tally(flagged, YES_NO, owners(*[100] * 9), votes([1, 2, 3], [4, 5, 6]))
    assert not tied.silent and tied.outcome == "failed"
    against = tally(flagged, YES_NO, owners(*[100] * 9), votes([1, 2], [3, 4, 5, 6]))
    assert against.silent["headcount"] == NO and against.approval is not None
    assert against.approval.thresholds[1].numerator == 2 and against.approval.thresholds[1].denominator == 9


# -- choice polls ----------------------------------------------------------------------------------

PLURALITY = Rule("test.plurality", 1, "得票最多者当选", "得票最多者当选。", None, None)


def choose(poll: Poll, picks: dict[int, tuple[str, ...]], r: Rule = PLURALITY) -> TallyResult:
    return tally(r, poll, owners(*[1] * 12), [Ballot(f"o{i}", c) for i, c in picks.items()],
                 {"a": "张三", "b": "李四", "c": "王五"})


def test_single_choice_most_votes_wins_and_an_equal_top_is_a_tie() -> None:
    poll = Poll.single(["a", "b", "c"])
    won = choose(poll, {1: ("a",), 2: ("a",), 3: ("a",), 4: ("b",), 5: ("b",), 6: ("c",)})
    assert (won.outcome, won.winners, won.tied) == ("passed", ("a",), ())
    assert won.lines()[-1] == "表决结果：通过：张三"
    tie = choose(poll, {1: ("a",), 2: ("a",), 3: ("b",), 4: ("b",), 5: ("c",)})
    assert (tie.outcome, tie.winners, tie.tied) == ("tie", (), ("a", "b"))
    assert tie.lines()[-1] == "表决结果：票数相同，未能决出（票数相同：张三、李四）"


def test_a_choice_poll_option_must_meet_the_approval_rule() -> None:
    poll = Poll.single(["a", "b", "c"])
    result = choose(poll, {1: ("a",), 2: ("a",), 3: ("a",), 4: ("b",), 5: ("b",), 6: ("c",)}, rule("simple_majority"))
    assert result.outcome == "failed" and result.winners == ()  # 3 of 6 is not more than half
    assert result.options[0].approval is not None
    assert result.options[0].approval.lines() == [
        "选项“张三”所得人数占有效表决票（不含弃权）人数的比例 > 1/2：未达到（3/6 人）"]
    elected = choose(poll, {1: ("a",), 2: ("a",), 3: ("a",), 4: ("a",), 5: ("b",), 6: ("c",)}, rule("simple_majority"))
    assert (elected.outcome, elected.winners) == ("passed", ("a",))


def test_multiple_choice_fills_the_seats_and_reports_a_tie_on_the_last_seat() -> None:
    poll = Poll.multiple(["a", "b", "c"], min_choices=1, max_choices=2)
    result = choose(poll, {1: ("a", "b"), 2: ("a", "c"), 3: ("a",), 4: ("b",), 5: ("c",)})
    assert (result.outcome, result.winners, result.tied) == ("tie", ("a",), ("b", "c"))
    clear = choose(poll, {1: ("a", "b"), 2: ("a", "b"), 3: ("c",)})
    assert (clear.outcome, clear.winners) == ("passed", ("a", "b"))


def test_approval_poll_counts_every_approved_option() -> None:
    poll = Poll.approval(["a", "b", "c"])
    result = choose(poll, {1: ("a", "b", "c"), 2: ("b",), 3: ("b", "c")})
    assert result.counts["headcount"].votes == {"a": 1, "b": 3, "c": 2}
    assert result.winners == ("b",)


# -- bad input ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("poll", "ballot", "message"), [
    (YES_NO, Ballot("o1"), "请选择后再提交"),
    (YES_NO, Ballot("o1", (YES, NO)), "只能选一项"),
    (YES_NO, Ballot("o1", ("maybe",)), "没有这个选项：maybe"),
    (YES_NO, Ballot("o1", (YES,), abstain=True), "弃权票不能同时选择选项"),
    (Poll.multiple(["a", "b", "c"], 2, 2), Ballot("o1", ("a",)), "至少要选 2 项"),
    (Poll.multiple(["a", "b", "c"], 1, 2), Ballot("o1", ("a", "b", "c")), "最多只能选 2 项"),
    (Poll.approval(["a", "b"]), Ballot("o1", ("a", "a")), "同一选项不能重复选择"),
])
def test_a_ballot_the_poll_does_not_allow_is_refused_with_a_reason(poll: Poll, ballot: Ballot, message: str) -> None:
    assert poll.check(ballot) == message
    with pytest.raises(VotingError, match=message):
        tally(PLURALITY, poll, owners(1), [ballot])


def test_valid_ballots_pass_the_check() -> None:
    assert YES_NO.check(Ballot("o1", (YES,))) is None
    assert YES_NO.check(Ballot("o1", abstain=True)) is None
    assert YES_NO.check(Ballot("o1", ("anything", "at all"), invalid=True)) is None


def test_inconsistent_input_is_refused() -> None:
    with pytest.raises(VotingError, match="not in the electorate"):
        tally(PLURALITY, YES_NO, owners(1), votes([2]))
    with pytest.raises(VotingError, match="two ballots"):
        tally(PLURALITY, YES_NO, owners(1), votes([1], [1]))
    with pytest.raises(VotingError, match="listed twice"):
        Electorate([Voter("a", unit="1-101"), Voter("b", unit="1-101")])
    with pytest.raises(VotingError, match="negative"):
        Electorate([Voter("a", area=Fraction(-1))])
    with pytest.raises(ValueError):
        Poll.single(["a", "a"])


def test_nobody_eligible_decides_nothing() -> None:
    assert tally(rule("simple_majority"), YES_NO, [], []).outcome == "failed"
    assert tally(rule("civil_code_278"), YES_NO, [], []).outcome == "failed"


# -- properties ----------------------------------------------------------------------------------------

AREA = st.integers(0, 30_000).map(lambda n: Fraction(n, 100))
KINDS = st.sampled_from(["yes", "no", "abstain", "invalid", None])


@st.composite
def polls(draw: st.DrawFn) -> tuple[list[Voter], list[Ballot]]:
    """An electorate of owners holding one to three units each, and the ballots of some of them."""
    voters: list[Voter] = []
    ballots: list[Ballot] = []
    for n in range(draw(st.integers(0, 14))):
        owner = f"p{n}"
        for k in range(draw(st.integers(1, 3))):
            voters.append(Voter(owner, unit=f"{n}-{k}", household=draw(st.sampled_from(["", "h1", "h2", "h3"])),
                                area=draw(AREA), weight=Fraction(draw(st.integers(0, 3))), present=draw(st.booleans())))
        kind = draw(KINDS)
        if kind in ("yes", "no"):
            ballots.append(Ballot(owner, (kind,)))
        elif kind is not None:
            ballots.append(Ballot(owner, abstain=kind == "abstain", invalid=kind == "invalid"))
    return voters, ballots


RULE_IDS = st.sampled_from(sorted(shared_rules()))


@settings(max_examples=150, deadline=None)
@given(polls(), RULE_IDS, st.randoms(use_true_random=False), st.booleans())
def test_order_of_ballots_and_roster_does_not_matter(data: tuple[list[Voter], list[Ballot]], rule_id: str,
                                                      rnd: random.Random, silent: bool) -> None:
    voters, ballots = data
    r = rule(rule_id).for_council(silent_follow_majority=silent)
    first = tally(r, YES_NO, voters, ballots)
    shuffled_voters, shuffled_ballots = voters[:], ballots[:]
    rnd.shuffle(shuffled_voters)
    rnd.shuffle(shuffled_ballots)
    assert tally(r, YES_NO, shuffled_voters, shuffled_ballots) == first


@settings(max_examples=150, deadline=None)
@given(polls(), RULE_IDS)
def test_totals_add_up_and_area_and_weight_are_respected(data: tuple[list[Voter], list[Ballot]], rule_id: str) -> None:
    voters, ballots = data
    result = tally(rule(rule_id), YES_NO, voters, ballots)
    by_voter = {b.voter: b for b in ballots}
    for measure, c in result.counts.items():
        assert 0 <= c.valid <= c.participating <= c.present <= c.eligible
        if measure != "household":  # two voters of one household are one household on either side
            assert c.votes[YES] + c.votes[NO] == c.valid
            assert c.valid + c.abstain + c.invalid == c.participating
    area, weight, heads = result.counts["area"], result.counts["weight"], result.counts["headcount"]
    assert area.eligible == sum(v.area for v in voters)
    assert area.votes[YES] == sum(v.area for v in voters if v.id in by_voter and by_voter[v.id].choices == (YES,))
    assert weight.votes[NO] == sum(v.weight for v in voters if v.id in by_voter and by_voter[v.id].choices == (NO,))
    assert heads.eligible == len({v.id for v in voters}), "one head per owner, however many units"
    assert heads.participating == len(ballots)
    assert heads.present == len({v.id for v in voters if v.present} | set(by_voter))


@settings(max_examples=150, deadline=None)
@given(polls(), RULE_IDS)
def test_splitting_a_unit_changes_neither_heads_nor_the_outcome(data: tuple[list[Voter], list[Ballot]],
                                                                 rule_id: str) -> None:
    voters, ballots = data
    split: list[Voter] = []
    for v in voters:  # the same owner, the same area, now as two units of the same household
        half = v.area / 2
        split += [Voter(v.id, f"{v.unit}a", v.household, half, v.weight, v.present),
                  Voter(v.id, f"{v.unit}b", v.household, v.area - half, Fraction(0), v.present)]
    before, after = tally(rule(rule_id), YES_NO, voters, ballots), tally(rule(rule_id), YES_NO, split, ballots)
    assert after.counts == before.counts and after.outcome == before.outcome


@settings(max_examples=150, deadline=None)
@given(polls(), RULE_IDS, st.data())
def test_one_more_yes_never_turns_a_pass_into_a_fail(data: tuple[list[Voter], list[Ballot]], rule_id: str,
                                                     more: st.DataObject) -> None:
    voters, ballots = data
    others = [i for i, b in enumerate(ballots) if b.choices != (YES,)]
    if not others:
        return
    index = more.draw(st.sampled_from(others))
    changed = [*ballots[:index], Ballot(ballots[index].voter, (YES,)), *ballots[index + 1:]]
    if tally(rule(rule_id), YES_NO, voters, ballots).passed:
        assert tally(rule(rule_id), YES_NO, voters, changed).passed
