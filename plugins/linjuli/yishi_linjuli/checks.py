"""Rental-safety checks (出租屋安全检查): one building's checklist, and the follow-up of failed items.

The checklist is the TOML form ``linjuli_anquan``. Its items are the select fields with a ``fail``
option; an item answered 不合格 carries a ``<item>_problem`` text and becomes a :class:`CheckFix`
row (待整改) until someone records that it was put right (已整改). The check and its follow-ups are
written in one transaction with their audit event: nothing is saved half-way.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from core import audit, db
from core.i18n import _
from core.lowcode.forms import FormSpec, Result
from core.templating import LOCAL_TZ
from core.text import has_control
from core.topics.tables import Topic, TopicEvent
from yishi_linjuli.tables import CheckFix, SafetyCheck

FORM_ID = "linjuli_anquan"
FIX_NOTE_MAX = 200


def items(spec: FormSpec) -> list[tuple[str, str]]:
    """The checklist items of the form: ``(field name, label)`` of each select with a "fail" option."""
    return [(f.name, f.label) for f in spec.fields
            if f.type == "select" and any(o.value == "fail" for o in f.options)]


class CheckError(Exception):
    """A check or a follow-up that cannot be saved; ``message`` is for people."""

    def __init__(self, message: str, status: int = 404) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


async def save_check(council_id: int, building: str, spec: FormSpec, result: Result, actor: str,
                     nonce: str | None = None) -> int:
    """Write the check and a follow-up per failed item; the check's id. A repeat of the same form
    (same nonce) returns the check the first post wrote."""
    values = result.values
    checklist = items(spec)
    failed = [(name, label) for name, label in checklist if values.get(name) == "fail"]
    passed = sum(1 for name, _label in checklist if values.get(name) == "pass")
    async with db.atomic():
        if nonce:
            same = await SafetyCheck.select(SafetyCheck.id).where(SafetyCheck.nonce == nonce).first()
            if same is not None:
                return same["id"]
        check_id = (await SafetyCheck.insert(SafetyCheck(
            council=council_id, building=building, checked_on=date.fromisoformat(values["checked_on"]),
            inspector=values.get("inspector") or "", passed=passed, failed=len(failed),
            data=json.dumps(result.record(), ensure_ascii=False), actor=actor, nonce=nonce or None,
        )).returning(SafetyCheck.id))[0]["id"]
        for name, label in failed:
            await CheckFix.insert(CheckFix(
                safety_check=check_id, council=council_id, building=building, item=name, label=label,
                problem=values.get(f"{name}_problem") or "", state="open"))
        await audit.record(actor=actor, action="linjuli.check.created", entity=f"linjuli_check:{check_id}",
                           after={"council": council_id, "building": building, "passed": passed,
                                  "failed": [name for name, _label in failed]})
    return check_id


def validate_fix(form: dict[str, str], today: date) -> tuple[dict[str, Any], dict[str, str]]:
    """The 已整改 form: the date it was put right (not in the future) and an optional note."""
    errors: dict[str, str] = {}
    raw_day = (form.get("fixed_on") or "").strip()
    day = None
    try:
        day = date.fromisoformat(raw_day) if len(raw_day) == 10 else None
    except ValueError:
        day = None
    if day is None:
        errors["fixed_on"] = _("请填写整改日期，例如 2026-12-04")
    elif day > today:
        errors["fixed_on"] = _("整改日期不能晚于今天")
    note = (form.get("fixed_note") or "").strip()
    if len(note) > FIX_NOTE_MAX:
        errors["fixed_note"] = _("整改情况不能超过 {limit} 字（现为 {length} 字）").format(limit=FIX_NOTE_MAX,
                                                                               length=len(note))
    elif has_control(note):
        errors["fixed_note"] = _("整改情况中含有换行或无法显示的控制字符，请写成一行")
    return {"fixed_on": day, "fixed_note": note}, errors


async def mark_fixed(council_id: int, fix_id: int, fixed_on: date, note: str, actor: str) -> bool:
    """Record that a failed item was put right; False when it was already (a retry changes nothing)."""
    async with db.atomic():
        row = await db.for_update(CheckFix.select(CheckFix.id, CheckFix.state).where(
            (CheckFix.id == fix_id) & (CheckFix.council == council_id))).first()
        if row is None:
            raise CheckError(_("没有这个整改项。"))
        if row["state"] != "open":
            return False
        await CheckFix.update({CheckFix.state: "fixed", CheckFix.fixed_on: fixed_on, CheckFix.fixed_note: note,
                               CheckFix.fixed_by: actor}).where(CheckFix.id == fix_id)
        await audit.record(actor=actor, action="linjuli.fix.done", entity=f"linjuli_fix:{fix_id}",
                           before={"state": "open"}, after={"state": "fixed", "fixed_on": fixed_on.isoformat(),
                                                            "note": note})
    return True


async def raise_topic(council_id: int, fix_id: int, actor: str) -> int:
    """Turn an open hazard into a topic (议题) of the council, so the chair can assign it to the police
    station or the grid through core's closed loop; the topic's id. A second press returns the same
    topic."""
    async with db.atomic():
        fix = await db.for_update(CheckFix.select().where(
            (CheckFix.id == fix_id) & (CheckFix.council == council_id))).first()
        if fix is None:
            raise CheckError(_("没有这个整改项。"))
        if fix["topic"] is not None:
            return fix["topic"]
        if fix["state"] != "open":
            raise CheckError(_("这个隐患已经整改，不需要再转为议题。"), status=409)
        now = datetime.now(UTC)
        title = _("{building}出租屋安全隐患：{label}").format(building=fix["building"], label=fix["label"])[:120]
        topic_id = (await Topic.insert(Topic(
            council=council_id, title=title, category=_("治安消防"), description=fix["problem"], state="raised",
            proposer_name=_("安全检查"), created_at=now, updated_at=now,
        )).returning(Topic.id))[0]["id"]
        await TopicEvent.insert(TopicEvent(topic=topic_id, transition="raise", from_state="", to_state="raised",
                                           actor=actor, at=now))
        await CheckFix.update({CheckFix.topic: topic_id}).where(CheckFix.id == fix_id)
        await audit.record(actor=actor, action="topic.raised", entity=f"topic:{topic_id}",
                           after={"council": council_id, "state": "raised", "title": title,
                                  "from": f"linjuli_fix:{fix_id}"})
    return topic_id


#: Topic states that mean the hazard was dealt with through the closed loop.
TOPIC_DONE = ("done", "answered")


async def close_fixes_of_topic(topic_id: int, actor: str) -> list[int]:
    """The plugin's ``yishi_on_transition``: a topic made from hazards reached 已办结 or 已答复, so its
    open follow-ups are recorded as put right today; the ids closed."""
    async with db.atomic():
        rows = await CheckFix.select(CheckFix.id).where((CheckFix.topic == topic_id) & (CheckFix.state == "open"))
        today = datetime.now(LOCAL_TZ).date()
        note = _("议题已办结")
        for row in rows:
            await CheckFix.update({CheckFix.state: "fixed", CheckFix.fixed_on: today, CheckFix.fixed_note: note,
                                   CheckFix.fixed_by: actor}).where(
                (CheckFix.id == row["id"]) & (CheckFix.state == "open"))
            await audit.record(actor=actor, action="linjuli.fix.done", entity=f"linjuli_fix:{row['id']}",
                               before={"state": "open"}, after={"state": "fixed", "fixed_on": today.isoformat(),
                                                                "note": note, "topic": topic_id})
    return [r["id"] for r in rows]


async def list_checks(council_id: int, limit: int = 50) -> list[dict[str, Any]]:
    return await SafetyCheck.select(
        SafetyCheck.id, SafetyCheck.building, SafetyCheck.checked_on, SafetyCheck.inspector,
        SafetyCheck.passed, SafetyCheck.failed,
    ).where(SafetyCheck.council == council_id).order_by(SafetyCheck.checked_on, ascending=False).order_by(
        SafetyCheck.id, ascending=False).limit(limit)


async def check_in(council_id: int, check_id: int) -> dict[str, Any] | None:
    row = await SafetyCheck.select().where((SafetyCheck.id == check_id) & (SafetyCheck.council == council_id)).first()
    if row is not None:
        row["record"] = json.loads(row["data"])
    return row


async def fixes(council_id: int, *, check_id: int | None = None, state: str | None = None) -> list[dict[str, Any]]:
    where = CheckFix.council == council_id
    if check_id is not None:
        where &= CheckFix.safety_check == check_id
    if state is not None:
        where &= CheckFix.state == state
    return await CheckFix.select(
        CheckFix.all_columns(), CheckFix.safety_check.checked_on.as_alias("checked_on"),
        CheckFix.topic.state.as_alias("topic_state"),
    ).where(where).order_by(CheckFix.building).order_by(CheckFix.id)
