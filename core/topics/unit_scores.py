"""单位测评: each responsible unit's score from its tasks and the residents' ratings. Pure.

综合得分 = 满意度 × w₁ + 办结率 × w₂ + 按期办结率 × w₃ (out of 100), the weights and the points of
each rating declared by the practice in its capture spec (``[scores]``, docs/capture.md; core's
default 40/30/30 with 满意 100, 基本满意 60, 不满意 0). Exact fractions; rounded only for people.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from core.topics.capture_spec import RATING_KEYS, ScoreRule


@dataclass
class UnitScore:
    department: int
    name: str
    assigned: int = 0
    done: int = 0
    on_time: int = 0
    overdue: int = 0
    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0
    rule: ScoreRule = field(default_factory=ScoreRule, repr=False)

    @property
    def rated(self) -> int:
        return self.satisfied + self.basic + self.unsatisfied

    @property
    def satisfaction(self) -> Fraction | None:
        """Mean points of the ratings, None before any rating."""
        if not self.rated:
            return None
        return sum((getattr(self, k) * self.rule.points[k] for k in RATING_KEYS), Fraction(0)) / self.rated

    @property
    def done_rate(self) -> Fraction:
        return Fraction(self.done, self.assigned) if self.assigned else Fraction(0)

    @property
    def on_time_rate(self) -> Fraction:
        return Fraction(self.on_time, self.assigned) if self.assigned else Fraction(0)

    @property
    def total(self) -> Fraction | None:
        """综合得分 out of 100; None until rated."""
        if self.satisfaction is None:
            return None
        w = self.rule.weights
        return (w["satisfaction"] * self.satisfaction + w["done"] * 100 * self.done_rate
                + w["on_time"] * 100 * self.on_time_rate)


def score_units(tasks: Iterable[dict[str, Any]], ratings: dict[int, str], on: date,
                rule: ScoreRule | None = None) -> list[UnitScore]:
    """Score each department from its tasks (``department``, ``department_name``, ``topic``, ``state``,
    ``deadline``, ``done_on``) and the residents' latest rating of each task's topic.

    A task counts 按期 when done on or before its deadline; a rating counts for every department
    that worked on the topic. Ranked by total (unrated last), then by name.
    """
    rule = rule or ScoreRule()
    scores: dict[int, UnitScore] = {}
    for t in tasks:
        if t["state"] == "cancelled":
            continue
        s = scores.setdefault(t["department"], UnitScore(t["department"], t["department_name"], rule=rule))
        s.assigned += 1
        if t["state"] == "done":
            s.done += 1
            if t["done_on"] is not None and t["done_on"] <= t["deadline"]:
                s.on_time += 1
        elif t["deadline"] < on:
            s.overdue += 1
        level = ratings.get(t["topic"]) if t["state"] == "done" else None
        if level in RATING_KEYS:
            setattr(s, level, getattr(s, level) + 1)
    return sorted(scores.values(), key=lambda s: (s.total is None, -(s.total or 0), s.name))


def one_decimal(value: Fraction | None) -> str:
    """A score for people: one decimal, half up; "—" when there is none."""
    if value is None:
        return "—"
    tenths = (value * 10 + Fraction(1, 2)).__floor__()
    return f"{tenths // 10}.{tenths % 10}"


def plain(value: Fraction) -> str:
    """A weight or a point value for people: a whole number as such, else one decimal."""
    return str(value.numerator) if value.denominator == 1 else one_decimal(value)
