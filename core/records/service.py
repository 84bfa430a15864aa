"""Records: create, edit, step through the workflow, sign — each change with its audit event.

Every change runs in one ``db.atomic()`` transaction that reads the record under a lock first, so a
signature and an edit can never cross: with ``lock`` a record cannot change once a party signed it,
and the signing transition is taken exactly when every party has signed the current revision.
A person's request names the revision they saw; if someone saved since, it is refused (stale).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from core import db, events
from core.audit.log import record as audit
from core.i18n import _
from core.lowcode.forms import Result
from core.lowcode.workflow import Step, TransitionRefused, WorkflowSpec, apply
from core.records.ledger import LedgerRefused, is_unique_violation, write_line
from core.records.links import open_follow_ups
from core.records.spec import PARTIES_ROLE, RecordKind
from core.records.tables import Record, RecordEvent, RecordSignature
from core.residents.tokens import make_token, parse_token


class Refused(Exception):
    """A change that cannot be made now; ``message`` is for the person who tried (Chinese)."""

    def __init__(self, message: str, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class SignClaim:
    record_id: int
    revision: int


# -------------------------------------------------------------------------------------------------
# Pure helpers
# -------------------------------------------------------------------------------------------------


def same_name(typed: str, name: str) -> bool:
    """A signature matches the party's name, ignoring spaces and full-/half-width differences."""
    def norm(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text or "").split())

    return bool(norm(typed)) and norm(typed) == norm(name)


def same_person(kind: RecordKind, values: dict[str, Any]) -> dict[str, str]:
    """Form errors when two parties are one person: the same name and, where the kind names a
    ``contact_field`` for both, the same contact (a party cannot settle a dispute with themself)."""
    errors: dict[str, str] = {}
    for i, first in enumerate(kind.parties):
        for second in kind.parties[i + 1:]:
            if not (first.contact_field and second.contact_field):
                continue
            if same_name(str(values.get(first.name_field) or ""), str(values.get(second.name_field) or "")) \
                    and str(values.get(first.contact_field) or "").strip() \
                    == str(values.get(second.contact_field) or "").strip():
                errors.setdefault(second.name_field, _("{first}和{second}是同一个人：请填写另一方。").format(
                    first=first.label, second=second.label))
    return errors


def _purpose(kind: str, party: str) -> str:
    return f"yishi-record-sign:{kind}:{party}"


def sign_token(secret: str, kind: RecordKind, party: str, record_id: int, revision: int) -> str:
    """The party's signing link token for this revision (HMAC, never stored)."""
    return make_token(secret, record_id, revision, purpose=_purpose(kind.id, party))


def read_sign_token(secret: str, kind: RecordKind, party: str, token: str) -> SignClaim | None:
    claim = parse_token(secret, token, purpose=_purpose(kind.id, party))
    return SignClaim(claim.entry_id, claim.generation) if claim else None


def values_of(row: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(row.get("data") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def steps_of(row: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Values of the forms filled at workflow steps, by form id."""
    try:
        data = json.loads(row.get("steps") or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def party_name(kind: RecordKind, values: dict[str, Any], party_id: str) -> str:
    party = kind.party(party_id)
    name = values.get(party.name_field) if party else ""
    if isinstance(name, dict):  # a "person" field stores {"id", "name"}
        name = name.get("name", "")
    return str(name or "")


def _title(kind: RecordKind, values: dict[str, Any]) -> str:
    value = values.get(kind.title_field, "")
    return str(value.get("label") or value.get("name", "") if isinstance(value, dict) else value)[:200]


def _dump(values: dict[str, Any]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True)


# -------------------------------------------------------------------------------------------------
# Reading
# -------------------------------------------------------------------------------------------------


async def get(record_id: int) -> dict[str, Any] | None:
    return await Record.select().where(Record.id == record_id).first()


async def council_of(record_id: Any) -> int | None:
    """The permission check's resolver for ``{record_id}`` paths (None: no such record)."""
    row = await Record.select(Record.council).where(Record.id == int(record_id)).first()
    return row["council"] if row else None


async def signatures(record_id: int) -> list[dict[str, Any]]:
    return await RecordSignature.select().where(RecordSignature.record == record_id).order_by(RecordSignature.id)


async def history(record_id: int, kind: RecordKind | None = None) -> list[dict[str, Any]]:
    """The record's events, oldest first, each with ``who``: the actor as people read it (an account's
    name, a party by its label, 系统, 演示数据) rather than the audit log's ``user:12``."""
    from core.accounts.tables import User

    events = await RecordEvent.select().where(RecordEvent.record == record_id).order_by(RecordEvent.id)
    user_ids = {int(e["actor"][5:]) for e in events if e["actor"].startswith("user:") and e["actor"][5:].isdigit()}
    names = {row["id"]: row["display_name"] for row in await User.select(User.id, User.display_name).where(
        User.id.is_in(list(user_ids)))} if user_ids else {}
    for event in events:
        event["who"] = _who(event["actor"], names, kind)
    return events


def _who(actor: str, names: dict[int, str], kind: RecordKind | None) -> str:
    prefix, _sep, rest = actor.partition(":")
    if prefix == "user" and rest.isdigit():
        return names.get(int(rest), actor)
    if prefix == "record_party":
        party = kind.party(rest.rpartition(":")[2]) if kind is not None else None
        return party.label if party is not None else _("当事人")
    return {"system": _("系统"), "seed": _("演示数据")}.get(actor, actor)


async def listing(council_id: int, kind: str, state: str | None = None, *, parent: int | None = None,
                  start: date | None = None, end: date | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """The council's records of a kind, newest first (by day, then id), optionally in one state, of
    one parent, or with a day in [start, end); each with its ``values``, its parent's title
    (``parent_title``) and, for a ledger kind, its ``line`` (amount, balance)."""
    where = (Record.council == council_id) & (Record.kind == kind)
    if state:
        where = where & (Record.state == state)
    if parent is not None:
        where = where & (Record.parent == parent)
    if start is not None:
        where = where & (Record.day >= start)
    if end is not None:
        where = where & (Record.day < end)
    rows = await Record.select().where(where).order_by(Record.day, ascending=False).order_by(
        Record.id, ascending=False).limit(limit)
    parents = {p["id"]: p["title"] for p in await Record.select(Record.id, Record.title).where(
        Record.id.is_in([r["parent"] for r in rows if r["parent"]]))} if any(r["parent"] for r in rows) else {}
    from core.records.ledger import lines_of

    lines = await lines_of([r["id"] for r in rows])
    return [{**r, "values": values_of(r), "parent_title": parents.get(r["parent"], ""), "line": lines.get(r["id"])}
            for r in rows]


async def for_meeting(meeting_id: int, kind: str) -> list[dict[str, Any]]:
    """Records of a kind taken up at a meeting, in order — for that meeting's minutes (a plugin's
    ``yishi_documents`` context or ``yishi_minutes_context``)."""
    rows = await Record.select().where((Record.meeting == meeting_id) & (Record.kind == kind)).order_by(Record.id)
    return [{**r, "values": values_of(r), "steps": steps_of(r)} for r in rows]


def signed_current(kind: RecordKind, row: dict[str, Any], sigs: list[dict[str, Any]]) -> dict[str, dict]:
    """Party id → their signature on the record's current revision."""
    return {s["party"]: s for s in sigs if s["revision"] == row["revision"] and kind.party(s["party"])}


# -------------------------------------------------------------------------------------------------
# Changing
# -------------------------------------------------------------------------------------------------


async def _event(record_id: int, actor: str, action: str, source: str, target: str, revision: int,
                 note: str = "") -> None:
    await RecordEvent.insert(RecordEvent(record=record_id, actor=actor, action=action, source=source, target=target,
                                         revision=revision, note=note))


async def _locked(record_id: int) -> dict[str, Any]:
    row = await db.for_update(Record.select().where(Record.id == record_id)).first()
    if row is None:
        raise Refused(_("没有找到这条记录。"), "missing")
    return row


def _told(kind: RecordKind, row: dict[str, Any], spec: WorkflowSpec, step: Step, actor: str) -> None:
    events.transitioned(events.TransitionEvent(
        kind=f"record:{kind.id}", entity_id=row["id"], council_id=row["council"], workflow=spec.id,
        transition=step.transition, source=step.source, target=step.target, events=step.events, reason=step.reason,
        actor=actor))


async def create(kind: RecordKind, council_id: int, result: Result, *, actor: str, spec: WorkflowSpec,
                 nonce: str | None, meeting_id: int | None = None, specs: Any = None) -> int:
    """Store a valid form as a new record in the workflow's first state; a retried POST (same
    one-time key) returns the first record and stores nothing.

    In the same transaction: a ledger kind's line (refused with :class:`Refused`, code ``ledger``,
    when it would take the balance below the floor), and a checklist's follow-up records (``specs``,
    the catalogue, names the follow-up kind)."""
    try:
        return await _create(kind, council_id, result, actor=actor, spec=spec, nonce=nonce, meeting_id=meeting_id,
                             specs=specs)
    except LedgerRefused as exc:
        raise Refused(exc.message, "ledger") from exc
    except Exception as exc:
        # Two copies of one POST at once on PostgreSQL: both saw no record, the unique index on the
        # key let one insert. The other answers with the record the first made.
        if nonce:
            existing = await Record.select(Record.id).where(Record.nonce == nonce).first()
            if existing is not None:
                return existing["id"]
        if kind.ledger and is_unique_violation(exc):
            raise Refused(_("刚才有人同时为这个人登记，请刷新后再试。"), "ledger") from exc
        raise


async def _create(kind: RecordKind, council_id: int, result: Result, *, actor: str, spec: WorkflowSpec,
                  nonce: str | None, meeting_id: int | None, specs: Any) -> int:
    follow_up = specs.records.get(kind.checklist.follow_up) if specs and kind.checklist and kind.checklist.follow_up \
        else None
    if kind.checklist and kind.checklist.follow_up and follow_up is None:
        raise RuntimeError(f"{kind.source}: checklist.follow_up: no record kind {kind.checklist.follow_up!r}")
    async with db.atomic():
        if nonce:
            existing = await Record.select(Record.id).where(Record.nonce == nonce).first()
            if existing is not None:
                return existing["id"]
        values = result.values
        day = date.fromisoformat(values[kind.extras.date_field]) if values.get(kind.extras.date_field) else None
        row = (await Record.insert(Record(
            council=council_id, kind=kind.id, meeting=meeting_id, state=spec.initial, title=_title(kind, values),
            day=day,
            form_id=result.form_id,
            form_version=result.form_version, data=_dump(values), revision=1, nonce=nonce or None,
            created_by=actor, updated_by=actor)).returning(Record.id))[0]
        record_id = row["id"]
        await _event(record_id, actor, "create", "", spec.initial, 1)
        after = {"council": council_id, "meeting": meeting_id, "state": spec.initial, "values": values}
        if kind.ledger:
            after["balance"] = await write_line(kind, council_id, record_id, values, day)
        await audit(actor=actor, action=f"record.{kind.id}.create", entity=f"record:{record_id}", after=after)
        if follow_up is not None:
            await open_follow_ups(kind, specs.form(kind.form), follow_up, follow_up.workflow_of(specs), council_id,
                                  record_id, values, actor)
    return record_id


async def edit(kind: RecordKind, record_id: int, result: Result, *, seen_revision: int, actor: str,
               spec: WorkflowSpec) -> int:
    """Save new values (a new revision); refused in a state that is not editable, after the first
    signature when the kind locks, and when someone saved another revision meanwhile."""
    async with db.atomic():
        row = await _locked(record_id)
        if row["revision"] != seen_revision:
            raise Refused(_("这条记录已被其他人修改，请刷新页面后再改。"), "stale")
        if row["state"] not in kind.edit_states:
            raise Refused(_("记录状态为“{state}”，不能再修改。").format(state=spec.state_label(row["state"])), "state")
        if kind.signing and kind.signing.lock and await RecordSignature.exists().where(
                RecordSignature.record == record_id):
            raise Refused(_("已有当事人签字，记录不能再修改。"), "locked")
        revision = row["revision"] + 1
        before = values_of(row)
        await Record.update({Record.data: _dump(result.values), Record.title: _title(kind, result.values),
                             Record.form_id: result.form_id, Record.form_version: result.form_version,
                             Record.revision: revision, Record.updated_by: actor,
                             Record.updated_at: datetime.now(UTC)}).where(Record.id == record_id)
        await _event(record_id, actor, "edit", row["state"], row["state"], revision)
        await audit(actor=actor, action=f"record.{kind.id}.edit", entity=f"record:{record_id}",
                    before={"revision": row["revision"], "values": before},
                    after={"revision": revision, "values": result.values})
    return revision


async def act(kind: RecordKind, record_id: int, transition: str, *, seen_revision: int, seen_state: str,
              roles: set[str], actor: str, reason: str, spec: WorkflowSpec, filled: Result | None = None) -> Step:
    """Take a step of the kind's workflow with the person's council roles.

    The signing transition is never taken this way (core takes it after the last signature). A
    request made on an older revision or state is refused — unless it is this very step, already
    taken (a retried press), which changes nothing. A transition with a ``form`` needs that form
    ``filled``: its values are kept with the record (a new revision), which the kind's ``lock``
    refuses after the first signature."""
    if kind.signing and transition == kind.signing.transition:
        raise TransitionRefused(_("这一步在各方签字后自动完成。"), "role")
    async with db.atomic():
        row = await _locked(record_id)
        target = spec.transition(transition)
        already = target is not None and row["state"] == target.target and seen_state != row["state"]
        if not already and (row["revision"] != seen_revision or (seen_state and seen_state != row["state"])):
            raise TransitionRefused(
                _("记录已变为“{state}”（或已被修改），可能已被其他人处理，请刷新页面。").format(
                    state=spec.state_label(row["state"])), "state")
        step = apply(spec, row["state"], transition, roles, {}, reason, allow_repeat=True)
        if step.repeat:
            return step
        changes: dict[Any, Any] = {Record.state: step.target, Record.updated_by: actor,
                                   Record.updated_at: datetime.now(UTC)}
        revision, after = row["revision"], {"state": step.target, "reason": step.reason}
        needed = target.form if target else None
        if needed:
            if filled is None or filled.form_id != needed or not filled.ok:
                raise TransitionRefused(_("“{action}”需要先填写表单。").format(action=target.label), "form")
            if kind.signing and kind.signing.lock and await RecordSignature.exists().where(
                    RecordSignature.record == record_id):
                raise TransitionRefused(_("已有当事人签字，记录不能再修改。"), "locked")
            steps = {**steps_of(row), needed: filled.values}
            revision += 1
            changes.update({Record.steps: _dump(steps), Record.revision: revision})
            after.update(revision=revision, form=needed, values=filled.values)
        await Record.update(changes).where(Record.id == record_id)
        await _event(record_id, actor, "step", step.source, step.target, revision, step.reason)
        await audit(actor=actor, action=f"record.{kind.id}.{transition}", entity=f"record:{record_id}",
                    before={"state": step.source, "revision": row["revision"]}, after=after)
        _told(kind, row, spec, step, actor)
    return step


async def sign(kind: RecordKind, record_id: int, party_id: str, *, revision: int, signed_name: str, how: str,
               actor: str, spec: WorkflowSpec, signed_at: datetime | None = None) -> bool:
    """Record a party's signature on ``revision``; returns True when it was the last one and the
    kind's signing transition was taken. A party who already signed this revision changes nothing
    (a retried press); a signature on an older revision, a name that is not the party's, or a record
    that is not waiting for signatures is refused."""
    if kind.signing is None or kind.party(party_id) is None:
        raise Refused(_("签字链接无效。"), "missing")
    transition = spec.transition(kind.signing.transition)
    assert transition is not None
    async with db.atomic():
        row = await _locked(record_id)
        if row["kind"] != kind.id:
            raise Refused(_("签字链接无效。"), "missing")
        mine = await RecordSignature.select().where(
            (RecordSignature.record == record_id) & (RecordSignature.party == party_id)).first()
        if mine is not None and mine["revision"] == revision == row["revision"]:
            return False  # already signed: a retried press
        if row["state"] not in transition.sources:
            raise Refused(_("这条记录目前不需要签字（状态：{state}）。").format(state=spec.state_label(row["state"])),
                          "state")
        if row["revision"] != revision:
            raise Refused(_("内容已经修改，请索取新的签字链接，阅读修改后的内容再签字。"), "stale")
        if not same_name(signed_name, party_name(kind, values_of(row), party_id)):
            party = kind.party(party_id)
            raise Refused(_("签名须与{side}的姓名一致。").format(side=party.label if party else ""), "name")
        now = datetime.now(UTC)
        if mine is not None:  # a signature on an older revision (the kind does not lock): replace it
            await RecordSignature.delete().where(RecordSignature.id == mine["id"])
        await RecordSignature.insert(RecordSignature(record=record_id, party=party_id, name=signed_name.strip(),
                                                     revision=revision, how=how, signed_at=signed_at or now,
                                                     recorded_by=actor))
        await _event(record_id, actor, "sign", row["state"], row["state"], revision, f"{party_id}:{how}")
        await audit(actor=actor, action=f"record.{kind.id}.sign", entity=f"record:{record_id}",
                    after={"party": party_id, "how": how, "revision": revision})
        sigs = await signatures(record_id)
        if set(signed_current(kind, row, sigs)) != {p.id for p in kind.parties}:
            return False
        step = apply(spec, row["state"], transition.id, {PARTIES_ROLE}, {})
        await Record.update({Record.state: step.target, Record.updated_at: now}).where(Record.id == record_id)
        await _event(record_id, "system", "step", step.source, step.target, revision)
        await audit(actor="system", action=f"record.{kind.id}.{transition.id}", entity=f"record:{record_id}",
                    before={"state": step.source}, after={"state": step.target, "revision": revision})
        _told(kind, row, spec, step, "system")
    return True


__all__ = [
    "Refused",
    "SignClaim",
    "act",
    "council_of",
    "create",
    "edit",
    "for_meeting",
    "get",
    "history",
    "listing",
    "party_name",
    "read_sign_token",
    "same_name",
    "same_person",
    "sign",
    "sign_token",
    "signatures",
    "signed_current",
    "steps_of",
    "values_of",
]
