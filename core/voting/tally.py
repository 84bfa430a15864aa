"""The tally (计票): an electorate, the ballots and a rule → a :class:`TallyResult`. Pure logic, no I/O.

The ballot layer snapshots the electorate when a poll opens (one :class:`Voter` entry per roster
row: an owner of three flats is three entries with the same ``id``), checks each ballot with
:meth:`Poll.check` before storing it, and calls :func:`tally` when the poll closes — or whenever the
chair's screen needs the count. Everything is exact (:class:`~fractions.Fraction`); the result
carries every number the minutes print, per measure:

- 人数 (``headcount``) — one head per voter id, however many units it holds (最高法 建筑物区分所有权
  司法解释 第9条: one buyer of several units counts as one owner; the developer's unsold units are one
  voter id, ``"developer"``, in the roster);
- 面积 (``area``) — the sum of the voter's units' 专有部分面积;
- 户数 (``household``) — distinct households (an entry without one is its own household);
- 票权 (``weight``) — the sum of the entries' weights (1 each unless the roster says otherwise).

A ballot belongs to a voter id (the represented person when a proxy votes: who acted is the ballot
layer's record, not the tally's). Abstentions (弃权) and spoilt ballots (废票, ``invalid``) count as
participating but not as valid; a voter who cast any ballot counts as present.

Who wins a choice poll: every option is judged against the rule's approval condition with the
option's votes as the "in favour" count; of those that meet it, the ``seats`` with the most votes
(in the first measure of the approval condition, 人数 when there is none) win; equal votes across
the last seat make a tie, which the result reports instead of picking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Literal

from core.errors import YishiError
from core.i18n import N_, _, spec_text
from core.voting.rules import MEASURE_LABELS, MEASURES, Condition, Rule, Threshold, fraction_text

Method = Literal["yes_no", "single", "multiple", "approval"]
Outcome = Literal["passed", "failed", "tie"]
METHODS: tuple[str, ...] = ("yes_no", "single", "multiple", "approval")
YES, NO = "yes", "no"
MAX_DECIMALS = 4
"""Areas are printed exactly up to this many decimals (the register has two); beyond, rounded with ≈."""


OUTCOME_LABELS: dict[str, str] = {"passed": N_("通过"), "failed": N_("未通过"), "tie": N_("票数相同，未能决出")}
UNITS: dict[str, str] = {"headcount": N_("人"), "household": N_("户"), "area": "m²", "weight": ""}


class VotingError(YishiError):
    """The tally's input is inconsistent (a ballot from outside the electorate, two ballots from one
    voter, a ballot the poll does not allow …): a bug in the layer that should have refused it."""


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Voter:
    """One roster entry of the electorate snapshot. Entries sharing ``id`` are one voter with several units."""

    id: str
    unit: str = ""
    """The 专有部分 (room) or seat this entry stands for; unique across the electorate when given."""
    household: str = ""
    area: Fraction = Fraction(0)
    """专有部分面积 in m², exact (``Fraction("89.37")``)."""
    weight: Fraction = Fraction(1)
    present: bool = False
    """Marked present at the meeting (签到); a voter who casts a ballot counts as present anyway."""


@dataclass(frozen=True)
class Member:
    """A voter after merging its entries: every unit, household, the summed area and weight."""

    id: str
    units: tuple[str, ...]
    households: frozenset[str]
    area: Fraction
    weight: Fraction
    present: bool


class Electorate:
    """The voters of a poll, merged by id. Raises :class:`VotingError` for a unit listed twice, an
    (id, unit) pair listed twice, or a negative area or weight."""

    def __init__(self, voters: Iterable[Voter]) -> None:
        grouped: dict[str, list[Voter]] = {}
        unit_owner: dict[str, str] = {}
        for voter in voters:
            if not voter.id:
                raise VotingError("voter without id")
            if voter.area < 0 or voter.weight < 0:
                raise VotingError(f"voter {voter.id!r}: negative area or weight")
            if voter.unit:
                if voter.unit in unit_owner:
                    raise VotingError(f"unit {voter.unit!r} listed twice ({unit_owner[voter.unit]!r}, {voter.id!r})")
                unit_owner[voter.unit] = voter.id
            grouped.setdefault(voter.id, []).append(voter)
        self.members: Mapping[str, Member] = MappingProxyType({
            voter_id: Member(
                id=voter_id,
                units=tuple(e.unit for e in entries if e.unit),
                households=frozenset(e.household or f"\0{voter_id}" for e in entries),
                area=sum((Fraction(e.area) for e in entries), Fraction(0)),
                weight=sum((Fraction(e.weight) for e in entries), Fraction(0)),
                present=any(e.present for e in entries),
            )
            for voter_id, entries in grouped.items()
        })

    def __contains__(self, voter_id: object) -> bool:
        return voter_id in self.members

    def __len__(self) -> int:
        return len(self.members)

    def measure(self, measure: str, voter_ids: Iterable[str]) -> Fraction:
        """The ``measure`` of a set of voters: heads, households, area or weight."""
        members = [self.members[v] for v in set(voter_ids)]
        if measure == "headcount":
            return Fraction(len(members))
        if measure == "household":
            return Fraction(len(frozenset().union(*(m.households for m in members))))
        if measure == "area":
            return sum((m.area for m in members), Fraction(0))
        if measure == "weight":
            return sum((m.weight for m in members), Fraction(0))
        raise ValueError(f"unknown measure {measure!r}")


@dataclass(frozen=True)
class Ballot:
    """What one voter cast: ``choices`` (``("yes",)``/``("no",)`` for a yes/no poll, option ids
    otherwise), or an abstention (弃权), or a spoilt paper ballot (废票, ``invalid``)."""

    voter: str
    choices: tuple[str, ...] = ()
    abstain: bool = False
    invalid: bool = False


@dataclass(frozen=True)
class Poll:
    """How a poll is answered: the method, the options (ids) and how many may be chosen.

    Build one with :meth:`yes_no`, :meth:`single`, :meth:`multiple` or :meth:`approval`.
    ``seats`` is how many options win a choice poll (1 unless given; ``max_choices`` for multiple).
    """

    method: Method
    options: tuple[str, ...]
    min_choices: int = 1
    max_choices: int = 1
    seats: int = 1

    @classmethod
    def yes_no(cls) -> Poll:
        return cls("yes_no", (YES, NO))

    @classmethod
    def single(cls, options: Sequence[str]) -> Poll:
        return cls("single", tuple(options))

    @classmethod
    def multiple(cls, options: Sequence[str], min_choices: int = 1, max_choices: int | None = None,
                 seats: int | None = None) -> Poll:
        top = len(options) if max_choices is None else max_choices
        return cls("multiple", tuple(options), min_choices, top, top if seats is None else seats)

    @classmethod
    def approval(cls, options: Sequence[str], seats: int = 1) -> Poll:
        return cls("approval", tuple(options), 1, len(options), seats)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown method {self.method!r}")
        if len(set(self.options)) != len(self.options) or len(self.options) < 2 or not all(self.options):
            raise ValueError("a poll needs at least two distinct, non-empty options")
        count = len(self.options)
        if not 1 <= self.min_choices <= self.max_choices <= count or not 1 <= self.seats <= count:
            raise ValueError("need 1 <= min_choices <= max_choices <= options and 1 <= seats <= options")

    def check(self, ballot: Ballot) -> str | None:
        """Why the poll cannot take this ballot, in Chinese for the voter (``None``: it can).

        The ballot layer calls it before storing; :func:`tally` refuses a ballot it rejects.
        """
        if ballot.invalid:
            return None  # a spoilt paper ballot is recorded as such, whatever was marked on it
        if ballot.abstain:
            return _("弃权票不能同时选择选项") if ballot.choices else None
        choices = ballot.choices
        if not choices:
            return _("请选择后再提交")
        if len(set(choices)) != len(choices):
            return _("同一选项不能重复选择")
        unknown = [c for c in choices if c not in self.options]
        if unknown:
            return _("没有这个选项：{option}").format(option=unknown[0])
        if len(choices) < self.min_choices:
            return _("至少要选 {n} 项").format(n=self.min_choices)
        if len(choices) > self.max_choices:
            return _("最多只能选 {n} 项").format(n=self.max_choices) if self.max_choices > 1 else _("只能选一项")
        return None


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------

def _decimal(value: Fraction) -> Decimal:
    """A fraction with a short terminating decimal expansion, exactly (3.11's Fraction cannot format)."""
    return Decimal(value.numerator) / Decimal(value.denominator)


def format_amount(value: Fraction, measure: str) -> str:
    """A number as the minutes print it: ``7,812.5`` m², ``6`` 人; exact unless it needs > 4 decimals."""
    value = Fraction(value)
    if measure in ("headcount", "household") and value.denominator == 1:
        return f"{value.numerator:,}"
    for places in range(1, MAX_DECIMALS + 1):
        if (value * 10**places).denominator == 1:
            return f"{_decimal(value):,.{places}f}"
    return f"≈{_decimal(round(value, 2)):,.2f}"


def _unit(measure: str) -> str:
    unit = UNITS[measure]
    return _(unit) if unit and unit != "m²" else unit


@dataclass(frozen=True)
class MeasureCount:
    """One measure of the poll: the electorate and the ballots added up."""

    measure: str
    eligible: Fraction
    present: Fraction
    participating: Fraction
    valid: Fraction
    abstain: Fraction
    invalid: Fraction
    votes: Mapping[str, Fraction]
    """Option id → its votes (``yes``/``no`` for a yes/no poll)."""

    @property
    def not_voted(self) -> Fraction:
        return self.eligible - self.participating

    @property
    def label(self) -> str:
        return _(MEASURE_LABELS[self.measure])

    def amount(self, value: Fraction) -> str:
        unit = _unit(self.measure)
        return f"{format_amount(value, self.measure)} {unit}".rstrip()

    def get(self, name: str, option: str | None = None) -> Fraction:
        """A count or base by name; ``in_favour`` is the votes for ``option`` (``yes`` by default)."""
        if name == "in_favour":
            return self.votes.get(option or YES, Fraction(0))
        return getattr(self, name)


@dataclass(frozen=True)
class ThresholdResult:
    threshold: Threshold
    numerator: Fraction
    denominator: Fraction
    met: bool
    counted: str | None = None
    """Replaces "赞成的" in the description (the option's name in a choice poll)."""

    def describe(self) -> str:
        """"参与表决的专有部分面积占比 ≥ 2/3：已达到（7,812.5/10,960.0 m²）"."""
        measure = self.threshold.measure
        unit = _unit(measure)
        numbers = f"{format_amount(self.numerator, measure)}/{format_amount(self.denominator, measure)}"
        numbers += f" {unit}" if unit else ""
        state = _("已达到") if self.met else _("未达到")
        return f"{self.threshold.describe(self.counted)}：{state}（{numbers}）"


@dataclass(frozen=True)
class ConditionResult:
    condition: Condition
    thresholds: tuple[ThresholdResult, ...]
    met: bool

    def lines(self) -> list[str]:
        return [t.describe() for t in self.thresholds]


@dataclass(frozen=True)
class OptionResult:
    """One option of a choice poll: its votes per measure and whether it meets the approval condition."""

    option: str
    votes: Mapping[str, Fraction]
    approval: ConditionResult | None
    qualifies: bool


@dataclass(frozen=True)
class TallyResult:
    """Everything the result page and the minutes print about a closed poll.

    ``counts`` are what happened; ``approval_counts`` what the approval condition was judged on —
    the same unless the rule counts non-voters with the majority (``silent``: measure → the side
    they were added to).
    """

    rule: Rule
    poll: Poll
    counts: Mapping[str, MeasureCount]
    approval_counts: Mapping[str, MeasureCount]
    participation: ConditionResult | None
    approval: ConditionResult | None
    """The yes/no poll's approval; ``None`` for a choice poll (see :attr:`options`) or a rule without one."""
    options: tuple[OptionResult, ...]
    outcome: Outcome
    winners: tuple[str, ...] = ()
    tied: tuple[str, ...] = ()
    silent: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    """Option id → the name people read (赞成/反对 for a yes/no poll)."""

    def label(self, option: str) -> str:
        return self.labels.get(option, option)

    @property
    def quorum_met(self) -> bool:
        return self.participation is None or self.participation.met

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"

    @property
    def outcome_label(self) -> str:
        return _(OUTCOME_LABELS[self.outcome])

    @property
    def shown_measures(self) -> tuple[str, ...]:
        """人数 always, 面积 when the electorate has any, then whatever else the rule uses."""
        shown = ["headcount"]
        if self.counts["area"].eligible > 0:
            shown.append("area")
        shown.extend(m for m in self.rule.measures if m not in shown)
        return tuple(shown)

    def lines(self) -> list[str]:
        """The result as plain lines (the minutes' fallback; templates use the fields)."""
        labels = self.labels
        out = [f"{_('表决规则')}：{spec_text(self.rule.name)}（{spec_text(self.rule.citation) or self.rule.id}）"]
        for measure in self.shown_measures:
            c = self.counts[measure]
            votes = "，".join(f"{labels.get(o, o)} {c.amount(c.votes[o])}" for o in self.poll.options)
            out.append(_("{measure}：应参与 {eligible}，参与表决 {participating}，{votes}，弃权 {abstain}，"
                         "废票 {invalid}").format(measure=c.label, eligible=c.amount(c.eligible),
                                                participating=c.amount(c.participating), votes=votes,
                                                abstain=c.amount(c.abstain), invalid=c.amount(c.invalid)))
        for measure, side in self.silent.items():
            if measure not in self.shown_measures:
                continue
            out.append(_("未参与表决的{measure}按本会议事规则计入多数意见（{side}）").format(
                measure=_(MEASURE_LABELS[measure]), side=labels[side]))
        if self.participation is not None:
            out.extend(self.participation.lines())
        if self.approval is not None:
            out.extend(self.approval.lines())
        for option in self.options:
            if option.approval is not None:
                out.extend(option.approval.lines())
        outcome = self.outcome_label
        if self.winners:
            outcome += _("：{names}").format(names="、".join(labels.get(w, w) for w in self.winners))
        if self.tied:
            outcome += _("（票数相同：{names}）").format(names="、".join(labels.get(t, t) for t in self.tied))
        out.append(f"{_('表决结果')}：{outcome}")
        return out


# ---------------------------------------------------------------------------------------------
# Counting
# ---------------------------------------------------------------------------------------------

def _judge(condition: Condition, counts: Mapping[str, MeasureCount], option: str | None = None,
           counted: str | None = None) -> ConditionResult:
    results = []
    for t in condition.thresholds:
        c = counts[t.measure]
        numerator, denominator = c.get(t.count, option), c.get(t.base)
        results.append(ThresholdResult(t, numerator, denominator, t.met(numerator, denominator), counted))
    return ConditionResult(condition, tuple(results), condition.decide(tuple(r.met for r in results)))


def _with_silent(counts: Mapping[str, MeasureCount]) -> tuple[dict[str, MeasureCount], dict[str, str]]:
    """The counts with non-voters added to the majority side, per measure (see core.voting.rules)."""
    adjusted: dict[str, MeasureCount] = {}
    sides: dict[str, str] = {}
    for measure, c in counts.items():
        yes, no = c.votes[YES], c.votes[NO]
        side = YES if yes > no else NO if no > yes else None
        if side is None or c.not_voted == 0:
            adjusted[measure] = c
            continue
        extra = c.not_voted
        sides[measure] = side
        adjusted[measure] = MeasureCount(
            measure, c.eligible, c.eligible, c.participating + extra, c.valid + extra,
            c.abstain, c.invalid, MappingProxyType({**c.votes, side: c.votes[side] + extra}))
    return adjusted, sides


def tally(rule: Rule, poll: Poll, electorate: Electorate | Iterable[Voter], ballots: Iterable[Ballot],
          option_labels: Mapping[str, str] | None = None) -> TallyResult:
    """Count ``ballots`` under ``rule``. Raises :class:`VotingError` for a ballot from outside the
    electorate, a second ballot from one voter, or one :meth:`Poll.check` refuses.

    ``option_labels`` (option id → name) are used where the result describes an option.
    """
    labels = MappingProxyType({YES: _("赞成"), NO: _("反对"), **(option_labels or {})})
    if not isinstance(electorate, Electorate):
        electorate = Electorate(electorate)
    cast_by: dict[str, Ballot] = {}
    for ballot in ballots:
        if ballot.voter not in electorate:
            raise VotingError(f"ballot from {ballot.voter!r}, who is not in the electorate")
        if ballot.voter in cast_by:
            raise VotingError(f"two ballots from {ballot.voter!r}")
        problem = poll.check(ballot)
        if problem:
            raise VotingError(f"ballot from {ballot.voter!r}: {problem}")
        cast_by[ballot.voter] = ballot

    participating = set(cast_by)
    present = {m.id for m in electorate.members.values() if m.present} | participating
    abstain = {v for v, b in cast_by.items() if b.abstain and not b.invalid}
    invalid = {v for v, b in cast_by.items() if b.invalid}
    valid = participating - abstain - invalid
    chose = {o: {v for v in valid if o in cast_by[v].choices} for o in poll.options}
    everyone = electorate.members.keys()

    counts = MappingProxyType({
        m: MeasureCount(
            m, electorate.measure(m, everyone), electorate.measure(m, present),
            electorate.measure(m, participating), electorate.measure(m, valid), electorate.measure(m, abstain),
            electorate.measure(m, invalid),
            MappingProxyType({o: electorate.measure(m, chose[o]) for o in poll.options}))
        for m in MEASURES
    })
    participation = None if rule.participation is None else _judge(rule.participation, counts)
    quorum = participation is None or participation.met

    if poll.method == "yes_no":
        judged, silent = _with_silent(counts) if rule.silent_follow_majority and quorum else (dict(counts), {})
        approval = None if rule.approval is None else _judge(rule.approval, judged)
        approved = approval is None or approval.met
        return TallyResult(rule, poll, counts, MappingProxyType(judged), participation, approval, (),
                           "passed" if quorum and approved else "failed", silent=MappingProxyType(silent),
                           labels=labels)

    option_results = []
    for option in poll.options:
        judged_option = None
        if rule.approval is not None:
            counted = _("选项“{option}”所得").format(option=labels.get(option, option))
            judged_option = _judge(rule.approval, counts, option, counted)
        option_results.append(OptionResult(option, MappingProxyType({m: counts[m].votes[option] for m in MEASURES}),
                                           judged_option, judged_option is None or judged_option.met))
    ranking = rule.approval.thresholds[0].measure if rule.approval is not None else "headcount"
    qualified = sorted((o for o in option_results if o.qualifies and o.votes[ranking] > 0),
                       key=lambda o: (-o.votes[ranking], poll.options.index(o.option)))
    outcome: Outcome = "failed"
    winners: tuple[str, ...] = ()
    tied: tuple[str, ...] = ()
    if quorum and qualified:
        last = qualified[poll.seats - 1].votes[ranking] if len(qualified) >= poll.seats else None
        if len(qualified) <= poll.seats or last > qualified[poll.seats].votes[ranking]:
            outcome, winners = "passed", tuple(o.option for o in qualified[: poll.seats])
        else:
            boundary = qualified[poll.seats - 1].votes[ranking]
            winners = tuple(o.option for o in qualified if o.votes[ranking] > boundary)
            tied = tuple(o.option for o in qualified if o.votes[ranking] == boundary)
            outcome = "tie"
    return TallyResult(rule, poll, counts, counts, participation, None, tuple(option_results), outcome,
                       winners, tied, MappingProxyType({}), labels)


def hands_passed(rule: Rule, yes: int, no: int, abstain: int) -> bool:
    """A show of hands (举手表决) judged by ``rule``: the hands counted are those present and taking
    part, ``yes``/``no`` the valid votes, ``abstain`` the abstentions. Heads only — a raised hand
    carries no area — and no electorate, so a rule over area, households, weight or all eligible
    raises :class:`VotingError`. This is how core.meetings.handcount decides, so a show of hands and
    a poll under the same rule never disagree about abstentions."""
    if any(m != "headcount" for m in rule.measures):
        raise VotingError(f"rule {rule.id!r} counts {', '.join(rule.measures)}: a show of hands has heads only")
    if any(t.base == "eligible" for c in (rule.participation, rule.approval) if c for t in c.thresholds):
        raise VotingError(f"rule {rule.id!r} needs the whole electorate, which a show of hands does not have")
    total = Fraction(yes + no + abstain)
    counts = {"headcount": MeasureCount("headcount", total, total, total, Fraction(yes + no), Fraction(abstain),
                                        Fraction(0), MappingProxyType({YES: Fraction(yes), NO: Fraction(no)}))}
    quorum = rule.participation is None or _judge(rule.participation, counts).met
    return quorum and (rule.approval is None or _judge(rule.approval, counts).met)


__all__ = [
    "NO", "YES", "Ballot", "ConditionResult", "Electorate", "MeasureCount", "Member", "OptionResult", "Poll",
    "TallyResult", "ThresholdResult", "Voter", "VotingError", "format_amount", "fraction_text", "hands_passed", "tally",
]
