"""The roster: validate and add entries, revoke and re-issue links, and find what a resident sees.

Every change and its audit event are written in one transaction (``core.db.atomic``). Units form
a tree; a council's roster is every entry on its unit or below it, and a resident's councils are
those on their entry's unit or above it.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from core import audit, db
from core.i18n import _
from core.meetings.tables import AgendaItem, Meeting
from core.org.tables import Council, Unit
from core.org.tree import unit_ancestors
from core.residents.tables import RosterEntry
from core.residents.tokens import TokenClaim, parse_token

KIND_IDS = ("owner", "tenant", "landlord", "resident")
#: Largest area the column holds: NUMERIC(10, 2).
MAX_AREA = Decimal("99999999.99")
LIMITS = {"name": 50, "household": 30, "building": 20, "unit_no": 10, "room": 20}
#: Upcoming meetings a resident sees per council.
MEETINGS_PER_COUNCIL = 5


def kind_labels() -> dict[str, str]:
    """Roster kinds as people read them."""
    return {"owner": _("业主"), "tenant": _("租户"), "landlord": _("房东"), "resident": _("居民")}


class RosterError(Exception):
    """A refusal whose message is for the person at the roster page."""


# -------------------------------------------------------------------------------------------------
# Units: down the tree (a council's roster) and up (a resident's councils)
# -------------------------------------------------------------------------------------------------


async def subtree_units(unit_id: int) -> list[dict[str, Any]]:
    """The unit and every unit below it (id, name, kind), the unit itself first."""
    rows = await Unit.raw(
        "WITH RECURSIVE down(id, depth) AS ("
        " SELECT id, 0 FROM yishi_unit WHERE id = {}"
        " UNION ALL SELECT u.id, down.depth + 1 FROM yishi_unit u JOIN down ON u.parent = down.id)"
        " SELECT u.id, u.name, u.kind, down.depth FROM down JOIN yishi_unit u ON u.id = down.id"
        " ORDER BY down.depth, u.id", unit_id)
    return [{"id": r["id"], "name": r["name"], "kind": r["kind"]} for r in rows]


async def council_row(council_id: int) -> dict[str, Any] | None:
    return await Council.select(
        Council.id, Council.name, Council.unit, Council.practice,
        Council.unit.name.as_alias("unit_name"),
    ).where(Council.id == council_id).first()


# -------------------------------------------------------------------------------------------------
# Validation (pure)
# -------------------------------------------------------------------------------------------------


@dataclass
class EntryForm:
    """A roster entry as it will be stored."""

    unit: int
    name: str
    household: str
    building: str
    unit_no: str
    room: str
    phone_last4: str
    kind: str
    area: Decimal | None


FIELDS = ("unit", "name", "household", "building", "unit_no", "room", "phone_last4", "kind", "area")
_AREA_SUFFIXES = ("平方米", "平米", "㎡", "m²", "m2", "平")


def _text(raw: str | None) -> str:
    return " ".join((raw or "").split())


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in text)


def parse_area(raw: str | None) -> tuple[Decimal | None, str | None]:
    """专有部分面积 in m²: empty, or a number > 0 with at most two decimals ("89.5", "112.30㎡")."""
    text = unicodedata.normalize("NFKC", raw or "").strip().lower().replace(" ", "")
    for suffix in _AREA_SUFFIXES:
        text = text.removesuffix(suffix)
    if not text:
        return None, None
    if not re.fullmatch(r"\d{1,8}(\.\d+)?", text):
        return None, _("面积请填写大于 0 的数字，例如 89.5；不知道可以不填。")
    value = Decimal(text)
    if value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):  # type: ignore[operator]
        return None, _("面积最多保留两位小数。")
    value = value.quantize(Decimal("0.01"))
    if value <= 0:
        return None, _("面积必须大于 0；不知道可以不填。")
    if value > MAX_AREA:
        return None, _("面积过大，请检查。")
    return value, None


def validate_entry(form: dict[str, str], units: list[dict[str, Any]]) -> tuple[EntryForm | None, dict[str, str]]:
    """The entry as it will be stored, or the errors by field (messages for the roster page)."""
    errors: dict[str, str] = {}
    values = {name: _text(form.get(name)) for name in LIMITS}
    for name, limit in LIMITS.items():
        if len(values[name]) > limit:
            errors[name] = _("不能超过 {limit} 个字。").format(limit=limit)
        elif _has_control(values[name]):
            errors[name] = _("含有无法显示的字符。")
    if not values["name"] and "name" not in errors:
        errors["name"] = _("请填写姓名。")
    if not values["room"] and "room" not in errors:
        errors["room"] = _("请填写房号。")
    phone = unicodedata.normalize("NFKC", form.get("phone_last4") or "").replace(" ", "").strip()
    if phone and not (len(phone) == 4 and phone.isascii() and phone.isdigit()):
        errors["phone_last4"] = _("手机尾号须为 4 位数字，或不填。")
    kind = (form.get("kind") or "").strip()
    if kind not in KIND_IDS:
        errors["kind"] = _("请选择身份。")
    area, area_error = parse_area(form.get("area"))
    if area_error:
        errors["area"] = area_error
    raw_unit = (form.get("unit") or "").strip()
    unit_ids = {u["id"] for u in units}
    unit: int | None = units[0]["id"] if units and not raw_unit else None
    if raw_unit and raw_unit.isascii() and raw_unit.isdigit() and len(raw_unit) <= 12 and int(raw_unit) in unit_ids:
        unit = int(raw_unit)
    if unit is None:
        errors["unit"] = _("请从列表中选择。")
    if errors:
        return None, errors
    assert unit is not None
    return EntryForm(unit=unit, name=values["name"], household=values["household"],
                     building=values["building"], unit_no=values["unit_no"], room=values["room"],
                     phone_last4=phone, kind=kind, area=area), {}


# -------------------------------------------------------------------------------------------------
# Changes, each audited
# -------------------------------------------------------------------------------------------------


def _is_unique_violation(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc).upper()
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg comes with piccolo[postgres]
        return False
    return isinstance(exc, asyncpg.exceptions.UniqueViolationError)


def _duplicate_error() -> dict[str, str]:
    return {"name": _("名册中已有此人（同一楼栋、单元、房号和姓名）。")}


async def add_entry(entry: EntryForm, actor: str) -> tuple[int | None, dict[str, str]]:
    """Add a validated entry; (id, {}) or (None, errors by field) for a duplicate."""
    same = ((RosterEntry.unit == entry.unit) & (RosterEntry.building == entry.building)
            & (RosterEntry.unit_no == entry.unit_no) & (RosterEntry.room == entry.room)
            & (RosterEntry.name == entry.name))
    try:
        async with db.atomic():
            if await RosterEntry.exists().where(same):
                return None, _duplicate_error()
            row = (await RosterEntry.insert(RosterEntry(
                unit=entry.unit, name=entry.name, household=entry.household, building=entry.building,
                unit_no=entry.unit_no, room=entry.room, phone_last4=entry.phone_last4, kind=entry.kind,
                area=entry.area, token_generation=1, revoked=False, created_at=datetime.now(UTC),
            )).returning(RosterEntry.id))[0]
            await audit.record(actor=actor, action="roster.entry_added", entity=f"roster_entry:{row['id']}",
                               after={"unit": entry.unit, "name": entry.name, "household": entry.household,
                                      "building": entry.building, "unit_no": entry.unit_no,
                                      "room": entry.room, "kind": entry.kind,
                                      "area": None if entry.area is None else str(entry.area)})
    except Exception as exc:
        if _is_unique_violation(exc):  # a concurrent add of the same person won the race
            return None, _duplicate_error()
        raise
    return row["id"], {}


async def revoke(entry_id: int, actor: str) -> bool:
    """Switch the entry's link off. False when it was already off (nothing recorded)."""
    async with db.atomic():
        changed = await RosterEntry.update({RosterEntry.revoked: True}).where(
            (RosterEntry.id == entry_id) & (RosterEntry.revoked == False)  # noqa: E712 — SQL, not Python
        ).returning(RosterEntry.token_generation)
        if changed:
            await audit.record(actor=actor, action="resident.token_revoked", entity=f"roster_entry:{entry_id}",
                               before={"revoked": False},
                               after={"revoked": True, "generation": changed[0]["token_generation"]})
    return bool(changed)


async def reissue(entry_id: int, actor: str) -> int:
    """A new link for the entry: the generation goes up (every older link and slip stops working)
    and the entry is switched on again. Returns the new generation."""
    async with db.atomic():
        row = await db.for_update(RosterEntry.select(RosterEntry.token_generation, RosterEntry.revoked).where(
            RosterEntry.id == entry_id)).first()
        if row is None:
            raise RosterError(_("名册中没有这条记录，可能已被删除。"))
        generation = row["token_generation"] + 1
        await RosterEntry.update({RosterEntry.token_generation: generation, RosterEntry.revoked: False}).where(
            RosterEntry.id == entry_id)
        await audit.record(actor=actor, action="resident.token_reissued", entity=f"roster_entry:{entry_id}",
                           before={"generation": row["token_generation"], "revoked": row["revoked"]},
                           after={"generation": generation, "revoked": False})
    return generation


async def record_verified(entry: dict[str, Any], check_id: str) -> None:
    """The resident answered the identity check: their own event in the audit log."""
    async with db.atomic():
        await audit.record(actor=f"resident:{entry['id']}", action="resident.verified",
                           entity=f"roster_entry:{entry['id']}",
                           after={"check": check_id, "generation": entry["token_generation"]})


# -------------------------------------------------------------------------------------------------
# Reading
# -------------------------------------------------------------------------------------------------

_ORDER = (RosterEntry.building, RosterEntry.unit_no, RosterEntry.room, RosterEntry.id)


async def list_entries(unit_ids: list[int], *, active_only: bool = False, building: str | None = None,
                       entry_id: int | None = None) -> list[dict[str, Any]]:
    """Entries on these units, by building, 单元 and room."""
    if not unit_ids:
        return []
    where = RosterEntry.unit.is_in(unit_ids)
    if active_only:
        where &= RosterEntry.revoked == False  # noqa: E712 — SQL, not Python
    if building is not None:
        where &= RosterEntry.building == building
    if entry_id is not None:
        where &= RosterEntry.id == entry_id
    query = RosterEntry.select(RosterEntry.all_columns(), RosterEntry.unit.name.as_alias("unit_name")).where(where)
    rows = await query.order_by(*_ORDER)
    for row in rows:
        row["address"] = address(row)
        row["area_text"] = area_text(row["area"])
    return sorted(rows, key=_natural_key)


def area_text(area: Decimal | None) -> str:
    """89.50 → "89.5", 112 → "112": the same on SQLite and PostgreSQL (which keeps the scale)."""
    if area is None:
        return ""
    text = f"{Decimal(area):.2f}"
    return text.rstrip("0").rstrip(".")


def address(entry: dict[str, Any]) -> str:
    """楼栋、单元、房号 as written on a slip: "3栋 2单元 1502室"."""
    parts = []
    if entry.get("building"):
        parts.append(entry["building"])
    unit_no = entry.get("unit_no") or ""
    if unit_no:
        parts.append(unit_no if unit_no.endswith("单元") else unit_no + _("单元"))
    room = entry.get("room") or ""
    if room:
        parts.append(room + _("室") if room[-1].isdigit() else room)
    return " ".join(parts)


def _natural_key(row: dict[str, Any]) -> tuple:
    """3栋 before 12栋, 2单元 before 10单元, 302 before 1102: numbers compared as numbers."""
    def key(text: str) -> tuple:
        return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.findall(r"\d+|\D+", text or ""))

    return key(row["building"]), key(row["unit_no"]), key(row["room"]), row["name"], row["id"]


async def entry_in(entry_id: int, unit_ids: list[int]) -> dict[str, Any] | None:
    """The entry, if it is on one of these units (the council's roster): another council's entry
    is "not found", never changed through this council's pages."""
    if not unit_ids:
        return None
    return await RosterEntry.select().where(
        (RosterEntry.id == entry_id) & RosterEntry.unit.is_in(unit_ids)).first()


async def resolve_token(secret: str, token: str) -> dict[str, Any] | None:
    """The roster entry a personal token opens, or None: malformed, forged, unknown, revoked, or an
    older generation than the entry's (a re-issued link)."""
    claim: TokenClaim | None = parse_token(secret, token)
    if claim is None:
        return None
    entry = await RosterEntry.select(RosterEntry.all_columns(), RosterEntry.unit.name.as_alias("unit_name")).where(
        RosterEntry.id == claim.entry_id).first()
    if entry is None or entry["revoked"] or entry["token_generation"] != claim.generation:
        return None
    return entry


async def councils_of(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Councils on the entry's unit or above it, nearest first."""
    ancestors = await unit_ancestors(entry["unit"])
    if not ancestors:
        return []
    rows = await Council.select(
        Council.id, Council.name, Council.unit, Council.practice, Council.unit.name.as_alias("unit_name"),
    ).where(Council.unit.is_in(ancestors))
    depth = {unit: i for i, unit in enumerate(ancestors)}
    return sorted(rows, key=lambda c: (depth[c["unit"]], c["id"]))


async def upcoming_meetings(council_ids: list[int], now: datetime | None = None) -> dict[int, list[dict[str, Any]]]:
    """Meetings under way or still to come (draft or notified, from a day ago on), with their agendas, by
    council."""
    out: dict[int, list[dict[str, Any]]] = {cid: [] for cid in council_ids}
    if not council_ids:
        return out
    since = (now or datetime.now(UTC)) - timedelta(days=1)
    meetings = await Meeting.select(
        Meeting.id, Meeting.council, Meeting.title, Meeting.kind, Meeting.starts_at, Meeting.place, Meeting.state,
        Meeting.is_open,
    ).where(Meeting.council.is_in(council_ids) & (
        (Meeting.state == "in_session") | (Meeting.state.is_in(["draft", "notified"]) & (Meeting.starts_at >= since))
    )).order_by(Meeting.starts_at)
    shown = []
    for m in meetings:
        if len(out[m["council"]]) < MEETINGS_PER_COUNCIL:
            m["agenda"] = []
            out[m["council"]].append(m)
            shown.append(m)
    if shown:
        by_id = {m["id"]: m for m in shown}
        items = await AgendaItem.select(
            AgendaItem.meeting, AgendaItem.position, AgendaItem.title, AgendaItem.description,
            AgendaItem.proposer,
        ).where(AgendaItem.meeting.is_in(list(by_id))).order_by(AgendaItem.position)
        for item in items:
            by_id[item["meeting"]]["agenda"].append(item)
    return out
