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
from core.meetings import lifecycle, sitting
from core.meetings.services import MeetingError, MeetingView
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


_LAST_SPEAKER = "SELECT MAX(position) AS last FROM yishi_speaker WHERE item = {}"
_INSERT_SPEAKER = (
    "INSERT INTO yishi_speaker (item, name, affiliation, position, state, created_at, nonce)"
    " VALUES ({}, {}, {}, {}, 'waiting', {}, {}) ON CONFLICT (nonce) DO NOTHING RETURNING id")


async def add_speaker(meeting_id: int, item_id: int, name: str, affiliation: str, actor: str,
                      nonce: str | None = None, known: MeetingView | None = None) -> bool:
    """Put someone at the end of the item's speakers list (False only when the first look showed them
    already added, so ``known`` is still current). A resent form (same
    nonce) adds no one: one read checks the item, the meeting's state and the nonce (or ``known``,
    the meeting as the caller has just loaded it, does)."""
    found = (sitting.from_view(known, item_id, nonce_of="speaker", nonce=nonce) if known
             else await sitting.item_state(meeting_id, item_id, nonce_of="speaker", nonce=nonce))
    found.require(_not_sitting())
    if found.seen:
        return False
    async with db.atomic():
        (await sitting.item_state(meeting_id, item_id, lock=True)).require(_not_sitting())
        last = (await Speaker.raw(_LAST_SPEAKER, item_id))[0]["last"] or 0
        rows = await Speaker.raw(_INSERT_SPEAKER, item_id, name, affiliation, last + 1, datetime.now(UTC), nonce)
        if not rows:  # the same form, sent by two tablets at once: the unique index kept the first
            return True  # someone else changed it meanwhile: the caller reads again
        await audit.record(actor=actor, action="item.speaker_added", entity=f"agenda_item:{item_id}",
                           after={"speaker": rows[0]["id"], "name": name, "affiliation": affiliation})
        events.changed(f"meeting:{meeting_id}", "speaker", {"item": item_id})
    return True


async def set_speaker_state(meeting_id: int, item_id: int, speaker_id: int, state: str, actor: str) -> None:
    """Mark a speaker ``speaking`` (whoever was speaking is then done) or ``done``, or back to waiting."""
    if state not in SPEAKER_STATES:
        raise MeetingError(_("请选择发言状态。"))
    async with db.atomic():
        (await sitting.item_state(meeting_id, item_id, lock=True)).require(_not_sitting())
        row = await Speaker.select(Speaker.state).where(
            (Speaker.id == speaker_id) & (Speaker.item == item_id)).first()
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
    async with db.atomic():
        (await sitting.item_state(meeting_id, item_id, lock=True)).require(_not_sitting())
        gone = await Speaker.select(Speaker.name).where((Speaker.id == speaker_id) & (Speaker.item == item_id))
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


_SET_OUTCOME = "UPDATE yishi_agenda_item SET outcome = {}, outcome_note = {} WHERE id = {}"


async def set_outcome(meeting_id: int, item_id: int, outcome: str, note: str, actor: str,
                      known: MeetingView | None = None) -> bool:
    """Record what the meeting did with the item, or correct it (False only when the first look showed
    nothing to do, so ``known`` is still current). The same
    outcome again (a retried press) is found by the one read that checks the item and the state
    (or in ``known``, the meeting as the caller has just loaded it), and writes nothing."""
    after = {"outcome": outcome, "outcome_note": note}
    found = sitting.from_view(known, item_id) if known else await sitting.item_state(meeting_id, item_id)
    found.require(_not_sitting())
    if {"outcome": found.outcome, "outcome_note": found.outcome_note} == after:
        return False
    async with db.atomic():
        found = await sitting.item_state(meeting_id, item_id, lock=True)
        found.require(_not_sitting())
        before = {"outcome": found.outcome, "outcome_note": found.outcome_note}
        if before == after:
            return True  # someone else changed it meanwhile: the caller reads again
        await AgendaItem.raw(_SET_OUTCOME, outcome, note, item_id)
        await audit.record(actor=actor, action="item.outcome_set", entity=f"agenda_item:{item_id}",
                           before=before, after=after)
        events.changed(f"meeting:{meeting_id}", "outcome", {"item": item_id})
    return True


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


_START_TIMER = "UPDATE yishi_agenda_item SET timer_started_at = {} WHERE id = {} AND timer_started_at IS NULL"
_PAUSE_TIMER = "UPDATE yishi_agenda_item SET timer_elapsed = {}, timer_started_at = NULL WHERE id = {}"


async def start_timer(meeting_id: int, item_id: int, actor: str) -> None:
    """Run the item's timer (any other item's running timer pauses). Starting a running timer changes nothing."""
    now = datetime.now(UTC)
    async with db.atomic():
        found = await sitting.item_state(meeting_id, item_id, lock=True)
        found.require(_not_sitting())
        if found.timer_started_at is not None:
            return
        if found.others_running:
            await lifecycle.stop_timers(meeting_id, now)
        await AgendaItem.raw(_START_TIMER, now, item_id)
        await audit.record(actor=actor, action="item.timer_started", entity=f"agenda_item:{item_id}",
                           after={"timer_started_at": now.isoformat()})
        events.changed(f"meeting:{meeting_id}", "timer", {"item": item_id})


async def pause_timer(meeting_id: int, item_id: int, actor: str) -> None:
    """Pause the item's timer, keeping the time it ran. Pausing a paused timer changes nothing (and is
    allowed in any state: a timer left running is stopped, never lost)."""
    now = datetime.now(UTC)
    async with db.atomic():
        found = await sitting.item_state(meeting_id, item_id, lock=True)
        found.require(None)
        if found.timer_started_at is None:
            return
        elapsed = found.timer_elapsed + max(0, int((now - found.timer_started_at).total_seconds()))
        await AgendaItem.raw(_PAUSE_TIMER, elapsed, item_id)
        await audit.record(actor=actor, action="item.timer_paused", entity=f"agenda_item:{item_id}",
                           before={"timer_elapsed": found.timer_elapsed}, after={"timer_elapsed": elapsed})
        events.changed(f"meeting:{meeting_id}", "timer", {"item": item_id})


__all__ = ["OUTCOMES", "add_speaker", "elapsed_seconds", "outcome_labels", "pause_timer", "remove_speaker",
           "set_outcome", "set_speaker_state", "speaker_state_labels", "start_timer", "validate_outcome",
           "validate_speaker"]
