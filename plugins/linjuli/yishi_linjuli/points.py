"""The volunteer points ledger (志愿服务积分): landlords and tenants earn points by helping and redeem
them at the 积分兑换超市. A balance can never go below zero.

Every line is written inside one transaction that first locks the person's roster row (PostgreSQL
``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` holds the write lock), reads the person's last line and
writes the next with ``seq + 1`` and the new balance. Two redemptions at once therefore queue: the
second sees the first's balance and is refused if too little is left. The unique index on
(person, seq) is the backstop in the database itself — even code that forgot the lock could not
write two lines from the same earlier balance.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from core import audit, db
from core.i18n import _
from core.residents.tables import RosterEntry
from yishi_linjuli.buildings import KINDS
from yishi_linjuli.tables import PointsEntry

FORM_ID = "linjuli_jifen"


class PointsError(Exception):
    """A ledger line that cannot be written; ``message`` is for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Line:
    """A valid ledger line: ``points`` is signed (+ earned, − redeemed)."""

    person: int
    points: int
    reason: str
    happened_on: date


def line_from(values: dict[str, Any]) -> Line:
    """The validated ``linjuli_jifen`` form as a ledger line."""
    points = int(values["points"])
    return Line(person=int(values["person"]["id"]), points=points if values["direction"] == "earn" else -points,
                reason=values["reason"], happened_on=date.fromisoformat(values["happened_on"]))


def _is_unique_violation(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc).upper()
    return type(exc).__name__ == "UniqueViolationError"


async def add_line(council: dict[str, Any], line: Line, actor: str, nonce: str | None = None) -> dict[str, Any]:
    """Write one line; the line as written (``id``, ``seq``, ``balance``).

    Refused with :class:`PointsError`: a person who is not a landlord or tenant of the council's
    roster, or a redemption larger than the balance. A repeat of the same form (same nonce) returns
    the line the first post wrote."""
    if line.points == 0:
        raise PointsError(_("积分不能为 0。"))
    try:
        async with db.atomic():
            if nonce:
                same = await PointsEntry.select().where(PointsEntry.nonce == nonce).first()
                if same is not None:
                    return same
            person = await db.for_update(RosterEntry.select(RosterEntry.id, RosterEntry.name, RosterEntry.kind).where(
                (RosterEntry.id == line.person) & (RosterEntry.unit == council["unit"])
                & (RosterEntry.revoked == False))).first()  # noqa: E712
            if person is None or person["kind"] not in KINDS:
                raise PointsError(_("名册上没有这位房东或租户。"))
            last = await PointsEntry.select(PointsEntry.seq, PointsEntry.balance).where(
                PointsEntry.person == line.person).order_by(PointsEntry.seq, ascending=False).first()
            seq, balance = (last["seq"], last["balance"]) if last else (0, 0)
            new_balance = balance + line.points
            if new_balance < 0:
                raise PointsError(_("{name}的积分余额为 {balance} 分，不够兑换 {points} 分，未登记。").format(
                    name=person["name"], balance=balance, points=-line.points))
            row = (await PointsEntry.insert(PointsEntry(
                council=council["id"], person=line.person, seq=seq + 1, points=line.points, balance=new_balance,
                reason=line.reason, happened_on=line.happened_on, actor=actor, nonce=nonce or None,
            )).returning(PointsEntry.id))[0]
            await audit.record(actor=actor, action="linjuli.points." + ("earned" if line.points > 0 else "redeemed"),
                               entity=f"linjuli_points:{row['id']}",
                               after={"person": line.person, "points": line.points, "balance": new_balance,
                                      "reason": line.reason, "on": line.happened_on.isoformat()})
            return {"id": row["id"], "seq": seq + 1, "balance": new_balance, "points": line.points}
    except Exception as exc:
        if _is_unique_violation(exc):
            raise PointsError(_("刚才有人同时为这个人登记了积分，请刷新后再试。")) from exc
        raise


async def balance(person_id: int) -> int:
    last = await PointsEntry.select(PointsEntry.balance).where(PointsEntry.person == person_id).order_by(
        PointsEntry.seq, ascending=False).first()
    return last["balance"] if last else 0


async def balances(council_id: int) -> dict[int, dict[str, int]]:
    """Per person: ``{"balance", "earned", "redeemed"}`` over every line of the council's ledger."""
    rows = await PointsEntry.select(PointsEntry.person, PointsEntry.seq, PointsEntry.points,
                                    PointsEntry.balance).where(PointsEntry.council == council_id).order_by(
        PointsEntry.seq)
    out: dict[int, dict[str, int]] = {}
    for r in rows:
        entry = out.setdefault(r["person"], {"balance": 0, "earned": 0, "redeemed": 0})
        entry["balance"] = r["balance"]
        if r["points"] > 0:
            entry["earned"] += r["points"]
        else:
            entry["redeemed"] -= r["points"]
    return out


async def ledger(council_id: int, limit: int = 100) -> list[dict[str, Any]]:
    """The latest lines, newest first, with the person's name and building."""
    return await PointsEntry.select(
        PointsEntry.id, PointsEntry.points, PointsEntry.balance, PointsEntry.reason, PointsEntry.happened_on,
        PointsEntry.person, PointsEntry.person.name.as_alias("name"),
        PointsEntry.person.building.as_alias("building"), PointsEntry.person.kind.as_alias("kind"),
    ).where(PointsEntry.council == council_id).order_by(PointsEntry.happened_on, ascending=False).order_by(
        PointsEntry.id, ascending=False).limit(limit)
