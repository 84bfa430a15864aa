"""The seal of a poll: a SHA-256 digest over everything it counted, recorded in the audit chain at close.

Why: a vote is not an audit event of its own. Appending each ballot to the hash chain would serialise
every vote on the chain's head (about 30 votes/s on PostgreSQL), and an event per secret ballot, in
the order they arrive, is a second record that could be lined up against the participations. Instead
the poll's open and close events are in the chain, and the close event carries ``seal``: the digest
computed here over the poll's electorate snapshot, participations, ballots and analog count, each in a
canonical order that says nothing about when a row was written. :func:`verify_poll` computes it again:
a ballot, participation or snapshot row added, removed or edited after the close no longer matches;
``yishi audit verify`` shows that the close event itself (and so the digest) was not changed.

The canonical form, one JSON line per row (sorted keys, no spaces, UTF-8), in this order:

- ``elector``: voter key, owner key, unit, household, area and weight as exact fractions ("8937/100"),
  present — ordered by voter key;
- ``participation``: voter (owner) key, cast by, channel, acting, receipt, time (ISO-8601 UTC with
  microseconds), recorded by — ordered by voter key;
- ``named``: voter key, acting, channel, choices, receipt, time — ordered by voter key;
- ``secret``: the random id and the choices — ordered by id (random, so the order says nothing);
- ``hands``: the analog count, if any.

Exact fractions and UTC times make the digest the same on SQLite and PostgreSQL, and after a backup is
restored into either.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

#: The audit action whose ``after`` carries the seal (written by core.voting.polls.close_poll).
CLOSE_ACTION = "poll.close"


def _line(kind: str, row: dict[str, Any]) -> bytes:
    return (json.dumps({"kind": kind, **row}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
            + "\n").encode("utf-8")


def _exact(value: Any) -> str:
    return str(Fraction(Decimal(str(value if value is not None else 0))))


def _time(value: Any) -> str | None:
    if value is None:
        return None
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class Seal:
    """A poll's digest and how many rows went into it."""

    digest: str
    electors: int
    participations: int
    ballots: int

    def as_audit(self) -> dict[str, Any]:
        """What the close event records."""
        return {"seal": self.digest, "sealed_electors": self.electors,
                "sealed_participations": self.participations, "sealed_ballots": self.ballots}


async def compute(poll_id: int) -> Seal:
    """The digest of the poll's rows as they are now (see the module docstring)."""
    from core.voting.tables import Elector, HandTotals, NamedBallot, Participation, SecretBallot

    h = hashlib.sha256(_line("poll", {"poll": poll_id}))
    electors = await Elector.select(
        Elector.voter_key, Elector.owner_key, Elector.unit, Elector.household, Elector.area, Elector.weight,
        Elector.present).where(Elector.poll == poll_id).order_by(Elector.voter_key)
    for e in electors:
        h.update(_line("elector", {"voter": e["voter_key"], "owner": e["owner_key"], "unit": e["unit"],
                                   "household": e["household"], "area": _exact(e["area"]),
                                   "weight": _exact(e["weight"]), "present": bool(e["present"])}))
    participations = await Participation.select(
        Participation.voter_key, Participation.cast_by, Participation.channel, Participation.acting,
        Participation.receipt, Participation.cast_at, Participation.recorded_by).where(
        Participation.poll == poll_id).order_by(Participation.voter_key)
    for p in participations:
        h.update(_line("participation", {"voter": p["voter_key"], "cast_by": p["cast_by"], "channel": p["channel"],
                                         "acting": p["acting"], "receipt": p["receipt"], "at": _time(p["cast_at"]),
                                         "recorded_by": p["recorded_by"]}))
    named = await NamedBallot.select(
        NamedBallot.voter_key, NamedBallot.acting, NamedBallot.channel, NamedBallot.choices, NamedBallot.receipt,
        NamedBallot.cast_at).where(NamedBallot.poll == poll_id).order_by(NamedBallot.voter_key)
    for b in named:
        h.update(_line("named", {"voter": b["voter_key"], "acting": b["acting"], "channel": b["channel"],
                                 "choices": _json(b["choices"]), "receipt": b["receipt"], "at": _time(b["cast_at"])}))
    secret = await SecretBallot.select(SecretBallot.id, SecretBallot.choices).where(SecretBallot.poll == poll_id)
    secret.sort(key=lambda b: str(b["id"]))
    for b in secret:
        h.update(_line("secret", {"id": str(b["id"]), "choices": _json(b["choices"])}))
    hands = await HandTotals.select(HandTotals.counts, HandTotals.abstain).where(HandTotals.poll == poll_id).first()
    if hands is not None:
        h.update(_line("hands", {"counts": _json(hands["counts"]), "abstain": hands["abstain"]}))
    return Seal(h.hexdigest(), len(electors), len(participations), len(named) + len(secret))


@dataclass(frozen=True)
class SealCheck:
    """The outcome of :func:`verify_poll`: ``ok`` True (matches), False (changed) or None (nothing to
    check: the poll is not closed, or was closed before polls were sealed); ``message`` in Chinese
    and English."""

    poll_id: int
    ok: bool | None
    message: str


async def verify_poll(poll_id: int) -> SealCheck:
    """Compare a closed poll's rows with the seal its close event recorded."""
    from core.audit.tables import AuditEvent
    from core.voting.tables import Poll

    poll = await Poll.select(Poll.state).where(Poll.id == poll_id).first()
    if poll is None:
        return SealCheck(poll_id, False, f"表决 {poll_id} 不存在 / poll {poll_id} does not exist")
    if poll["state"] != "closed":
        return SealCheck(poll_id, None, f"表决 {poll_id} 尚未结束，还没有封存 / poll {poll_id} is not closed yet, "
                                        "so not sealed")
    event = await AuditEvent.select(AuditEvent.seq, AuditEvent.after).where(
        (AuditEvent.entity == f"poll:{poll_id}") & (AuditEvent.action == CLOSE_ACTION)).order_by(
        AuditEvent.seq, ascending=False).first()
    if event is None:
        return SealCheck(poll_id, False, f"表决 {poll_id} 已结束，但审计日志中没有结束事件：记录被删除 / poll "
                                         f"{poll_id} is closed but the audit log has no close event: it was deleted")
    recorded = _json(event["after"]) if event["after"] else {}
    if "seal" not in recorded:
        return SealCheck(poll_id, None, f"表决 {poll_id} 结束于封存功能之前，无法核对 / poll {poll_id} was closed "
                                        "before polls were sealed; nothing to compare")
    now = await compute(poll_id)
    seq = event["seq"]
    if now.digest == recorded["seal"]:
        return SealCheck(poll_id, True, (
            f"表决 {poll_id} 的选票与结束时封存的一致（{now.ballots} 张选票，{now.participations} 条参与记录；"
            f"审计事件第 {seq} 条）/ poll {poll_id} matches its seal ({now.ballots} ballots, {now.participations} "
            f"participations; audit event seq {seq})"))
    sealed = (recorded.get("sealed_ballots"), recorded.get("sealed_participations"), recorded.get("sealed_electors"))
    counts = ""
    if (now.ballots, now.participations, now.electors) != sealed:
        counts = (f"；封存时 {sealed[0]} 张选票、{sealed[1]} 条参与记录、{sealed[2]} 名表决人，现在 {now.ballots} 张、"
                  f"{now.participations} 条、{now.electors} 名 / sealed {sealed[0]} ballots, {sealed[1]} "
                  f"participations, {sealed[2]} electors; now {now.ballots}, {now.participations}, {now.electors}")
    return SealCheck(poll_id, False, (
        f"表决 {poll_id} 的选票在结束后被改动：与审计事件第 {seq} 条封存的摘要不符{counts} / poll {poll_id} was "
        f"changed after it closed: its rows no longer match the seal in audit event seq {seq}"))


async def verify_all() -> list[SealCheck]:
    """Every closed poll checked against its seal, oldest first."""
    from core.voting.tables import Poll

    ids = [r["id"] for r in await Poll.select(Poll.id).where(Poll.state == "closed").order_by(Poll.id)]
    return [await verify_poll(i) for i in ids]


__all__ = ["CLOSE_ACTION", "Seal", "SealCheck", "compute", "verify_all", "verify_poll"]
