"""Show-of-hands parsing and outcome: pure logic, checked exhaustively around the boundaries."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from core.meetings.handcount import MAX_HANDS, Counts, parse_counts


@given(st.integers(0, 500), st.integers(0, 500), st.integers(0, 500))
def test_passes_exactly_when_yes_is_more_than_half(yes: int, no: int, abstain: int) -> None:
    counts = Counts(yes, no, abstain)
    total = yes + no + abstain
    assert counts.total == total
    assert counts.passed == (total > 0 and 2 * yes > total)
    assert counts.outcome_label == ("通过" if counts.passed else "未通过")


def test_exactly_half_does_not_pass() -> None:
    """过半数 excludes the half itself (民法典 第1259条)."""
    assert not Counts(5, 5, 0).passed
    assert not Counts(4, 3, 1).passed
    assert Counts(5, 4, 0).passed
    assert Fraction(5, 10) == Fraction(1, 2)


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
