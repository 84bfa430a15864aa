"""A kind's list as a file for Excel or WPS (``export = ["csv", "xlsx"]`` in its TOML): one row per
record, a column per form field as people read it, then what the kind's declarations add — the
record it follows up, a checklist's counts, a ledger line's amount and balance, the topic — and the
state and the time it was recorded. Written by :mod:`core.spreadsheet` (formula-safe, UTF-8 with BOM).
"""

from __future__ import annotations

from typing import Any

from core.i18n import _
from core.lowcode.forms import FormSpec
from core.templating import LOCAL_TZ

FORMATS = ("csv", "xlsx")


def shown(field: Any, value: Any) -> Any:
    """One stored value as the pages print it (records/_value.html), for a spreadsheet cell."""
    if value is None or value == "" or value == []:
        return ""
    if field.type == "select":
        return next((o.label for o in field.options if o.value == value), value)
    if field.type == "multiselect":
        return "、".join(next((o.label for o in field.options if o.value == v), v) for v in value)
    if field.type == "checkbox":
        return _("是") if value else _("否")
    if isinstance(value, dict):  # person, unit, signature, room
        return value.get("label") or value.get("name") or "".join(str(v) for v in value.values())
    if isinstance(value, list):  # uploads
        return "、".join(str(v.get("filename", "")) if isinstance(v, dict) else str(v) for v in value)
    return value


def table(kind: Any, form: FormSpec, states: dict[str, Any], rows: list[dict[str, Any]],
          topics: dict[int, str]) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows of the kind's list (``rows`` from :func:`core.records.service.listing`)."""
    fields = [f for f in form.fields if not f.is_upload]
    headers = [_("编号"), *(f.label for f in fields)]
    if any(r["parent"] for r in rows):
        headers.append(_("来自"))
    if kind.checklist:
        headers += [_("合格"), _("不合格")]
    if kind.ledger:
        headers += [_("{label}增减").format(label=kind.ledger.label), _("余额")]
    if kind.topic:
        headers.append(_("议题"))
    if kind.workflow:
        headers.append(_("状态"))
    headers.append(_("登记时间"))
    out = []
    for r in rows:
        line: list[Any] = [r["id"], *(shown(f, r["values"].get(f.name)) for f in fields)]
        if any(x["parent"] for x in rows):
            line.append(r["parent_title"])
        if kind.checklist:
            tally = kind.checklist.tally(form, r["values"])
            line += [tally["passed"], tally["failed"]]
        if kind.ledger:
            line += [r["line"]["amount"], r["line"]["balance"]] if r["line"] else ["", ""]
        if kind.topic:
            line.append(topics.get(r["topic"], "") if r["topic"] else "")
        if kind.workflow:
            line.append(states[r["state"]].label if r["state"] in states else r["state"])
        line.append(r["created_at"].astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M"))
        out.append(line)
    return headers, out


__all__ = ["FORMATS", "shown", "table"]
