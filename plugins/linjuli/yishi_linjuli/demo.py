"""Demo data for 邻聚力·月月谈, read from demo_data/lilin.toml: a rental district of 沥林镇
(惠州市仲恺高新区) with its monthly council, landlords and tenants, last month's meeting and the next
three (core's series generator), topics, rental-safety checks and the points ledger.

The checks, their follow-ups and the points are written through core's record engine with the
plugin's own forms (so the demo passes its own validation), as a council would; the data itself is in
the TOML so a county can make its own demo without touching Python.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from core.accounts.passwords import hash_password
from core.accounts.tables import User
from core.lowcode.forms import validate
from core.meetings import recurrence, series
from core.meetings.tables import AgendaItem, Attendance, ItemNote, Meeting, MeetingEvent
from core.org.tables import Council, CouncilMember, Person, Unit
from core.records import links, service
from core.residents.tables import RosterEntry
from core.templating import LOCAL_TZ
from core.topics.tables import Department, Task, Topic, TopicEvent
from yishi_linjuli.plugin import CHECK, FIX, HERE, POINTS

DATA = HERE / "demo_data" / "lilin.toml"


def load() -> dict[str, Any]:
    with open(DATA, "rb") as fh:
        return tomllib.load(fh)


def _local(day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=LOCAL_TZ).astimezone(UTC)


def _last_meeting_day(rule: recurrence.Rule, today: date) -> date:
    day = today - timedelta(days=1)
    while not rule.matches(day):
        day -= timedelta(days=1)
    return day


def _this_month_day(today: date, days_ago: int) -> date:
    """A day ``days_ago`` before today, kept inside this month so the demo's 月报 has figures."""
    return max(today - timedelta(days=days_ago), today.replace(day=1))


async def seed(settings: Any = None, specs: Any = None) -> dict[str, Any]:
    """Create everything in the TOML; the ids of the council and of last month's meeting. ``specs``
    (or the plugins of ``settings``) gives the forms and record kinds."""
    from core.plugins import load_plugins
    from core.sanfang.demo import DEMO_PASSWORD

    specs = specs or load_plugins(settings.plugin_registry).specs

    data = load()
    parent = None
    for name, kind in data["units"]:
        parent = (await Unit.objects().create(name=name, kind=kind, parent=parent)).id
    council = await Council.objects().create(unit=parent, practice="linjuli", **data["council"])
    people: dict[str, int] = {}
    for position, (name, role, affiliation) in enumerate(data["members"]):
        people[name] = (await Person.objects().create(name=name)).id
        await CouncilMember.objects().create(council=council.id, person=people[name], role=role,
                                             affiliation=affiliation, position=position)
    password = hash_password(DEMO_PASSWORD)
    for username, name, _what in data["accounts"]:
        await User.objects().create(username=username, display_name=name, password_hash=password, person=people[name])
    roster: dict[str, int] = {}
    for building, room, name, kind, phone in data["roster"]:
        roster[name] = (await RosterEntry.objects().create(unit=parent, name=name, building=building, room=room,
                                                           kind=kind, household=f"{building}-{room}",
                                                           phone_last4=phone)).id
    departments = {name: (await Department.objects().create(council=council.id, name=name, kind=kind)).id
                   for name, kind in data["departments"]}

    today = datetime.now(LOCAL_TZ).date()
    held_id = await _seed_meeting(council.id, data, people, today)
    await _seed_topics(council.id, data["topics"], roster, departments)
    await _seed_checks(council.id, data["checks"], today, specs)
    for name, pts, reason, ago in data["points"]["lines"]:
        await _create(specs, POINTS, council.id, {
            "person": str(roster[name]), "direction": "earn" if pts > 0 else "redeem", "points": str(abs(pts)),
            "reason": reason, "happened_on": _this_month_day(today, ago).isoformat()})
    print(f"邻聚力·月月谈演示账号 / linjuli demo accounts (密码 / password: {DEMO_PASSWORD}):")
    for username, name, what in data["accounts"]:
        print(f"  {username:<8} {name} — {what}")
    return {"council": council.id, "meeting": held_id}


async def _seed_meeting(council_id: int, data: dict[str, Any], people: dict[str, int], today: date) -> int:
    """Last month's meeting, held and published, starting the monthly series; core writes the next three."""
    spec = data["meeting"]
    rule, clock = recurrence.parse_rule(spec["rule"]), time.fromisoformat(spec["clock"])
    day = _last_meeting_day(rule, today)
    start = _local(day, clock)
    held = await Meeting.objects().create(
        council=council_id, kind=spec["kind"], title=spec["title"], place=spec["place"], starts_at=start,
        state="published", recurrence=spec["rule"], opened_at=start + timedelta(minutes=2),
        closed_at=start + timedelta(minutes=95), is_open=True)
    await Meeting.update({Meeting.series: held.id}).where(Meeting.id == held.id)
    for name in people:
        await Attendance.objects().create(meeting=held.id, person=people[name], name=name, status="present",
                                          updated_at=start - timedelta(minutes=5), updated_by="user:yejm")
    steps = (("open", "draft", "in_session", 0), ("close", "in_session", "closed", 0),
             ("approve", "closed", "approved", 2), ("publish", "approved", "published", 3))
    for transition, source, target, offset in steps:
        await MeetingEvent.objects().create(meeting=held.id, transition=transition, from_state=source, to_state=target,
                                            actor="user:yejm", at=start + timedelta(days=offset, minutes=95))
    for position, item in enumerate(data["agenda"], start=1):
        row = await AgendaItem.objects().create(meeting=held.id, position=position, title=item["title"],
                                                description=item["description"], proposer=item["proposer"],
                                                outcome="consensus", duration_minutes=20)
        for k, body in enumerate(item["notes"]):
            await ItemNote.objects().create(item=row.id, body=body,
                                            created_at=start + timedelta(minutes=position * 20 + k * 3))
    await series.top_up(held.id, "system")
    return held.id


async def _seed_topics(council_id: int, topics: list[dict[str, Any]], roster: dict[str, int],
                       departments: dict[str, int]) -> None:
    now = datetime.now(UTC)
    for t in topics:
        raised_at = now - timedelta(days=t["raised_days_ago"])
        topic = await Topic.objects().create(council=council_id, title=t["title"], category=t["category"],
                                             state=t["state"], proposer_name=t["proposer"],
                                             proposer_entry=roster.get(t["proposer"]), created_at=raised_at,
                                             updated_at=raised_at)
        await TopicEvent.objects().create(topic=topic.id, transition="raise", from_state="", to_state="raised",
                                          actor=f"resident:{roster.get(t['proposer'], 0)}", at=raised_at)
        if "department" not in t:
            continue
        steps = [("accept", "raised", "accepted", 1), ("assign", "accepted", "assigned", 2)]
        solved = t.get("solved_days_ago")
        if t["state"] == "done":
            steps.append(("finish", "assigned", "done", t["raised_days_ago"] - solved))
        for transition, source, target, after in steps:
            await TopicEvent.objects().create(topic=topic.id, transition=transition, from_state=source,
                                              to_state=target, actor="user:yejm", at=raised_at + timedelta(days=after))
        await Task.objects().create(topic=topic.id, department=departments[t["department"]],
                                    requirement=f"请于期限内处理“{t['title']}”，办结后上传现场照片。",
                                    deadline=(raised_at + timedelta(days=15)).date(),
                                    state="done" if t["state"] == "done" else "in_progress",
                                    created_at=raised_at + timedelta(days=2),
                                    done_at=now - timedelta(days=solved) if solved is not None else None)


async def _create(specs: Any, kind_id: str, council_id: int, answers: dict[str, str]) -> int:
    """A record of the kind from form answers, validated as the page would; its id."""
    kind = specs.records[kind_id]
    form = specs.form(kind.form)
    result = validate(form, {k: [v] for k, v in answers.items()}, None, await links.choices(kind, council_id))
    if not result.ok:
        raise ValueError(f"{DATA}: {kind_id}: {result.errors}")
    return await service.create(kind, council_id, result, actor="user:chenlh", spec=kind.workflow_of(specs),
                                nonce=None, specs=specs)


async def _seed_checks(council_id: int, visits: list[dict[str, Any]], today: date, specs: Any) -> None:
    """Each visit through the checklist form; then what became of its failed items."""
    kind, fix = specs.records[CHECK], specs.records[FIX]
    all_pass = {name: "pass" for name, _label in kind.checklist.items(specs.form(kind.form))}
    for visit in visits:
        day = _this_month_day(today, visit["days_ago"])
        check_id = await _create(specs, CHECK, council_id, {
            **all_pass, **visit.get("answers", {}), "building": visit["building"], "checked_on": day.isoformat(),
            "inspector": visit["inspector"], "notes": visit.get("notes", "")})
        for row in await service.listing(council_id, FIX, parent=check_id):
            item = row["values"]["item"]
            if item in visit.get("fixed", {}):
                done = validate(specs.form("linjuli_zhenggai_done"), {
                    "fixed_on": [min(day + timedelta(days=2), today).isoformat()],
                    "fixed_note": [visit["fixed"][item]]})
                await service.act(fix, row["id"], "fix", seen_revision=1, seen_state="open", roles={"grid_worker"},
                                  actor="user:chenlh", reason="", spec=fix.workflow_of(specs), filled=done)
            elif item in visit.get("to_topic", ()):
                await links.raise_topic(fix, fix.workflow_of(specs), row["id"], "user:chenlh")
