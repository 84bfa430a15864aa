"""What ties a record to the rest of the council: the roster its person fields choose from
(``[choices]``), the follow-up records a checklist opens (``[checklist] follow_up``), and the topic
(议题) a record may be raised as, which moves the record on when the topic is settled (``[topic]``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from core import db
from core.audit.log import record as audit
from core.i18n import _
from core.lowcode.forms import Choices, FormSpec
from core.lowcode.workflow import apply
from core.records.kinds import TOPIC_ROLE
from core.records.tables import Record, RecordEvent


class LinkRefused(Exception):
    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def natural_key(name: str) -> tuple[Any, ...]:
    """Sort "新村3栋" before "新村12栋", as people count buildings."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part)


async def choices(kind: Any, council_id: int) -> Choices:
    """The choices of the kind's ``[choices]`` fields, from the council's roster."""
    if not kind.extras.choices:
        return Choices()
    from core.org.tables import Council
    from core.residents.tables import RosterEntry

    council = await Council.select(Council.unit).where(Council.id == council_id).first()
    unit = council["unit"] if council else -1
    by_field: dict[str, list[tuple[str, str]]] = {}
    for name, choice in kind.extras.choices.items():
        if choice.roster == "buildings":
            rows = await RosterEntry.select(RosterEntry.building).where(
                (RosterEntry.unit == unit) & (RosterEntry.building != "")).distinct()
            by_field[name] = [(b, b) for b in sorted({r["building"] for r in rows}, key=natural_key)]
            continue
        where = (RosterEntry.unit == unit) & (RosterEntry.revoked == False)  # noqa: E712
        if choice.kinds:
            where &= RosterEntry.kind.is_in(list(choice.kinds))
        rows = await RosterEntry.select(RosterEntry.id, RosterEntry.name, RosterEntry.building, RosterEntry.room,
                                        RosterEntry.kind).where(where).order_by(RosterEntry.id)
        rows.sort(key=lambda r: (natural_key(r["building"] or ""), natural_key(r["room"] or ""), r["id"]))
        by_field[name] = [(str(r["id"]), (f"{choice.kinds[r['kind']]} " if choice.kinds else "") + r["name"]
                           + (f"（{r['building']}{' ' + r['room'] if r['room'] else ''}）" if r["building"] else ""))
                          for r in rows]
    return Choices(by_field=by_field)


async def open_follow_ups(kind: Any, form: FormSpec, follow_up: Any, workflow: Any, council_id: int,
                          record_id: int, values: dict[str, Any], actor: str) -> list[int]:
    """One follow-up record per failed checklist item (inside the caller's transaction); their ids."""
    checklist = kind.checklist
    ids = []
    for name, label in checklist.tally(form, values)["failed_items"]:
        problem = str(values.get(f"{name}{checklist.problem_suffix}") or "")
        child = {follow_up.title_field: label, "item": name, "problem": problem}
        row = (await Record.insert(Record(
            council=council_id, kind=follow_up.id, state=workflow.initial, title=label[:200], parent=record_id,
            form_id=follow_up.form, data=json.dumps(child, ensure_ascii=False, sort_keys=True), revision=1,
            created_by=actor, updated_by=actor)).returning(Record.id))[0]
        await RecordEvent.insert(RecordEvent(record=row["id"], actor=actor, action="create", target=workflow.initial))
        ids.append(row["id"])
    if ids:
        await audit(actor=actor, action=f"record.{follow_up.id}.create", entity=f"record:{record_id}",
                    after={"follow_ups": ids, "items": [n for n, _l in checklist.tally(form, values)["failed_items"]]})
    return ids


async def raise_topic(kind: Any, workflow: Any, record_id: int, actor: str) -> int:
    """Raise the record as a topic of its council (state ``raised``), so the chair can assign it
    through core's closed loop; the topic's id. A second press returns the same topic."""
    from core.records.service import values_of
    from core.topics.tables import Topic, TopicEvent

    link = kind.topic
    async with db.atomic():
        row = await db.for_update(Record.select().where(Record.id == record_id)).first()
        if row is None or link is None:
            raise LinkRefused(_("没有找到这条记录。"), 404)
        if row["topic"] is not None:
            return row["topic"]
        allowed = link.states or tuple(s for s, st in workflow.states.items() if not st.terminal)
        if row["state"] not in allowed:
            raise LinkRefused(_("记录状态为“{state}”，不需要再转为议题。").format(
                state=workflow.state_label(row["state"])))
        parent = await Record.select(Record.title).where(Record.id == row["parent"]).first() if row["parent"] else None
        values = values_of(row)
        now = datetime.now(UTC)
        title = link.topic_title(values, parent["title"] if parent else "") or row["title"]
        topic_id = (await Topic.insert(Topic(
            council=row["council"], title=title, category=link.category, state="raised",
            description=str(values.get(link.description_field) or "") if link.description_field else "",
            proposer_name=(link.proposer or kind.title)[:50], proposer_is_person=False,
            created_at=now, updated_at=now,
        )).returning(Topic.id))[0]["id"]
        await TopicEvent.insert(TopicEvent(topic=topic_id, transition="raise", from_state="", to_state="raised",
                                           actor=actor, at=now))
        await Record.update({Record.topic: topic_id, Record.updated_at: now}).where(Record.id == record_id)
        await RecordEvent.insert(RecordEvent(record=record_id, actor=actor, action="topic", source=row["state"],
                                             target=row["state"], revision=row["revision"], note=str(topic_id)))
        await audit(actor=actor, action="topic.raised", entity=f"topic:{topic_id}",
                    after={"council": row["council"], "state": "raised", "title": title, "from": f"record:{record_id}"})
    return topic_id


async def on_topic_transition(event: Any, specs: Any) -> list[int]:
    """core's ``yishi_on_transition``: a topic reached a state that settles the records raised as it
    (their kind's ``close_states``): core takes each one's ``close_transition``; the ids moved."""
    if event.kind != "topic":
        return []
    moved = []
    async with db.atomic():
        rows = await db.for_update(Record.select().where(Record.topic == event.entity_id))
        for row in rows:
            kind = specs.records.get(row["kind"])
            link = kind.topic if kind else None
            if link is None or event.target not in link.close_states or not link.close_transition:
                continue
            workflow = kind.workflow_of(specs)
            transition = workflow.transition(link.close_transition)
            if transition is None or row["state"] not in transition.sources:
                continue
            step = apply(workflow, row["state"], transition.id, {TOPIC_ROLE}, {})
            now = datetime.now(UTC)
            await Record.update({Record.state: step.target, Record.updated_at: now, Record.updated_by: "system"}).where(
                Record.id == row["id"])
            await RecordEvent.insert(RecordEvent(record=row["id"], actor=event.actor or "system", action="step",
                                                 source=step.source, target=step.target, revision=row["revision"],
                                                 note=transition.label))
            await audit(actor=event.actor or "system", action=f"record.{kind.id}.{transition.id}",
                        entity=f"record:{row['id']}", before={"state": step.source},
                        after={"state": step.target, "topic": event.entity_id, "topic_state": event.target})
            from core.records.service import _told

            _told(kind, row, workflow, step, event.actor or "system")  # plugins hear this step too
            moved.append(row["id"])
    return moved


__all__ = ["LinkRefused", "choices", "natural_key", "on_topic_transition", "open_follow_ups", "raise_topic"]
