"""Reading a unit's figures from the rollup: headline, by month, by child unit, by practice, by
category and by council, over a period of whole months.

A council's figures are added to the unit it is attached to *now* (rows are keyed by council), so a
council moved between units is counted once, under its new unit, for the whole period.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core.dashboard import rollup
from core.dashboard.rollup import DAY_BUCKETS
from core.dashboard.tables import StatsMonth
from core.i18n import _
from core.org.tables import Council, Unit
from core.org.tree import descendants, parents_map, top_below

COUNTS = ("meetings", "raised", "solved", "overdue", "satisfied", "basic", "unsatisfied")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


class PeriodError(ValueError):
    """A period that cannot be read; the message is for the person."""


@dataclass(frozen=True)
class Period:
    start: int  # yyyymm
    end: int

    @property
    def label(self) -> str:
        return f"{self.start // 100}-{self.start % 100:02d} ~ {self.end // 100}-{self.end % 100:02d}"

    @property
    def start_text(self) -> str:
        return f"{self.start // 100}-{self.start % 100:02d}"

    @property
    def end_text(self) -> str:
        return f"{self.end // 100}-{self.end % 100:02d}"

    def ranges(self) -> list[tuple[int, int]]:
        """The rollup keys covering the period: whole years by their yearly rows (``yyyy``), the
        months around them by their monthly rows (``yyyymm``) — a third of the rows for long periods."""
        y0, y1 = self.start // 100, self.end // 100
        full = [y for y in range(y0, y1 + 1) if self.start <= y * 100 + 1 and y * 100 + 12 <= self.end]
        if not full:
            return [(self.start, self.end)]
        out = [(full[0], full[-1])]
        if self.start < full[0] * 100 + 1:
            out.append((self.start, (full[0] - 1) * 100 + 12))
        if self.end > full[-1] * 100 + 12:
            out.append(((full[-1] + 1) * 100 + 1, self.end))
        return out

    def where(self) -> str:
        """SQL condition on the rollup's ``month`` column for this period."""
        return "(" + " OR ".join(f"month BETWEEN {a} AND {b}" for a, b in self.ranges()) + ")"

    def months(self) -> list[int]:
        out, month = [], self.start
        while month <= self.end:
            out.append(month)
            month = month + 1 if month % 100 < 12 else (month // 100 + 1) * 100 + 1
        return out


def last_months(n: int, today: date) -> Period:
    end = today.year * 100 + today.month
    y, m = today.year, today.month - (n - 1)
    while m < 1:
        y, m = y - 1, m + 12
    return Period(y * 100 + m, end)


def parse_period(start: str | None, end: str | None, today: date) -> Period:
    """``2025-01`` .. ``2025-12`` → Period; defaults to the last twelve months."""
    default = last_months(12, today)
    values = []
    for raw, fallback in ((start, default.start), (end, default.end)):
        raw = (raw or "").strip()
        if not raw:
            values.append(fallback)
            continue
        match = MONTH_RE.match(raw)
        if not match or not 1 <= int(match.group(2)) <= 12 or not 2000 <= int(match.group(1)) <= 2100:
            raise PeriodError(_("月份“{value}”无效，请按“2025-01”的格式填写。").format(value=raw[:20]))
        values.append(int(match.group(1)) * 100 + int(match.group(2)))
    if values[0] > values[1]:
        raise PeriodError(_("开始月份不能晚于结束月份。"))
    if len(Period(values[0], values[1]).months()) > 120:
        raise PeriodError(_("统计期间最长十年。"))
    return Period(values[0], values[1])


@dataclass
class Totals:
    councils: int = 0
    active: int = 0
    meetings: int = 0
    raised: int = 0
    solved: int = 0
    overdue: int = 0
    satisfied: int = 0
    basic: int = 0
    unsatisfied: int = 0

    def add(self, row: dict[str, Any]) -> None:
        if not row:
            return
        self.meetings += row.get("meetings") or 0
        self.raised += row["raised"] or 0
        self.solved += row["solved"] or 0
        self.overdue += row["overdue"] or 0
        self.satisfied += row["satisfied"] or 0
        self.basic += row["basic"] or 0
        self.unsatisfied += row["unsatisfied"] or 0

    @property
    def rated(self) -> int:
        return self.satisfied + self.basic + self.unsatisfied

    @property
    def satisfaction(self) -> float | None:
        """满意率: (满意 + 基本满意) / rated; None with no ratings."""
        return (self.satisfied + self.basic) / self.rated if self.rated else None

    @property
    def solve_rate(self) -> float | None:
        return self.solved / self.raised if self.raised else None


@dataclass
class Breakdown:
    key: Any
    label: str
    totals: Totals = field(default_factory=Totals)
    href: str = ""


@dataclass
class UnitFigures:
    unit: dict[str, Any]
    period: Period
    totals: Totals
    median_days: float | None
    months: list[Breakdown]
    children: list[Breakdown]
    practices: list[Breakdown]
    categories: list[Breakdown]
    councils: list[Breakdown]

    @property
    def empty(self) -> bool:
        return not (self.totals.meetings or self.totals.raised)


def median_of(histogram: list[tuple[int, int]], buckets: tuple[int, ...] | None = None) -> float | None:
    """The median of values given as (value, count) pairs.

    With ``buckets`` (ascending first values, core.dashboard.rollup.DAY_BUCKETS) a value names the
    bucket from it to the next bucket's start: the median is then interpolated inside its bucket,
    spreading the bucket's count evenly over its days (a bucket of one day stays exact).
    """
    pairs = sorted((int(v), int(n)) for v, n in histogram if n)
    total = sum(n for _v, n in pairs)
    if not total:
        return None
    widths = {}
    if buckets:
        widths = {b: (buckets[i + 1] - b if i + 1 < len(buckets) else 1) for i, b in enumerate(buckets)}

    def at(rank: int) -> float:
        """The value of the rank-th smallest item (0-based)."""
        seen = 0
        for value, n in pairs:
            if rank < seen + n:
                width = widths.get(value, 1)
                return value if width == 1 else value + width * (rank - seen + 0.5) / n
            seen += n
        raise AssertionError("rank beyond total")

    return (at((total - 1) // 2) + at(total // 2)) / 2


async def _scopes(councils: list[int], all_councils: int) -> tuple[str, str]:
    """SQL conditions for the councils in scope: one for rows per council, one for sums over them.

    A subtree names its councils. The root (every council) reads the all-council rows (council
    NULL) for its sums when they are up to date, instead of adding up a thousand councils' rows.
    """
    if len(councils) != all_councils:
        named = f" AND council IN ({', '.join(str(int(c)) for c in councils) or 'NULL'})"
        return named, named
    per_council = " AND council IS NOT NULL"
    return per_council, (" AND council IS NULL" if await rollup.totals_fresh() else per_council)


async def _sums(table: str, group: str, period: Period, scope: str) -> list[dict[str, Any]]:
    columns = ", ".join(f"SUM({c}) AS {c}" for c in COUNTS if table == "yishi_stats_month" or c != "meetings")
    # By month: the monthly rows only; otherwise whole years come from the yearly rows.
    where = f"month BETWEEN {period.start} AND {period.end}" if group == "month" else period.where()
    return await StatsMonth.raw(
        f"SELECT {group} AS key, {columns} FROM {table} WHERE {where}{scope} GROUP BY {group}")


async def unit_figures(unit_id: int, period: Period, practice_labels: dict[str, str]) -> UnitFigures | None:
    """Everything the unit's dashboard shows; None when the unit does not exist."""
    unit = await Unit.select().where(Unit.id == unit_id).first()
    if unit is None:
        return None
    parents = await parents_map()
    subtree = descendants(parents, unit_id)
    all_councils = await Council.select(Council.id, Council.name, Council.unit, Council.practice)
    councils = [c for c in all_councils if c["unit"] in subtree]
    ids = [c["id"] for c in councils]
    scope, sums = await _scopes(ids, len(all_councils))

    # Four independent reads: run together (SQLite's pool and PostgreSQL's each use a connection).
    council_rows, month_rows, by_category, histogram = await asyncio.gather(
        _sums("yishi_stats_month", "council", period, scope),
        _sums("yishi_stats_month", "month", period, sums),
        _sums("yishi_stats_category", "category", period, sums),
        StatsMonth.raw(f"SELECT days, SUM(n) AS n FROM yishi_stats_days WHERE {period.where()}{sums} GROUP BY days"))
    per_council = {r["key"]: r for r in council_rows}
    by_month = {r["key"]: r for r in month_rows}

    names = {r["id"]: r for r in await Unit.select(Unit.id, Unit.name, Unit.kind)}
    child_of = top_below(parents, unit_id, subtree)
    totals = Totals(councils=len(councils))
    children: dict[int, Breakdown] = {}
    for child in sorted(u for u, p in parents.items() if p == unit_id):
        children[child] = Breakdown(child, names[child]["name"], href=f"/dashboard/units/{child}")
    practices: dict[str, Breakdown] = {}
    council_rows: list[Breakdown] = []
    for council in councils:
        row = per_council.get(council["id"], {})
        active = int(row.get("meetings") or 0) > 0
        groups = [totals]
        child = child_of.get(council["unit"])
        if child is not None and child != unit_id:
            groups.append(children[child].totals)
        practice = practices.setdefault(council["practice"], Breakdown(
            council["practice"], practice_labels.get(council["practice"], council["practice"])))
        groups.append(practice.totals)
        council_totals = Totals()
        groups.append(council_totals)
        for group in groups:
            if group is not totals:
                group.councils += 1
            group.active += active
            group.add(row)
        council_rows.append(Breakdown(council["id"], council["name"], council_totals,
                                      href=f"/dashboard/councils/{council['id']}"))
    totals.active = sum(1 for c in council_rows if c.totals.active)
    months = [Breakdown(m, f"{m // 100}-{m % 100:02d}") for m in period.months()]
    for month in months:
        month.totals.add(by_month.get(month.key, {}))
    categories = []
    for row in sorted(by_category, key=lambda r: -int(r["raised"] or 0)):
        if int(row["raised"] or 0):
            item = Breakdown(row["key"], row["key"] or _("未分类"))
            item.totals.add(row)
            categories.append(item)
    council_rows.sort(key=lambda b: (-b.totals.raised, -b.totals.meetings, b.label))
    return UnitFigures(unit=unit, period=period, totals=totals,
                       median_days=median_of([(r["days"], r["n"]) for r in histogram], DAY_BUCKETS),
                       months=months, children=list(children.values()),
                       practices=sorted(practices.values(), key=lambda b: b.label), categories=categories,
                       councils=council_rows)


async def council_figures(council_id: int, period: Period) -> dict[str, Any] | None:
    """One council's figures over the period, by month and category, for its drill-down page."""
    council = await Council.select(Council.id, Council.name, Council.unit, Council.practice).where(
        Council.id == council_id).first()
    if council is None:
        return None
    scope = f" AND council = {int(council_id)}"
    totals = Totals(councils=1)
    by_month = {r["key"]: r for r in await _sums("yishi_stats_month", "month", period, scope)}
    for row in by_month.values():
        totals.add(row)
    totals.active = 1 if totals.meetings else 0
    months = [Breakdown(m, f"{m // 100}-{m % 100:02d}") for m in period.months()]
    for month in months:
        month.totals.add(by_month.get(month.key, {}))
    categories = []
    for row in await _sums("yishi_stats_category", "category", period, scope):
        if int(row["raised"] or 0):
            item = Breakdown(row["key"], row["key"] or _("未分类"))
            item.totals.add(row)
            categories.append(item)
    histogram = await StatsMonth.raw(
        f"SELECT days, SUM(n) AS n FROM yishi_stats_days WHERE {period.where()}"
        f"{scope} GROUP BY days")
    return {"council": council, "totals": totals, "months": months, "categories": categories,
            "median_days": median_of([(r["days"], r["n"]) for r in histogram], DAY_BUCKETS)}
