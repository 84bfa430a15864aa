"""The dashboard's tables as rows, shared by the page and the downloads (core.spreadsheet writes the files)."""

from __future__ import annotations

from typing import Any

from core.dashboard.figures import Breakdown, Totals, UnitFigures
from core.i18n import _

TABLES = ("months", "children", "practices", "categories", "councils")


def table_titles() -> dict[str, str]:
    return {"months": _("按月份"), "children": _("按下级单元"), "practices": _("按议事实践"),
            "categories": _("按议题类别"), "councils": _("按议事机构")}


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def headers(name: str) -> list[str]:
    first = {"months": _("月份"), "children": _("单元"), "practices": _("议事实践"), "categories": _("类别"),
             "councils": _("议事机构")}[name]
    if name in ("months", "categories"):
        council_cols: list[str] = []
    else:
        council_cols = [_("议事机构数"), _("开会的议事机构")]
    meeting_cols = [] if name == "categories" else [_("会议场次")]
    return [first, *council_cols, *meeting_cols, _("提出议题"), _("已办结"), _("办结率"), _("逾期"), _("评价数"),
            _("满意率")]


def row_values(name: str, totals: Totals) -> list[Any]:
    values: list[Any] = []
    if name not in ("months", "categories"):
        values += [totals.councils, totals.active]
    if name != "categories":
        values.append(totals.meetings)
    return [*values, totals.raised, totals.solved, percent(totals.solve_rate), totals.overdue, totals.rated,
            percent(totals.satisfaction)]


def rows_of(figures: UnitFigures, name: str) -> list[Breakdown]:
    return list(getattr(figures, name))


def table(figures: UnitFigures, name: str) -> tuple[list[str], list[list[Any]]]:
    """The table ``name`` as a header row and data rows (what the page and the downloads show)."""
    return headers(name), [[b.label, *row_values(name, b.totals)] for b in rows_of(figures, name)]
