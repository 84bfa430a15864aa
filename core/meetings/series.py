"""Creating a meeting (新建会议) and keeping a recurring series stocked with upcoming drafts.

A meeting with a rule (core.meetings.recurrence) starts a series: ``Meeting.series`` is the first
meeting's id, on the first meeting too. Creating it writes the next :data:`UPCOMING` meetings of the
series at once, as drafts with the same title, kind, place and openness, so the chair can send
their notices early. When a meeting of a series closes, the series is topped up again to
:data:`UPCOMING` drafts after it — through core's own ``yishi_on_transition`` hook
(core.builtin), the way a plugin would do it, after the close has committed. A failure there
never undoes the close; the next close, or the next call of :func:`top_up`, catches up.

Idempotent: generation skips a date the series already has (the key is (series, starts_at)), and
runs under a lock on the series' first meeting, so two closes at once, or a retried request, never
write a meeting twice. Creating is idempotent too: a second post of the same form (same council,
title and start) answers with the meeting the first one created.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from core import audit, db, events
from core.i18n import _
from core.meetings import recurrence
from core.meetings.lifecycle import BEFORE
from core.meetings.tables import Meeting
from core.org.tables import Council
from core.templating import LOCAL_TZ
from core.text import has_control

#: How many meetings of a series are kept ahead as drafts.
UPCOMING = 3
TITLE_MAX = 120
PLACE_MAX = 120


@dataclass(frozen=True)
class NewMeeting:
    """A valid 新建会议 form."""

    title: str
    kind: str
    starts_at: datetime
    place: str
    is_open: bool
    rule: recurrence.Rule | None


def field_labels() -> dict[str, str]:
    return {"title": _("会议名称"), "kind": _("会议类型"), "date": _("日期"), "time": _("开始时间"),
            "place": _("地点"), "is_open": _("公开会议"), "repeat": _("重复")}


def _text(raw: str, label: str, limit: int, *, required: bool) -> tuple[str, str | None]:
    value = raw.strip()
    if required and not value:
        return value, _("请填写{label}").format(label=label)
    if len(value) > limit:
        return value, _("{label}不能超过 {limit} 字（现为 {length} 字）").format(label=label, limit=limit,
                                                                       length=len(value))
    if has_control(raw):
        return value, _("{label}中含有换行或无法显示的控制字符，请写成一行").format(label=label)
    return value, None


def _date(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip()) if len(raw.strip()) == 10 else None
    except ValueError:
        return None


def _time(raw: str) -> time | None:
    raw = raw.strip()
    try:
        return time.fromisoformat(raw) if len(raw) in (5, 8) else None
    except ValueError:
        return None


def validate(form: Mapping[str, str], kinds: Sequence[str],
             now: datetime | None = None) -> tuple[NewMeeting | None, dict[str, str], dict[str, str]]:
    """The 新建会议 form: (the meeting, or None; an error per field; what was typed, to show again)."""
    labels = field_labels()
    values = {k: (form.get(k) or "") for k in ("title", "kind", "date", "time", "place", "repeat")}
    values["is_open"] = "1" if form.get("is_open") else ""
    errors: dict[str, str] = {}
    title, err = _text(values["title"], labels["title"], TITLE_MAX, required=True)
    if err:
        errors["title"] = err
    place, err = _text(values["place"], labels["place"], PLACE_MAX, required=False)
    if err:
        errors["place"] = err
    kind = values["kind"].strip()
    if kind not in kinds:
        errors["kind"] = _("请从列表中选择会议类型")
    day, clock = _date(values["date"]), _time(values["time"])
    if day is None:
        errors["date"] = _("请填写日期，例如 2026-12-04")
    if clock is None:
        errors["time"] = _("请填写开始时间，例如 19:30")
    starts_at = None
    if day is not None and clock is not None:
        starts_at = datetime.combine(day, clock.replace(second=0, microsecond=0), tzinfo=LOCAL_TZ)
        if starts_at.year < 2000 or starts_at.year > 2100:
            errors["date"] = _("日期应在2000年至2100年之间")
    rule = None
    if values["repeat"] not in recurrence.REPEAT_CHOICES:
        errors["repeat"] = _("请选择重复方式")
    elif day is not None:
        try:
            rule = recurrence.rule_for(values["repeat"], day)
        except recurrence.RuleError as exc:
            errors["repeat"] = str(exc)
    if errors or starts_at is None:
        return None, errors, values
    return NewMeeting(title, kind, starts_at, place, bool(values["is_open"]), rule), errors, values


async def create_meeting(council_id: int, new: NewMeeting, actor: str) -> int:
    """Write the meeting (a draft) and, for a series, its next :data:`UPCOMING` meetings; its id.

    A repeat of the same request (same council, title and start) returns the meeting it created."""
    starts_at = new.starts_at.astimezone(UTC)
    async with db.atomic():
        # Two identical posts at once queue here (PostgreSQL row lock; SQLite's write lock) and the
        # second finds the first's meeting.
        await db.for_update(Council.select(Council.id).where(Council.id == council_id)).first()
        same = await Meeting.select(Meeting.id).where(
            (Meeting.council == council_id) & (Meeting.title == new.title) & (Meeting.starts_at == starts_at)).first()
        if same is not None:
            return same["id"]
        meeting_id = (await Meeting.insert(Meeting(
            council=council_id, kind=new.kind, title=new.title, place=new.place, starts_at=starts_at,
            state="draft", is_open=new.is_open, recurrence=new.rule.text if new.rule else "",
        )).returning(Meeting.id))[0]["id"]
        if new.rule is not None:
            await Meeting.update({Meeting.series: meeting_id}).where(Meeting.id == meeting_id)
        await audit.record(actor=actor, action="meeting.created", entity=f"meeting:{meeting_id}", after={
            "council": council_id, "title": new.title, "kind": new.kind, "starts_at": starts_at,
            "place": new.place, "is_open": new.is_open, "recurrence": new.rule.text if new.rule else ""})
        if new.rule is not None:
            await top_up(meeting_id, actor)
    return meeting_id


async def top_up(meeting_id: int, actor: str, now: datetime | None = None) -> list[int]:
    """Keep :data:`UPCOMING` drafts of the meeting's series after it (and still to come); the ids of
    those written.

    Nothing for a meeting outside a series. The dates follow the first meeting's rule, at its local
    clock time; the new meetings copy the latest meeting of the series (title, kind, place, 公开)."""
    now = now or datetime.now(UTC)
    async with db.atomic():
        row = await Meeting.select(Meeting.series, Meeting.starts_at).where(Meeting.id == meeting_id).first()
        if row is None or row["series"] is None:
            return []
        series = row["series"]
        first = await db.for_update(Meeting.select().where(Meeting.id == series)).first()
        if first is None or not first["recurrence"]:
            return []
        rule = recurrence.parse_rule(first["recurrence"])
        members = await Meeting.select().where(Meeting.series == series).order_by(Meeting.starts_at)
        upcoming = [m for m in members if m["state"] in BEFORE and m["starts_at"] > max(now, row["starts_at"])]
        missing = UPCOMING - len(upcoming)
        if missing <= 0:
            return []
        latest = members[-1]
        taken = {m["starts_at"] for m in members}
        clock = first["starts_at"].astimezone(LOCAL_TZ).time()
        after = max(latest["starts_at"], now)
        written: list[int] = []
        for when in recurrence.next_times(rule, clock, after, missing):
            when_utc = when.astimezone(UTC)
            if when_utc in taken:
                continue
            new_id = (await Meeting.insert(Meeting(
                council=first["council"], kind=latest["kind"], title=latest["title"], place=latest["place"],
                starts_at=when_utc, state="draft", is_open=latest["is_open"], recurrence=first["recurrence"],
                series=series,
            )).returning(Meeting.id))[0]["id"]
            await audit.record(actor=actor, action="meeting.generated", entity=f"meeting:{new_id}",
                               after={"series": series, "starts_at": when_utc, "recurrence": first["recurrence"]})
            written.append(new_id)
        if written:
            events.changed(f"meeting:{series}", "series", {"generated": written})
    return written


async def on_transition(event: Any) -> None:
    """core.builtin's ``yishi_on_transition``: a closed meeting of a series tops the series up."""
    if event.kind == "meeting" and event.target == "closed":
        await top_up(event.entity_id, event.actor or "system")


__all__ = ["UPCOMING", "NewMeeting", "create_meeting", "field_labels", "on_transition", "top_up", "validate"]
