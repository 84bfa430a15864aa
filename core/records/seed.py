"""Demo data from a TOML seed file, so a practice's ``yishi_demo_data`` is one line::

    @hookimpl
    async def yishi_demo_data(settings):
        await load_seed(HERE / "demo.toml", settings)

The file lists ``[[units]]``, ``[[councils]]``, ``[[people]]``, ``[[members]]`` (a seat, with an
optional demo ``login``), ``[[roster]]`` (名册), ``[[departments]]`` (责任单位), ``[[meetings]]`` (a
series, its agenda, attendance, notes and steps: core/records/seed_meetings.py), ``[[topics]]``
(raised by residents and taken through their workflow: core/records/seed_topics.py) and
``[[records]]`` (a record kind's form values, its state and signatures, checklists with their
follow-ups, ledger lines: core/records/seed_records.py), each naming the others by a ``key`` of the
file; the format is in docs/records.md. Values are validated by the forms the pages use and steps are
taken through core's workflows and services, so a seed cannot hold what the pages would refuse.
Everything is written in one transaction, ending with one ``seed.load`` audit event, or nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core import db
from core.audit.log import record as audit
from core.errors import YishiError
from core.lowcode.specs import parse_spec, read_spec

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_PASSWORD = "yishi-demo"  # core's demo password; never use on a real server
SECTIONS = ("units", "councils", "people", "members", "roster", "departments", "meetings", "topics", "records")


class SeedError(YishiError):
    """A seed file that cannot be loaded; the message names the file, the entry and the problem."""


#: "today", "today-14", "today+5 14:30", "today-25 this month": a day counted from the day the seed
#: is loaded (China time); "this month" keeps it inside the current month (never before its 1st).
RELATIVE = re.compile(r"^today(?:([+-])(\d{1,4}))?( this month)?(?: (\d{1,2}):(\d{2}))?$")


def relative_day(value: str, today: date | None = None) -> tuple[date, time] | None:
    """``today±N [this month] [HH:MM]`` as a day and a time (noon without one); None for other text.

    Demo data says when things happened relative to the day it is loaded, so a demo loaded next
    year still has last month's meeting behind it, next week's ahead and agreements not yet due.
    "this month" is for figures a monthly report counts: they stay in the month being reported.
    """
    found = RELATIVE.match(value.strip())
    if found is None:
        return None
    sign, days, this_month, hour, minute = found.groups()
    if hour is not None and not (int(hour) < 24 and int(minute) < 60):
        return None
    offset = int(days or 0) * (-1 if sign == "-" else 1)
    today = today or datetime.now(SHANGHAI).date()
    day = today + timedelta(days=offset)
    if this_month:
        day = min(max(day, today.replace(day=1)), today)
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
    """Form values with relative days (``"today+46"``) turned into ISO dates."""
    if not isinstance(raw, dict):
        return raw
    out = {}
    for key, value in raw.items():
        found = relative_day(value) if isinstance(value, str) else None
        out[key] = found[0].isoformat() if found else value
    return out


def form_input(form: Any, raw: Any) -> tuple[dict[str, list[str]], list[str]]:
    """A seed's values for ``form`` as a submitted form would carry them (what a person types: a
    building's name, a roster entry's id), and the names the form does not have."""
    from core.lowcode.forms import form_data

    raw = _values(raw if isinstance(raw, dict) else {})
    names = {f.name for f in form.fields}
    stored = {k: v for k, v in raw.items() if isinstance(v, (dict, list, bool))}
    out = form_data(form, stored)
    out.update({k: [str(v)] for k, v in raw.items() if k not in stored})
    return out, [k for k in raw if k not in names]


#: What core's services raise for a step the pages would refuse; the seed reports their message.
def _refusals() -> tuple[type[Exception], ...]:
    from core.lowcode.workflow import TransitionRefused
    from core.meetings.attendance import AttendanceError
    from core.meetings.services import MeetingError
    from core.records.ledger import LedgerRefused
    from core.records.links import LinkRefused
    from core.records.service import Refused
    from core.topics.tasks import TaskError

    return TransitionRefused, AttendanceError, MeetingError, LedgerRefused, LinkRefused, Refused, TaskError


class Seed:
    """One load of one file: where it is, the rows written so far by ``key``, the entry being read
    (for messages) and the plugins its forms and record kinds come from."""

    def __init__(self, path: Path, data: dict[str, Any], settings: Any, specs: Any, plugins: Any) -> None:
        self.path, self.source, self.data, self.settings = path, str(path), data, settings
        self._specs, self._plugins = specs, plugins
        self.keys: dict[tuple[str, str], int] = {}
        self.cursor = ""
        self.counts = {name: 0 for name in SECTIONS}
        #: login → (person id, {council id: role}) for ``by = "login"`` of steps
        self.logins: dict[str, tuple[int, dict[int, str]]] = {}
        self.data_dir = Path(settings.data_dir) if settings is not None else Path(".")

    @property
    def plugins(self) -> Any:
        """The deployment's plugins (None when the caller gave only ``specs``)."""
        if self._plugins is None and self.settings is not None:
            from core.plugins import load_plugins

            self._plugins = load_plugins(self.settings.plugin_registry)
        return self._plugins

    @property
    def specs(self) -> Any:
        if self._specs is None:
            if self.plugins is None:
                raise self.error("", "需要 settings 才能读取表单和记录类型 / forms and record kinds need settings")
            self._specs = self.plugins.specs
        return self._specs

    def error(self, field: str, problem: str) -> SeedError:
        where = f"{self.cursor}.{field}" if field else self.cursor
        return SeedError(f"{self.source}: {where}: {problem}")

    def ref(self, section: str, key: Any, field: str = "") -> int:
        found = self.keys.get((section, str(key)))
        if found is None:
            raise self.error(field, f"没有 key 为 {key!r} 的 {section} / no {section} with key {key!r}")
        return found

    def when(self, value: Any, field: str) -> datetime:
        try:
            return _when(value)
        except SeedError as exc:
            raise self.error(field, str(exc)) from None

    def actor(self, by: Any, council_id: int, field: str = "by") -> tuple[str, set[str]]:
        """``by``: a login of the file's ``[[members]]``; the actor and their role on the council, which
        the workflow checks as it checks a person's. Without one: the seed, as the council's chair."""
        if by is None:
            return "seed", {"chair"}
        found = self.logins.get(str(by))
        if found is None or council_id not in found[1]:
            raise self.error(field, f"{by!r} 不是本议事机构成员的演示账号 / not a login of this council's members")
        return f"user:{by}", {found[1][council_id]}

    async def attempt(self, field: str, call: Any) -> Any:
        """Await a core service; a refusal it raises becomes a :class:`SeedError` naming the entry."""
        try:
            return await call
        except _refusals() as exc:
            raise self.error(field, str(getattr(exc, "message", "") or exc)) from None

    def filled(self, form: Any, raw: Any, field: str, **kwargs: Any) -> Any:
        """``raw`` validated by ``form`` as a submission; a :class:`SeedError` naming each problem."""
        from core.lowcode.forms import validate

        data, unknown = form_input(form, raw)
        if unknown:
            raise self.error(field, f"表单 {form.id} 没有字段 {', '.join(unknown)} / no such fields")
        result = validate(form, data, None, kwargs.pop("choices", None), **kwargs)
        if not result.ok:
            raise self.error(field, "；".join(f"{name}: {msg}" for name, msg in result.errors.items()))
        return result

    @staticmethod
    async def newest_id(table: Any, where: Any) -> int:
        """The id of the newest row of ``table`` matching ``where`` (0 for none): the mark before a
        step, so that :meth:`restamp` finds the rows the step writes."""
        row = await table.select(table.id).where(where).order_by(table.id, ascending=False).first()
        return row["id"] if row else 0

    @staticmethod
    async def restamp(table: Any, column: Any, where: Any, after_id: int, at: datetime) -> None:
        """Give the rows a step has just written (``where``, newer than ``after_id``) the time the step
        happened: the services stamp them with the time of the load."""
        await table.update({column: at}).where(where & (table.id > after_id))

    def entries(self, section: str) -> Iterator[dict[str, Any]]:
        raw = self.data.get(section, [])
        if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
            raise SeedError(f"{self.source}: {section} 须写成 [[{section}]] 表 / must be [[{section}]] tables")
        for i, e in enumerate(raw):
            self.cursor = f"{section}[{i + 1}]"
            yield e

    def keep(self, section: str, e: dict[str, Any], default: Any, row_id: int) -> None:
        self.keys[(section, str(e.get("key", default)))] = row_id
        self.counts[section] += 1


async def load_seed(path: str | Path, settings: Any = None, *, specs: Any = None,
                    plugins: Any = None) -> dict[str, int]:
    """Load one seed file; returns how many entries of each section it wrote.

    ``settings`` (or ``specs``, a :class:`~core.lowcode.catalogue.SpecCatalogue`, or ``plugins``) is
    needed for ``[[records]]``, ``[[topics]]`` and meetings' kinds: they come from the deployment's
    plugins. ``yishi demo`` lists the logins it made (core.demo_accounts).
    """
    from core.records import seed_meetings, seed_records, seed_topics

    path = Path(path)
    data = parse_spec(read_spec(path, source=str(path), limit=2 * 1024 * 1024), str(path))
    if (data.get("records") or data.get("topics")) and specs is None and plugins is None and settings is None:
        raise SeedError(f"{path}: [[records]] 和 [[topics]] 需要 settings 才能读取表单 / "
                        "records and topics need settings")
    seed = Seed(path, data, settings, specs if specs is not None else (plugins.specs if plugins else None), plugins)

    async def write() -> None:
        async with db.atomic():
            await _org(seed)
            await seed_topics.write_roster(seed)
            await seed_topics.write_departments(seed)
            for e in seed.entries("meetings"):
                await seed_meetings.write_meeting(seed, e)
            for e in seed.entries("topics"):
                await seed_topics.write_topic(seed, e)
            for e in seed.entries("records"):
                await seed_records.write_record(seed, e)
            await audit(actor="system", action="seed.load", entity=f"seed:{path.name}", after=counts())

    def counts() -> dict[str, int]:  # the sections the file has
        return {name: n for name, n in seed.counts.items() if name in data}

    try:
        await write()
    except KeyError as exc:
        raise SeedError(f"{path}: {seed.cursor}: 缺少 {exc.args[0]!r} / missing key {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise SeedError(f"{path}: {seed.cursor}: {exc}") from None
    return counts()


async def _org(seed: Seed) -> None:
    """Units, councils, people and seats (with their demo logins)."""
    from core.accounts.passwords import hash_password
    from core.accounts.tables import User
    from core.org.tables import Council, CouncilMember, Person, Unit

    for e in seed.entries("units"):
        parent = seed.ref("units", e["parent"], "parent") if e.get("parent") else None
        row = await Unit.objects().create(name=e["name"], kind=e.get("kind", "小区"), parent=parent,
                                          code=e.get("code", ""))
        seed.keep("units", e, e["name"], row.id)
    for e in seed.entries("councils"):
        row = await Council.objects().create(name=e["name"], unit=seed.ref("units", e["unit"], "unit"),
                                             practice=e["practice"], description=e.get("description", ""))
        seed.keep("councils", e, e["name"], row.id)
    for e in seed.entries("people"):
        row = await Person.objects().create(name=e["name"], phone=e.get("phone", ""))
        seed.keep("people", e, e["name"], row.id)
    password: list[str] = []
    for position, e in enumerate(seed.entries("members")):
        person, council = seed.ref("people", e["person"], "person"), seed.ref("councils", e["council"], "council")
        await CouncilMember.objects().create(council=council, person=person, role=e["role"],
                                             affiliation=e.get("affiliation", ""),
                                             position=e.get("position", position))
        if e.get("login"):
            if not await User.exists().where(User.username == e["login"]):
                if not password:
                    password.append(hash_password(DEMO_PASSWORD))
                person_row = await Person.select(Person.name).where(Person.id == person).first()
                await User.objects().create(username=e["login"], display_name=person_row["name"],
                                            password_hash=password[0], person=person)
            seed.logins.setdefault(e["login"], (person, {}))[1][council] = e["role"]
        seed.counts["members"] += 1


__all__ = ["DEMO_PASSWORD", "Seed", "SeedError", "form_input", "load_seed", "relative_day"]
