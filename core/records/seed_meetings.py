"""``[[meetings]]`` of a seed file (core.records.seed): a meeting, checked by the 新建会议 form, and —
optionally — the meeting as it was held, through the services the meeting pages call:

- ``repeat = "monthly:-1:fri"`` (core.meetings.recurrence) starts a series; with it, ``starts_at`` may
  be ``"previous 19:30"`` (the rule's last day before today) or ``"next 19:30"``, and core writes the
  series' next drafts (core.meetings.series) as it does when a chair creates one;
- ``agenda = [{ title, description, proposer, minutes, outcome, outcome_note, notes = […] }]`` —
  the items (the agenda form), and what was noted and decided on each while the meeting sat; a note
  is its text (taken three minutes after the one before, from when the item came up) or
  ``{ body = "…", at = "15:35" }`` with its own time, written like a step's ``at``;
- ``attendance = "present"`` (every expected member) or ``{ <people key> = "excused", … }``;
- ``steps = [{ transition = "open", at = "19:32", by = "yejm" }, …]`` — the meeting workflow's
  steps, each at ``"HH:MM"`` on the meeting's day, ``"+N HH:MM"`` N days later, or any seed time.
  Notes and outcomes are recorded once it is open. ``state`` (set as it stands, without steps) is
  for a meeting whose history does not matter; a meeting has one or the other.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from core.records.seed import SHANGHAI, Seed

STEP_TIME = re.compile(r"^(?:\+(\d{1,3}) )?(\d{1,2}):(\d{2})$")
SERIES_START = re.compile(r"^(previous|next) (\d{1,2}):(\d{2})$")


def _series_start(rule: Any, text: str) -> datetime | None:
    """``previous 19:30`` / ``next 19:30``: the rule's last day before today, or its next day after."""
    found = SERIES_START.match(text.strip())
    if found is None:
        return None
    which, hour, minute = found.groups()
    today = datetime.now(SHANGHAI).date()
    step = -1 if which == "previous" else 1
    day = today + timedelta(days=step)
    while not rule.matches(day):
        day += timedelta(days=step)
    return datetime.combine(day, time(int(hour), int(minute)), SHANGHAI).astimezone(UTC)


def _step_time(seed: Seed, day: date, value: Any, field: str) -> datetime:
    found = STEP_TIME.match(value.strip()) if isinstance(value, str) else None
    if found is None:
        return seed.when(value, field)
    days, hour, minute = found.groups()
    at = datetime.combine(day + timedelta(days=int(days or 0)), time(int(hour), int(minute)), SHANGHAI)
    return min(at.astimezone(UTC), datetime.now(UTC))  # a step taken is never ahead of the load


async def write_meeting(seed: Seed, e: dict[str, Any]) -> None:
    from core.meetings import recurrence, series
    from core.meetings.tables import Meeting
    from core.org.tables import Council

    council_id = seed.ref("councils", e["council"], "council")
    council = await Council.select(Council.practice).where(Council.id == council_id).first()
    practice = seed.plugins.practice(council["practice"]) if seed.plugins is not None else None
    kinds = practice.meeting_kinds if practice else (e.get("kind", "议事会"),)
    rule = None
    if e.get("repeat"):
        try:
            rule = recurrence.parse_rule(str(e["repeat"]))
        except recurrence.RuleError as exc:
            raise seed.error("repeat", str(exc)) from None
    if e.get("state") and e.get("steps"):
        raise seed.error("state", "会议的 state 和 steps 只能写一个 / a meeting has a state or steps, not both")
    starts = _series_start(rule, e["starts_at"]) if rule and isinstance(e.get("starts_at"), str) else None
    starts = starts or seed.when(e.get("starts_at"), "starts_at")
    local = starts.astimezone(SHANGHAI)
    if rule is not None and not rule.matches(local.date()):
        raise seed.error("starts_at", f"{local.date()} 不是“{rule.label}”的日子 / not a day of the rule")
    title = str(e["title"]).replace("{month}", str(local.month))
    new, errors, _typed = series.validate({
        "title": title, "kind": e.get("kind", kinds[0]), "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"), "place": e.get("place", ""), "is_open": "1" if e.get("is_open") else ""},
        kinds, now=datetime.now(UTC))
    if new is None:
        raise seed.error("", "；".join(f"{k}: {v}" for k, v in errors.items()))
    row = await Meeting.objects().create(council=council_id, kind=new.kind, title=new.title, place=new.place,
                                         starts_at=starts, state="draft", is_open=new.is_open,
                                         recurrence=rule.text if rule else "")
    if rule is not None:
        await Meeting.update({Meeting.series: row.id}).where(Meeting.id == row.id)
    items = await _agenda(seed, row.id, e.get("agenda", []))
    await _attendance(seed, row.id, council_id, e.get("attendance"), starts)
    await _steps(seed, row.id, council_id, local.date(), e.get("steps", []), items)
    if e.get("state"):
        from core.meetings.lifecycle import meeting_workflow

        if e["state"] not in meeting_workflow().states:
            raise seed.error("state", f"会议流程没有状态 {e['state']!r} / no such state")
        await Meeting.update({Meeting.state: e["state"]}).where(Meeting.id == row.id)
    if rule is not None:
        await series.top_up(row.id, "system")
    seed.keep("meetings", e, e["title"], row.id)


async def _agenda(seed: Seed, meeting_id: int, agenda: Any) -> list[tuple[int, dict[str, Any]]]:
    """The items through the agenda form; (item id, its entry) in order."""
    from core.meetings import agenda as core_agenda
    from core.meetings.tables import Meeting

    if not isinstance(agenda, list) or not all(isinstance(a, dict) for a in agenda):
        raise seed.error("agenda", "须写成 [{ title = … }, …] / must be a list of tables")
    out = []
    for n, a in enumerate(agenda, start=1):
        item, errors = core_agenda.validate_item({
            "title": str(a.get("title", "")), "description": str(a.get("description", "")),
            "proposer": str(a.get("proposer", "")), "duration_minutes": str(a.get("minutes", 10))})
        if item is None:
            raise seed.error(f"agenda[{n}]", "；".join(f"{k}: {v}" for k, v in errors.items()))
        revision = (await Meeting.select(Meeting.agenda_revision).where(Meeting.id == meeting_id).first())[
            "agenda_revision"]
        out.append((await seed.attempt(f"agenda[{n}]", core_agenda.add_item(meeting_id, revision, item, "seed")), a))
    return out


async def _attendance(seed: Seed, meeting_id: int, council_id: int, raw: Any, starts: datetime) -> None:
    from core.meetings import attendance
    from core.meetings.tables import Attendance
    from core.org.tables import CouncilMember

    if raw is None:
        return
    if isinstance(raw, str):
        seats = await CouncilMember.select(CouncilMember.person, CouncilMember.role).where(
            CouncilMember.council == council_id).order_by(CouncilMember.position)
        marks = [(s["person"], raw) for s in seats if s["role"] not in attendance.NOT_EXPECTED]
    elif isinstance(raw, dict):
        marks = [(seed.ref("people", key, "attendance"), status) for key, status in raw.items()]
    else:
        raise seed.error("attendance", "须写成状态或 { 人 = 状态 } / a status or a table of people")
    for person, status in marks:
        await seed.attempt("attendance", attendance.mark(meeting_id, person, str(status), "", "seed"))
    await Attendance.update({Attendance.updated_at: starts - timedelta(minutes=5)}).where(
        Attendance.meeting == meeting_id)


async def _steps(seed: Seed, meeting_id: int, council_id: int, day: date, steps: Any,
                 items: list[tuple[int, dict[str, Any]]]) -> None:
    from core.meetings import lifecycle
    from core.meetings.tables import Meeting, MeetingEvent

    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise seed.error("steps", "须写成 [{ transition = … }, …] / must be a list of tables")
    for n, step in enumerate(steps, start=1):
        field = f"steps[{n}]"
        at = _step_time(seed, day, step.get("at"), f"{field}.at")
        actor, roles = seed.actor(step.get("by"), council_id, f"{field}.by")
        events = MeetingEvent.meeting == meeting_id
        mark = await seed.newest_id(MeetingEvent, events)
        taken = await seed.attempt(field, lifecycle.move_meeting(meeting_id, str(step.get("transition", "")),
                                                                 roles=roles, actor=actor,
                                                                 reason=str(step.get("reason", ""))))
        await seed.restamp(MeetingEvent, MeetingEvent.at, events, mark, at)
        if taken.target == "in_session":
            await Meeting.update({Meeting.opened_at: at}).where(Meeting.id == meeting_id)
            await _sitting(seed, meeting_id, day, at, items, actor)
        elif taken.target == "closed":
            await Meeting.update({Meeting.closed_at: at}).where(Meeting.id == meeting_id)


async def _sitting(seed: Seed, meeting_id: int, day: date, opened: datetime,
                   items: list[tuple[int, dict[str, Any]]], actor: str) -> None:
    """What was noted and decided on each item, at the time the item came up (one after another) or
    at a note's own ``at`` (a demo whose notes were taken at known times keeps them)."""
    from core.meetings import items as core_items
    from core.meetings import services
    from core.meetings.tables import ItemNote

    start = opened
    for n, (item_id, a) in enumerate(items, start=1):
        field = f"agenda[{n}]"
        for k, raw in enumerate(a.get("notes", [])):
            if isinstance(raw, dict) and set(raw) - {"body", "at"}:
                raise seed.error(f"{field}.notes[{k + 1}]", "须写成文字或 { body, at } / text or { body, at }")
            at = raw.get("at") if isinstance(raw, dict) else None
            body, error = services.validate_note(str(raw.get("body", "")) if isinstance(raw, dict) else str(raw))
            if error:
                raise seed.error(f"{field}.notes[{k + 1}]", error)
            taken = (_step_time(seed, day, at, f"{field}.notes[{k + 1}].at") if at is not None
                     else start + timedelta(minutes=3 * (k + 1)))
            notes = ItemNote.item == item_id
            mark = await seed.newest_id(ItemNote, notes)
            await seed.attempt(field, services.add_note(meeting_id, item_id, body, actor))
            await seed.restamp(ItemNote, ItemNote.created_at, notes, mark, taken)
        if a.get("outcome"):
            outcome, note, errors = core_items.validate_outcome({"outcome": str(a["outcome"]),
                                                                 "outcome_note": str(a.get("outcome_note", ""))})
            if errors:
                raise seed.error(f"{field}.outcome", "；".join(errors.values()))
            await seed.attempt(field, core_items.set_outcome(meeting_id, item_id, outcome, note, actor))
        start += timedelta(minutes=int(a.get("minutes", 10)))


__all__ = ["write_meeting"]
