"""Show-of-hands results: validation and outcome. Pure logic, no I/O.

A show of hands is decided by the voting engine's ``simple_majority`` profile (forms/rules/), the same
rule a poll uses: it passes when 赞成 is more than half of the valid votes (赞成 + 反对) — that is, more
赞成 than 反对; abstentions are left out, and exactly half is not "过半数" (民法典 第1259条). One rule in
one place (core.voting.tally.hands_passed): a show of hands and a poll never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.i18n import _
from core.voting.loader import shared_rules
from core.voting.tally import hands_passed

MAX_HANDS = 100_000
#: The rule profile a show of hands is decided by.
RULE_ID = "simple_majority"


def rule_label() -> str:
    """The rule as the console and the minutes name it: the profile's own name."""
    return shared_rules()[RULE_ID].name


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
        return hands_passed(shared_rules()[RULE_ID], self.yes, self.no, self.abstain)

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
