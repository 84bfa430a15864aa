"""Reading a roster file (.xlsx or .csv) into entries, row by row, with every problem named: pure, no
database (see import_service for the preview and the import itself).

What a community office really has is a sheet from Excel or WPS: a title row above the header, columns
named in Chinese, CSV saved as GBK, room numbers stored as numbers and phone tails that lost their
leading 0. So:

- the format is told by the content, not the name: an .xlsx is a ZIP (read with openpyxl in read-only
  mode, first sheet only); an old .xls is refused with how to convert it; anything else is CSV text in
  UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") or GB18030/GBK, tried in that order;
  text that is none of them is refused with a message, never guessed into mojibake;
- the header is the first of the top rows that names at least two known columns (rows above it —
  a title such as "锦绣苑小区业主名册" — are skipped); columns are matched by Chinese or English names
  (:data:`COLUMNS`); 姓名 and 房号 are required; columns nobody knows are listed, not imported;
- each row goes through the same rules as the roster's add form (``services.validate_entry``), so a
  row imports exactly what a person could have typed; row numbers are the sheet's own (header = the
  row it is on), as Excel shows them.

Decisions (docs/residents.md, "导入居民名册"):

- an area that is negative, zero or not a number is an error; so is an *owner* without an area when
  the file has an area column (a half-filled column would silently weigh those owners as nothing in
  a vote by area). A file without an area column imports owners with no area;
- an empty 身份 means 业主 when the row has an area (only owners' areas count), else 居民;
- the same 楼栋 + 单元 + 房号 + 姓名 twice in one file is an error on the later row; several people
  in one room (a family, owner and tenant) are fine;
- a phone tail stored by Excel as a number (123 for "0123") is padded back to four digits.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from core.i18n import _
from core.residents.services import EntryForm, validate_entry

#: Largest file accepted (bytes), and most data rows in it.
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
#: Columns read from a sheet; the header is searched for in the first HEADER_SCAN non-empty rows.
MAX_COLUMNS = 60
HEADER_SCAN = 10
#: An .xlsx whose formatting runs far below the data: stop after this many blank rows in a row.
BLANK_RUN = 1_000

#: Field → the header names it is known by (compared after :func:`_header_key`).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "业主姓名", "住户姓名", "居民姓名", "户主姓名", "name"),
    "household": ("户号", "户编号", "household"),
    "building": ("楼栋", "楼栋号", "楼号", "栋", "栋号", "幢", "楼", "building"),
    "unit_no": ("单元", "单元号", "unit", "unit_no", "unitno"),
    "room": ("房号", "房间号", "室", "门牌号", "房屋号", "room"),
    "area": ("面积", "专有部分面积", "专有面积", "area"),
    "phone_last4": ("手机后四位", "手机后4位", "手机尾号", "手机号后四位", "手机号后4位", "电话后四位",
                    "phone", "phone_last4", "phonelast4"),
    "kind": ("身份", "类别", "类型", "人员类别", "role", "kind"),
}
REQUIRED = ("name", "room")
#: 身份 as written in a sheet → the roster's kind.
KIND_WORDS: dict[str, str] = {
    "业主": "owner", "产权人": "owner", "owner": "owner",
    "租户": "tenant", "租客": "tenant", "承租人": "tenant", "tenant": "tenant",
    "房东": "landlord", "出租人": "landlord", "landlord": "landlord",
    "居民": "resident", "住户": "resident", "resident": "resident",
}


def field_labels() -> dict[str, str]:
    """Fields as the report names them (the add form's labels)."""
    return {"name": _("姓名"), "household": _("户号"), "building": _("楼栋"), "unit_no": _("单元"),
            "room": _("房号"), "area": _("面积"), "phone_last4": _("手机后四位"), "kind": _("身份"),
            "unit": _("所属单元")}


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message is for the person who uploaded it."""


@dataclass
class Row:
    """One data row: what the sheet says (by field), the entry to store, or the errors by field."""

    number: int
    values: dict[str, str]
    entry: EntryForm | None = None
    errors: dict[str, str] = field(default_factory=dict)


@dataclass
class ParsedFile:
    """A roster file read and checked. ``problems`` are about the whole file (nothing can be
    imported); ``notes`` are for information (columns not imported, sheets not read)."""

    filename: str
    kind: str = ""          # "xlsx" or "csv"
    encoding: str = ""      # for CSV: "UTF-8", "UTF-8 (BOM)", "UTF-16", "GBK"
    columns: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def error_rows(self) -> list[Row]:
        return [r for r in self.rows if r.errors]

    @property
    def entries(self) -> list[tuple[int, EntryForm]]:
        return [(r.number, r.entry) for r in self.rows if r.entry is not None]

    @property
    def ok(self) -> bool:
        """Nothing stands in the way of importing every row."""
        return not self.problems and not self.error_rows and bool(self.rows)


# -------------------------------------------------------------------------------------------------
# Bytes → rows of text
# -------------------------------------------------------------------------------------------------


def decode_csv(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was in; :class:`ImportFileError` when it is none of
    UTF-8, UTF-16 (with BOM) or GB18030/GBK, or decodes to characters no sheet contains."""
    attempts: list[tuple[bytes, str, str]] = [(codecs.BOM_UTF8, "utf-8", "UTF-8 (BOM)"),
                                              (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
                                              (codecs.BOM_UTF16_BE, "utf-16", "UTF-16")]
    text: str | None = None
    label = ""
    for bom, codec, name in attempts:
        if data.startswith(bom):
            try:
                text, label = data.decode(codec).lstrip("\ufeff"), name
            except UnicodeDecodeError:
                text = None
            break
    else:
        for codec, name in (("utf-8", "UTF-8"), ("gb18030", "GBK")):
            try:
                text, label = data.decode(codec), name
                break
            except UnicodeDecodeError:
                continue
    if text is None or _unreadable(text):
        raise ImportFileError(_("无法识别文件的编码：请在 Excel 中“另存为”Excel 工作簿（.xlsx）"
                                "或“CSV UTF-8（逗号分隔）”后重新上传。"))
    return text, label


def _unreadable(text: str) -> bool:
    """Control, private-use or unassigned characters: what binary data or a wrong guess decodes to."""
    return any(unicodedata.category(ch) in ("Cc", "Co", "Cn", "Cs") and ch not in "\t\r\n" for ch in text)


def csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """(row number, cells) of CSV text; the delimiter is a comma, or a tab when the first line has
    more tabs than commas (Excel's "Unicode text")."""
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    rows = []
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            rows.append((number, cells[:MAX_COLUMNS]))
            if len(rows) > MAX_ROWS + HEADER_SCAN + BLANK_RUN:
                break
    except csv.Error as exc:
        raise ImportFileError(_("CSV 格式有误（第 {row} 行附近），请用 Excel 打开检查后另存。").format(
            row=len(rows) + 1)) from exc
    return rows


def xlsx_rows(data: bytes, notes: list[str]) -> list[tuple[int, list[str]]]:
    """(row number, cells as text) of the first sheet of an .xlsx workbook."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError) as exc:
        raise ImportFileError(_("无法读取这个 Excel 文件：文件可能已损坏，或不是 .xlsx 格式。请在 Excel 中另存为"
                                " .xlsx 后重新上传。")) from exc
    except Exception as exc:  # openpyxl raises its own errors for workbooks it does not understand
        raise ImportFileError(_("无法读取这个 Excel 文件，请在 Excel 中另存为 .xlsx 后重新上传。")) from exc
    try:
        sheet = book.worksheets[0]
        if len(book.worksheets) > 1:
            notes.append(_("工作簿有 {n} 个工作表，只读取了第一个：“{title}”。").format(
                n=len(book.worksheets), title=sheet.title))
        rows: list[tuple[int, list[str]]] = []
        blank = 0
        try:
            for number, values in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
                cells = [cell_text(v) for v in values]
                if any(cells):
                    blank = 0
                    rows.append((number, cells))
                else:
                    blank += 1
                    if blank >= BLANK_RUN:
                        break
                if len(rows) > MAX_ROWS + HEADER_SCAN:
                    break
        except Exception as exc:
            raise ImportFileError(_("无法读取这个 Excel 文件，请在 Excel 中另存为 .xlsx 后重新上传。")) from exc
    finally:
        book.close()
    return rows


def cell_text(value: Any) -> str:
    """A cell as the text a person sees: 1502 not "1502.0", 89.5 not "89.50000000001"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        try:
            return format(Decimal(repr(value)).normalize(), "f")
        except InvalidOperation:
            return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


# -------------------------------------------------------------------------------------------------
# Header and rows
# -------------------------------------------------------------------------------------------------

_ALIASES = {alias: name for name, aliases in COLUMNS.items() for alias in aliases}


def _header_key(raw: str) -> str:
    """"专有部分面积（㎡）*" → "专有部分面积": width, case, spaces, marks and units ignored."""
    text = unicodedata.normalize("NFKC", raw).lower()
    text = re.sub(r"\(.*?\)|\[.*?\]", "", text)
    return re.sub(r"[\s*:：]", "", text)


def match_header(cells: list[str]) -> tuple[dict[int, str], list[str], list[str]]:
    """Column index → field, the headers not known, and problems (a field named twice)."""
    mapping: dict[int, str] = {}
    seen: dict[str, str] = {}
    unknown: list[str] = []
    problems: list[str] = []
    for index, raw in enumerate(cells):
        title = " ".join(raw.split())
        if not title:
            continue
        name = _ALIASES.get(_header_key(title))
        if name is None:
            unknown.append(title)
        elif name in seen:
            problems.append(_("“{a}”和“{b}”是同一列（{field}），请只保留一列。").format(
                a=seen[name], b=title, field=field_labels()[name]))
        else:
            seen[name] = title
            mapping[index] = name
    return mapping, unknown, problems


def parse(data: bytes, filename: str, unit_id: int) -> ParsedFile:
    """Read and check a roster file for the unit ``unit_id``: never raises for a bad file, the
    reasons are in ``problems`` and in each row's ``errors``."""
    parsed = ParsedFile(filename=filename)
    try:
        raw_rows = _read(data, parsed)
    except ImportFileError as exc:
        parsed.problems.append(str(exc))
        return parsed
    header_at = next((i for i, (_n, cells) in enumerate(raw_rows[:HEADER_SCAN])
                      if len(match_header(cells)[0]) >= 2), None)
    if header_at is None:
        parsed.problems.append(_("找不到表头：表格的第一行应是列名，至少包括“姓名”和“房号”。"))
        return parsed
    header_number, header = raw_rows[header_at]
    mapping, unknown, problems = match_header(header)
    parsed.problems.extend(problems)
    labels = field_labels()
    missing = [labels[f] for f in REQUIRED if f not in mapping.values()]
    if missing:
        parsed.problems.append(_("缺少必需的列：{columns}（表头在第 {row} 行）。").format(
            columns="、".join(missing), row=header_number))
    if unknown:
        parsed.notes.append(_("以下列不会导入：{columns}。").format(columns="、".join(unknown)))
    parsed.columns = [mapping[i] for i in sorted(mapping)]
    data_rows = [(n, cells) for n, cells in raw_rows[header_at + 1:] if any(c.strip() for c in cells)]
    if len(data_rows) > MAX_ROWS:
        parsed.problems.append(_("文件超过 {limit} 行，请分成几个文件导入。").format(limit=MAX_ROWS))
    elif not data_rows and not parsed.problems:
        parsed.problems.append(_("表头下面没有数据。"))
    if parsed.problems:
        return parsed
    has_area = "area" in mapping.values()
    first_seen: dict[tuple[str, str, str, str], int] = {}
    for number, cells in data_rows:
        values = {name: (cells[i] if i < len(cells) else "") for i, name in mapping.items()}
        row = check_row(number, values, unit_id, has_area=has_area, from_xlsx=parsed.kind == "xlsx")
        if row.entry is not None:
            key = (row.entry.building, row.entry.unit_no, row.entry.room, row.entry.name)
            if key in first_seen:
                row.errors["name"] = _("与第 {row} 行重复：同一楼栋、单元、房号和姓名只能出现一次。").format(
                    row=first_seen[key])
                row.entry = None
            else:
                first_seen[key] = number
        parsed.rows.append(row)
    return parsed


def _read(data: bytes, parsed: ParsedFile) -> list[tuple[int, list[str]]]:
    if not data:
        raise ImportFileError(_("文件是空的。"))
    if len(data) > MAX_BYTES:
        raise ImportFileError(_("文件超过 {mb} MB，请分成几个文件导入。").format(mb=MAX_BYTES // (1024 * 1024)))
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(_("这是旧版 Excel（.xls）文件：请在 Excel 或 WPS 中“另存为”Excel 工作簿（.xlsx）"
                                "后重新上传。"))
    if data.startswith(b"PK\x03\x04"):
        parsed.kind = "xlsx"
        return xlsx_rows(data, parsed.notes)
    if parsed.filename.lower().endswith((".xlsx", ".xlsm")):
        raise ImportFileError(_("无法读取这个 Excel 文件：文件可能已损坏，或不是 .xlsx 格式。请在 Excel 中另存为"
                                " .xlsx 后重新上传。"))
    parsed.kind = "csv"
    text, parsed.encoding = decode_csv(data)
    return csv_rows(text)


def check_row(number: int, values: dict[str, str], unit_id: int, *, has_area: bool,
              from_xlsx: bool = False) -> Row:
    """One row through the add form's rules, plus the import's own (:mod:`module docs <.>`)."""
    row = Row(number=number, values={k: " ".join(v.split()) for k, v in values.items()})
    errors: dict[str, str] = {}
    raw_kind = unicodedata.normalize("NFKC", values.get("kind", "")).strip().lower()
    area_text = unicodedata.normalize("NFKC", values.get("area", "")).strip()
    if raw_kind:
        kind = KIND_WORDS.get(raw_kind)
        if kind is None:
            errors["kind"] = _("身份请填写 业主、租户、房东 或 居民。")
            kind = "resident"
    else:
        kind = "owner" if area_text else "resident"
    phone = unicodedata.normalize("NFKC", values.get("phone_last4", "")).replace(" ", "").strip()
    if from_xlsx and phone.isascii() and phone.isdigit() and len(phone) < 4:
        phone = phone.zfill(4)  # a number cell: Excel dropped the leading zeros
    if area_text.startswith("-"):
        errors["area"] = _("面积不能为负数。")
    elif has_area and kind == "owner" and not area_text:
        errors["area"] = _("业主须填写专有部分面积（按面积表决时要用）。")
    form = {**values, "unit": "", "kind": kind, "phone_last4": phone, "area": "" if "area" in errors else area_text}
    entry, form_errors = validate_entry(form, [{"id": unit_id}])
    if "phone_last4" in form_errors and phone.isascii() and phone.isdigit() and len(phone) < 4:
        form_errors["phone_last4"] = _("手机尾号须为 4 位数字；如果开头是 0，请把这一列设为“文本”格式后重新填写。")
    for name, message in form_errors.items():
        errors.setdefault(name, message)
    if errors:
        row.errors = errors
    else:
        row.entry = entry
    return row
