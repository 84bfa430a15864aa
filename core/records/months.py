"""Counts of a council's records month by month, for a practice's monthly report (月报): a calendar
month in China time (:class:`Month`, read strictly from ``2026-11`` by :func:`parse_month`) and
:func:`summary` — how many records of a kind fall in it by their ``date_field``, and what the kind's
declarations add: a checklist's items passed and failed and the follow-ups of its failed items, a
ledger's amounts earned and spent and by how many people.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from core.i18n import _
from core.templating import LOCAL_TZ

MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return _("{y}年{m}月").format(y=self.year, m=self.month)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), 12 if self.month == 1 else self.month - 1)

    def utc_range(self) -> tuple[datetime, datetime]:
        """[start, end) of the month in China time, as UTC instants."""
        nxt = self.next
        return (datetime(self.year, self.month, 1, tzinfo=LOCAL_TZ).astimezone(UTC),
                datetime(nxt.year, nxt.month, 1, tzinfo=LOCAL_TZ).astimezone(UTC))


def this_month(now: datetime | None = None) -> Month:
    now = (now or datetime.now(UTC)).astimezone(LOCAL_TZ)
    return Month(now.year, now.month)


def parse_month(raw: str | None, now: datetime | None = None) -> tuple[Month, str]:
    """The month asked for (``2026-11``), or this month and a message saying what was wrong."""
    raw = (raw or "").strip()
    if not raw:
        return this_month(now), ""
    found = MONTH.match(raw)
    if found and 2000 <= int(found.group(1)) <= 2100 and 1 <= int(found.group(2)) <= 12:
        return Month(int(found.group(1)), int(found.group(2))), ""
    return this_month(now), _("月份应写成 2026-11 这样的格式，已显示本月。")


async def summary(specs: Any, kind_id: str, council_id: int, month: Month) -> dict[str, Any]:
    """The council's records of a kind whose day (``date_field``) is in the month:

    ``count``, ``records``, ``titles`` (distinct titles: e.g. buildings checked), ``by_state``; with
    ``[checklist]`` also ``passed``, ``failed`` (items) and ``follow_ups`` (their records),
    ``follow_ups_by_state``, ``follow_ups_by_title`` (``[(title, n)]``, most first); with ``[ledger]``
    ``earned``, ``spent`` and ``people`` (how many people earned)."""
    from core.records.service import listing
    from core.records.tables import RecordLedgerLine

    kind = specs.records[kind_id]
    rows = await listing(council_id, kind.id, start=month.first_day, end=month.next.first_day, limit=10000)
    out: dict[str, Any] = {"count": len(rows), "records": rows, "titles": len({r["title"] for r in rows}),
                           "by_state": Counter(r["state"] for r in rows)}
    if kind.checklist:
        tallies = [kind.checklist.tally(specs.form(kind.form), r["values"]) for r in rows]
        out.update(passed=sum(t["passed"] for t in tallies), failed=sum(t["failed"] for t in tallies))
        ids = {r["id"] for r in rows}
        children = [f for f in await listing(council_id, kind.checklist.follow_up, limit=10000) if f["parent"] in ids] \
            if kind.checklist.follow_up and ids else []
        by_title = Counter(f["title"] for f in children)
        out.update(follow_ups=children, follow_ups_by_state=Counter(f["state"] for f in children),
                   follow_ups_by_title=sorted(by_title.items(), key=lambda kv: (-kv[1], kv[0])))
    if kind.ledger:
        lines = await RecordLedgerLine.select(RecordLedgerLine.person, RecordLedgerLine.amount).where(
            (RecordLedgerLine.council == council_id) & (RecordLedgerLine.kind == kind.id)
            & (RecordLedgerLine.day >= month.first_day) & (RecordLedgerLine.day < month.next.first_day))
        out.update(earned=sum(n["amount"] for n in lines if n["amount"] > 0),
                   spent=-sum(n["amount"] for n in lines if n["amount"] < 0),
                   people=len({n["person"] for n in lines if n["amount"] > 0}))
    return out


__all__ = ["Month", "parse_month", "summary", "this_month"]
