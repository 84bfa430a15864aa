"""Quorum rules (法定人数): how many of the members expected (应到) must be present. Pure logic, no I/O.

``Council.quorum`` holds the rule as text: ``">1/2"`` (超过半数, 过半数), ``">=2/3"`` (三分之二以上),
and the legacy ``"1/2"``, which has always meant "more than half". Chinese law counts the words
exactly (民法典 第1259条): "以上、以下" include the number itself, "过半数、超过" exclude it — so the
comparison is ``>`` or ``>=`` on exact fractions, never floats: 6 of 9 meets ``>=2/3``, 6 of 12
does not meet ``>1/2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from core.i18n import _

#: Longer than any rule the column (Varchar 10) holds; anything longer is not a rule.
MAX_RULE = 10
#: Denominators a council would write (半数, 三分之二, 四分之三 …); larger ones are a typo.
MAX_DENOMINATOR = 99
_NUMERALS = "零一二三四五六七八九十"


class QuorumRuleError(ValueError):
    """A quorum rule that cannot be read; the message says what is wrong, for the person setting it."""


def _cn(n: int) -> str:
    """A small number in Chinese numerals (1–99), for 三分之二 rather than 3分之2."""
    if n <= 10:
        return _NUMERALS[n]
    tens, ones = divmod(n, 10)
    return f"{'' if tens == 1 else _NUMERALS[tens]}十{_NUMERALS[ones] if ones else ''}"


@dataclass(frozen=True)
class QuorumRule:
    """More than (``inclusive=False``) or at least (``inclusive=True``) ``fraction`` of 应到 present."""

    fraction: Fraction
    inclusive: bool

    @property
    def text(self) -> str:
        """The rule as stored: ``">1/2"`` or ``">=2/3"``."""
        return f"{'>=' if self.inclusive else '>'}{self.fraction.numerator}/{self.fraction.denominator}"

    @property
    def label(self) -> str:
        """The rule in words, as the console and the minutes state it."""
        f = self.fraction
        if f == 1:
            return _("全体应到人员出席")
        if f == Fraction(1, 2):
            return _("半数以上（含半数）") if self.inclusive else _("超过半数（过半数）")
        name = f"{_cn(f.denominator)}分之{_cn(f.numerator)}"  # MAX_DENOMINATOR keeps both below 100
        return (_("{fraction}以上（含本数）") if self.inclusive else _("超过{fraction}")).format(fraction=name)

    def met(self, present: int, expected: int) -> bool:
        """Whether ``present`` of ``expected`` meets the rule. With nobody expected it is not met:
        a council without members cannot decide anything."""
        if expected <= 0 or present < 0:
            return False
        share = Fraction(present, expected)
        return share >= self.fraction if self.inclusive else share > self.fraction

    def needed(self, expected: int) -> int:
        """The fewest present that meet the rule (for "还差 N 人"); ``expected + 1`` if none can."""
        return next((n for n in range(expected + 1) if self.met(n, expected)), expected + 1)


def parse_rule(text: str | None) -> QuorumRule:
    """Read a council's rule; :class:`QuorumRuleError` says, in Chinese, why it cannot be read."""
    raw = (text or "").strip().replace("＞", ">").replace("＝", "=").replace("／", "/").replace("≥", ">=")
    if not raw:
        raise QuorumRuleError(_("没有设置法定人数规则。"))
    if len(raw) > MAX_RULE:
        raise QuorumRuleError(_("法定人数规则“{rule}”太长，应写成 >1/2 或 >=2/3。").format(rule=raw[:20]))
    if raw.startswith(">="):
        inclusive, body = True, raw[2:]
    elif raw.startswith(">"):
        inclusive, body = False, raw[1:]
    else:
        inclusive, body = False, raw  # legacy "1/2": it has always meant more than half (过半数)
    num, sep, den = body.partition("/")
    if (not sep or not num.isascii() or not num.isdigit() or not den.isascii() or not den.isdigit()
            or len(num) > 3 or len(den) > 3):
        raise QuorumRuleError(_("法定人数规则“{rule}”无法识别，应写成 >1/2（过半数）或 >=2/3（三分之二以上）。")
                              .format(rule=raw))
    n, d = int(num), int(den)
    if d == 0 or n == 0 or n > d or d > MAX_DENOMINATOR:
        raise QuorumRuleError(_("法定人数规则“{rule}”的比例应在 0 和 1 之间，如 >1/2 或 >=2/3。").format(rule=raw))
    if n == d and not inclusive:
        raise QuorumRuleError(_("法定人数规则“{rule}”永远无法满足：出席人数不可能超过全体。").format(rule=raw))
    return QuorumRule(Fraction(n, d), inclusive)


__all__ = ["QuorumRule", "QuorumRuleError", "parse_rule"]
