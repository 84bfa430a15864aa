"""Voting rules (表决规则): what share of whom must take part and agree. Pure data, no I/O.

A :class:`Rule` is a participation condition and an approval condition, either of which may be
absent. A condition is one or more :class:`Threshold` combined with AND (``all``) or OR (``any``);
a threshold compares, as exact fractions, a number of people (or their area, households or weight)
with a base:

- ``count`` — who is counted: ``present`` (到会), ``participating`` (cast a ballot, 参与表决) or
  ``in_favour`` (赞成, or voted for the option being judged);
- ``base`` — out of whom: ``eligible`` (the whole electorate, 全体), ``present``, ``participating``
  or ``valid`` (ballots that chose something: 赞成 + 反对, or any option; abstentions and spoilt
  ballots left out — the base of a "simple majority of votes cast");
- ``measure`` — what is added up: ``headcount`` (one head per voter — per OWNER, however many units
  they hold, 最高法 建筑物区分所有权 司法解释 第9条), ``area`` (专有部分面积), ``household`` (户: a
  household counts when any of its voters does — 村民委员会组织法 第22条 "户的代表") or ``weight``;
- ``comparison`` — ``>=`` for 以上/不少于 (the number itself included) and ``>`` for 过半数/超过
  (excluded), as 民法典 第1259条 counts the words.

The bases nest: eligible ⊇ present ⊇ participating ⊇ valid ⊇ in favour (a voter who cast a ballot
counts as present, in person or by proxy), and a threshold's ``count`` must sit strictly inside its
``base``.

"Non-voters count with the majority" (未参与表决的业主计入多数, 住建部《业主大会和业主委员会指导规则》
第26条) is a per-council setting, off by default. It is a field of the rule, ``silent_follow_majority``,
so the rule a result prints says whether it applied; a council's setting turns it on with
:meth:`Rule.for_council`. It changes only the approval count of a yes/no poll: participation is
always what really happened (silence cannot make a quorum), and once the participation condition is
judged, for each measure the non-voters are added to 赞成 if 赞成 > 反对 among the ballots, to 反对 if
反对 > 赞成, and to nobody on a tie — and to the ``present``, ``participating`` and ``valid`` bases
with them, since they are deemed to have voted.

The built-in profiles live in ``forms/rules/*.toml`` (:mod:`core.voting.specs`); docs/voting.md has
the format and the profiles.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal

from core.i18n import N_, _

Comparison = Literal[">=", ">"]
Base = Literal["eligible", "present", "participating", "valid"]
Count = Literal["present", "participating", "in_favour"]
Measure = Literal["headcount", "area", "household", "weight"]
Combine = Literal["all", "any"]

COMPARISONS: tuple[str, ...] = (">=", ">")
BASES: tuple[str, ...] = ("eligible", "present", "participating", "valid")
COUNTS: tuple[str, ...] = ("present", "participating", "in_favour")
MEASURES: tuple[str, ...] = ("headcount", "area", "household", "weight")
COMBINES: tuple[str, ...] = ("all", "any")

NESTING: tuple[str, ...] = ("eligible", "present", "participating", "valid", "in_favour")
"""Bases and counts from the widest to the narrowest; a count must come after its base."""


MEASURE_LABELS: dict[str, str] = {
    "headcount": N_("人数"),
    "area": N_("专有部分面积"),
    "household": N_("户数"),
    "weight": N_("票权"),
}
COUNT_LABELS: dict[str, str] = {
    "present": N_("到会的"),
    "participating": N_("参与表决的"),
    "in_favour": N_("赞成的"),
}
BASE_LABELS: dict[str, str] = {
    "eligible": N_("全体"),
    "present": N_("到会"),
    "participating": N_("参与表决"),
    "valid": N_("有效表决票（不含弃权）"),
}
COMBINE_LABELS: dict[str, str] = {"all": N_("并且"), "any": N_("或者")}

_NUMERALS = "零一二三四五六七八九十"


def _cn(n: int) -> str:
    """A small number in Chinese numerals (1–99), for 三分之二 rather than 3分之2."""
    if n <= 10:
        return _NUMERALS[n]
    tens, ones = divmod(n, 10)
    return f"{'' if tens == 1 else _NUMERALS[tens]}十{_NUMERALS[ones] if ones else ''}"


def fraction_text(value: Fraction) -> str:
    """``2/3`` — how the rule is written in the TOML and printed beside ≥ or >."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


@dataclass(frozen=True)
class Threshold:
    """``count`` measured by ``measure`` must be ``comparison`` ``fraction`` of ``base``.

    ``Threshold("participating", "area", "eligible", ">=", Fraction(2, 3))`` is 民法典 第278条's
    "专有部分面积占比三分之二以上的业主参与表决".
    """

    count: Count
    measure: Measure
    base: Base
    comparison: Comparison
    fraction: Fraction

    def met(self, numerator: Fraction, denominator: Fraction) -> bool:
        """Whether ``numerator`` of ``denominator`` meets the threshold.

        An empty base meets nothing: a poll nobody could answer (or nobody answered) decides nothing.
        """
        if denominator <= 0:
            return False
        share = Fraction(numerator) / Fraction(denominator)
        return share >= self.fraction if self.comparison == ">=" else share > self.fraction

    @property
    def symbol(self) -> str:
        return "≥" if self.comparison == ">=" else ">"

    @property
    def words(self) -> str:
        """The threshold in the law's words: 三分之二以上, 过半数, 超过四分之三, 全体."""
        f = self.fraction
        if f == 1 and self.comparison == ">=":
            return _("全部")
        if f == Fraction(1, 2):
            return _("半数以上（含半数）") if self.comparison == ">=" else _("过半数")
        name = f"{_cn(f.denominator)}分之{_cn(f.numerator)}" if f.denominator < 100 else fraction_text(f)
        return (_("{fraction}以上（含本数）") if self.comparison == ">=" else _("超过{fraction}")).format(fraction=name)

    def subject(self, counted: str | None = None) -> str:
        """What is compared, in Chinese: "参与表决的专有部分面积占比" or "赞成的人数占参与表决人数的比例".

        ``counted`` replaces the count's label ("赞成的"), e.g. "选项“张三”所得" for a choice poll.
        """
        measure = _(MEASURE_LABELS[self.measure])
        count = counted if counted is not None else _(COUNT_LABELS[self.count])
        if self.base == "eligible":
            return _("{count}{measure}占比").format(count=count, measure=measure)
        return _("{count}{measure}占{base}{measure}的比例").format(
            count=count, base=_(BASE_LABELS[self.base]), measure=measure)

    def describe(self, counted: str | None = None) -> str:
        """"参与表决的专有部分面积占比 ≥ 2/3" — the threshold as the result page and the minutes print it."""
        return f"{self.subject(counted)} {self.symbol} {fraction_text(self.fraction)}"


@dataclass(frozen=True)
class Condition:
    """Thresholds that must all hold (``all``, AND) or of which one must hold (``any``, OR)."""

    thresholds: tuple[Threshold, ...]
    combine: Combine = "all"

    def decide(self, results: tuple[bool, ...]) -> bool:
        """Combine the thresholds' results (in the order of :attr:`thresholds`)."""
        return all(results) if self.combine == "all" else any(results)

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.measure for t in self.thresholds))

    def describe(self) -> str:
        joiner = f" {_(COMBINE_LABELS[self.combine])} "
        return joiner.join(t.describe() for t in self.thresholds)


@dataclass(frozen=True)
class Rule:
    """A voting rule: its id and version, its name and article for people, and its two conditions.

    ``article`` is the text of the law (or of the council's own rules) shown in the UI and the
    minutes; ``citation`` a short reference such as "《民法典》第二百七十八条". Either condition may
    be ``None``: no participation condition means any turnout will do; no approval condition means
    the poll only records turnout (passed when the participation condition holds) or, for a choice
    poll, that the most votes win.
    """

    id: str
    version: int
    name: str
    article: str
    participation: Condition | None
    approval: Condition | None
    citation: str = ""
    silent_follow_majority: bool = False
    """Non-voters are counted with the majority of a yes/no poll (see the module docstring)."""
    source: str = ""

    def for_council(self, *, silent_follow_majority: bool) -> Rule:
        """This rule as a council applies it, with its "non-voters count with the majority" setting."""
        return replace(self, silent_follow_majority=silent_follow_majority)

    @property
    def measures(self) -> tuple[str, ...]:
        """Every measure the rule compares, participation first."""
        found: dict[str, None] = {}
        for condition in (self.participation, self.approval):
            if condition is not None:
                found.update(dict.fromkeys(condition.measures))
        return tuple(found)

    def describe(self) -> str:
        """Both conditions in one line each, for a summary under the rule's name."""
        lines = []
        if self.participation is not None:
            lines.append(_("参与条件：{condition}").format(condition=self.participation.describe()))
        if self.approval is not None:
            lines.append(_("通过条件：{condition}").format(condition=self.approval.describe()))
        if self.silent_follow_majority:
            lines.append(_("未参与表决者计入多数意见"))
        return "\n".join(lines)


def threshold_problem(count: str, base: str) -> tuple[str, str] | None:
    """Why ``count`` cannot be measured against ``base`` (Chinese, English), or ``None`` if it can."""
    if NESTING.index(count) <= NESTING.index(base):
        return (f"count = {count!r} 不能以 base = {base!r} 为基数：被计数的人必须包含在基数之内且范围更小"
                "（全体 ⊇ 到会 ⊇ 参与表决 ⊇ 有效表决 ⊇ 赞成）",
                f"count = {count!r} cannot be measured against base = {base!r}: the counted people must be a "
                "narrower part of the base (eligible ⊇ present ⊇ participating ⊇ valid ⊇ in_favour)")
    return None


__all__ = [
    "BASES", "BASE_LABELS", "COMBINES", "COMPARISONS", "COUNTS", "COUNT_LABELS", "MEASURES", "MEASURE_LABELS",
    "Base", "Combine", "Comparison", "Condition", "Count", "Measure", "Rule", "Threshold", "fraction_text",
    "threshold_problem",
]
