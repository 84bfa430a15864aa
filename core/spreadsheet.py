"""Tables as files people open in Excel or WPS: CSV (UTF-8 with a BOM, so Chinese opens right) and
XLSX. Shared by the ledgers (台账), the dashboards' downloads and plugins' own ledgers.

Text a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage return) is
written with a leading apostrophe, so a resident's typed "=HYPERLINK(…)" stays text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(value: Any) -> Any:
    """``value``, with text that would start a formula quoted by a leading apostrophe."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """A header row and data rows as CSV bytes (UTF-8 with a BOM, CRLF line ends)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([formula_safe(c) for c in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> bytes:
    """One sheet named ``title`` (cut to Excel's 31 characters): bold, frozen header row, columns
    as wide as their first 500 rows need."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = title[:31]
    ws.append(list(headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([formula_safe(c) for c in row])
    ws.freeze_panes = "A2"
    for i, header in enumerate(headers, start=1):
        width = max([len(str(header))] + [len(str(r[i - 1])) for r in rows[:500]])
        ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(60, 4 + width * 2)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
