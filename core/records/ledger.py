"""Ledger kinds (``[ledger]``): each record is a line of one person's running balance — points earned
and redeemed, hours given, deposits and refunds — and no line may leave the balance below the kind's
floor (``min_balance``, 0 unless said otherwise).

A line is written inside the record's own transaction, which first locks the person's roster row
(PostgreSQL ``FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` holds the write lock), then reads the
person's last line of the kind and writes the next with ``seq + 1`` and the new balance. Two
redemptions at once therefore queue: the second sees the first's balance and is refused if too
little is left. The unique index on (kind, person, seq) is the backstop in the database itself.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from typing import Any

from core import db
from core.i18n import _
from core.org.tables import Council
from core.records.tables import RecordLedgerLine


class LedgerRefused(Exception):
    """A line that would break the ledger; ``message`` is for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def is_unique_violation(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc).upper()
    return type(exc).__name__ == "UniqueViolationError"


def person_id(kind: Any, values: dict[str, Any]) -> int:
    raw = values.get(kind.ledger.person_field)
    return int(raw["id"]) if isinstance(raw, dict) else int(raw or 0)


async def write_line(kind: Any, council_id: int, record_id: int, values: dict[str, Any], day: date | None) -> int:
    """Write the record's line (inside the caller's transaction); the balance after it."""
    from core.residents.tables import RosterEntry

    ledger = kind.ledger
    person, amount = person_id(kind, values), ledger.amount(values)
    council = await Council.select(Council.unit).where(Council.id == council_id).first()
    where = (RosterEntry.id == person) & (RosterEntry.unit == council["unit"]) & (RosterEntry.revoked == False)  # noqa: E712
    allowed = kind.extras.choices.get(ledger.person_field)
    if allowed is not None and allowed.kinds:
        where &= RosterEntry.kind.is_in(list(allowed.kinds))
    entry = await db.for_update(RosterEntry.select(RosterEntry.id, RosterEntry.name).where(where)).first()
    if entry is None:
        raise LedgerRefused(_("名册上没有这个人，未登记。"))
    last = await RecordLedgerLine.select(RecordLedgerLine.seq, RecordLedgerLine.balance).where(
        (RecordLedgerLine.kind == kind.id) & (RecordLedgerLine.person == person)).order_by(
        RecordLedgerLine.seq, ascending=False).first()
    seq, balance = (last["seq"], last["balance"]) if last else (0, 0)
    if amount == 0:
        raise LedgerRefused(_("{label}不能为 0。").format(label=ledger.label))
    if balance + amount < ledger.min_balance:
        raise LedgerRefused(_("{name}的{label}余额为 {balance} {unit}，不够扣减 {amount} {unit}，未登记。").format(
            name=entry["name"], label=ledger.label, balance=balance, amount=-amount, unit=ledger.unit))
    await RecordLedgerLine.insert(RecordLedgerLine(record=record_id, kind=kind.id, council=council_id, person=person,
                                                   seq=seq + 1, amount=amount, balance=balance + amount, day=day))
    return balance + amount


async def balances(kind_id: str, council_id: int) -> dict[int, dict[str, int]]:
    """Roster entry id → ``{"balance", "earned", "spent"}`` over the council's lines of the kind."""
    rows = await RecordLedgerLine.select(RecordLedgerLine.person, RecordLedgerLine.amount,
                                         RecordLedgerLine.balance).where(
        (RecordLedgerLine.kind == kind_id) & (RecordLedgerLine.council == council_id)).order_by(RecordLedgerLine.seq)
    out: dict[int, dict[str, int]] = {}
    for r in rows:
        entry = out.setdefault(r["person"], {"balance": 0, "earned": 0, "spent": 0})
        entry["balance"] = r["balance"]
        entry["earned" if r["amount"] > 0 else "spent"] += abs(r["amount"])
    return out


async def lines_of(record_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Record id → its ledger line (``amount``, ``balance``, ``seq``, ``person``)."""
    if not record_ids:
        return {}
    rows = await RecordLedgerLine.select().where(RecordLedgerLine.record.is_in(record_ids))
    return {r["record"]: r for r in rows}


async def people(kind_id: str, council_id: int) -> list[dict[str, Any]]:
    """The roster entries with lines in the council's ledger, with their totals, by building."""
    from core.residents.tables import RosterEntry

    totals = await balances(kind_id, council_id)
    if not totals:
        return []
    rows = await RosterEntry.select(RosterEntry.id, RosterEntry.name, RosterEntry.building, RosterEntry.room,
                                    RosterEntry.kind).where(RosterEntry.id.is_in(list(totals)))
    return sorted(({**r, **totals[r["id"]]} for r in rows), key=lambda r: (r["building"], r["room"], r["id"]))


__all__ = ["LedgerRefused", "balances", "is_unique_violation", "lines_of", "people", "write_line"]
