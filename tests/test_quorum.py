"""Quorum rules (法定人数): 过半数/超过 exclude the number, 以上 includes it — exact fractions."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.meetings.quorum import QuorumRuleError, parse_rule


def test_legacy_half_means_more_than_half() -> None:
    rule = parse_rule("1/2")
    assert rule == parse_rule(">1/2")
    assert rule.label == "超过半数（过半数）"
    assert not rule.met(5, 10)  # exactly half is not 过半数
    assert rule.met(6, 10)


def test_two_thirds_includes_the_number() -> None:
    rule = parse_rule(">=2/3")
    assert rule.label == "三分之二以上（含本数）"
    assert rule.met(6, 9)  # exactly two thirds is 三分之二以上
    assert not rule.met(5, 9)
    assert rule.needed(9) == 6
    assert parse_rule(">1/2").needed(9) == 5
    assert parse_rule(">1/2").needed(10) == 6


def test_nobody_expected_is_no_quorum() -> None:
    assert not parse_rule(">1/2").met(0, 0)
    assert not parse_rule(">=2/3").met(0, 0)


@pytest.mark.parametrize("text", ["", "   ", "half", "1/0", "0/2", "3/2", ">1/1", "2/3/4", ">=-1/2", "1/200",
                                  ">=一/二", "1/2 or more", ">= 1 / 2x"])
def test_bad_rules_are_clear_errors(text: str) -> None:
    with pytest.raises(QuorumRuleError) as exc:
        parse_rule(text)
    assert "法定人数" in str(exc.value)


@given(expected=st.integers(min_value=1, max_value=500))
def test_exactly_half_never_meets_more_than_half(expected: int) -> None:
    rule = parse_rule(">1/2")
    if expected % 2 == 0:
        assert not rule.met(expected // 2, expected)
    assert rule.met(expected // 2 + 1, expected)  # one more than half (rounded down) always is
    assert not rule.met(expected // 2, expected) or expected % 2 == 1  # half rounded down only for odd counts


@given(expected=st.integers(min_value=1, max_value=500), present=st.integers(min_value=0, max_value=500))
def test_rules_match_exact_fractions(expected: int, present: int) -> None:
    share = Fraction(present, expected)
    assert parse_rule(">1/2").met(present, expected) == (2 * present > expected)
    assert parse_rule(">=2/3").met(present, expected) == (3 * present >= 2 * expected)
    assert parse_rule(">=2/3").met(present, expected) == (share >= Fraction(2, 3))


@given(k=st.integers(min_value=1, max_value=200))
def test_exactly_two_thirds_meets_inclusive_but_not_exclusive(k: int) -> None:
    assert parse_rule(">=2/3").met(2 * k, 3 * k)
    assert not parse_rule(">2/3").met(2 * k, 3 * k)
    assert not parse_rule(">=2/3").met(2 * k - 1, 3 * k)


@given(expected=st.integers(min_value=1, max_value=300))
def test_needed_is_the_boundary(expected: int) -> None:
    for text in (">1/2", ">=2/3", ">=3/4", "1/2"):
        rule = parse_rule(text)
        n = rule.needed(expected)
        assert rule.met(n, expected)
        assert n == 0 or not rule.met(n - 1, expected)
