"""``[[records]]`` of a seed file (core.records.seed): a record kind's form values, validated by its form.

A plain kind is written as it stands after its steps: ``state``, the values of forms filled at steps
(``steps``, by form id) and ``signatures``. A checklist or ledger kind is created through
:func:`core.records.service.create`, as the page does — the ledger line and its balance (never below
the floor), the checklist's follow-ups — and its ``follow_ups`` then say what became of each failed
item: a step of the follow-up's workflow (``{ transition = "fix", values = {…} }``, with the step's
form) or raised as a council topic (``{ topic = true }``). ``by`` names the member who recorded it.
A field whose choices come from the roster (``[choices.<field>] roster = "people"``) takes a
``[[roster]]`` key of the file.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from core.records.seed import Seed, _values


def _roster_keys(seed: Seed, kind: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Roster keys of the file in fields whose choices are the council's roster, as entry ids."""
    out = dict(values)
    for name, choice in kind.extras.choices.items():
        if choice.roster != "buildings" and name in out and ("roster", str(out[name])) in seed.keys:
            out[name] = str(seed.keys[("roster", str(out[name]))])
    return out


async def write_record(seed: Seed, e: dict[str, Any]) -> None:
    from core.records.links import choices

    specs = seed.specs
    kind = specs.records.get(e.get("kind", ""))
    if kind is None:
        raise seed.error("kind", f"没有记录类型 {e.get('kind')!r} / no such record kind")
    form, workflow = specs.form(kind.form), kind.workflow_of(specs)
    council_id = seed.ref("councils", e["council"], "council")
    raw = _roster_keys(seed, kind, _values(e.get("values", {})) if isinstance(e.get("values"), dict) else {})
    if kind.checklist:  # items left out are 合格, as on a paper form ticked only where something is wrong
        raw = {name: kind.checklist.pass_ for name, _label in kind.checklist.items(form)} | raw
    result = seed.filled(form, raw, "values", choices=await choices(kind, council_id))
    if kind.ledger or kind.checklist:
        await _through_service(seed, e, kind, workflow, council_id, result)
    else:
        if e.get("follow_ups") or e.get("by"):
            raise seed.error("follow_ups", "只有检查表类记录有整改项 / only checklist records have follow-ups")
        await _as_it_stands(seed, e, kind, form, workflow, council_id, result)
    seed.counts["records"] += 1


async def _through_service(seed: Seed, e: dict[str, Any], kind: Any, workflow: Any, council_id: int,
                           result: Any) -> None:
    from core.records import service
    from core.records.tables import Record, RecordEvent

    for field in ("state", "steps", "signatures"):
        if e.get(field):
            raise seed.error(field, "台账和检查表类记录由 core 创建，不能指定 / set by core for ledger and checklist "
                                    "records")
    actor, roles = seed.actor(e.get("by"), council_id)
    meeting = seed.ref("meetings", e["meeting"], "meeting") if e.get("meeting") else None
    record_id = await seed.attempt("values", service.create(kind, council_id, result, actor=actor, spec=workflow,
                                                            nonce=None, meeting_id=meeting, specs=seed.specs))
    if e.get("created_at"):
        at = seed.when(e["created_at"], "created_at")
        ids = [record_id, *(r["id"] for r in await Record.select(Record.id).where(Record.parent == record_id))]
        await Record.update({Record.created_at: at, Record.updated_at: at}).where(Record.id.is_in(ids))
        await RecordEvent.update({RecordEvent.at: at}).where(RecordEvent.record.is_in(ids))
    follow_ups = e.get("follow_ups") or {}
    if not isinstance(follow_ups, dict):
        raise seed.error("follow_ups", "须写成 { 检查项 = {…} } / must be a table by item")
    if not follow_ups:
        return
    fix = seed.specs.records[kind.checklist.follow_up] if kind.checklist else None
    rows = {r["values"].get("item"): r for r in await service.listing(council_id, fix.id, parent=record_id)} \
        if fix else {}
    for item, what in follow_ups.items():
        field = f"follow_ups.{item}"
        row = rows.get(item)
        if row is None or not isinstance(what, dict):
            raise seed.error(field, f"检查项 {item!r} 没有不合格，没有整改项 / item {item!r} did not fail")
        fix_flow = fix.workflow_of(seed.specs)
        if what.get("topic"):
            from core.records.links import raise_topic

            await seed.attempt(field, raise_topic(fix, fix_flow, row["id"], actor))
            continue
        step = fix_flow.transition(str(what.get("transition", "")))
        if step is None:
            raise seed.error(f"{field}.transition", f"流程 {fix_flow.id} 没有这一步 {what.get('transition')!r} / "
                                                    "no such transition")
        filled = None
        if step.form:
            filled = seed.filled(seed.specs.form(step.form), what.get("values", {}), f"{field}.values")
        await seed.attempt(field, service.act(fix, row["id"], step.id, seen_revision=row["revision"],
                                              seen_state=row["state"], roles=roles, actor=actor, reason="",
                                              spec=fix_flow, filled=filled))
        if what.get("at"):
            at = seed.when(what["at"], f"{field}.at")
            await Record.update({Record.updated_at: at}).where(Record.id == row["id"])
            await RecordEvent.update({RecordEvent.at: at}).where(
                (RecordEvent.record == row["id"]) & (RecordEvent.action == "step"))


async def _as_it_stands(seed: Seed, e: dict[str, Any], kind: Any, form: Any, workflow: Any, council_id: int,
                        result: Any) -> None:
    from core.records.tables import Record, RecordEvent, RecordSignature

    specs = seed.specs
    state = e.get("state", workflow.initial)
    if state not in workflow.states:
        raise seed.error("state", f"流程 {workflow.id} 没有状态 {state!r} / no such state")
    steps: dict[str, Any] = {}
    for form_id, raw_values in (e.get("steps") or {}).items():
        if form_id not in specs.forms:
            raise seed.error("steps", f"没有表单 {form_id!r} / no such form")
        steps[form_id] = seed.filled(specs.form(form_id), raw_values, f"steps.{form_id}").values
    at = seed.when(e.get("created_at"), "created_at")
    title = str(result.values.get(kind.title_field, ""))[:200]
    row = (await Record.insert(Record(
        council=council_id, kind=kind.id, state=state, title=title,
        day=date.fromisoformat(result.values[kind.extras.date_field])
        if result.values.get(kind.extras.date_field) else None,
        meeting=seed.ref("meetings", e["meeting"], "meeting") if e.get("meeting") else None,
        form_id=form.id, form_version=form.version, data=json.dumps(result.values, ensure_ascii=False, sort_keys=True),
        steps=json.dumps(steps, ensure_ascii=False, sort_keys=True),
        revision=1, created_by="seed", updated_by="seed", created_at=at, updated_at=at,
    )).returning(Record.id))[0]
    await RecordEvent.insert(RecordEvent(record=row["id"], actor="seed", action="create", target=state, at=at))
    for sig in e.get("signatures", []):
        party = kind.party(sig.get("party", ""))
        if party is None:
            raise seed.error("signatures", f"没有当事人 {sig.get('party')!r} / no such party")
        how, signed_at = sig.get("how", "paper"), seed.when(sig.get("signed_at"), "signatures.signed_at")
        await RecordSignature.insert(RecordSignature(
            record=row["id"], party=party.id, name=str(result.values.get(party.name_field, "")),
            revision=1, how=how, signed_at=signed_at, recorded_by="seed"))
        # the record's history shows the signature as a real one would (service.sign)
        await RecordEvent.insert(RecordEvent(record=row["id"], actor="seed", action="sign", source=state,
                                             target=state, revision=1, note=f"{party.id}:{how}", at=signed_at))


__all__ = ["write_record"]
