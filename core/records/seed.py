"""Demo data from a TOML seed file, so a practice's ``yishi_demo_data`` is one line::

    @hookimpl
    async def yishi_demo_data(settings):
        await load_seed(HERE / "demo.toml", settings)

The file lists ``[[units]]``, ``[[councils]]``, ``[[people]]``, ``[[members]]`` (a seat, with an
optional demo ``login``), ``[[meetings]]`` and ``[[records]]`` (a record kind's form values, its state
and signatures), each naming the others by a ``key`` of the file; the format is in docs/records.md.
Record values are validated by the kind's form like a submission, so a seed cannot hold what the
pages would refuse. Everything is written in one transaction with one audit event, or nothing.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core import db
from core.audit.log import record as audit
from core.errors import YishiError
from core.lowcode.forms import form_data, validate
from core.lowcode.specs import parse_spec, read_spec

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_PASSWORD = "yishi-demo"  # core's demo password; never use on a real server


class SeedError(YishiError):
    """A seed file that cannot be loaded; the message names the file, the entry and the problem."""


#: "today", "today-14", "today+5 14:30": a day counted from the day the seed is loaded (China time)
RELATIVE = re.compile(r"^today(?:([+-])(\d{1,4}))?(?: (\d{1,2}):(\d{2}))?$")


def relative_day(value: str, today: date | None = None) -> tuple[date, time] | None:
    """``today±N [HH:MM]`` as a day and a time (noon without one); None for any other text.

    Demo data says when things happened relative to the day it is loaded, so a demo loaded next
    year still has last month's meeting behind it, next week's ahead and agreements not yet due.
    """
    found = RELATIVE.match(value.strip())
    if found is None:
        return None
    sign, days, hour, minute = found.groups()
    offset = int(days or 0) * (-1 if sign == "-" else 1)
    day = (today or datetime.now(SHANGHAI).date()) + timedelta(days=offset)
    return day, time(int(hour or 12), int(minute or 0))


def _when(value: Any) -> datetime:
    """A TOML date-time (local time in China when it has no offset), a date (noon), or a relative day
    (``"today-14 15:00"``, :func:`relative_day`); now when there is none."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or SHANGHAI).astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, 12, tzinfo=SHANGHAI).astimezone(UTC)
    if isinstance(value, str):
        found = relative_day(value)
        if found is None:
            raise SeedError(f"时间 {value!r} 应是 TOML 日期时间，或 \"today-14 15:00\" 这样的相对日期 / "
                            f"{value!r} must be a TOML date-time or a relative day such as \"today-14 15:00\"")
        return datetime.combine(*found, SHANGHAI).astimezone(UTC)
    return datetime.now(UTC)


def _values(raw: Any) -> Any:
    """A record's form values with relative days (``"today+46"``) turned into ISO dates."""
    if not isinstance(raw, dict):
        return raw
    out = {}
    for key, value in raw.items():
        found = relative_day(value) if isinstance(value, str) else None
        out[key] = found[0].isoformat() if found else value
    return out


async def load_seed(path: str | Path, settings: Any = None, *, specs: Any = None) -> dict[str, int]:
    """Load one seed file; returns how many rows of each section it wrote.

    ``settings`` (or ``specs``, a :class:`~core.lowcode.catalogue.SpecCatalogue`) is needed only for
    ``[[records]]``: their kinds and forms come from the deployment's plugins.
    """
    from core.accounts.passwords import hash_password
    from core.accounts.tables import User
    from core.meetings.tables import Meeting
    from core.org.tables import Council, CouncilMember, Person, Unit
    from core.records.tables import Record, RecordEvent, RecordSignature

    source = str(path)
    data = parse_spec(read_spec(Path(path), source=source, limit=2 * 1024 * 1024), source)
    if data.get("records") and specs is None:
        if settings is None:
            raise SeedError(f"{source}: [[records]] 需要 settings 才能读取记录类型 / records need settings")
        from core.plugins import load_plugins

        specs = load_plugins(settings.plugin_registry).specs

    keys: dict[tuple[str, str], int] = {}
    counts = {name: 0 for name in ("units", "councils", "people", "members", "meetings", "records")}

    def ref(section: str, key: Any, where: str) -> int:
        found = keys.get((section, str(key)))
        if found is None:
            raise SeedError(f"{source}: {where}: 没有 key 为 {key!r} 的 {section} / no {section} with key {key!r}")
        return found

    cursor = [""]

    def entries(section: str) -> Any:
        raw = data.get(section, [])
        if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
            raise SeedError(f"{source}: {section} 须写成 [[{section}]] 表 / must be [[{section}]] tables")
        for i, e in enumerate(raw):
            cursor[0] = f"{section}[{i + 1}]"
            yield cursor[0], e

    password: list[str] = []

    async def write() -> None:
        async with db.atomic():
            for where, e in entries("units"):
                parent = ref("units", e["parent"], where) if e.get("parent") else None
                row = await Unit.objects().create(name=e["name"], kind=e.get("kind", "小区"), parent=parent,
                                                  code=e.get("code", ""))
                keys[("units", str(e.get("key", e["name"])))] = row.id
                counts["units"] += 1
            for where, e in entries("councils"):
                row = await Council.objects().create(name=e["name"], unit=ref("units", e["unit"], where),
                                                     practice=e["practice"], description=e.get("description", ""))
                keys[("councils", str(e.get("key", e["name"])))] = row.id
                counts["councils"] += 1
            for _where, e in entries("people"):
                row = await Person.objects().create(name=e["name"], phone=e.get("phone", ""))
                keys[("people", str(e.get("key", e["name"])))] = row.id
                counts["people"] += 1
            for position, (where, e) in enumerate(entries("members")):
                person = ref("people", e["person"], where)
                await CouncilMember.objects().create(council=ref("councils", e["council"], where), person=person,
                                                     role=e["role"], affiliation=e.get("affiliation", ""),
                                                     position=e.get("position", position))
                if e.get("login") and not await User.exists().where(User.username == e["login"]):
                    if not password:
                        password.append(hash_password(DEMO_PASSWORD))
                    person_row = await Person.select(Person.name).where(Person.id == person).first()
                    await User.objects().create(username=e["login"], display_name=person_row["name"],
                                                password_hash=password[0], person=person)
                counts["members"] += 1
            for where, e in entries("meetings"):
                starts = _when(e.get("starts_at"))
                # "{month}月街巷议事会": the month of a relative date, in China time
                title = e["title"].replace("{month}", str(starts.astimezone(SHANGHAI).month))
                row = await Meeting.objects().create(
                    council=ref("councils", e["council"], where), kind=e.get("kind", "议事会"), title=title,
                    place=e.get("place", ""), starts_at=starts, state=e.get("state", "draft"))
                keys[("meetings", str(e.get("key", e["title"])))] = row.id
                counts["meetings"] += 1
            for where, e in entries("records"):
                kind = specs.records.get(e.get("kind", ""))
                if kind is None:
                    raise SeedError(f"{source}: {where}.kind: 没有记录类型 {e.get('kind')!r} / no such record kind")
                if kind.ledger or kind.checklist:
                    raise SeedError(f"{source}: {where}.kind: 台账和检查表类记录须经 service.create 写入"
                                    "（余额、整改项）"
                                    " / ledger and checklist records are written with service.create")
                form, workflow = specs.form(kind.form), kind.workflow_of(specs)
                state = e.get("state", workflow.initial)
                if state not in workflow.states:
                    raise SeedError(f"{source}: {where}.state: 流程 {workflow.id} 没有状态 {state!r} / no such state")
                from core.records.links import choices

                council_id = ref("councils", e["council"], where)
                result = validate(form, form_data(form, _values(e.get("values", {}))), None,
                                  await choices(kind, council_id))
                if not result.ok:
                    problems = "；".join(f"{name}: {msg}" for name, msg in result.errors.items())
                    raise SeedError(f"{source}: {where}.values: {problems}")
                steps: dict[str, Any] = {}
                for form_id, raw_values in (e.get("steps") or {}).items():
                    if form_id not in specs.forms:
                        raise SeedError(f"{source}: {where}.steps: 没有表单 {form_id!r} / no such form")
                    filled = validate(specs.form(form_id), form_data(specs.form(form_id), _values(raw_values)))
                    if not filled.ok:
                        problems = "；".join(f"{name}: {msg}" for name, msg in filled.errors.items())
                        raise SeedError(f"{source}: {where}.steps.{form_id}: {problems}")
                    steps[form_id] = filled.values
                at = _when(e.get("created_at"))
                title = str(result.values.get(kind.title_field, ""))[:200]
                row = (await Record.insert(Record(
                    council=council_id, kind=kind.id, state=state, title=title,
                    day=date.fromisoformat(result.values[kind.extras.date_field])
                    if result.values.get(kind.extras.date_field) else None,
                meeting=ref("meetings", e["meeting"], where) if e.get("meeting") else None,
                    form_id=form.id, form_version=form.version, data=json.dumps(result.values, ensure_ascii=False,
                                                                                sort_keys=True),
                    steps=json.dumps(steps, ensure_ascii=False, sort_keys=True),
                    revision=1, created_by="seed", updated_by="seed", created_at=at, updated_at=at,
                )).returning(Record.id))[0]
                await RecordEvent.insert(RecordEvent(record=row["id"], actor="seed", action="create", target=state,
                                                     at=at))
                for sig in e.get("signatures", []):
                    party = kind.party(sig.get("party", ""))
                    if party is None:
                        raise SeedError(f"{source}: {where}.signatures: 没有当事人 {sig.get('party')!r} / "
                                        "no such party")
                    how, signed_at = sig.get("how", "paper"), _when(sig.get("signed_at"))
                    await RecordSignature.insert(RecordSignature(
                        record=row["id"], party=party.id, name=str(result.values.get(party.name_field, "")),
                        revision=1, how=how, signed_at=signed_at, recorded_by="seed"))
                    # the record's history shows the signature as a real one would (service.sign)
                    await RecordEvent.insert(RecordEvent(record=row["id"], actor="seed", action="sign", source=state,
                                                         target=state, revision=1, note=f"{party.id}:{how}",
                                                         at=signed_at))
                counts["records"] += 1
            await audit(actor="system", action="seed.load", entity=f"seed:{Path(path).name}", after=counts)

    try:
        await write()
    except KeyError as exc:
        raise SeedError(f"{source}: {cursor[0]}: 缺少 {exc.args[0]!r} / missing key {exc.args[0]!r}") from None
    return counts


__all__ = ["DEMO_PASSWORD", "SeedError", "load_seed"]
