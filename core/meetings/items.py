"""What happens to one agenda item while the meeting sits: its speakers list (发言登记), its outcome
(协商一致 / 表决 / 暂缓 / 会后交办) and its timer.

Every action names its target (``state=done``, ``outcome=deferred``, ``start``/``pause``), so a
request retried on weak Wi-Fi lands on the same state and records nothing the second time; an
appended speaker carries the form's one-time key (a unique index), so a resent form adds one row.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core import audit, db, events
from core.i18n import _
from core.meetings import lifecycle
from core.meetings.services import MeetingError, require_item, require_state
from core.meetings.tables import AgendaItem, Speaker
from core.text import has_control

NAME_MAX = 50
AFFILIATION_MAX = 60
OUTCOME_NOTE_MAX = 500
SPEAKER_STATES = ("waiting", "speaking", "done")
OUTCOMES = ("consensus", "vote", "deferred", "followup")


def outcome_labels() -> dict[str, str]:
    return {"consensus": _("协商一致"), "vote": _("表决"), "deferred": _("暂缓"), "followup": _("会后交办")}


def speaker_state_labels() -> dict[str, str]:
    return {"waiting": _("等候"), "speaking": _("正在发言"), "done": _("已发言")}


def _not_sitting() -> str:
    return _("会议不在进行中，不能修改议题。")


# -------------------------------------------------------------------------------------------------
# Speakers
# -------------------------------------------------------------------------------------------------

def validate_speaker(form: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """``{"name", "affiliation"}`` cleaned, and errors by field."""
    name = (form.get("name") or "").strip()
    affiliation = (form.get("affiliation") or "").strip()
    errors: dict[str, str] = {}
    if not name:
        errors["speaker_name"] = _("请填写发言人姓名")
    elif len(name) > NAME_MAX or has_control(name):
        errors["speaker_name"] = _("姓名不能超过 {limit} 字，且不能含控制字符").format(limit=NAME_MAX)
    if len(affiliation) > AFFILIATION_MAX or has_control(affiliation):
        errors["speaker_affiliation"] = _("单位不能超过 {limit} 字，且不能含控制字符").format(limit=AFFILIATION_MAX)
    return {"name": name, "affiliation": affiliation}, errors


async def add_speaker(meeting_id: int, item_id: int, name: str, affiliation: str, actor: str,
                      nonce: str | None = None) -> None:
    """Put someone at the end of the item's speakers list; a resent form (same nonce) adds no one."""
    await require_item(meeting_id, item_id)
    await require_state(meeting_id, "in_session", _not_sitting())
    if nonce and await Speaker.exists().where(Speaker.nonce == nonce):
        return
    async with db.atomic():
        last = await Speaker.select(Speaker.position).where(Speaker.item == item_id).order_by(
            Speaker.position, ascending=False).first()
        rows = await Speaker.insert(Speaker(item=item_id, name=name, affiliation=affiliation, nonce=nonce,
                                            position=(last["position"] if last else 0) + 1,
                                            created_at=datetime.now(UTC))
                                    ).on_conflict(target=Speaker.nonce, action="DO NOTHING").returning(Speaker.id)
        if not rows:  # the same form, sent by two tablets at once: the unique index kept the first
            return
        row = rows[0]
        await audit.record(actor=actor, action="item.speaker_added", entity=f"agenda_item:{item_id}",
                           after={"speaker": row["id"], "name": name, "affiliation": affiliation})
        events.changed(f"meeting:{meeting_id}", "speaker", {"item": item_id})


async def set_speaker_state(meeting_id: int, item_id: int, speaker_id: int, state: str, actor: str) -> None:
    """Mark a speaker ``speaking`` (whoever was speaking is then done) or ``done``, or back to waiting."""
    if state not in SPEAKER_STATES:
        raise MeetingError(_("请选择发言状态。"))
    await require_item(meeting_id, item_id)
    await require_state(meeting_id, "in_session", _not_sitting())
    async with db.atomic():
        row = await db.for_update(Speaker.select(Speaker.state).where(
            (Speaker.id == speaker_id) & (Speaker.item == item_id))).first()
        if row is None:
            raise MeetingError(_("这位发言人已被移除，请刷新页面。"))
        if row["state"] == state:
            return
        if state == "speaking":
            await Speaker.update({Speaker.state: "done"}).where(
                (Speaker.item == item_id) & (Speaker.state == "speaking"))
        await Speaker.update({Speaker.state: state}).where(Speaker.id == speaker_id)
        await audit.record(actor=actor, action="item.speaker_state", entity=f"agenda_item:{item_id}",
                           before={"speaker": speaker_id, "state": row["state"]},
                           after={"speaker": speaker_id, "state": state})
        events.changed(f"meeting:{meeting_id}", "speaker", {"item": item_id})


async def remove_speaker(meeting_id: int, item_id: int, speaker_id: int, actor: str) -> None:
    """Take someone off the list. Removing someone already removed changes nothing."""
    await require_item(meeting_id, item_id)
    await require_state(meeting_id, "in_session", _not_sitting())
    async with db.atomic():
        gone = await db.for_update(Speaker.select(Speaker.name).where(
            (Speaker.id == speaker_id) & (Speaker.item == item_id)))
        if gone:
            await Speaker.delete().where(Speaker.id == speaker_id)
            await audit.record(actor=actor, action="item.speaker_removed", entity=f"agenda_item:{item_id}",
                               before={"speaker": speaker_id, "name": gone[0]["name"]})
            events.changed(f"meeting:{meeting_id}", "speaker", {"item": item_id})


# -------------------------------------------------------------------------------------------------
# Outcome
# -------------------------------------------------------------------------------------------------

def validate_outcome(form: Mapping[str, str]) -> tuple[str, str, dict[str, str]]:
    outcome = (form.get("outcome") or "").strip()
    note = (form.get("outcome_note") or "").replace("\r\n", "\n").strip()
    errors: dict[str, str] = {}
    if outcome not in OUTCOMES:
        errors["outcome"] = _("请选择议题结果")
    if len(note) > OUTCOME_NOTE_MAX:
        errors["outcome_note"] = _("结果说明不能超过 {limit} 字").format(limit=OUTCOME_NOTE_MAX)
    elif has_control(note, allow="\n\t"):
        errors["outcome_note"] = _("结果说明中含有无法显示的控制字符")
    return outcome, note, errors


async def set_outcome(meeting_id: int, item_id: int, outcome: str, note: str, actor: str) -> None:
    """Record what the meeting did with the item (or correct it). The same outcome again changes nothing."""
    await require_item(meeting_id, item_id)
    await require_state(meeting_id, "in_session", _not_sitting())
    async with db.atomic():
        row = await db.for_update(AgendaItem.select(AgendaItem.outcome, AgendaItem.outcome_note).where(
            AgendaItem.id == item_id)).first()
        after = {"outcome": outcome, "outcome_note": note}
        if row == after:
            return
        await AgendaItem.update({AgendaItem.outcome: outcome, AgendaItem.outcome_note: note}).where(
            AgendaItem.id == item_id)
        await audit.record(actor=actor, action="item.outcome_set", entity=f"agenda_item:{item_id}",
                           before=row, after=after)
        events.changed(f"meeting:{meeting_id}", "outcome", {"item": item_id})


# -------------------------------------------------------------------------------------------------
# Timer
# -------------------------------------------------------------------------------------------------

def elapsed_seconds(item: Mapping[str, Any] | Any, now: datetime | None = None) -> int:
    """Seconds the item's timer has run so far, including the current run."""
    get = item.get if isinstance(item, Mapping) else lambda k: getattr(item, k)
    started = get("timer_started_at")
    elapsed = int(get("timer_elapsed") or 0)
    if started is not None:
        elapsed += max(0, int(((now or datetime.now(UTC)) - started).total_seconds()))
    return elapsed


async def start_timer(meeting_id: int, item_id: int, actor: str) -> None:
    """Run the item's timer (any other item's running timer pauses). Starting a running timer changes nothing."""
    await require_item(meeting_id, item_id)
    await require_state(meeting_id, "in_session", _not_sitting())
    now = datetime.now(UTC)
    async with db.atomic():
        row = await db.for_update(AgendaItem.select(AgendaItem.timer_started_at).where(
            AgendaItem.id == item_id)).first()
        if row is None or row["timer_started_at"] is not None:
            return
        await lifecycle.stop_timers(meeting_id, now)
        await AgendaItem.update({AgendaItem.timer_started_at: now}).where(
            (AgendaItem.id == item_id) & AgendaItem.timer_started_at.is_null())
        await audit.record(actor=actor, action="item.timer_started", entity=f"agenda_item:{item_id}",
                           after={"timer_started_at": now.isoformat()})
        events.changed(f"meeting:{meeting_id}", "timer", {"item": item_id})


async def pause_timer(meeting_id: int, item_id: int, actor: str) -> None:
    """Pause the item's timer, keeping the time it ran. Pausing a paused timer changes nothing."""
    await require_item(meeting_id, item_id)
    now = datetime.now(UTC)
    async with db.atomic():
        row = await db.for_update(AgendaItem.select(AgendaItem.timer_elapsed, AgendaItem.timer_started_at).where(
            AgendaItem.id == item_id)).first()
        if row is None or row["timer_started_at"] is None:
            return
        elapsed = elapsed_seconds(row, now)
        await AgendaItem.update({AgendaItem.timer_elapsed: elapsed, AgendaItem.timer_started_at: None}).where(
            AgendaItem.id == item_id)
        await audit.record(actor=actor, action="item.timer_paused", entity=f"agenda_item:{item_id}",
                           before={"timer_elapsed": row["timer_elapsed"]}, after={"timer_elapsed": elapsed})
        events.changed(f"meeting:{meeting_id}", "timer", {"item": item_id})


__all__ = ["OUTCOMES", "add_speaker", "elapsed_seconds", "outcome_labels", "pause_timer", "remove_speaker",
           "set_outcome", "set_speaker_state", "speaker_state_labels", "start_timer", "validate_outcome",
           "validate_speaker"]
