"""Demo data for a practice's meeting capture from a TOML file (docs/capture.md, "Demo data"), so its
``yishi_demo_data`` is one line::

    await load_capture_seed(HERE / "demo.toml", SPEC, settings)

The file's ``[[units]]``, ``[[councils]]``, ``[[people]]`` and ``[[members]]`` are core's seed
(:func:`core.records.seed.load_seed`); its ``[capture]`` table adds the council's departments and
meetings on days relative to today — a held one with its issues, each triaged, assigned, reported
and rated as the file says, and the next one, ready to open. Every issue goes through the capture's
own services (forms validated, workflow steps taken), so the audit log holds what a real evening
would, and the demo cannot hold what the pages would refuse.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core.lowcode.forms import Choices, validate
from core.lowcode.registry import shared_form
from core.lowcode.specs import parse_spec, read_spec
from core.meetings.tables import Attendance, Meeting, MeetingEvent
from core.org.tables import Council, CouncilMember
from core.records.seed import SeedError, load_seed
from core.topics import capture
from core.topics import tasks as core_tasks
from core.topics.capture_spec import CaptureSpec
from core.topics.tables import Department, Task, Topic, TopicEvent

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(day: datetime, clock: str) -> datetime:
    hour, minute = (int(x) for x in clock.split(":"))
    return datetime.combine(day.date(), time(hour, minute), SHANGHAI).astimezone(UTC)


async def load_capture_seed(path: str | Path, spec: CaptureSpec, settings: Any) -> None:
    """Load core's sections of the file, then its ``[capture]`` table (see the module docstring)."""
    from core.plugins import load_plugins

    await load_seed(path, settings)
    whole = parse_spec(read_spec(Path(path), source=str(path)), str(path))
    data = whole.get("capture", {})
    specs = load_plugins(settings.plugin_registry).specs
    where = f"{path}: capture"
    try:
        council = await Council.select(Council.id).where(
            (Council.name == data["council"]) & (Council.practice == spec.practice)).order_by(
            Council.id, ascending=False).first()
        if council is None:
            raise SeedError(f"{where}.council: 没有议事机构 {data['council']!r} / no such council")
        departments = {}
        for d in data.get("departments", []):
            row = await Department.objects().create(council=council["id"], name=d["name"], kind=d.get("kind", ""))
            departments[d["name"]] = {"id": row.id, **d}
        seats = await CouncilMember.select(CouncilMember.person, CouncilMember.person.name).where(
            CouncilMember.council == council["id"])
        today = datetime.now(SHANGHAI)
        for m in data.get("meetings", []):
            await _meeting(spec, specs, settings, council["id"], m, today, data, departments, seats)
    except KeyError as exc:
        raise SeedError(f"{where}: 缺少 {exc.args[0]!r} / missing key {exc.args[0]!r}") from None


async def _meeting(spec: CaptureSpec, specs: Any, settings: Any, council_id: int, m: dict[str, Any],
                   today: datetime, data: dict[str, Any], departments: dict[str, Any], seats: list[dict]) -> None:
    day = today + timedelta(days=m.get("days", 0))
    chair, recorder = f"user:{data['chair']}", f"user:{data['recorder']}"
    held = m.get("state", "draft") in ("in_session", "closed")
    starts = _at(day, m.get("at", "19:30"))
    row = await Meeting.objects().create(
        council=council_id, kind=m.get("kind", spec.meeting_noun), title=m["title"].format(month=day.month),
        place=m.get("place", ""), starts_at=starts, state="in_session" if held else "draft",
        opened_at=starts + timedelta(minutes=2) if held else None)
    if not held:
        await capture.ensure_open_floor(spec, row.id, chair)  # core opens no meeting with an empty agenda
        return
    for seat in seats:
        await Attendance.objects().create(meeting=row.id, person=seat["person"], name=seat["person.name"],
                                          status="present", updated_at=starts - timedelta(minutes=5),
                                          updated_by=recorder)
    await MeetingEvent.objects().create(meeting=row.id, transition="open", from_state="draft",
                                        to_state="in_session", actor=chair, at=starts + timedelta(minutes=2))
    for n, issue in enumerate(m.get("issues", [])):
        await _issue(spec, specs, settings, row.id, council_id, day, starts + timedelta(minutes=10 + 4 * n),
                     n, issue, departments, chair, recorder)
    if m["state"] == "closed":
        closed = _at(day, m.get("closes_at", "21:00"))
        await Meeting.update({Meeting.state: "closed", Meeting.closed_at: closed}).where(Meeting.id == row.id)
        await MeetingEvent.objects().create(meeting=row.id, transition="close", from_state="in_session",
                                            to_state="closed", actor=chair, at=closed)


async def _issue(spec: CaptureSpec, specs: Any, settings: Any, meeting_id: int, council_id: int, day: datetime,
                 raised_at: datetime, n: int, issue: dict[str, Any], departments: dict[str, Any], chair: str,
                 recorder: str) -> None:
    data_dir = Path(settings.data_dir)
    workflow = specs.workflow(spec.workflow)
    result = validate(specs.form(spec.form), {k: [str(v)] for k, v in issue["values"].items()})
    if not result.ok:
        raise SeedError(f"capture.meetings.issues[{n + 1}].values: {result.errors}")
    topic_id = await capture.record_issue(spec, data_dir, meeting_id, result, recorder, f"demo-{meeting_id}-{n}")
    await Topic.update({Topic.created_at: raised_at, Topic.updated_at: raised_at}).where(Topic.id == topic_id)
    await TopicEvent.update({TopicEvent.at: raised_at}).where(TopicEvent.topic == topic_id)
    track = issue["track"]
    await capture.triage(spec, meeting_id, topic_id, track, issue.get("reply", ""), workflow=workflow,
                         roles={"recorder"}, actor=recorder)
    if not capture.tracks_of(spec, workflow)[track].leads_to_assignment:
        return
    department = departments[issue["department"]]
    pairs = [(str(d["id"]), d["name"]) for d in departments.values()]
    local = raised_at.astimezone(SHANGHAI).replace(tzinfo=None)
    jiaoban = validate(shared_form("jiaobandan"), {
        "matter": [issue["values"][spec.title_field]], "unit": [str(department["id"])],
        "deadline": [(day + timedelta(days=issue["deadline_days"])).date().isoformat()],
        "requirements": [issue["requirements"]]}, choices=Choices(units=pairs, by_field={"unit": pairs}), now=local)
    await capture.assign(spec, data_dir, meeting_id, topic_id, jiaoban, workflow=workflow, actor=chair)
    task = next(t for t in await core_tasks.council_tasks(council_id) if t["topic"] == topic_id)
    done_days = issue.get("done_days")
    if issue.get("report"):
        values = {"progress": ["已办结" if done_days is not None else "办理中"], "account": [issue["report"]],
                  "handler": [department.get("handler", "")], "phone": [department.get("phone", "")]}
        if done_days is None:
            values["expected"] = [(day + timedelta(days=issue["deadline_days"])).date().isoformat()]
        fankui = validate(shared_form("banli_fankui"), values, now=local + timedelta(days=done_days or 5))
        if not fankui.ok:
            raise SeedError(f"capture.meetings.issues[{n + 1}].report: {fankui.errors}")
        await core_tasks.report(data_dir, task, {"id": department["id"]}, fankui)
    if done_days is not None:
        done_at = _at(day + timedelta(days=done_days), "16:00")
        await Task.update({Task.done_at: done_at}).where(Task.id == task["id"])
    if issue.get("rating"):
        manyidu = validate(shared_form("manyidu"), {"rating": [issue["rating"]]})
        await capture.rate(spec, data_dir, meeting_id, topic_id, manyidu, workflow=workflow, roles={"recorder"},
                           actor=recorder)
