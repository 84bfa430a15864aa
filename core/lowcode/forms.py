"""The form engine: form specs (TOML) → :class:`FormSpec`, and validation of a submission.

Pure logic, no I/O beyond reading a spec file in :func:`load_form_file`. The web layer turns a
request into ``data`` (name → list of strings) and ``files`` (name → list of :class:`Upload`), calls
:func:`validate`, shows ``result.errors`` beside the fields (macros in
``core/templates/lowcode/form.html``) or stores ``result.record()`` and ``result.files``.

The spec format is documented for plugin authors in docs/lowcode.md. Decisions worth knowing:

- numbers are :class:`~decimal.Decimal`, never float; full-width digits (１２３, typed with a
  Chinese IME) are accepted and converted to ASCII (NFKC), as are full-width ``－`` and ``．``;
- fields hidden by ``show_if`` (judged on the submitted values) are neither required nor stored;
- an upload's type is judged by its content (magic bytes), never by its name or declared type.
"""

from __future__ import annotations

import codecs
import difflib
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core.i18n import _, spec_text
from core.lowcode.specs import Problems, check_version, parse_spec, read_spec

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

FORM_ID = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")
FIELD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_ID_LENGTH = 64
MAX_FIELDS = 100
MAX_LABEL = 100
MAX_PATTERN = 500

TEXT_MAX_DEFAULT = {"text": 200, "textarea": 2000}
TEXT_MAX_CEILING = {"text": 2000, "textarea": 20000}
NUMBER_MAX_CHARS = 40
ROOM_PART_MAX = 20
SIGNATURE_MAX = 40
FILENAME_MAX = 120
RADIO_MAX_OPTIONS = 8  # more options than this render as a drop-down unless `widget` says otherwise

IMAGE_KINDS = ("jpeg", "png", "webp", "gif")
FILE_KINDS = (*IMAGE_KINDS, "pdf", "docx", "xlsx")
DEFAULT_ACCEPT = {"image": IMAGE_KINDS, "file": ("pdf", "docx", "xlsx", "jpeg", "png")}
DEFAULT_MAX_MB = {"image": Decimal(5), "file": Decimal(10)}
MAX_UPLOAD_MB = Decimal(50)
DEFAULT_MAX_FILES = 9
MAX_FILES_CEILING = 20
MB = 1024 * 1024

KIND_MIME = {
    "jpeg": ("image/jpeg", ".jpg", ".jpeg"),
    "png": ("image/png", ".png"),
    "webp": ("image/webp", ".webp"),
    "gif": ("image/gif", ".gif"),
    "pdf": ("application/pdf", ".pdf"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
}

TOP_KEYS = ("id", "version", "title", "description", "fields")
COMMON_KEYS = ("name", "label", "type", "required", "help", "show_if")
_TEXT = ("min_length", "max_length", "pattern", "pattern_message", "placeholder")
_UPLOAD = ("max_mb", "accept", "multiple", "max_files")
TYPE_KEYS: dict[str, tuple[str, ...]] = {
    "text": _TEXT,
    "textarea": _TEXT,
    "number": ("min", "max", "integer", "placeholder"),
    "date": ("min", "max"),
    "datetime": ("min", "max"),
    "select": ("options", "widget"),
    "multiselect": ("options", "min_choices", "max_choices"),
    "checkbox": (),
    "phone": ("placeholder",),
    "id_last4": (),
    "room": (),
    "image": _UPLOAD,
    "file": _UPLOAD,
    "signature": (),
    "person": ("placeholder",),
    "unit": ("placeholder",),
}
FIELD_TYPES = tuple(TYPE_KEYS)
SHOW_IF_KEYS = ("field", "equals", "in", "checked")
SHOW_IF_VALUE_TYPES = ("select", "multiselect", "text", "person", "unit")

# Characters refused in any text: C0/C1 controls, lone surrogates, and the bidi overrides that can
# make a name or a filename read backwards.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", re.ASCII)
_DATETIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})[T ](\d{1,2}):(\d{2})(?::(\d{2}))?", re.ASCII)
_MOBILE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})", re.ASCII)
_LANDLINE_DASHED = re.compile(r"(0\d{2,3})-([2-9]\d{6,7})(?:(?:-|转|ext\.?)(\d{1,6}))?", re.ASCII)
_LANDLINE_PLAIN = re.compile(r"(0\d{9,11})(?:(?:-|转|ext\.?)(\d{1,6}))?", re.ASCII)
_SERVICE = re.compile(r"([48]00)-?(\d{3})-?(\d{4})", re.ASCII)
_ID_LAST4 = re.compile(r"\d{3}[\dX]", re.ASCII)


# ---------------------------------------------------------------------------------------------
# The spec
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    """One choice of a select/multiselect: the stored ``value`` and the ``label`` people read."""

    value: str
    label: str


@dataclass(frozen=True)
class ShowIf:
    """Show a field only when another field has a value: ``equals``, one of ``any_of`` (TOML ``in``),
    or a checkbox is ``checked`` (true/false). For a multiselect, ``equals``/``in`` mean "is among
    the chosen"."""

    field: str
    equals: str | None = None
    any_of: tuple[str, ...] | None = None
    checked: bool | None = None

    def as_json(self) -> dict[str, Any]:
        """The condition as the ``data-show-if`` attribute carries it for show-if.js."""
        if self.checked is not None:
            return {"field": self.field, "checked": self.checked}
        if self.any_of is not None:
            return {"field": self.field, "in": list(self.any_of)}
        return {"field": self.field, "equals": self.equals}

    def matches(self, controller: Field, data: Mapping[str, Any]) -> bool:
        """Whether the submitted raw value of ``controller`` satisfies the condition."""
        raw = [_nfc(v).strip() for v in _all(data, controller.name)]
        raw = [v for v in raw if v]
        if self.checked is not None:
            return bool(raw) == self.checked
        wanted = {self.equals} if self.any_of is None else set(self.any_of)
        if controller.type == "multiselect":
            return bool(wanted.intersection(raw))
        return bool(raw) and raw[0] in wanted


Bound = Decimal | date | datetime | str | None


@dataclass(frozen=True)
class Field:
    """One field of a form. Which attributes matter depends on ``type`` (see docs/lowcode.md)."""

    name: str
    label: str
    type: str
    required: bool = False
    help: str = ""
    show_if: ShowIf | None = None
    placeholder: str = ""
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    pattern_message: str = ""
    min: Bound = None
    max: Bound = None
    integer: bool = False
    options: tuple[Option, ...] = ()
    widget: str = ""
    min_choices: int | None = None
    max_choices: int | None = None
    max_mb: Decimal | None = None
    accept: tuple[str, ...] = ()
    multiple: bool = False
    max_files: int | None = None

    @property
    def is_upload(self) -> bool:
        return self.type in ("image", "file")

    @property
    def use_radios(self) -> bool:
        """A select shows as radio buttons (easier to tap) unless it has many options."""
        if self.widget:
            return self.widget == "radio"
        return len(self.options) <= RADIO_MAX_OPTIONS

    @property
    def accept_attr(self) -> str:
        """The ``accept`` attribute of the file input: MIME types and extensions of ``accept``."""
        return ",".join(part for kind in self.accept for part in KIND_MIME[kind])

    @property
    def accept_text(self) -> str:
        """The accepted kinds as people read them, e.g. "JPEG 图片、PNG 图片"."""
        labels = kind_labels()
        return "、".join(labels[kind] for kind in self.accept)

    def bound(self, which: str, now: datetime | None = None) -> Decimal | date | datetime | None:
        """``min`` or ``max`` resolved: "today"/"now" become the date or time in China now."""
        value = self.min if which == "min" else self.max
        if not isinstance(value, str):
            return value
        now = now or datetime.now(LOCAL_TZ).replace(tzinfo=None)
        if self.type == "date":
            return now.date()
        return datetime.combine(now.date(), time()) if value == "today" else now.replace(second=0, microsecond=0)

    def html_bound(self, which: str) -> str:
        """``min``/``max`` as an HTML attribute value ("" when there is none)."""
        value = self.bound(which)
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.isoformat(timespec="minutes")
        if isinstance(value, date):
            return value.isoformat()
        return format(value, "f")

    @property
    def inputmode(self) -> str:
        """The on-screen keyboard for a number: digits only when negatives and fractions cannot occur."""
        non_negative = isinstance(self.min, Decimal) and self.min >= 0
        if self.integer and non_negative:
            return "numeric"
        return "decimal" if non_negative else "text"


@dataclass(frozen=True)
class FormSpec:
    """A loaded, valid form spec. ``source`` is the file it came from (for messages)."""

    id: str
    version: int
    title: str
    fields: tuple[Field, ...]
    description: str = ""
    source: str = ""

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def has_files(self) -> bool:
        """True when the page must post the form as ``multipart/form-data``."""
        return any(f.is_upload for f in self.fields)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------

def load_form(text: str, source: str) -> FormSpec:
    """Parse and check a form spec; raise :class:`~core.lowcode.specs.SpecError` listing every problem."""
    return _FormLoader(text, source).load(parse_spec(text, source))


def load_form_file(path: str | Path | Traversable, *, source: str | None = None) -> FormSpec:
    """Load a form spec file (size limit, UTF-8 check, then :func:`load_form`)."""
    source = source or (str(path) if isinstance(path, str | Path) else path.name)
    return load_form(read_spec(path, source=source), source)


def _kind(value: Any) -> str:
    """The TOML type of a value, for messages."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


def _hint(key: str, allowed: Sequence[str]) -> tuple[str, str]:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"（是不是 “{close[0]}”？）", f" (did you mean '{close[0]}'?)"
    return "", ""


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None


class _FormLoader:
    """Checks a parsed spec, collecting every problem before raising."""

    def __init__(self, text: str, source: str) -> None:
        self.problems = Problems(source, text)
        self.locate = self.problems.locate

    def add(self, key: str, line: int | None, zh: str, en: str) -> None:
        self.problems.add(key, line, zh, en)

    def load(self, data: dict[str, Any]) -> FormSpec:
        top = self.locate.top_key
        for key in data:
            if key not in TOP_KEYS:
                hz, he = _hint(key, TOP_KEYS)
                self.add(key, top(key), f"未知的键 “{key}”{hz}；可用的键：{', '.join(TOP_KEYS)}",
                         f"unknown key '{key}'{he}; allowed: {', '.join(TOP_KEYS)}")

        form_id = data.get("id")
        if form_id is None:
            self.add("id", None, "缺少表单标识 id，如 id = \"tishi\"", "missing id, e.g. id = \"tishi\"")
        elif not isinstance(form_id, str) or not FORM_ID.match(form_id) or len(form_id) > MAX_ID_LENGTH:
            self.add("id", top("id"),
                     f"表单标识 {form_id!r} 格式不对：只能用小写字母、数字和下划线，以字母开头，可用点分段，"
                     f"如 \"wuchang.jiaobandan\"（最长 {MAX_ID_LENGTH} 个字符）",
                     f"malformed id {form_id!r}: lowercase letters, digits and underscores, starting with a "
                     f"letter, parts separated by dots, e.g. \"wuchang.jiaobandan\" (at most {MAX_ID_LENGTH})")

        check_version(self.add, data, top("version"))
        version = data.get("version")

        title = data.get("title")
        if title is None:
            self.add("title", None, "缺少表单名称 title", "missing title")
        elif not isinstance(title, str) or not title.strip():
            self.add("title", top("title"), "表单名称 title 必须是非空的文字", "title must be a non-empty string")

        description = data.get("description", "")
        if not isinstance(description, str):
            self.add("description", top("description"), "description 必须是文字", "description must be a string")
            description = ""

        fields: list[Field] = []
        raw_fields = data.get("fields")
        if raw_fields is None:
            self.add("fields", None, "表单没有字段：请至少添加一个 [[fields]]",
                     "the form has no fields: add at least one [[fields]]")
        elif not isinstance(raw_fields, list) or not raw_fields:
            self.add("fields", top("fields"), "fields 必须是字段列表：每个字段写成一个 [[fields]]",
                     "fields must be a list of tables: write each field as [[fields]]")
        elif len(raw_fields) > MAX_FIELDS:
            self.add("fields", top("fields"), f"字段过多（{len(raw_fields)} 个，最多 {MAX_FIELDS} 个）",
                     f"too many fields ({len(raw_fields)}, at most {MAX_FIELDS})")
        else:
            declared: dict[str, int] = {}  # usable field name → index of the field that declares it
            conditions: dict[str, ShowIf] = {}
            for index, raw in enumerate(raw_fields):
                name = raw.get("name") if isinstance(raw, dict) else None
                duplicate = isinstance(name, str) and name in declared
                if duplicate:
                    first = declared[name]
                    self.add(f"fields[{index + 1}].name", self.locate.array_item("fields", index, "name"),
                             f"字段名 “{name}” 重复（第 {first + 1} 个字段已使用）",
                             f"duplicate field name '{name}' (already used by field {first + 1})")
                parsed, condition = self.field(index, raw, duplicate)
                if duplicate or not isinstance(name, str) or not FIELD_NAME.match(name):
                    continue
                declared[name] = index
                if condition is not None and condition is not _BAD_SHOW_IF:
                    conditions[name] = condition
                if parsed is not None:
                    fields.append(parsed)
            self.check_show_if(declared, conditions, {f.name: f for f in fields})

        self.problems.raise_if_any()
        assert isinstance(form_id, str) and isinstance(version, int) and isinstance(title, str)
        return FormSpec(id=form_id, version=version, title=spec_text(title.strip()), fields=tuple(fields),
                        description=spec_text(description.strip()), source=self.problems.source)

    # -- one field ---------------------------------------------------------------------------

    def field(self, index: int, raw: Any, duplicate: bool = False) -> tuple[Field | None, ShowIf | None]:
        """The field, or None when it has problems; and its show_if (checked across fields later)."""
        def line(key: str | None = None) -> int | None:
            return self.locate.array_item("fields", index, key)

        if not isinstance(raw, dict):
            self.add(f"fields[{index + 1}]", line(), "每个字段必须是一个表，写成 [[fields]] 加若干 键 = 值",
                     "each field must be a table: [[fields]] followed by key = value lines")
            return None, None
        ok = True
        name = raw.get("name")
        usable_name = isinstance(name, str) and FIELD_NAME.match(name) is not None
        key = f"fields.{name}" if usable_name and not duplicate else f"fields[{index + 1}]"
        if name is None:
            self.add(f"{key}.name", line(), "字段缺少 name（英文标识，如 name = \"title\"）",
                     "field has no name (an identifier, e.g. name = \"title\")")
            ok = False
        elif not usable_name:
            self.add(f"{key}.name", line("name"),
                     f"字段名 {name!r} 格式不对：只能用小写英文字母、数字和下划线，以字母开头，最长 40 个字符",
                     f"malformed field name {name!r}: lowercase letters, digits, underscores, "
                     "starting with a letter, at most 40 characters")
            ok = False

        label = raw.get("label")
        if label is None:
            self.add(f"{key}.label", line(), "字段缺少 label（显示给用户的名称，如 label = \"议题\"）",
                     "field has no label (the name people read, e.g. label = \"议题\")")
            ok = False
        elif not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
            self.add(f"{key}.label", line("label"), f"label 必须是非空的文字（最长 {MAX_LABEL} 个字）",
                     f"label must be a non-empty string (at most {MAX_LABEL} characters)")
            ok = False

        ftype = raw.get("type")
        if ftype is None:
            self.add(f"{key}.type", line(), f"字段缺少 type；可用的类型：{', '.join(FIELD_TYPES)}",
                     f"field has no type; types: {', '.join(FIELD_TYPES)}")
            ok = False
        elif not isinstance(ftype, str) or ftype not in TYPE_KEYS:
            hz, he = _hint(str(ftype), FIELD_TYPES)
            self.add(f"{key}.type", line("type"), f"未知的字段类型 {ftype!r}{hz}；可用的类型：{', '.join(FIELD_TYPES)}",
                     f"unknown field type {ftype!r}{he}; types: {', '.join(FIELD_TYPES)}")
            ok = False

        if isinstance(ftype, str) and ftype in TYPE_KEYS:
            allowed = (*COMMON_KEYS, *TYPE_KEYS[ftype])
            for k in raw:
                if k not in allowed:
                    hz, he = _hint(k, allowed)
                    self.add(f"{key}.{k}", line(k),
                             f"未知的键 “{k}”{hz}；{ftype} 类型可用的键：{', '.join(allowed)}",
                             f"unknown key '{k}'{he}; keys for type {ftype}: {', '.join(allowed)}")
                    ok = False

        checker = _Keys(self, key, raw, line)
        attrs: dict[str, Any] = {
            "required": checker.boolean("required", False),
            "help": checker.string("help", ""),
            "show_if": self.show_if(key, raw.get("show_if"), line),
        }
        if isinstance(ftype, str) and ftype in TYPE_KEYS:
            extra = getattr(self, f"keys_{ftype}", None)
            if extra is not None:
                attrs.update(extra(checker, ftype))
        if checker.failed or not ok:
            return None, attrs["show_if"]
        assert isinstance(name, str) and isinstance(label, str) and isinstance(ftype, str)
        for text_key in ("help", "placeholder", "pattern_message"):
            if attrs.get(text_key):
                attrs[text_key] = spec_text(attrs[text_key])
        if attrs.get("options"):
            attrs["options"] = tuple(Option(o.value, spec_text(o.label)) for o in attrs["options"])
        return Field(name=name, label=spec_text(label.strip()), type=ftype, **attrs), attrs["show_if"]

    def keys_text(self, c: _Keys, ftype: str) -> dict[str, Any]:
        out: dict[str, Any] = {"placeholder": c.string("placeholder", ""),
                               "pattern_message": c.string("pattern_message", "")}
        ceiling = TEXT_MAX_CEILING[ftype]
        low = c.integer("min_length", None, 0, ceiling)
        high = c.integer("max_length", TEXT_MAX_DEFAULT[ftype], 1, ceiling)
        if low is not None and high is not None and low > high:
            c.problem("min_length", f"min_length（{low}）不能大于 max_length（{high}）",
                      f"min_length ({low}) is greater than max_length ({high})")
        out["min_length"], out["max_length"] = low, high
        pattern = c.string("pattern", None)
        if pattern is not None:
            if len(pattern) > MAX_PATTERN:
                c.problem("pattern", f"pattern 过长（最多 {MAX_PATTERN} 个字符）",
                          f"pattern too long (at most {MAX_PATTERN} characters)")
            else:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    c.problem("pattern", f"pattern 不是有效的正则表达式：{exc}",
                              f"pattern is not a valid regular expression: {exc}")
        elif out["pattern_message"]:
            c.problem("pattern_message", "有 pattern_message 却没有 pattern", "pattern_message without pattern")
        out["pattern"] = pattern
        return out

    keys_textarea = keys_text

    def keys_number(self, c: _Keys, ftype: str) -> dict[str, Any]:
        integer = c.boolean("integer", False)
        bounds: dict[str, Decimal | None] = {}
        for which in ("min", "max"):
            raw = c.raw.get(which)
            if raw is None:
                bounds[which] = None
                continue
            value = _decimal(raw)
            if value is None:
                c.problem(which, f"{which} 必须是数字，现为 {raw!r}", f"{which} must be a number, got {raw!r}")
            elif integer and value != value.to_integral_value():
                c.problem(which, f"integer = true 时 {which} 必须是整数，现为 {raw!r}",
                          f"{which} must be a whole number when integer = true, got {raw!r}")
            bounds[which] = value
        self.min_max(c, bounds)
        return {"integer": integer, "placeholder": c.string("placeholder", ""), **bounds}

    def keys_date(self, c: _Keys, ftype: str) -> dict[str, Any]:
        bounds: dict[str, Bound] = {}
        for which in ("min", "max"):
            raw = c.raw.get(which)
            bounds[which] = None if raw is None else _date_bound(raw, ftype)
            if raw is not None and bounds[which] is None:
                example, special = ("2026-11-20", "\"today\"") if ftype == "date" else \
                    ("2026-11-20T19:30", "\"today\" / \"now\"")
                c.problem(which, f"{which} 必须是 {example} 格式的{'日期' if ftype == 'date' else '时间'}或 {special}，"
                                 f"现为 {raw!r}",
                          f"{which} must be a {ftype} like {example} or {special}, got {raw!r}")
        self.min_max(c, bounds)
        return bounds

    keys_datetime = keys_date

    def min_max(self, c: _Keys, bounds: Mapping[str, Any]) -> None:
        low, high = bounds.get("min"), bounds.get("max")
        if low is None or high is None or isinstance(low, str) or isinstance(high, str):
            return
        if low > high:
            c.problem("min", f"min（{low}）不能大于 max（{high}）", f"min ({low}) is greater than max ({high})")

    def keys_select(self, c: _Keys, ftype: str) -> dict[str, Any]:
        out: dict[str, Any] = {"options": self.options(c)}
        if ftype == "select":
            widget = c.string("widget", "")
            if widget not in ("", "radio", "dropdown"):
                c.problem("widget", f"widget 只能是 \"radio\" 或 \"dropdown\"，现为 {widget!r}",
                          f"widget must be \"radio\" or \"dropdown\", got {widget!r}")
            out["widget"] = widget
            return out
        n = len(out["options"]) or MAX_FIELDS
        low = c.integer("min_choices", None, 0, n)
        high = c.integer("max_choices", None, 1, n)
        if low is not None and high is not None and low > high:
            c.problem("min_choices", f"min_choices（{low}）不能大于 max_choices（{high}）",
                      f"min_choices ({low}) is greater than max_choices ({high})")
        out["min_choices"], out["max_choices"] = low, high
        return out

    keys_multiselect = keys_select

    def options(self, c: _Keys) -> tuple[Option, ...]:
        raw = c.raw.get("options")
        if raw is None:
            c.problem("options", "缺少选项 options，如 options = [\"满意\", \"不满意\"]",
                      "missing options, e.g. options = [\"满意\", \"不满意\"]", line_key=None)
            return ()
        if not isinstance(raw, list) or not raw:
            c.problem("options",
                      "options 必须是非空列表，如 [\"满意\", \"不满意\"] 或 [{ value = \"a\", label = \"甲\" }]",
                      "options must be a non-empty list of strings or of { value, label } tables")
            return ()
        options: list[Option] = []
        for position, item in enumerate(raw, 1):
            if isinstance(item, str):
                value, label = item.strip(), item.strip()
            elif isinstance(item, dict) and set(item) <= {"value", "label"} and isinstance(item.get("value"), str):
                value = item["value"].strip()
                label = item.get("label", value)
                label = label.strip() if isinstance(label, str) else ""
            else:
                c.problem("options", f"第 {position} 个选项应是文字，或 {{ value = \"…\", label = \"…\" }}",
                          f"option {position} must be a string or a {{ value = \"…\", label = \"…\" }} table")
                continue
            if not value or not label or len(value) > MAX_LABEL or _bad_char(value, False) or _bad_char(label, False):
                c.problem("options", f"第 {position} 个选项为空、过长或含有控制字符",
                          f"option {position} is empty, too long or contains control characters")
                continue
            if any(o.value == value for o in options):
                c.problem("options", f"选项 “{value}” 重复", f"duplicate option '{value}'")
                continue
            options.append(Option(value, label))
        return tuple(options)

    def keys_upload(self, c: _Keys, ftype: str) -> dict[str, Any]:
        out: dict[str, Any] = {"multiple": c.boolean("multiple", False)}
        raw_mb = c.raw.get("max_mb")
        max_mb = DEFAULT_MAX_MB[ftype] if raw_mb is None else _decimal(raw_mb)
        if isinstance(raw_mb, str) or max_mb is None or not Decimal(0) < max_mb <= MAX_UPLOAD_MB:
            c.problem("max_mb", f"max_mb 必须是大于 0、不超过 {MAX_UPLOAD_MB} 的数字（单位 MB），现为 {raw_mb!r}",
                      f"max_mb must be a number above 0 and at most {MAX_UPLOAD_MB} (megabytes), got {raw_mb!r}")
        out["max_mb"] = max_mb
        allowed = IMAGE_KINDS if ftype == "image" else FILE_KINDS
        accept = c.raw.get("accept")
        if accept is None:
            out["accept"] = DEFAULT_ACCEPT[ftype]
        elif not isinstance(accept, list) or not accept or not all(isinstance(a, str) for a in accept):
            c.problem("accept", f"accept 必须是非空列表，可选：{', '.join(allowed)}",
                      f"accept must be a non-empty list of: {', '.join(allowed)}")
        else:
            bad = [a for a in accept if a not in allowed]
            if bad:
                c.problem("accept", f"accept 中有不支持的类型 {', '.join(bad)}；{ftype} 类型可选：{', '.join(allowed)}",
                          f"unsupported kind(s) {', '.join(bad)} in accept; for type {ftype}: {', '.join(allowed)}")
            out["accept"] = tuple(dict.fromkeys(a for a in accept if a in allowed))
        max_files = c.integer("max_files", None, 1, MAX_FILES_CEILING)
        if max_files is not None and not out["multiple"]:
            c.problem("max_files", "max_files 需要同时设置 multiple = true",
                      "max_files needs multiple = true")
        out["max_files"] = (max_files or DEFAULT_MAX_FILES) if out["multiple"] else 1
        return out

    keys_image = keys_upload
    keys_file = keys_upload

    def keys_phone(self, c: _Keys, ftype: str) -> dict[str, Any]:
        return {"placeholder": c.string("placeholder", "")}

    keys_person = keys_phone
    keys_unit = keys_phone

    # -- show_if -------------------------------------------------------------------------------

    def show_if(self, key: str, raw: Any, line: Callable[[str | None], int | None]) -> ShowIf | None:
        if raw is None:
            return None
        where = f"{key}.show_if"
        example = "show_if = { field = \"category\", equals = \"其他\" }"
        if not isinstance(raw, dict):
            self.add(where, line("show_if"), f"show_if 必须写成表，如 {example}",
                     f"show_if must be a table, e.g. {example}")
            return _BAD_SHOW_IF
        for k in raw:
            if k not in SHOW_IF_KEYS:
                hz, he = _hint(k, SHOW_IF_KEYS)
                self.add(f"{where}.{k}", line("show_if"),
                         f"show_if 中未知的键 “{k}”{hz}；可用：{', '.join(SHOW_IF_KEYS)}",
                         f"unknown key '{k}' in show_if{he}; allowed: {', '.join(SHOW_IF_KEYS)}")
        target = raw.get("field")
        conditions = [k for k in ("equals", "in", "checked") if k in raw]
        bad = False
        if not isinstance(target, str) or not target:
            self.add(f"{where}.field", line("show_if"), f"show_if 缺少 field（依据哪个字段），如 {example}",
                     f"show_if needs field (which field it depends on), e.g. {example}")
            bad = True
        if len(conditions) != 1:
            self.add(where, line("show_if"), "show_if 需要且只能有 equals、in、checked 中的一个",
                     "show_if needs exactly one of equals, in, checked")
            return _BAD_SHOW_IF
        condition = conditions[0]
        value = raw[condition]
        if condition == "equals" and not isinstance(value, str):
            self.add(f"{where}.equals", line("show_if"), f"equals 必须是文字，现为 {value!r}",
                     f"equals must be a string, got {value!r}")
            bad = True
        strings = isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
        if condition == "in" and not strings:
            self.add(f"{where}.in", line("show_if"), "in 必须是非空的文字列表，如 in = [\"停车\", \"其他\"]",
                     "in must be a non-empty list of strings, e.g. in = [\"停车\", \"其他\"]")
            bad = True
        if condition == "checked" and not isinstance(value, bool):
            self.add(f"{where}.checked", line("show_if"), f"checked 必须是 true 或 false，现为 {value!r}",
                     f"checked must be true or false, got {value!r}")
            bad = True
        if bad:
            return _BAD_SHOW_IF
        assert isinstance(target, str)
        if condition == "equals":
            return ShowIf(target, equals=value)
        if condition == "in":
            return ShowIf(target, any_of=tuple(value))
        return ShowIf(target, checked=value)

    def check_show_if(self, declared: Mapping[str, int], conditions: Mapping[str, ShowIf],
                      parsed: Mapping[str, Field]) -> None:
        """Each show_if names another existing field of a fitting type, and none forms a cycle."""
        index_of = declared

        def line(name: str) -> int | None:
            return self.locate.array_item("fields", index_of[name], "show_if")

        dependent = dict(conditions)
        for name, cond in conditions.items():
            where = f"fields.{name}.show_if.field"
            target = parsed.get(cond.field)
            if cond.field == name:
                self.add(where, line(name), "show_if 不能依赖字段自身", "show_if cannot depend on the field itself")
                del dependent[name]
            elif cond.field not in declared:
                hz, he = _hint(cond.field, list(declared))
                self.add(where, line(name), f"show_if 依据的字段 “{cond.field}” 不存在{hz}",
                         f"show_if refers to a field '{cond.field}' that does not exist{he}")
                del dependent[name]
            elif target is None:
                continue  # the target has problems of its own, reported already
            elif cond.checked is not None and target.type != "checkbox":
                self.add(where, line(name), f"checked 只能用于 checkbox 字段，“{target.name}” 是 {target.type}",
                         f"checked works only on a checkbox field; '{target.name}' is {target.type}")
            elif cond.checked is None and target.type not in SHOW_IF_VALUE_TYPES:
                self.add(where, line(name),
                         f"equals/in 只能用于 {', '.join(SHOW_IF_VALUE_TYPES)} 字段，“{target.name}” 是 {target.type}",
                         f"equals/in work only on {', '.join(SHOW_IF_VALUE_TYPES)} fields; "
                         f"'{target.name}' is {target.type}")
            elif target.options:
                wanted = [cond.equals] if cond.any_of is None else list(cond.any_of)
                known = [o.value for o in target.options]
                for value in wanted:
                    if value not in known:
                        hz, he = _hint(str(value), known)
                        self.add(where.removesuffix(".field") + (".equals" if cond.any_of is None else ".in"),
                                 line(name), f"“{value}” 不是字段 “{target.name}” 的选项{hz}",
                                 f"'{value}' is not an option of field '{target.name}'{he}")
        reported: set[frozenset[str]] = set()
        for start in sorted(dependent, key=lambda n: index_of[n]):
            path = [start]
            current = dependent[start].field
            while current in dependent and current not in path:
                path.append(current)
                current = dependent[current].field
            if current in path:
                cycle = path[path.index(current):]
                if frozenset(cycle) in reported:
                    continue
                reported.add(frozenset(cycle))
                first = min(cycle, key=lambda n: index_of[n])
                rotated = cycle[cycle.index(first):] + cycle[: cycle.index(first)]
                chain = " → ".join([*rotated, first])
                self.add(f"fields.{first}.show_if", line(first), f"show_if 形成循环：{chain}",
                         f"show_if forms a cycle: {chain}")


_BAD_SHOW_IF = ShowIf("")  # a placeholder so one broken show_if does not also report "missing field"


class _Keys:
    """Typed access to one field's keys, reporting a wrong type as a problem."""

    def __init__(self, loader: _FormLoader, key: str, raw: dict[str, Any],
                 line: Callable[[str | None], int | None]) -> None:
        self.loader, self.key, self.raw, self.line = loader, key, raw, line
        self.failed = False

    def problem(self, k: str, zh: str, en: str, line_key: str | None = "") -> None:
        self.failed = True
        self.loader.add(f"{self.key}.{k}", self.line(k if line_key == "" else line_key), zh, en)

    def boolean(self, k: str, default: bool) -> bool:
        value = self.raw.get(k, default)
        if not isinstance(value, bool):
            self.problem(k, f"{k} 必须是 true 或 false，现为 {value!r}", f"{k} must be true or false, got {value!r}")
            return default
        return value

    def string(self, k: str, default: str | None) -> Any:
        value = self.raw.get(k, default)
        if value is not default and not isinstance(value, str):
            self.problem(k, f"{k} 必须是文字（加引号），现为 {_kind(value)}",
                         f"{k} must be a string (in quotes), got {_kind(value)}")
            return default
        return value

    def integer(self, k: str, default: int | None, low: int, high: int) -> int | None:
        value = self.raw.get(k)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem(k, f"{k} 必须是 {low} 到 {high} 之间的整数，现为 {value!r}",
                         f"{k} must be a whole number from {low} to {high}, got {value!r}")
            return default
        return value


def _date_bound(raw: Any, ftype: str) -> Bound:
    if isinstance(raw, str):
        text = raw.strip()
        if text == "today" or (text == "now" and ftype == "datetime"):
            return text
        if ftype == "date":
            return _parse_date(text)
        return _parse_datetime(text)
    if isinstance(raw, datetime):
        if ftype == "date" or raw.tzinfo is not None:
            return None
        return raw
    if isinstance(raw, date):
        return raw if ftype == "date" else datetime.combine(raw, time())
    return None


# ---------------------------------------------------------------------------------------------
# Submissions
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Upload:
    """One uploaded file as the web layer received it; ``content_type`` and ``filename`` are the
    browser's claims and are never trusted for the type."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Choices:
    """What ``person`` and ``unit`` fields may take: ``(id, label)`` pairs from the roster and the
    unit tree; ``by_field`` overrides them for a named field."""

    persons: Sequence[tuple[str, str]] = ()
    units: Sequence[tuple[str, str]] = ()
    by_field: Mapping[str, Sequence[tuple[str, str]]] = field(default_factory=dict)

    def for_field(self, f: Field) -> list[tuple[str, str]]:
        if f.name in self.by_field:
            found = self.by_field[f.name]
        else:
            found = self.persons if f.type == "person" else self.units if f.type == "unit" else ()
        return [(str(i), str(label)) for i, label in found]


@dataclass
class Result:
    """The outcome of :func:`validate`.

    values: clean JSON-able values of the visible fields (see docs/lowcode.md for each type);
    errors: field name → message in Chinese, naming the field's label;
    files: the accepted uploads keyed by SHA-256, for the caller to store.
    """

    form_id: str
    form_version: int
    values: dict[str, Any]
    errors: dict[str, str]
    files: dict[str, Upload]

    @property
    def ok(self) -> bool:
        return not self.errors

    def record(self) -> dict[str, Any]:
        """What to store: the values with the spec id and version that produced them."""
        return {"form": self.form_id, "version": self.form_version, "values": self.values}


def validate(spec: FormSpec, data: Mapping[str, Sequence[str]],
             files: Mapping[str, Sequence[Upload]] | None = None, choices: Choices | None = None,
             *, now: datetime | None = None) -> Result:
    """Check a submission against ``spec``.

    ``data`` maps an input name to the submitted strings (room and signature fields use
    ``name.building``/``name.unit_no``/``name.room`` and ``name.confirm``); unknown names (such as the
    CSRF token) and non-string values are ignored. From Litestar's ``FormMultiDict`` build it with
    ``{k: form.getall(k) for k in form}`` so the ticks of a multiselect are not lost. ``now`` is for
    "today"/"now" bounds (default: now, in China time). Never raises on any input.
    """
    now = now or datetime.now(LOCAL_TZ)
    if now.tzinfo is not None:
        now = now.astimezone(LOCAL_TZ).replace(tzinfo=None)
    ctx = _Context(choices or Choices(), now, files or {})
    visible = visible_fields(spec, data)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    accepted: dict[str, Upload] = {}
    for f in spec.fields:
        if f.name not in visible:
            continue
        value, error, uploads = _CLEANERS[f.type](f, data, ctx)
        if error:
            errors[f.name] = error
        else:
            values[f.name] = value
            accepted.update(uploads)
    return Result(spec.id, spec.version, values, errors, accepted if not errors else {})


def visible_fields(spec: FormSpec, data: Mapping[str, Any]) -> set[str]:
    """Names of the fields shown for these submitted values (a field whose controller is hidden is
    hidden too)."""
    by_name = {f.name: f for f in spec.fields}
    memo: dict[str, bool] = {}

    def shown(f: Field) -> bool:
        if f.name not in memo:
            cond = f.show_if
            memo[f.name] = cond is None or (shown(by_name[cond.field]) and cond.matches(by_name[cond.field], data))
        return memo[f.name]

    return {f.name for f in spec.fields if shown(f)}


def form_data(spec: FormSpec, values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Stored values back into form data, to fill a form for editing (uploads cannot be re-filled)."""
    out: dict[str, list[str]] = {}
    for f in spec.fields:
        if f.name not in values or f.is_upload:
            continue
        value = values[f.name]
        if value is None:
            continue
        if f.type == "checkbox":
            out[f.name] = ["on"] if value else []
        elif f.type == "multiselect":
            out[f.name] = [str(v) for v in value]
        elif f.type == "room":
            for part in ("building", "unit_no", "room"):
                out[f"{f.name}.{part}"] = [str(value.get(part, ""))]
        elif f.type == "signature":
            out[f.name] = [str(value.get("name", ""))]
            out[f"{f.name}.confirm"] = ["on"] if value.get("confirmed") else []
        elif f.type in ("person", "unit"):
            out[f.name] = [str(value.get("id", ""))]
        else:
            out[f.name] = [str(value)]
    return out


@dataclass
class _Context:
    choices: Choices
    now: datetime
    files: Mapping[str, Sequence[Upload]]


Cleaned = tuple[Any, str | None, dict[str, Upload]]
_NONE: dict[str, Upload] = {}


def _all(data: Mapping[str, Any], key: str) -> list[str]:
    values = data.get(key)
    if isinstance(values, str):
        return [values]
    if not isinstance(values, list | tuple):
        return []
    return [v for v in values if isinstance(v, str)]


def _first(data: Mapping[str, Any], key: str) -> str:
    values = _all(data, key)
    return values[0] if values else ""


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _bad_char(text: str, multiline: bool) -> bool:
    for ch in text:
        if ch in _BIDI:
            return True
        if unicodedata.category(ch) in ("Cc", "Cs") and not (multiline and ch in "\n\t"):
            return True
    return False


def _control_error(f: Field) -> str:
    return _("{label}含有不可见的控制字符，请删除后重新填写").format(label=f.label)


def _required_error(f: Field) -> str:
    if f.type in ("select", "multiselect", "person", "unit"):
        return _("请选择{label}").format(label=f.label)
    if f.type == "checkbox":
        return _("请勾选{label}").format(label=f.label)
    if f.is_upload:
        return _("请上传{label}").format(label=f.label)
    return _("请填写{label}").format(label=f.label)


def _clean_text(f: Field, data: Mapping[str, Any], ctx: _Context) -> Cleaned:
    multiline = f.type == "textarea"
    text = _first(data, f.name)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _nfc(text).strip()
    if _bad_char(text, multiline):
        return None, _control_error(f), _NONE
    if not text:
        return None, _required_error(f) if f.required else None, _NONE
    length = len(text)
    if f.max_length is not None and length > f.max_length:
        return None, _("{label}不能超过 {limit} 个字（现为 {length} 字）").format(
            label=f.label, limit=f.max_length, length=length), _NONE
    if f.min_length is not None and length < f.min_length:
        return None, _("{label}至少需要 {limit} 个字（现为 {length} 字）").format(
            label=f.label, limit=f.min_length, length=length), _NONE
    if f.pattern is not None and re.fullmatch(f.pattern, text) is None:
        return None, f.pattern_message or _("{label}的格式不正确").format(label=f.label), _NONE
    return text, None, _NONE


def _simple(f: Field, data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The first value, NFKC-folded (full-width digits and signs become ASCII) and stripped."""
    text = unicodedata.normalize("NFKC", _first(data, f.name)).strip()
    if _bad_char(text, False):
        return None, _control_error(f)
    return text, None


def _clean_number(f: Field, data: Mapping[str, Any], ctx: _Context) -> Cleaned:
    text, error = _simple(f, data)
    if error or not text:
        return None, error or (_required_error(f) if f.required else None), _NONE
    if len(text) > NUMBER_MAX_CHARS or not _NUMBER.fullmatch(text):
        return None, _("{label}必须是数字，如 12 或 3.5").format(label=f.label), _NONE
    try:
        number = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        return None, _("{label}必须是数字，如 12 或 3.5").format(label=f.label), _NONE
    if number == 0:
        number = abs(number)  # no "-0"
    if f.integer and number != number.to_integral_value():
        return None, _("{label}必须是整数").format(label=f.label), _NONE
    low, high = f.bound("min", ctx.now), f.bound("max", ctx.now)
    if isinstance(low, Decimal) and number < low:
        return None, _("{label}不能小于 {limit}").format(label=f.label, limit=format(low, "f")), _NONE
    if isinstance(high, Decimal) and number > high:
        return None, _("{label}不能大于 {limit}").format(label=f.label, limit=format(high, "f")), _NONE
    return (int(number) if f.integer else format(number, "f")), None, _NONE


def _parse_date(text: str) -> date | None:
    found = _DATE.fullmatch(text)
    if not found:
        return None
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None


def _parse_datetime(text: str) -> datetime | None:
    found = _DATETIME.fullmatch(text)
    if not found:
        return None
    try:
        return datetime(int(found[1]), int(found[2]), int(found[3]), int(found[4]), int(found[5]),
                        int(found[6] or 0))
    except ValueError:
        return None


def _cn_date(value: date) -> str:
    from core.templating import date_text

    text = date_text(value)
    if isinstance(value, datetime):
        text += f" {value:%H:%M}"
    return text


def _clean_date(f: Field, data: Mapping[str, Any], ctx: _Context) -> Cleaned:
    text, error = _simple(f, data)
    if error or not text:
        return None, error or (_required_error(f) if f.required else None), _NONE
    is_date = f.type == "date"
    value: date | None = _parse_date(text) if is_date else _parse_datetime(text)
    if value is None:
        if is_date:
            return None, _("{label}不是有效的日期，请按 2026-11-20 的格式填写").format(label=f.label), _NONE
        return None, _("{label}不是有效的时间，请按 2026-11-20 19:30 的格式填写").format(label=f.label), _NONE
    low, high = f.bound("min", ctx.now), f.bound("max", ctx.now)
    if isinstance(low, date) and value < low:
        return None, _("{label}不能早于 {limit}").format(label=f.label, limit=_cn_date(low)), _NONE
    if isinstance(high, date) and value > high:
        return None, _("{label}不能晚于 {limit}").format(label=f.label, limit=_cn_date(high)), _NONE
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes" if value.second == 0 else "seconds"), None, _NONE
    return value.isoformat(), None, _NONE


def _invalid_choice(f: Field) -> str:
    return _("{label}的选项无效，请重新选择").format(label=f.label)


def _clean_select(f: Field, data: Mapping[str, Any], ctx: _Context) -> Cleaned:
    text = _nfc(_first(data, f.name)).strip()
    if not text:
        return None, _required_error(f) if f.required else None, _NONE
    if not any(o.value == text for o in f.options):
        return None, _invalid_choice(f), _NONE
    return text, None, _NONE


def _clean_multiselect(f: Field, data: Mapping[str, Any], ctx: _Context) -> Cleaned:
    chosen = {v for v in (_nfc(v).strip() for v in _all(data, f.name)) if v}
    known = [o.value for o in f.options]
    if chosen - set(known):
        return None, _invalid_choice(f), _NONE
    if not chosen:
        return [], _required_error(f) if f.required else None, _NONE
    if f.min_choices is not None and len(chosen) < f.min_choices:
        return None, _("{label}至少选择 {limit} 项").format(label=f.label, limit=f.min_choices), _NONE
    if f.max_choices is not None and len(chosen) > f.max_choices:
        return None, _("{label}最多选择 {limit} 项").format(label=f.label, limit=f.max_choices), _NONE
    return [v for v in known if v in chosen], None, _NONE


def _clean_checkbox(f: Field, data: Mapping[str, Any], ctx: _Context) -> Cleaned:
    checked = any(v.strip() for v in _all(data, f.name))
    if f.required and not checked:
        return None, _required_error(f), _NONE
    return checked, None, _NONE


def _clean_phone(f: Field, data: Mapping[str, Any], ctx: _Context) -> Cleaned:
    text, error = _simple(f, data)
    if error or not text:
        return None, error or (_required_error(f) if f.required else None), _NONE
    text = re.sub(r"[\s()（）]", "", text)
    found = _MOBILE.fullmatch(text)
    if found:
        return found[1], None, _NONE
    found = _SERVICE.fullmatch(text)
    if found:
        return f"{found[1]}-{found[2]}-{found[3]}", None, _NONE
    found = _LANDLINE_DASHED.fullmatch(text)
    if found:
        area, local, ext = found[1], found[2], found[3]
    else:
        found = _LANDLINE_PLAIN.fullmatch(text)
        area = local = ""
        ext = None
        if found:
            digits = found[1]
            split = 3 if digits[1] in "12" else 4  # 010 and 02x are the three-digit area codes
            area, local, ext = digits[:split], digits[split:], found[2]
    if area and 7 <= len(local) <= 8 and local[0] in "23456789":
        return f"{area}-{local}" + (f"-{ext}" if ext else ""), None, _NONE
    return None, _("{label}不是有效的电话号码：手机号为 11 位，座机请带区号，如 0551-62345678").format(
        label=f.label), _NONE


def _clean_id_last4(f: Field, data: Mapping[str, Any], ctx: _Context) -> Cleaned:
    text, error = _simple(f, data)
    if error or not text:
        return None, error or (_required_error(f) if f.required else None), _NONE
    text = text.upper()
    if not _ID_LAST4.fullmatch(text):
        return None, _("{label}应为身份证号码的后 4 位（数字，最后一位可以是 X）").format(label=f.label), _NONE
    return text, None, _NONE


def _clean_room(f: Field, data: Mapping[str, Any], ctx: _Context) -> Cleaned:
    parts: dict[str, str] = {}
    for part in ("building", "unit_no", "room"):
        text = _nfc(_first(data, f"{f.name}.{part}")).strip()
        if _bad_char(text, False):
            return None, _control_error(f), _NONE
        if len(text) > ROOM_PART_MAX:
            return None, _("{label}的楼栋、单元、门牌号每项不能超过 {limit} 个字").format(
                label=f.label, limit=ROOM_PART_MAX), _NONE
        parts[part] = text
    if not any(parts.values()):
        return None, _("{label}：请填写楼栋").format(label=f.label) if f.required else None, _NONE
    if not parts["building"]:
        return None, _("{label}：请填写楼栋").format(label=f.label), _NONE
    return parts, None, _NONE


def _clean_signature(f: Field, data: Mapping[str, Any], ctx: _Context) -> Cleaned:
    name = _nfc(_first(data, f.name)).strip()
    confirmed = any(v.strip() for v in _all(data, f"{f.name}.confirm"))
    if _bad_char(name, False):
        return None, _control_error(f), _NONE
    if not name and not confirmed and not f.required:
        return None, None, _NONE
    if not name:
        return None, _("请在{label}处输入您的姓名").format(label=f.label), _NONE
    if len(name) > SIGNATURE_MAX:
        return None, _("{label}不能超过 {limit} 个字（现为 {length} 字）").format(
            label=f.label, limit=SIGNATURE_MAX, length=len(name)), _NONE
    if not confirmed:
        return None, _("{label}：请勾选“本人确认”").format(label=f.label), _NONE
    return {"name": name, "confirmed": True}, None, _NONE


def _clean_choice(f: Field, data: Mapping[str, Any], ctx: _Context) -> Cleaned:
    text = _first(data, f.name).strip()
    if not text:
        return None, _required_error(f) if f.required else None, _NONE
    for ident, label in ctx.choices.for_field(f):
        if ident == text:
            return {"id": ident, "label": label}, None, _NONE
    return None, _invalid_choice(f), _NONE


def _clean_upload(f: Field, data: Mapping[str, Any], ctx: _Context) -> Cleaned:
    # A file input left empty still arrives as a part with no filename and no bytes.
    uploads = [u for u in ctx.files.get(f.name, ()) if u.filename or u.data]
    if not uploads:
        return [], _required_error(f) if f.required else None, _NONE
    if not f.multiple and len(uploads) > 1:
        return None, _("{label}只能上传 1 个文件").format(label=f.label), _NONE
    if f.max_files is not None and len(uploads) > f.max_files:
        return None, _("{label}最多上传 {limit} 个文件（现为 {count} 个）").format(
            label=f.label, limit=f.max_files, count=len(uploads)), _NONE
    problems: list[str] = []
    entries: list[dict[str, Any]] = []
    accepted: dict[str, Upload] = {}
    max_mb = f.max_mb or DEFAULT_MAX_MB[f.type]
    limit = max_mb * MB
    for upload in uploads:
        filename = clean_filename(upload.filename)
        if not upload.data:
            problems.append(_("{label}：文件“{filename}”是空文件").format(label=f.label, filename=filename))
            continue
        if upload.size > limit:
            problems.append(_("{label}：文件“{filename}”超过 {limit} MB（现为 {size} MB）").format(
                label=f.label, filename=filename, limit=format(max_mb, "f"), size=_mb(upload.size)))
            continue
        kind = sniff(upload.data)
        if kind not in f.accept:
            problems.append(_wrong_kind(f, filename, kind))
            continue
        digest = upload.sha256
        if digest in accepted:
            continue
        accepted[digest] = upload
        entries.append({"sha256": digest, "filename": filename, "size": upload.size, "kind": kind})
    if problems:
        return None, "；".join(problems), _NONE
    return entries, None, accepted


def _mb(size: int) -> str:
    return format((Decimal(size) / MB).quantize(Decimal("0.1")), "f")


def _wrong_kind(f: Field, filename: str, kind: str) -> str:
    labels = kind_labels()
    looks = labels.get(kind, labels["unknown"])
    wanted = f.accept_text
    if f.type == "image" and kind not in IMAGE_KINDS:
        return _("{label}：文件“{filename}”的内容不是图片（看起来是{kind}），请上传 {accept}").format(
            label=f.label, filename=filename, kind=looks, accept=wanted)
    return _("{label}：文件“{filename}”的类型不被接受（看起来是{kind}），只接受 {accept}").format(
        label=f.label, filename=filename, kind=looks, accept=wanted)


def clean_filename(name: str) -> str:
    """The file's own name, without a path (browsers on Windows may send ``C:\\fakepath\\…``),
    without control characters, at most 120 characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in _nfc(base) if not _bad_char(ch, False)).strip()
    if len(base) > FILENAME_MAX:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: FILENAME_MAX - len(ext) - 1] + dot + ext) if dot and len(ext) <= 10 else base[:FILENAME_MAX]
    return base or _("未命名文件")


_CLEANERS: dict[str, Callable[[Field, Mapping[str, Any], _Context], Cleaned]] = {
    "text": _clean_text,
    "textarea": _clean_text,
    "number": _clean_number,
    "date": _clean_date,
    "datetime": _clean_date,
    "select": _clean_select,
    "multiselect": _clean_multiselect,
    "checkbox": _clean_checkbox,
    "phone": _clean_phone,
    "id_last4": _clean_id_last4,
    "room": _clean_room,
    "image": _clean_upload,
    "file": _clean_upload,
    "signature": _clean_signature,
    "person": _clean_choice,
    "unit": _clean_choice,
}
assert set(_CLEANERS) == set(TYPE_KEYS)


# ---------------------------------------------------------------------------------------------
# What a file really is
# ---------------------------------------------------------------------------------------------

def kind_labels() -> dict[str, str]:
    """How each kind :func:`sniff` returns is named to people."""
    return {
        "jpeg": _("JPEG 图片"),
        "png": _("PNG 图片"),
        "webp": _("WebP 图片"),
        "gif": _("GIF 图片"),
        "pdf": _("PDF 文档"),
        "docx": _("Word 文档（.docx）"),
        "xlsx": _("Excel 表格（.xlsx）"),
        "exe": _("Windows 程序（.exe）"),
        "elf": _("Linux 程序"),
        "macho": _("苹果电脑程序"),
        "script": _("脚本文件"),
        "zip": _("压缩包（ZIP）"),
        "rar": _("压缩包（RAR）"),
        "7z": _("压缩包（7z）"),
        "gzip": _("压缩包（gzip）"),
        "office_macro": _("含宏的 Office 文件"),
        "office_legacy": _("旧版 Office 文件（.doc/.xls），请另存为 .docx/.xlsx"),
        "html": _("网页（HTML）"),
        "svg": _("SVG 矢量图"),
        "xml": _("XML 文件"),
        "bmp": _("BMP 图片"),
        "tiff": _("TIFF 图片"),
        "heic": _("HEIC 照片（请在手机相机设置中选择“兼容性最佳”，或截图后上传）"),
        "video": _("视频"),
        "audio": _("音频"),
        "text": _("纯文本"),
        "unknown": _("无法识别的文件"),
    }


def sniff(data: bytes) -> str:
    """The real kind of a file from its first bytes: one of :data:`FILE_KINDS` when it is something
    a form can accept, otherwise a key of :func:`kind_labels` saying what it looks like."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _sniff_zip(data)
    if head.startswith(b"MZ"):
        return "exe"
    if head.startswith(b"\x7fELF"):
        return "elf"
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
                    b"\xca\xfe\xba\xbe"):
        return "macho"
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "office_legacy"
    if head.startswith(b"BM"):
        return "bmp"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif"):
            return "heic"
        return "audio" if brand.startswith(b"M4A") else "video"
    if head.startswith((b"ID3", b"OggS", b"fLaC")) or (head.startswith(b"RIFF") and head[8:12] == b"WAVE"):
        return "audio"
    if head.startswith(b"\x1aE\xdf\xa3") or (head.startswith(b"RIFF") and head[8:12] == b"AVI "):
        return "video"
    if head.startswith(b"#!"):
        return "script"
    text = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if b"<svg" in text:
        return "svg"
    if text.startswith((b"<!doctype html", b"<html", b"<script", b"<head", b"<body")):
        return "html"
    if text.startswith(b"<?xml"):
        return "xml"
    try:
        # Incremental, so a multi-byte character cut at the 1 KB boundary is not an error.
        sample = codecs.getincrementaldecoder("utf-8")().decode(data[:1024], final=False)
    except UnicodeDecodeError:
        return "unknown"
    if sample and not any(unicodedata.category(ch) == "Cc" and ch not in "\r\n\t\f" for ch in sample):
        return "text"
    return "unknown"


def _sniff_zip(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError, RuntimeError):
        return "zip"
    if "[Content_Types].xml" in names:
        if "word/vbaProject.bin" in names or "xl/vbaProject.bin" in names:
            return "office_macro"
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    return "zip"
