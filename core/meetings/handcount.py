"""Show-of-hands results: validation and outcome. Pure logic, no I/O.

Until the voting engine arrives, a show of hands passes when 赞成 is more than half of the hands
counted (赞成 + 反对 + 弃权) — "过半数" excludes exactly half (民法典 第1259条). Fractions, never floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from core.i18n import _

MAX_HANDS = 100_000


def rule_label() -> str:
    return _("赞成票超过表决人数的一半（过半数）")


@dataclass(frozen=True)
class Counts:
    yes: int
    no: int
    abstain: int

    @property
    def total(self) -> int:
        return self.yes + self.no + self.abstain

    @property
    def passed(self) -> bool:
        return self.total > 0 and Fraction(self.yes, self.total) > Fraction(1, 2)

    @property
    def outcome_label(self) -> str:
        return _("通过") if self.passed else _("未通过")


def parse_counts(form: dict[str, str]) -> tuple[Counts | None, dict[str, str]]:
    """Read 赞成/反对/弃权 from a submitted form; return the counts or an error per field."""
    errors: dict[str, str] = {}
    values: dict[str, int] = {}
    for name, label in (("yes", _("赞成")), ("no", _("反对")), ("abstain", _("弃权"))):
        raw = (form.get(name) or "").strip()
        if raw == "":
            errors[name] = _("请填写{label}人数").format(label=label)
            continue
        if not raw.isascii() or not raw.isdigit():
            errors[name] = _("{label}人数必须是 0 或正整数").format(label=label)
            continue
        value = int(raw)
        if value > MAX_HANDS:
            errors[name] = _("{label}人数不能超过 {limit}").format(label=label, limit=MAX_HANDS)
            continue
        values[name] = value
    if errors:
        return None, errors
    counts = Counts(**values)
    if counts.total == 0:
        return None, {"yes": _("至少要有一人表决")}
    return counts, {}
