"""Recurring meetings (周期会议): a rule such as ``"monthly:1:fri"`` and the dates it gives — pure, no I/O.

A rule is one short string, stored in ``Meeting.recurrence``:

- ``weekly:wed`` — every Wednesday (每周星期三);
- ``monthly:1:fri`` … ``monthly:4:fri`` — the first … fourth Friday of every month (每月第一个星期五);
- ``monthly:-1:sat`` — the last Saturday of every month (每月最后一个星期六);
- ``monthly:15`` — the 15th of every month (每月15日). A day the month does not have (``monthly:31`` in
  April, ``monthly:30`` in February) falls on the month's **last day** instead of being skipped:
  a council that meets "on the 31st" means "at the end of the month", and a skipped month would
  leave residents without their meeting. So every month has exactly one meeting.

Times are wall-clock times in Beijing (Asia/Shanghai, no summer time): a meeting at 19:30 stays at
19:30 local time on every date the rule gives.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core.i18n import _
from core.templating import LOCAL_TZ, long_weekday_name

#: Weekday names as rules spell them, Monday first (date.weekday()).
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Which occurrence of a weekday in a month a rule may name; -1 is the last.
ORDINALS = (1, 2, 3, 4, -1)
MAX_RULE_LENGTH = 40
#: How far the generator looks ahead without a match before it gives up (a guard, never reached
#: for a valid rule: every rule matches at least once a month).
_LOOKAHEAD_DAYS = 62


class RuleError(ValueError):
    """A rule that cannot be read; the message says why, for people."""


@dataclass(frozen=True)
class Rule:
    """A parsed rule. ``kind`` is ``weekly`` (``weekday``), ``monthly_weekday`` (``ordinal`` and
    ``weekday``) or ``monthly_day`` (``day``)."""

    kind: str
    weekday: int = 0
    ordinal: int = 0
    day: int = 0

    @property
    def text(self) -> str:
        """The rule as stored: ``weekly:wed``, ``monthly:-1:sat``, ``monthly:15``."""
        if self.kind == "weekly":
            return f"weekly:{DAYS[self.weekday]}"
        if self.kind == "monthly_weekday":
            return f"monthly:{self.ordinal}:{DAYS[self.weekday]}"
        return f"monthly:{self.day}"

    @property
    def label(self) -> str:
        """每周星期三 / 每月第一个星期五 / 每月最后一个星期六 / 每月15日."""
        weekday = long_weekday_name(self.weekday)
        if self.kind == "weekly":
            return _("每周{weekday}").format(weekday=weekday)
        if self.kind == "monthly_weekday":
            if self.ordinal == -1:
                return _("每月最后一个{weekday}").format(weekday=weekday)
            return _("每月第{n}个{weekday}").format(n="一二三四"[self.ordinal - 1], weekday=weekday)
        if self.day >= 29:
            return _("每月{day}日（当月没有这一天时为月末）").format(day=self.day)
        return _("每月{day}日").format(day=self.day)

    def matches(self, day: date) -> bool:
        """Whether the rule falls on ``day``."""
        if self.kind == "weekly":
            return day.weekday() == self.weekday
        if self.kind == "monthly_weekday":
            return day.weekday() == self.weekday and _ordinal_fits(day, self.ordinal)
        return day.day == min(self.day, calendar.monthrange(day.year, day.month)[1])


def _ordinal_fits(day: date, ordinal: int) -> bool:
    if ordinal == -1:
        return (day + timedelta(days=7)).month != day.month
    return (day.day - 1) // 7 + 1 == ordinal


def parse_rule(text: str) -> Rule:
    """The rule ``text`` spells; :class:`RuleError` says what is wrong with it."""
    raw = (text or "").strip().lower()
    if not raw:
        raise RuleError(_("周期规则为空"))
    if len(raw) > MAX_RULE_LENGTH or not raw.isascii():
        raise RuleError(_("周期规则无法识别：{rule}").format(rule=text[:MAX_RULE_LENGTH]))
    parts = raw.split(":")
    if parts[0] == "weekly" and len(parts) == 2 and parts[1] in DAYS:
        return Rule("weekly", weekday=DAYS.index(parts[1]))
    if parts[0] == "monthly" and len(parts) == 3 and parts[2] in DAYS:
        ordinal = _int(parts[1])
        if ordinal not in ORDINALS:
            raise RuleError(_("“第几个星期几”只能是第1至第4个或最后一个（-1）：{rule}").format(rule=raw))
        return Rule("monthly_weekday", weekday=DAYS.index(parts[2]), ordinal=ordinal)
    if parts[0] == "monthly" and len(parts) == 2:
        day = _int(parts[1])
        if day is None or not 1 <= day <= 31:
            raise RuleError(_("每月的日期应为1至31：{rule}").format(rule=raw))
        return Rule("monthly_day", day=day)
    raise RuleError(_("周期规则无法识别：{rule}（例如 weekly:wed、monthly:1:fri、monthly:-1:sat、monthly:15）").format(
        rule=raw))


def _int(text: str) -> int | None:
    body = text[1:] if text.startswith("-") else text
    if not body.isdigit() or len(body) > 2:
        return None
    return int(text)


def dates_after(rule: Rule, after: date) -> Iterator[date]:
    """The dates the rule gives, strictly after ``after``, in order, without end."""
    day = after
    while True:
        for _step in range(_LOOKAHEAD_DAYS):
            day += timedelta(days=1)
            if rule.matches(day):
                yield day
                break
        else:  # pragma: no cover - every rule matches within a month
            raise RuleError(rule.text)


def next_times(rule: Rule, clock: time, after: datetime, count: int) -> list[datetime]:
    """The next ``count`` meeting times strictly after ``after``: dates the rule gives, at the wall-clock
    time ``clock`` in Beijing, as aware datetimes in Asia/Shanghai."""
    local_after = after.astimezone(LOCAL_TZ)
    start = local_after.date() - timedelta(days=1)
    out: list[datetime] = []
    for day in dates_after(rule, start):
        when = datetime.combine(day, clock.replace(tzinfo=None), tzinfo=LOCAL_TZ)
        if when > after:
            out.append(when)
            if len(out) == count:
                return out
    return out  # pragma: no cover - the generator never ends


# -------------------------------------------------------------------------------------------------
# What the create-meeting form offers: a rule derived from the first meeting's date
# -------------------------------------------------------------------------------------------------

#: The form's 重复 choices; each derives its rule from the start date the chair typed.
REPEAT_CHOICES = ("", "weekly", "monthly_nth", "monthly_last", "monthly_day")


def repeat_labels() -> dict[str, str]:
    return {"": _("不重复"), "weekly": _("每周（同一星期几）"),
            "monthly_nth": _("每月第几个星期几（按开始日期，如每月第一个星期五）"),
            "monthly_last": _("每月最后一个星期几（按开始日期）"), "monthly_day": _("每月同一日期（按开始日期）")}


def rule_for(choice: str, first: date) -> Rule | None:
    """The rule a 重复 choice means for a first meeting on ``first``; None for 不重复.

    :class:`RuleError` when the date cannot start such a series: "every month's last Friday" must
    start on a last Friday, and the fifth Friday of a month is no monthly rule.
    """
    if not choice:
        return None
    if choice == "weekly":
        return Rule("weekly", weekday=first.weekday())
    if choice == "monthly_day":
        return Rule("monthly_day", day=first.day)
    weekday = long_weekday_name(first.weekday())
    if choice == "monthly_last":
        if not _ordinal_fits(first, -1):
            raise RuleError(_("{m}月{d}日不是当月最后一个{weekday}，请改开始日期或选其他重复方式").format(
                m=first.month, d=first.day, weekday=weekday))
        return Rule("monthly_weekday", weekday=first.weekday(), ordinal=-1)
    if choice == "monthly_nth":
        ordinal = (first.day - 1) // 7 + 1
        if ordinal > 4:
            raise RuleError(_("{m}月{d}日是当月第五个{weekday}，不是每月都有；请选“每月最后一个星期几”").format(
                m=first.month, d=first.day, weekday=weekday))
        return Rule("monthly_weekday", weekday=first.weekday(), ordinal=ordinal)
    raise RuleError(_("请选择重复方式"))


__all__ = ["DAYS", "ORDINALS", "REPEAT_CHOICES", "Rule", "RuleError", "dates_after", "next_times", "parse_rule",
           "repeat_labels", "rule_for"]
