"""Polls and ballots in the database: create, open (the electorate snapshot), cast, proxies, paper
ballots, hand counts, close (the tally) — each change with its audit event in one transaction.

The pure parts are elsewhere: what a rule demands (core.voting.rules), how ballots are counted
(core.voting.tally). This module decides who may vote and keeps every ballot exactly once:

- **The snapshot.** :func:`open_poll` writes the electorate into :class:`~core.voting.tables.Elector`
  rows; a roster changed afterwards changes nothing in the poll. An entry's ``owner_key`` says whose
  ballot it is: one owner holding several units (same name and same phone digits), co-owners of one
  room when the vote goes by area, or a household when it is one vote per household, share one key,
  and that key votes once (最高法 建筑物区分所有权 司法解释 第9条: one head per owner).
- **Exactly once.** A ballot is a :class:`~core.voting.tables.Participation` row and the ballot row,
  inserted in one transaction; (poll, voter key) is a unique index, so a second ballot — repeated,
  concurrent, or through another channel (phone, paper, proxy) — fails in the database and the voter
  hears "您已投票". The receipt code is returned only after the commit.
- **Secrecy.** A 无记名 ballot is a row with the poll, the choices and a random id — no voter, no time,
  no sequence (see core.voting.tables). Its receipt code is kept with the participation, so it proves
  the vote was received and can say nothing about what it was. Because a secret ballot carries no
  voter it cannot carry the voter's area either: a secret poll is counted by heads (人数) only.
- **Never the running result of a secret poll**: :func:`poll_view` gives the number of ballots cast
  while a poll is open, and the result once it is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import sqlite3
import uuid
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from core import audit, db, events
from core.i18n import _, spec_text
from core.meetings import attendance
from core.meetings.tables import AgendaItem, Attendance
from core.org.tables import Council
from core.residents.services import subtree_units
from core.residents.tables import RosterEntry
from core.text import has_control
from core.voting import council_settings, seal
from core.voting.loader import shared_rules
from core.voting.rules import Rule
from core.voting.tables import Elector, HandTotals, NamedBallot, Participation, Poll, Proxy, SecretBallot
from core.voting.tally import Ballot, Electorate, TallyResult, Voter, VotingError, format_amount, tally
from core.voting.tally import Poll as TallyPoll

METHODS = ("yesno", "single", "multi", "approval")
#: The tally's names for the same methods, accepted as well.
METHOD_ALIASES = {"yes_no": "yesno", "multiple": "multi"}
VISIBILITIES = ("named", "secret")
CHANNELS = ("phone", "paper", "proxy")
STATES = ("draft", "open", "closed")
YES, NO, ABSTAIN, INVALID = "赞成", "反对", "弃权", "废票"
#: What a voter may send for a yes/no poll besides the names.
YESNO_ALIASES = {"yes": YES, "no": NO, "abstain": ABSTAIN}
ELECTORATE_KINDS = ("members_present", "roster")
#: Roster kinds that own their unit (业主, 房东): the electorate of a vote weighted by area.
OWNER_KINDS = ("owner", "landlord")
TITLE_MAX = 200
OPTION_MAX = 100
OPTIONS_MAX = 50
HOLDER_NAME_MAX = 50
PROXY_LIMIT_MAX = 50
#: Receipt codes: 8 characters without 0/O, 1/I/L — read aloud or typed from a phone screen.
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECEIPT_LENGTH = 8
#: Electorate rows written per INSERT (SQLite caps the parameters of one statement).
INSERT_BATCH = 400


class VoteRefused(Exception):
    """A ballot that was not counted, and why: ``message`` for the voter, ``code`` for the program
    (no_poll, not_open, closed, not_eligible, already_voted, bad_option, too_many, too_few, empty,
    no_proxy, bad_channel)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class PollError(VoteRefused):
    """A poll that cannot be created, opened, closed or changed; the message is for the chair.
    ``field`` names the form field it is about ("" when it is about the whole poll); it is also the
    ``code``. A :class:`VoteRefused`, so a page can catch both alike."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message, field or "poll")
        self.field = field


# -------------------------------------------------------------------------------------------------
# Small helpers
# -------------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _loads(value: Any, default: Any) -> Any:
    """A JSON column's value (text on both engines) as Python."""
    if value is None:
        return default
    return json.loads(value) if isinstance(value, str) else value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def new_receipt() -> str:
    """A fresh random receipt code (about 40 bits: unguessable, short enough to read out)."""
    n = secrets.randbelow(len(RECEIPT_ALPHABET) ** RECEIPT_LENGTH)  # one draw, not one per character
    code = []
    for _position in range(RECEIPT_LENGTH):
        n, digit = divmod(n, len(RECEIPT_ALPHABET))
        code.append(RECEIPT_ALPHABET[digit])
    return "".join(code)


def _is_unique_violation(exc: BaseException) -> bool:
    """A unique index refused the row (SQLite's IntegrityError, asyncpg's UniqueViolationError)."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc).upper()
    return type(exc).__name__ == "UniqueViolationError"


def _lock_poll(query: Any, strength: str = "UPDATE") -> Any:
    """Lock the poll's row (only it: the query joins the item's meeting) on PostgreSQL, for open,
    close, proxies and hand counts (which first take the poll's advisory lock exclusive, so they also
    wait for the ballots under way: see :func:`_poll_turn`). SQLite's write lock (``BEGIN
    IMMEDIATE``) already serialises them all."""
    import core.piccolo_conf as conf

    return query if conf.DB.engine_type == "sqlite" else query.lock_rows(strength, of=(Poll,))


async def _exclusive_turn(poll_id: int) -> None:
    """PostgreSQL: the poll's advisory lock, exclusive, for a change that must not interleave with
    ballots (open, close, a proxy, a hand count); see :func:`_poll_turn`. SQLite: nothing to do."""
    import core.piccolo_conf as conf

    if conf.DB.engine_type != "sqlite":
        await _poll_turn(poll_id, shared=False)


def _meeting_channel_changed(meeting_id: int | None, data: dict[str, Any]) -> None:
    if meeting_id is not None:
        events.changed(f"meeting:{meeting_id}", "poll", data)


def rule_of(rule_id: str) -> Rule | None:
    """A built-in rule by id, or None (a plugin's rule is resolved by whoever holds the plugins)."""
    return shared_rules().get(rule_id)


def _headcount_only(rule: Rule) -> bool:
    return set(rule.measures) <= {"headcount"}


# -------------------------------------------------------------------------------------------------
# Creating a poll
# -------------------------------------------------------------------------------------------------


def _clean_text(raw: str, field: str, limit: int, what: str) -> str:
    text = " ".join((raw or "").split())
    if not text:
        raise PollError(_("请填写{what}。").format(what=what), field)
    if len(text) > limit or has_control(text):
        raise PollError(_("{what}不能超过 {n} 个字，也不能含控制字符。").format(what=what, n=limit), field)
    return text


def _clean_options(method: str, options: Sequence[str]) -> list[str]:
    if method == "yesno":
        return [YES, NO]
    cleaned = [_clean_text(o, "options", OPTION_MAX, _("选项")) for o in options if (o or "").strip()]
    if len(cleaned) < 2:
        raise PollError(_("至少要有两个选项。"), "options")
    if len(cleaned) > OPTIONS_MAX:
        raise PollError(_("选项不能超过 {n} 个。").format(n=OPTIONS_MAX), "options")
    if len(set(cleaned)) != len(cleaned):
        raise PollError(_("选项不能重复。"), "options")
    if {ABSTAIN, INVALID} & set(cleaned):
        raise PollError(_("“弃权”和“废票”不能作为选项。"), "options")
    return cleaned


def _choice_limits(method: str, n_options: int, min_choices: int, max_choices: int) -> tuple[int, int]:
    if method in ("yesno", "single"):
        return 1, 1
    if method == "approval":
        return 1, n_options
    if not 1 <= min_choices <= max_choices <= n_options:
        raise PollError(_("可选项数应满足：1 ≤ 最少 ≤ 最多 ≤ 选项数（{n}）。").format(n=n_options), "max_choices")
    return min_choices, max_choices


async def _clean_electorate(electorate: dict[str, Any], council: dict[str, Any], item_id: int | None,
                            visibility: str) -> dict[str, Any]:
    kind = (electorate or {}).get("kind")
    if kind == "members_present":
        if item_id is None:
            raise PollError(_("按到会成员表决的投票必须属于一个会议议题。"), "electorate")
        return {"kind": kind}
    if kind != "roster":
        raise PollError(_("请选择表决范围：到会成员或名册。"), "electorate")
    unit_id = electorate.get("unit_id")
    per = electorate.get("per", "person")
    weight = electorate.get("weight", "none")
    if not isinstance(unit_id, int) or isinstance(unit_id, bool):
        raise PollError(_("请选择名册的范围（小区、楼栋或单元）。"), "unit_id")
    if per not in ("person", "household"):
        raise PollError(_("请选择按人还是按户表决。"), "per")
    if weight not in ("none", "area"):
        raise PollError(_("请选择是否按专有部分面积计票。"), "weight")
    if weight == "area" and visibility == "secret":
        raise PollError(_("无记名投票不能按面积计票：选票上没有投票人，也就没有面积。请改为记名投票。"), "visibility")
    in_scope = {u["id"] for u in await subtree_units(council["unit"])}
    if unit_id not in in_scope:
        raise PollError(_("名册的范围必须在本议事机构所在单元之内。"), "unit_id")
    return {"kind": kind, "unit_id": unit_id, "per": per, "weight": weight}


async def create_poll(*, council_id: int, item_id: int | None, title: str, method: str, options: list[str],
                      rule_id: str, visibility: str, electorate: dict, min_choices: int = 1, max_choices: int = 1,
                      closes_at: datetime | None = None, actor: str, proxy_limit: int = 1) -> int:
    """A draft poll; its id. Raises :class:`PollError` (with the field) for bad input; nothing is written.

    ``method``: yesno (options are 赞成/反对, whatever is given), single, multi (``min_choices`` to
    ``max_choices``) or approval. ``electorate``: ``{"kind": "members_present"}`` (the council members
    present at the item's meeting when the poll opens) or ``{"kind": "roster", "unit_id": N, "per":
    "person"|"household", "weight": "none"|"area"}`` (the roster entries under unit N; one vote per
    household; by area: owners only, each with their 专有部分面积). ``proxy_limit``: how many voters
    one proxy holder may represent.
    """
    method = METHOD_ALIASES.get(method, method)
    council = await Council.select(Council.id, Council.unit).where(Council.id == council_id).first()
    if council is None:
        raise PollError(_("议事机构不存在。"))
    meeting_id = None
    if item_id is not None:
        item = await AgendaItem.select(AgendaItem.meeting, AgendaItem.meeting.council.as_alias("council")).where(
            AgendaItem.id == item_id).first()
        if item is None or item["council"] != council_id:
            raise PollError(_("议题不存在，或不属于本议事机构。"), "item_id")
        meeting_id = item["meeting"]
    title = _clean_text(title, "title", TITLE_MAX, _("表决事项"))
    if method not in METHODS:
        raise PollError(_("请选择表决方式。"), "method")
    cleaned = _clean_options(method, options)
    low, high = _choice_limits(method, len(cleaned), min_choices, max_choices)
    if visibility not in VISIBILITIES:
        raise PollError(_("请选择记名或无记名。"), "visibility")
    rule = rule_of(rule_id)
    if rule is None and "." not in (rule_id or ""):
        raise PollError(_("没有这个表决规则。"), "rule_id")
    if rule is not None and visibility == "secret" and not _headcount_only(rule):
        raise PollError(_("“{rule}”要按面积、户数或票权计算，无记名投票做不到：请改为记名投票。").format(
            rule=spec_text(rule.name)), "visibility")
    scope = await _clean_electorate(electorate, council, item_id, visibility)
    if closes_at is not None and (closes_at.tzinfo is None or closes_at <= _now()):
        raise PollError(_("截止时间应当晚于现在。"), "closes_at")
    if not isinstance(proxy_limit, int) or not 1 <= proxy_limit <= PROXY_LIMIT_MAX:
        raise PollError(_("每位受托人代理的人数应在 1 到 {n} 之间。").format(n=PROXY_LIMIT_MAX), "proxy_limit")
    fields = {"title": title, "method": method, "options": cleaned, "min_choices": low, "max_choices": high,
              "rule_id": rule_id, "visibility": visibility, "electorate": scope, "proxy_limit": proxy_limit,
              "item": item_id, "closes_at": closes_at}
    async with db.atomic():
        rows = await Poll.insert(Poll(
            council=council_id, item=item_id, title=title, method=method, options=_dumps(cleaned),
            min_choices=low, max_choices=high, rule_id=rule_id, visibility=visibility, state="draft",
            closes_at=closes_at, electorate=_dumps(scope), proxy_limit=proxy_limit, created_at=_now(),
            created_by=actor)).returning(Poll.id)
        poll_id = rows[0]["id"]
        await audit.record(actor=actor, action="poll.create", entity=f"poll:{poll_id}", after=fields)
        _meeting_channel_changed(meeting_id, {"poll": poll_id, "state": "draft"})
    return poll_id


# -------------------------------------------------------------------------------------------------
# The electorate and opening
# -------------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    """One electorate entry before it is written (the columns of Elector)."""

    voter_key: str
    owner_key: str
    name: str = ""
    unit: str = ""
    household: str = ""
    area: Decimal = Decimal(0)
    weight: Decimal = Decimal(1)
    present: bool = False


def _room(entry: dict[str, Any]) -> str:
    """"3栋-2-201": the entry's unit of property, as the roster writes it."""
    return "-".join(p for p in (entry["building"], entry["unit_no"], entry["room"]) if p)


async def _poll_row(poll_id: int) -> dict[str, Any] | None:
    return await Poll.select(*Poll.all_columns(), Poll.item.meeting.as_alias("meeting")).where(
        Poll.id == poll_id).first()


async def _members_present(poll: dict[str, Any]) -> list[_Entry]:
    seats = await attendance.members(poll["meeting"], poll["council"])
    return [_Entry(voter_key=f"person:{s['person']}", owner_key=f"person:{s['person']}", name=s["name"][:60],
                   present=True) for s in seats if s["status"] in ("present", "proxy")]


async def _roster(poll: dict[str, Any], scope: dict[str, Any]) -> list[_Entry]:
    """The roster entries of the scope, grouped into ballots (see the module docstring)."""
    units = [u["id"] for u in await subtree_units(scope["unit_id"])]
    rows = await RosterEntry.select(
        RosterEntry.id, RosterEntry.name, RosterEntry.household, RosterEntry.building, RosterEntry.unit_no,
        RosterEntry.room, RosterEntry.phone_last4, RosterEntry.kind, RosterEntry.area, RosterEntry.unit,
    ).where(RosterEntry.unit.is_in(units or [0])).order_by(RosterEntry.id)
    by_area = scope["weight"] == "area"
    if by_area:
        rows = [r for r in rows if r["kind"] in OWNER_KINDS]
        missing = [f"{_room(r)} {r['name']}" for r in rows if r["area"] is None or r["area"] <= 0]
        if missing:
            raise PollError(_("{n} 位业主没有专有部分面积，不能按面积计票：{who}。请先在名册中补全。").format(
                n=len(missing), who="、".join(missing[:5]) + ("……" if len(missing) > 5 else "")), "weight")
    present: set[int] = set()
    if poll["meeting"] is not None:
        signed = await Attendance.select(Attendance.entry).where(
            (Attendance.meeting == poll["meeting"]) & Attendance.entry.is_not_null()
            & (Attendance.status == "present"))
        present = {r["entry"] for r in signed}
    # Union-find over the entries: same person (name + phone digits), same room when by area,
    # same household when one vote per household.
    parent = {r["id"]: r["id"] for r in rows}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(key_of: Any) -> None:
        first: dict[Any, int] = {}
        for r in rows:
            key = key_of(r)
            if key is None:
                continue
            if key in first:
                a, b = find(first[key]), find(r["id"])
                parent[max(a, b)] = min(a, b)
            else:
                first[key] = r["id"]

    def household(r: dict[str, Any]) -> str:
        return f"{r['unit']}:{r['household'] or _room(r)}"

    join(lambda r: (r["unit"], r["name"], r["phone_last4"]) if r["phone_last4"] else None)
    if by_area:
        join(lambda r: (r["unit"], _room(r)))
    if scope["per"] == "household":
        join(household)
    group_size: dict[int, int] = {}
    for r in rows:
        group_size[find(r["id"])] = group_size.get(find(r["id"]), 0) + 1
    out: list[_Entry] = []
    rooms_seen: set[str] = set()
    roots_seen: set[int] = set()
    for r in rows:
        root = find(r["id"])
        if scope["per"] == "household":
            owner = f"household:{root}"
        else:
            owner = f"entry:{r['id']}" if group_size[root] == 1 else f"owner:{root}"
        room = f"{r['unit']}:{_room(r)}"
        first_of_room = by_area and room not in rooms_seen
        rooms_seen.add(room)
        out.append(_Entry(
            voter_key=f"entry:{r['id']}", owner_key=owner, name=r["name"][:60],
            unit=room if first_of_room else "", household=household(r)[:80],
            area=Decimal(r["area"]) if first_of_room else Decimal(0),
            weight=Decimal(0) if root in roots_seen else Decimal(1), present=r["id"] in present))
        roots_seen.add(root)
    return out


async def _electorate(poll: dict[str, Any]) -> list[_Entry]:
    scope = _loads(poll["electorate"], {})
    if scope.get("kind") == "members_present":
        return await _members_present(poll)
    return await _roster(poll, scope)


def _voters(entries: Sequence[Any]) -> list[Voter]:
    """Elector rows (or entries) as the tally's voters, by owner key."""
    def get(e: Any, name: str) -> Any:
        return e[name] if isinstance(e, dict) else getattr(e, name)

    return [Voter(id=get(e, "owner_key"), unit=get(e, "unit"), household=get(e, "household"),
                  area=Fraction(Decimal(get(e, "area"))), weight=Fraction(Decimal(get(e, "weight"))),
                  present=bool(get(e, "present"))) for e in entries]


async def open_poll(poll_id: int, *, actor: str) -> None:
    """Open the poll: snapshot the electorate and start taking ballots. Opening an open poll does
    nothing (a retry); a closed one cannot be opened again. Raises :class:`PollError`."""
    async with db.atomic():
        await _exclusive_turn(poll_id)
        poll = await _lock_poll(Poll.select(*Poll.all_columns(), Poll.item.meeting.as_alias("meeting")).where(
            Poll.id == poll_id)).first()
        if poll is None:
            raise PollError(_("表决不存在。"))
        if poll["state"] == "open":
            return
        if poll["state"] == "closed":
            raise PollError(_("投票已结束，不能再开始。"))
        closes_at = _aware(poll["closes_at"])
        if closes_at is not None and closes_at <= _now():
            raise PollError(_("截止时间已过，请先修改截止时间。"), "closes_at")
        entries = await _electorate(poll)
        if not entries:
            raise PollError(_("表决范围内没有人，不能开始投票。"), "electorate")
        try:
            Electorate(_voters(entries))
        except VotingError as exc:
            raise PollError(_("名册有误，不能开始投票：{error}").format(error=exc), "electorate") from exc
        for start in range(0, len(entries), INSERT_BATCH):
            await Elector.insert(*[Elector(poll=poll_id, voter_key=e.voter_key, owner_key=e.owner_key, name=e.name,
                                           unit=e.unit, household=e.household, area=e.area, weight=e.weight,
                                           present=e.present) for e in entries[start:start + INSERT_BATCH]])
        opened = _now()
        await Poll.update({Poll.state: "open", Poll.opens_at: opened}).where(Poll.id == poll_id)
        voters = len({e.owner_key for e in entries})
        await audit.record(actor=actor, action="poll.open", entity=f"poll:{poll_id}", before={"state": "draft"},
                           after={"state": "open", "entries": len(entries), "voters": voters})
        events.changed(f"poll:{poll_id}", "state", {"state": "open", "cast": 0, "electorate": voters})
        _meeting_channel_changed(poll["meeting"], {"poll": poll_id, "state": "open", "cast": 0})


# -------------------------------------------------------------------------------------------------
# Casting
# -------------------------------------------------------------------------------------------------


def _choices(poll: dict[str, Any], choices: Sequence[str], invalid: bool = False) -> list[str]:
    """The ballot as stored: option names, or [弃权], or [废票]. Raises :class:`VoteRefused`."""
    if invalid:
        return [INVALID]
    picked = [str(c).strip() for c in choices or [] if str(c).strip()]
    if poll["method"] == "yesno":
        picked = [YESNO_ALIASES.get(c, c) for c in picked]
    if picked in ([ABSTAIN], ["abstain"]):
        return [ABSTAIN]
    options = _loads(poll["options"], [])
    if not picked:
        raise VoteRefused(_("请选择后再提交"), "empty")
    if any(c not in options for c in picked):
        raise VoteRefused(_("没有这个选项"), "bad_option")
    if len(set(picked)) != len(picked):
        raise VoteRefused(_("同一选项不能重复选择"), "bad_option")
    if len(picked) > poll["max_choices"]:
        raise VoteRefused(_("最多只能选 {n} 项").format(n=poll["max_choices"]), "too_many")
    if len(picked) < poll["min_choices"]:
        raise VoteRefused(_("至少要选 {n} 项").format(n=poll["min_choices"]), "too_few")
    return [o for o in options if o in picked]  # in the poll's order


async def _poll_state(poll_id: int) -> str | None:
    row = await Poll.select(Poll.state).where(Poll.id == poll_id).first()
    return row["state"] if row else None


async def _find_elector(poll_id: int, text: str, *, required: bool = True) -> dict[str, Any] | None:
    """The snapshot entry a recorder means by ``text``: its key ("entry:12"), else the one entry with
    that name or room ("3栋-2-201"). None when nothing matches (unless ``required``); an ambiguous
    name is refused with :class:`VoteRefused` so that the recorder adds the room."""
    text = " ".join((text or "").split())
    columns = (Elector.voter_key, Elector.owner_key, Elector.name, Elector.unit)
    row = await Elector.select(*columns).where((Elector.poll == poll_id) & (Elector.voter_key == text)).first()
    if row is not None or not text:
        return row
    rows = await Elector.select(*columns).where((Elector.poll == poll_id) & (Elector.name == text))
    if not rows:
        rows = await Elector.select(*columns).where((Elector.poll == poll_id) & Elector.unit.like(f"%:{text}"))
    if len(rows) > 1:
        raise VoteRefused(_("有 {n} 人叫“{name}”，请写明房号或编号。").format(n=len(rows), name=text), "ambiguous")
    if not rows and required:
        raise VoteRefused(_("您不在本次表决的范围内"), "not_eligible")
    return rows[0] if rows else None


def _refuse_unless_open(poll: dict[str, Any] | None) -> dict[str, Any]:
    if poll is None:
        raise VoteRefused(_("没有这个表决"), "no_poll")
    if poll["state"] == "draft":
        raise VoteRefused(_("投票尚未开始"), "not_open")
    closes_at = _aware(poll["closes_at"])
    if poll["state"] == "closed" or (closes_at is not None and closes_at <= _now()):
        raise VoteRefused(_("投票已结束"), "closed")
    return poll


def _table(table: Any) -> str:
    return table._meta.tablename


#: SQLite: the ballots of this process take turns for the database's write lock here, in order,
#: instead of each on its own connection in ``BEGIN IMMEDIATE``, where SQLite's busy handler makes the
#: losers sleep 1, 2, 5, 10 … ms before trying again — most of a vote's time under load.
#: One lock per event loop (an asyncio.Lock belongs to the loop it first waited on).
_SQLITE_WRITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _writer_turn() -> Any:
    import core.piccolo_conf as conf

    if conf.DB.engine_type != "sqlite" or conf.DB.transaction_exists():
        return contextlib.nullcontext()  # inside a caller's transaction, which already holds the write lock
    loop = asyncio.get_running_loop()
    lock = _SQLITE_WRITERS.get(loop)
    if lock is None:
        lock = _SQLITE_WRITERS[loop] = asyncio.Lock()
    return lock


def _as_datetime(value: Any) -> datetime | None:
    """A timestamp from a raw query: a datetime (PostgreSQL, or SQLite's converter), or its ISO text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


#: The first key of the poll's advisory lock on PostgreSQL ("YISH"); the second is the poll id.
POLL_LOCK_CLASS = 0x59495348


async def _poll_turn(poll_id: int, *, shared: bool) -> None:
    """PostgreSQL: the poll's advisory lock until the transaction ends — shared for a ballot, exclusive
    for closing. Why not ``SELECT … FOR SHARE`` on the poll row: every shared row lock rewrites the
    row's header (a MultiXact of all the lockers), so hundreds of ballots a second would queue on that
    one row; an advisory lock lives in the lock manager's memory. Taken in its own statement, so the
    ballot's next statement reads the poll as it is once the lock is granted (a poll closed meanwhile
    is seen closed)."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    await Poll.raw(f"SELECT {function}({{}}, {{}})", POLL_LOCK_CLASS, poll_id)


async def _ballot_context(poll_id: int, voter_key: str) -> dict[str, Any] | None:
    """One query for everything a ballot needs: the poll (state, closing time, options, visibility,
    council, the item's meeting) and the voter's owner key in the snapshot (None when outside it).

    On PostgreSQL the ballot first takes the poll's advisory lock shared (:func:`_poll_turn`): casts
    run side by side, and closing (which takes it exclusive) waits for the casts under way, so no
    ballot is taken after the close. SQLite's write lock (``BEGIN IMMEDIATE``) serialises them anyway.
    """
    import core.piccolo_conf as conf

    if conf.DB.engine_type != "sqlite":
        await _poll_turn(poll_id, shared=True)
    rows = await Poll.raw(
        "SELECT p.state, p.closes_at, p.method, p.options, p.min_choices, p.max_choices, p.visibility, "
        "p.council, i.meeting AS meeting, e.owner_key AS owner_key "
        f"FROM {_table(Poll)} p LEFT JOIN {_table(AgendaItem)} i ON i.id = p.item "
        f"LEFT JOIN {_table(Elector)} e ON e.poll = p.id AND e.voter_key = {{}} "
        "WHERE p.id = {}", voter_key, poll_id)
    if not rows:
        return None
    row = dict(rows[0])
    row["closes_at"] = _as_datetime(row["closes_at"])
    return row


async def _insert_ballot(poll_id: int, *, owner: str, represented: str, channel: str, acting: str,
                         stored: list[str], receipt: str, secret: bool, actor: str) -> None:
    """The participation row, then the ballot row: two plain INSERTs (the hot path of a vote).

    The participation's unique index on (poll, voter key) refuses a second ballot of the same voter:
    that is turned into "您已投票" (the insert itself is the check — no look-then-insert race).
    """
    now = _now()
    try:
        await Participation.raw(
            f"INSERT INTO {_table(Participation)} (poll, voter_key, cast_by, channel, acting, receipt, cast_at, "
            "recorded_by) VALUES ({}, {}, {}, {}, {}, {}, {}, {})",
            poll_id, owner, represented, channel, acting, receipt if secret else None, now, actor)
    except Exception as exc:
        if _is_unique_violation(exc):
            raise VoteRefused(_("您已投票"), "already_voted") from exc
        raise
    if secret:
        await SecretBallot.raw(f"INSERT INTO {_table(SecretBallot)} (id, poll, choices) VALUES ({{}}, {{}}, {{}})",
                               uuid.uuid4(), poll_id, _dumps(stored))
    else:
        await NamedBallot.raw(
            f"INSERT INTO {_table(NamedBallot)} (poll, voter_key, acting, channel, choices, receipt, cast_at) "
            "VALUES ({}, {}, {}, {}, {}, {}, {})", poll_id, owner, acting, channel, _dumps(stored), receipt, now)


async def _cast(poll_id: int, voter_key: str, choices: Sequence[str], *, channel: str, actor: str,
                acting_for: str | None, invalid: bool = False, audited: bool = True,
                councils: Sequence[int] | None = None) -> str:
    """One ballot in one transaction: one query to read the poll and the voter's snapshot entry
    (plus one for a proxy), the participation and the ballot inserted, committed; the receipt.

    ``audited``: staff entering a ballot (paper, a proxy's paper) is an audit event; a voter's own
    ballot is not — the poll's open and close events are in the audit chain, and the close event
    seals every ballot and participation with a digest (core.voting.seal), so a ballot changed
    later is detected without serialising every vote on the head of the chain. ``councils``: the
    councils the voter belongs to; a poll of another council is "没有这个表决".
    """
    if channel not in CHANNELS:
        raise VoteRefused(_("投票方式无效"), "bad_channel")
    if acting_for is not None:
        channel = "proxy" if channel == "phone" else channel
    represented = acting_for if acting_for is not None else voter_key
    receipt = new_receipt()
    async with _writer_turn(), db.atomic():
        found = await _ballot_context(poll_id, represented)
        if found is not None and councils is not None and found["council"] not in councils:
            found = None
        poll = _refuse_unless_open(found)
        owner = poll["owner_key"]
        if owner is None:
            raise VoteRefused(_("您不在本次表决的范围内"), "not_eligible")
        acting = ""
        if acting_for is not None:
            proxy = await Proxy.select(Proxy.holder_key, Proxy.holder_name).where(
                (Proxy.poll == poll_id) & (Proxy.voter_key == acting_for)).first()
            if proxy is None or (channel != "paper" and proxy["holder_key"] != voter_key):
                raise VoteRefused(_("没有登记由您代为投票的委托书"), "no_proxy")
            acting = proxy["holder_key"] or proxy["holder_name"]
        stored = _choices(poll, choices, invalid)
        secret = poll["visibility"] == "secret"
        await _insert_ballot(poll_id, owner=owner, represented=represented, channel=channel, acting=acting,
                             stored=stored, receipt=receipt, secret=secret, actor=actor)
        if audited:
            after: dict[str, Any] = {"voter": owner, "channel": channel}
            if acting:
                after["acting"] = acting
            if not secret:
                after["choices"] = stored
            await audit.record(actor=actor, action="poll.cast", entity=f"poll:{poll_id}", after=after)
        # The pages re-fetch the count on this event; no count is taken here (one query less per vote).
        events.changed(f"poll:{poll_id}", "cast", {})
        _meeting_channel_changed(poll["meeting"], {"poll": poll_id})
    return receipt


async def cast(poll_id: int, voter_key: str, choices: list[str], *, channel: str = "phone", actor: str,
               acting_for: str | None = None, councils: Sequence[int] | None = None) -> str:
    """Record one ballot; the receipt code, returned once it is committed. Raises :class:`VoteRefused`.

    ``voter_key`` is who is voting ("entry:345", "person:12"). With ``acting_for``, ``voter_key`` is a
    proxy holder voting for the represented voter ``acting_for`` under a proxy recorded with
    :func:`add_proxy`; the ballot is the represented voter's, and stores who acted. ``choices``:
    option names (赞成/反对 or yes/no for a yes/no poll), or ["弃权"] to abstain.

    The receipt of a 记名 ballot is stored with the ballot; that of a 无记名 ballot with the
    participation row only, so it proves the vote was recorded and cannot reveal how it went.

    ``councils``: when given (the resident's councils), a poll of any other council is refused as
    "没有这个表决" (code ``no_poll``), in the same query. A voter's own ballot is not an audit event
    of its own: the close event seals all of them (core.voting.seal).
    """
    return await _cast(poll_id, voter_key, choices, channel=channel, actor=actor, acting_for=acting_for,
                       audited=False, councils=councils)


async def record_paper_ballot(poll_id: int, voter_key: str, choices: list[str], *, actor: str,
                              invalid: bool = False, acting_for: str | None = None) -> str:
    """The recorder enters a paper ballot (纸质选票) of ``voter_key`` — or, with ``acting_for``, one a
    proxy holder signed for the represented ``acting_for``; ``invalid`` for a spoilt ballot (废票).
    The same exactly-once rule as :func:`cast`: a voter who voted by phone cannot also vote on paper.
    ``voter_key`` may be the voter's key, or their name or room as the snapshot has it (one match)."""
    found = await _find_elector(poll_id, acting_for if acting_for is not None else voter_key, required=False)
    if found is not None:
        if acting_for is not None:
            acting_for = found["voter_key"]
        else:
            voter_key = found["voter_key"]
    return await _cast(poll_id, voter_key, choices, channel="paper", actor=actor, acting_for=acting_for,
                       invalid=invalid)


# -------------------------------------------------------------------------------------------------
# Proxies
# -------------------------------------------------------------------------------------------------


async def add_proxy(poll_id: int, voter_key: str, holder_name: str, holder_key: str = "", *, actor: str) -> int:
    """Record a written proxy (委托书): ``holder_name`` (``holder_key`` — "person:N"/"entry:N" — when
    the holder is a known person, so they can vote by phone) votes for ``voter_key``. Its id.

    Allowed before the poll closes and before the represented voter has voted; one proxy per voter
    (recording the same one again changes nothing); at most the poll's ``proxy_limit`` voters per
    holder. ``voter_key`` may also be the represented voter's name or room as the snapshot has it, and
    ``holder_name`` an elector's key or unique name (then the holder can vote by phone). Raises
    :class:`PollError`.
    """
    holder_key = (holder_key or "").strip()
    if not holder_key and (await _poll_state(poll_id)) == "open":
        found = await _find_elector(poll_id, holder_name, required=False)
        if found is not None:
            holder_key, holder_name = found["voter_key"], found["name"] or holder_name
    name = _clean_text(holder_name, "holder_name", HOLDER_NAME_MAX, _("受托人姓名"))
    if holder_key and holder_key == voter_key:
        raise PollError(_("委托人和受托人不能是同一人。"), "holder_name")
    async with db.atomic():
        await _exclusive_turn(poll_id)
        poll = await _lock_poll(Poll.select(*Poll.all_columns(), Poll.item.meeting.as_alias("meeting")).where(
            Poll.id == poll_id)).first()
        if poll is None:
            raise PollError(_("表决不存在。"))
        if poll["state"] == "closed":
            raise PollError(_("投票已结束，不能再登记委托。"))
        if poll["state"] == "open":
            owner = await _find_elector(poll_id, voter_key, required=False)
            known = owner is not None
            voter_key = owner["voter_key"] if owner else voter_key
            if owner and await Participation.exists().where(
                    (Participation.poll == poll_id) & (Participation.voter_key == owner["owner_key"])):
                raise PollError(_("委托人已经投票，不能再委托。"), "voter_key")
        else:
            known = any(e.voter_key == voter_key for e in await _electorate(poll))
        if not known:
            raise PollError(_("委托人不在本次表决的范围内。"), "voter_key")
        existing = await Proxy.select().where((Proxy.poll == poll_id) & (Proxy.voter_key == voter_key)).first()
        if existing is not None:
            if existing["holder_name"] == name and existing["holder_key"] == holder_key:
                return existing["id"]
            raise PollError(_("此人已委托{name}，一人只能委托一人。").format(name=existing["holder_name"]), "voter_key")
        same_holder = (Proxy.holder_key == holder_key) if holder_key else (
            (Proxy.holder_key == "") & (Proxy.holder_name == name))
        held = await Proxy.count().where((Proxy.poll == poll_id) & same_holder)
        if held >= poll["proxy_limit"]:
            raise PollError(_("每位受托人最多代理 {n} 人，{name}已达上限。").format(n=poll["proxy_limit"], name=name),
                            "holder_name")
        rows = await Proxy.insert(Proxy(poll=poll_id, voter_key=voter_key, holder_name=name, holder_key=holder_key,
                                        recorded_at=_now(), recorded_by=actor)).returning(Proxy.id)
        await audit.record(actor=actor, action="poll.proxy", entity=f"poll:{poll_id}",
                           after={"voter": voter_key, "holder_name": name, "holder_key": holder_key})
        events.changed(f"poll:{poll_id}", "proxy", {})
    return rows[0]["id"]


async def proxies(poll_id: int) -> list[dict[str, Any]]:
    """The published list of proxies (委托投票名单): represented voter (key and name), holder, when."""
    rows = await Proxy.select().where(Proxy.poll == poll_id).order_by(Proxy.id)
    names = {r["voter_key"]: r["name"] for r in await Elector.select(Elector.voter_key, Elector.name).where(
        (Elector.poll == poll_id) & Elector.voter_key.is_in([p["voter_key"] for p in rows] or [""]))}
    return [{"voter_key": r["voter_key"], "voter_name": names.get(r["voter_key"], ""), "holder_name": r["holder_name"],
             "holder_key": r["holder_key"], "recorded_at": r["recorded_at"]} for r in rows]


# -------------------------------------------------------------------------------------------------
# Hand counts
# -------------------------------------------------------------------------------------------------


async def record_hand_totals(poll_id: int, counts: dict[str, int], *, actor: str, abstain: int = 0) -> None:
    """The chair enters an analog count (举手、现场清点): votes per option, abstentions (``abstain``, or
    the key "abstain"/"弃权" in ``counts``) and spoilt ballots ("invalid"/"废票"), from people who cast
    no other ballot. Entering it again replaces it (and records what it replaced).

    Only for a count by heads: a raised hand carries no area. The total with the ballots cast must not
    exceed the electorate. Raises :class:`PollError`.
    """
    async with db.atomic():
        await _exclusive_turn(poll_id)
        poll = await _lock_poll(Poll.select(*Poll.all_columns(), Poll.item.meeting.as_alias("meeting")).where(
            Poll.id == poll_id)).first()
        if poll is None:
            raise PollError(_("表决不存在。"))
        if poll["state"] != "open":
            raise PollError(_("只能在投票进行中录入现场计数。"))
        rule = rule_of(poll["rule_id"])
        if poll["method"] not in ("yesno", "single") or (rule is not None and not _headcount_only(rule)):
            raise PollError(_("现场计数只用于按人数计票的赞成/反对或单选表决。"))
        options = _loads(poll["options"], [])
        counts = dict(counts or {})
        abstains = [abstain, counts.pop("abstain", 0), counts.pop(ABSTAIN, 0)]
        invalids = [counts.pop("invalid", 0), counts.pop(INVALID, 0)]
        for n in (*abstains, *invalids):
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise PollError(_("票数应为不小于 0 的整数。"), "counts")
        abstain, invalid = sum(abstains), sum(invalids)
        clean: dict[str, int] = {}
        for option, n in counts.items():
            option = YESNO_ALIASES.get(option, option) if poll["method"] == "yesno" else option
            if option not in options:
                raise PollError(_("没有这个选项：{option}").format(option=option), "counts")
            if not isinstance(n, int) or isinstance(n, bool) or n < 0:
                raise PollError(_("票数应为不小于 0 的整数。"), "counts")
            clean[option] = n
        electors = await Elector.select(Elector.owner_key, Elector.area).where(Elector.poll == poll_id)
        if any(Decimal(e["area"]) > 0 for e in electors):
            raise PollError(_("按面积计票的表决不能用现场计数。"))
        voters = len({e["owner_key"] for e in electors})
        cast_count = await Participation.count().where(Participation.poll == poll_id)
        total = sum(clean.values()) + abstain + invalid
        if total + cast_count > voters:
            raise PollError(_("现场计数 {total} 加已投 {cast} 票，超过了应参与表决的 {n} 人。").format(
                total=total, cast=cast_count, n=voters), "counts")
        before = await HandTotals.select().where(HandTotals.poll == poll_id).first()
        full = {o: clean.get(o, 0) for o in options}
        if invalid:
            full[INVALID] = invalid
        if before is None:
            await HandTotals.insert(HandTotals(poll=poll_id, counts=_dumps(full), abstain=abstain,
                                               recorded_at=_now(), recorded_by=actor))
        else:
            if _loads(before["counts"], {}) == full and before["abstain"] == abstain:
                return
            await HandTotals.update({HandTotals.counts: _dumps(full), HandTotals.abstain: abstain,
                                     HandTotals.recorded_at: _now(), HandTotals.recorded_by: actor}).where(
                HandTotals.poll == poll_id)
        await audit.record(actor=actor, action="poll.hand_totals", entity=f"poll:{poll_id}",
                           before=None if before is None else {"counts": _loads(before["counts"], {}),
                                                               "abstain": before["abstain"]},
                           after={"counts": full, "abstain": abstain})
        events.changed(f"poll:{poll_id}", "cast", {"cast": cast_count + total})
        _meeting_channel_changed(poll["meeting"], {"poll": poll_id, "cast": cast_count + total})


# -------------------------------------------------------------------------------------------------
# Counting and closing
# -------------------------------------------------------------------------------------------------


def tally_poll_of(poll: dict[str, Any]) -> TallyPoll:
    """The tally's description of a poll row (yes/no options are the tally's ``yes``/``no``)."""
    if poll["method"] == "yesno":
        return TallyPoll.yes_no()
    options = tuple(_loads(poll["options"], []))
    if poll["method"] == "single":
        return TallyPoll.single(options)
    if poll["method"] == "approval":
        return TallyPoll.approval(options)
    return TallyPoll.multiple(options, poll["min_choices"], poll["max_choices"])


def _ballot(poll: dict[str, Any], voter: str, stored: list[str]) -> Ballot:
    if stored == [INVALID]:
        return Ballot(voter, invalid=True)
    if stored == [ABSTAIN]:
        return Ballot(voter, abstain=True)
    if poll["method"] == "yesno":
        return Ballot(voter, ("yes" if stored == [YES] else "no",))
    return Ballot(voter, tuple(stored))


async def _tally(poll: dict[str, Any], rule: Rule) -> tuple[TallyResult, int]:
    """Count a poll's ballots under ``rule``: the result and how many ballots (hands included)."""
    poll_id = poll["id"]
    electors = await Elector.select().where(Elector.poll == poll_id).order_by(Elector.id)
    voters = _voters(electors)
    participants = [r["voter_key"] for r in await Participation.select(Participation.voter_key).where(
        Participation.poll == poll_id).order_by(Participation.voter_key)]
    if poll["visibility"] == "secret":
        if not _headcount_only(rule):
            raise PollError(_("“{rule}”要按面积、户数或票权计算，无记名投票做不到。").format(rule=spec_text(rule.name)))
        stored = [_loads(r["choices"], []) for r in await SecretBallot.select(SecretBallot.choices).where(
            SecretBallot.poll == poll_id)]
        if len(stored) != len(participants):
            raise PollError(_("选票数与参与人数不符，请检查数据库。"))
        # A secret ballot belongs to nobody: by heads, any one-to-one pairing with the participants
        # gives the same count, so they are paired in an order that says nothing (sorted choices).
        stored.sort(key=_dumps)
        ballots = [_ballot(poll, voter, s) for voter, s in zip(participants, stored, strict=True)]
    else:
        rows = await NamedBallot.select(NamedBallot.voter_key, NamedBallot.choices).where(
            NamedBallot.poll == poll_id).order_by(NamedBallot.voter_key)
        ballots = [_ballot(poll, r["voter_key"], _loads(r["choices"], [])) for r in rows]
    hands = await HandTotals.select().where(HandTotals.poll == poll_id).first()
    if hands is not None:
        if not _headcount_only(rule):
            raise PollError(_("现场计数只用于按人数计票的表决。"))
        taken = set(participants)
        free = sorted({v.id for v in voters} - taken)
        marks = [[o] for o, n in _loads(hands["counts"], {}).items() for _i in range(n)]
        marks += [[ABSTAIN]] * hands["abstain"]
        if len(marks) > len(free):
            raise PollError(_("现场计数超过了未投票的人数。"))
        ballots += [_ballot(poll, voter, m) for voter, m in zip(free, marks, strict=False)]
    labels = {o: o for o in _loads(poll["options"], [])}
    try:
        result = tally(rule, tally_poll_of(poll), voters, ballots, option_labels=labels)
    except VotingError as exc:
        raise PollError(_("计票失败：{error}").format(error=exc)) from exc
    return result, len(ballots)


def _fraction(value: Fraction) -> str:
    return str(Fraction(value))


def result_dict(result: TallyResult, *, cast_count: int, electorate: int, closed_at: datetime) -> dict[str, Any]:
    """A tally as stored in ``Poll.result`` (JSON): the outcome, the rule with its article, every count
    of every shown measure (exact as "n/d" and as the minutes print it), each threshold met or not."""
    rule = result.rule

    def condition(c: Any) -> dict[str, Any] | None:
        return None if c is None else {"met": c.met, "lines": c.lines()}

    measures = {}
    for m in result.shown_measures:
        c = result.counts[m]
        fields = ("eligible", "present", "participating", "valid", "abstain", "invalid")
        measures[m] = {"label": c.label, **{f: _fraction(getattr(c, f)) for f in fields},
                       "text": {f: c.amount(getattr(c, f)) for f in fields},
                       "votes": {result.label(o): _fraction(v) for o, v in c.votes.items()},
                       "votes_text": {result.label(o): c.amount(v) for o, v in c.votes.items()}}
    return {
        "outcome": result.outcome, "outcome_label": result.outcome_label, "passed": result.passed,
        "quorum_met": result.quorum_met,
        "rule": {"id": rule.id, "version": rule.version, "name": rule.name, "citation": rule.citation,
                 "article": rule.article, "description": rule.describe(),
                 "silent_follow_majority": rule.silent_follow_majority},
        "participation": condition(result.participation), "approval": condition(result.approval),
        "options": [{"option": result.label(o.option), "qualifies": o.qualifies,
                     "votes": {m: format_amount(v, m) for m, v in o.votes.items() if m in result.shown_measures},
                     "lines": o.approval.lines() if o.approval else []} for o in result.options],
        "winners": [result.label(o) for o in result.winners], "tied": [result.label(o) for o in result.tied],
        "silent": dict(result.silent), "measures": measures, "lines": result.lines(),
        "cast": cast_count, "electorate": electorate, "closed_at": closed_at.isoformat(),
    }


async def tally_poll(poll_id: int, rule: Rule | None = None) -> TallyResult:
    """The full :class:`TallyResult` of a closed poll, counted again from the stored ballots (for the
    result page and the minutes, which print more than the stored JSON). Raises :class:`PollError`."""
    poll = await _poll_row(poll_id)
    if poll is None or poll["state"] != "closed":
        raise PollError(_("表决尚未结束，不能公布结果。"))
    rule = rule or rule_of(poll["rule_id"])
    if rule is None:
        raise PollError(_("找不到表决规则 {id}。").format(id=poll["rule_id"]))
    # Counted as it was at the close: with the council's setting as it applied then.
    stored = (_loads(poll["result"], {}) or {}).get("rule") or {}
    if "silent_follow_majority" in stored:
        rule = rule.for_council(silent_follow_majority=bool(stored["silent_follow_majority"]))
    return (await _tally(poll, rule))[0]


async def close_poll(poll_id: int, *, actor: str, rule: Rule | None = None) -> dict:
    """Close the poll, count it under ``rule`` (the poll's rule as the council applies it; the built-in
    profile of ``rule_id`` when None) and store the result; the result as :func:`result_dict`.
    Closing a closed poll returns the stored result (a retry). Raises :class:`PollError`."""
    async with db.atomic():
        await _exclusive_turn(poll_id)  # waits for the ballots under way; keeps new ones out
        poll = await _lock_poll(Poll.select(*Poll.all_columns(), Poll.item.meeting.as_alias("meeting")).where(
            Poll.id == poll_id)).first()
        if poll is None:
            raise PollError(_("表决不存在。"))
        if poll["state"] == "closed":
            return _loads(poll["result"], {})
        if poll["state"] == "draft":
            raise PollError(_("投票尚未开始。"))
        rule = rule or rule_of(poll["rule_id"])
        if rule is None or rule.id != poll["rule_id"]:
            raise PollError(_("表决规则与本表决不符：应为 {id}。").format(id=poll["rule_id"]))
        # The council's "non-voters count with the majority", where the law leaves it to the council.
        rule = await council_settings.applied_rule(poll["council"], rule)
        result, cast_count = await _tally(poll, rule)
        electorate = int(result.counts["headcount"].eligible)
        closed_at = _now()
        stored = result_dict(result, cast_count=cast_count, electorate=electorate, closed_at=closed_at)
        await Poll.update({Poll.state: "closed", Poll.result: _dumps(stored)}).where(Poll.id == poll_id)
        # The seal: a digest over the snapshot, participations and ballots, taken under the lock that
        # keeps ballots out, so `yishi poll verify` detects any later change (core.voting.seal).
        sealed = await seal.compute(poll_id)
        await audit.record(actor=actor, action=seal.CLOSE_ACTION, entity=f"poll:{poll_id}",
                           before={"state": "open"},
                           after={"state": "closed", "outcome": result.outcome, "cast": cast_count,
                                  "rule": rule.id, "rule_version": rule.version, **sealed.as_audit()})
        events.changed(f"poll:{poll_id}", "state", {"state": "closed", "cast": cast_count})
        _meeting_channel_changed(poll["meeting"], {"poll": poll_id, "state": "closed", "cast": cast_count})
    return stored


# -------------------------------------------------------------------------------------------------
# Reading
# -------------------------------------------------------------------------------------------------


async def _cast_count(poll_id: int) -> int:
    count = await Participation.count().where(Participation.poll == poll_id)
    hands = await HandTotals.select(HandTotals.counts, HandTotals.abstain).where(HandTotals.poll == poll_id).first()
    if hands is not None:
        count += sum(_loads(hands["counts"], {}).values()) + hands["abstain"]
    return count


async def poll_view(poll_id: int) -> dict | None:
    """What the pages show of a poll: title, method, options, state, the number of ballots cast, the
    electorate's size (voters, after merging an owner's units; None before it opens) and, once closed,
    the result. Never a running count of choices: that exists nowhere until the poll is closed.
    None when there is no such poll."""
    poll = await _poll_row(poll_id)
    if poll is None:
        return None
    electorate = None
    if poll["state"] != "draft":
        electorate = await Elector.count(distinct=[Elector.owner_key]).where(Elector.poll == poll_id)
    rule = rule_of(poll["rule_id"])
    closes_at = _aware(poll["closes_at"])
    return {
        "id": poll["id"], "council_id": poll["council"], "item_id": poll["item"], "meeting_id": poll["meeting"],
        "title": poll["title"], "method": poll["method"], "options": _loads(poll["options"], []),
        "min_choices": poll["min_choices"], "max_choices": poll["max_choices"], "rule_id": poll["rule_id"],
        "rule_name": rule.name if rule else poll["rule_id"], "rule_citation": rule.citation if rule else "",
        "visibility": poll["visibility"], "state": poll["state"], "opens_at": _aware(poll["opens_at"]),
        "closes_at": closes_at, "accepting": poll["state"] == "open" and (closes_at is None or closes_at > _now()),
        "electorate_spec": _loads(poll["electorate"], {}), "proxy_limit": poll["proxy_limit"],
        "cast": await _cast_count(poll_id), "electorate": electorate,
        "result": _loads(poll["result"], None) if poll["state"] == "closed" else None,
    }


async def has_voted(poll_id: int, voter_key: str) -> bool:
    """Whether the ballot of ``voter_key`` (or of the owner or household it belongs to) has been cast."""
    elector = await Elector.select(Elector.owner_key).where(
        (Elector.poll == poll_id) & (Elector.voter_key == voter_key)).first()
    if elector is None:
        return False
    return await Participation.exists().where(
        (Participation.poll == poll_id) & (Participation.voter_key == elector["owner_key"]))


async def in_electorate(poll_id: int, voter_key: str) -> bool:
    """Whether ``voter_key`` is in the poll's snapshot (False before the poll opens)."""
    return await Elector.exists().where((Elector.poll == poll_id) & (Elector.voter_key == voter_key))


async def polls_of_item(item_id: int) -> list[dict[str, Any]]:
    """The polls of an agenda item, oldest first (id, title, method, visibility, state)."""
    return await Poll.select(Poll.id, Poll.title, Poll.method, Poll.visibility, Poll.state).where(
        Poll.item == item_id).order_by(Poll.id)


async def polls_of_council(council_id: int) -> list[dict[str, Any]]:
    """A council's polls, newest first, written consultations (no item) included."""
    return await Poll.select(Poll.id, Poll.item, Poll.title, Poll.method, Poll.visibility, Poll.state,
                             Poll.closes_at).where(Poll.council == council_id).order_by(Poll.id, ascending=False)


async def named_ballots(poll_id: int) -> list[dict[str, Any]]:
    """Who voted what in a 记名 poll (voter key and name, acting person, channel, choices); [] for a
    secret poll, which has no such record."""
    rows = await NamedBallot.select(NamedBallot.voter_key, NamedBallot.acting, NamedBallot.channel,
                                    NamedBallot.choices).where(NamedBallot.poll == poll_id).order_by(NamedBallot.id)
    names: dict[str, str] = {}
    for e in await Elector.select(Elector.owner_key, Elector.name).where(Elector.poll == poll_id).order_by(Elector.id):
        names.setdefault(e["owner_key"], e["name"])
    return [{**r, "name": names.get(r["voter_key"], ""), "choices": _loads(r["choices"], [])} for r in rows]


__all__ = [
    "ABSTAIN", "CHANNELS", "INVALID", "METHODS", "NO", "VISIBILITIES", "YES", "PollError", "VoteRefused", "add_proxy",
    "cast", "close_poll", "create_poll", "has_voted", "in_electorate", "named_ballots", "new_receipt", "open_poll",
    "poll_view", "polls_of_council", "polls_of_item", "proxies", "record_hand_totals", "record_paper_ballot",
    "result_dict", "rule_of", "tally_poll", "tally_poll_of",
]
