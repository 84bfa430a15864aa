"""Show-of-hands parsing and outcome: pure logic, checked exhaustively around the boundaries."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.meetings.handcount import MAX_HANDS, Counts, parse_counts, rule_label


@given(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500))
def test_passes_exactly_when_yes_is_more_than_half_of_the_valid_votes(yes: int, no: int, abstain: int) -> None:
    """The simple_majority profile: 赞成 > 1/2 of 赞成 + 反对; abstentions are left out."""
    counts = Counts(yes, no, abstain)
    total = yes + no + abstain
    assert counts.total == total
    assert counts.passed == (yes + no > 0 and 2 * yes > yes + no)
    assert counts.outcome_label == ("通过" if counts.passed else "未通过")


@given(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))
def test_a_show_of_hands_agrees_with_a_poll_under_simple_majority(yes: int, no: int, abstain: int) -> None:
    """The same hands as ballots of a yes/no poll, counted by the voting engine: the same outcome."""
    from core.voting.loader import shared_rules
    from core.voting.tally import Ballot, Poll, Voter, tally

    voters = [Voter(f"v{i}") for i in range(yes + no + abstain)]
    ballots = ([Ballot(f"v{i}", ("yes",)) for i in range(yes)]
               + [Ballot(f"v{yes + i}", ("no",)) for i in range(no)]
               + [Ballot(f"v{yes + no + i}", abstain=True) for i in range(abstain)])
    if not voters:
        return
    result = tally(shared_rules()["simple_majority"], Poll.yes_no(), voters, ballots)
    assert Counts(yes, no, abstain).passed == result.passed


def test_exactly_half_does_not_pass_and_abstentions_do_not_count_against() -> None:
    """过半数 excludes the half itself (民法典 第1259条); 弃权 is not a vote against."""
    assert not Counts(5, 5, 0).passed
    assert not Counts(5, 5, 3).passed
    assert Counts(4, 3, 1).passed  # 4 of 7 valid votes, though not half of the 8 hands
    assert Counts(2, 1, 9).passed
    assert not Counts(0, 0, 6).passed  # nobody chose a side: nothing is decided
    assert Counts(5, 4, 0).passed
    assert rule_label() == "简单多数（赞成票多于反对票）"


def test_parse_good_counts() -> None:
    counts, errors = parse_counts({"yes": " 7 ", "no": "1", "abstain": "0"})
    assert errors == {} and counts == Counts(7, 1, 0)


def test_parse_reports_each_bad_field() -> None:
    counts, errors = parse_counts({"yes": "七", "no": "-1", "abstain": ""})
    assert counts is None
    assert errors == {"yes": "赞成人数必须是 0 或正整数", "no": "反对人数必须是 0 或正整数",
                      "abstain": "请填写弃权人数"}


@given(st.text(max_size=20))
def test_parse_never_crashes_and_accepts_only_ascii_digits(raw: str) -> None:
    counts, errors = parse_counts({"yes": raw, "no": "0", "abstain": "0"})
    stripped = raw.strip()
    valid = stripped.isascii() and stripped.isdigit() and 0 < int(stripped) <= MAX_HANDS
    assert (counts is not None) == valid
    assert (errors == {}) == valid


def test_parse_rejects_huge_and_all_zero() -> None:
    _, errors = parse_counts({"yes": str(MAX_HANDS + 1), "no": "0", "abstain": "0"})
    assert errors == {"yes": f"赞成人数不能超过 {MAX_HANDS}"}
    counts, errors = parse_counts({"yes": "0", "no": "0", "abstain": "0"})
    assert counts is None and errors == {"yes": "至少要有一人表决"}
