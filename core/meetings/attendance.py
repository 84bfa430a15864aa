"""Sign-in (签到) and quorum (法定人数) for a meeting: who is expected, who came, whether enough came.

应到 is the council's members except observers (列席 do not count). Each is present (出席), absent
(缺席), excused (请假) or represented by a proxy (委托, with the proxy's name — counted as present for
the quorum, and said so: "含委托 N 人"), or not yet marked (未签到). Residents who sign in to an open
meeting (``Meeting.is_open``) are counted apart (列席居民) and never toward the quorum.

One row per person (or roster entry) per meeting — unique indexes — written under the meeting's row
lock, so two identical sign-ins at once leave one row and the second one hears "您已签到". Every
change writes its audit event in the same transaction and tells the live pages after commit.

The join link ``/m/<meeting id>/<key>`` in the meeting's QR code carries an HMAC of the meeting id
(core.residents.tokens with its own purpose): nothing is stored, and an altered key opens nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import segno

from core import audit, db, events
from core.i18n import _
from core.meetings.quorum import QuorumRule, QuorumRuleError, parse_rule
from core.meetings.tables import Attendance, Meeting
from core.org.tables import CouncilMember
from core.residents.tokens import MAC_LENGTH, make_token, parse_token
from core.settings import Settings
from core.text import has_control

#: The purpose signed into a join key: a join key is no resident's token, and no resident's token a join key.
JOIN_PURPOSE = "yishi-meeting-join"
#: Join keys are generation 1 of the meeting id under JOIN_PURPOSE (a new secret invalidates them all).
JOIN_GENERATION = 1
STATUSES = ("present", "excused", "absent", "proxy")
#: Roles that sit in but are not expected (列席): they never count toward 应到 or the quorum.
NOT_EXPECTED = frozenset({"observer"})
#: Nobody signs in to a meeting that is over or called off.
ENDED = frozenset({"closed", "approved", "published"})
#: Once the minutes are approved the record of who came is part of them and is not changed here.
LOCKED = frozenset({"approved", "published", "cancelled"})
PROXY_NAME_MAX = 50


def status_labels() -> dict[str, str]:
    return {"present": _("出席"), "excused": _("请假"), "absent": _("缺席"), "proxy": _("委托"), "": _("未签到")}


class AttendanceError(Exception):
    """A sign-in or mark that cannot be made; the message is for the person who tried."""


# -------------------------------------------------------------------------------------------------
# The join link and its QR code
# -------------------------------------------------------------------------------------------------


def join_key(settings: Settings, meeting_id: int) -> str:
    """The HMAC part of the meeting's join link (22 URL-safe characters)."""
    return make_token(settings.secret(), meeting_id, JOIN_GENERATION, JOIN_PURPOSE).rsplit(".", 1)[1]


def key_valid(settings: Settings, meeting_id: int, key: str) -> bool:
    """Whether ``key`` is this deployment's join key for exactly this meeting (constant-time compare)."""
    if not isinstance(key, str) or len(key) != MAC_LENGTH:
        return False
    claim = parse_token(settings.secret(), f"{meeting_id}.{JOIN_GENERATION}.{key}", JOIN_PURPOSE)
    return claim is not None and claim.entry_id == meeting_id


def join_path(settings: Settings, meeting_id: int) -> str:
    return f"/m/{meeting_id}/{join_key(settings, meeting_id)}"


def join_url(settings: Settings, meeting_id: int, base_url: str = "") -> str:
    """The link in the meeting's QR code; absolute when ``base_url`` (what phones can reach) is given."""
    return f"{base_url.rstrip('/')}{join_path(settings, meeting_id)}"


def join_qr_svg(settings: Settings, meeting_id: int, base_url: str = "", scale: int = 6) -> str:
    """The join link as an inline SVG QR code (error correction M, 4-module quiet zone), for the
    console and the projector. Made once per link and size (the console re-renders on every action)."""
    return _qr_svg(join_url(settings, meeting_id, base_url), scale)


@lru_cache(maxsize=256)
def _qr_svg(link: str, scale: int) -> str:
    out = io.BytesIO()
    # omitsize: a viewBox instead of width/height, so the console's and the projector's CSS scale the
    # whole code instead of cropping it.
    segno.make(link, error="m", micro=False).save(out, kind="svg", scale=scale, border=4, xmldecl=False,
                                                  svgns=True, title="QR", nl=False, omitsize=True)
    return out.getvalue().decode("utf-8")


def base_url_of(request: Any) -> str:
    """What phones in the room can reach: the address the page was opened at."""
    return str(request.base_url)


async def console_context(request: Any, view: Any) -> dict[str, Any]:
    """What the recorder's sign-in panel on the console needs (core.meetings.controllers._context)."""
    settings = request.app.state.settings
    meeting_id = view.meeting["id"]
    return {"attendance": await summary(meeting_id), "attendance_labels": status_labels(),
            "attendance_errors": {}, "join_url": join_url(settings, meeting_id, base_url_of(request)),
            "join_qr": join_qr_svg(settings, meeting_id, base_url_of(request), scale=4)}


# -------------------------------------------------------------------------------------------------
# Reading: the members with their status, and the summary
# -------------------------------------------------------------------------------------------------


@dataclass
class Summary:
    """应到 / 实到 / 比例 and the quorum, as the console, the phone page and the minutes state them."""

    expected: int
    present: int
    proxies: int
    excused: int
    absent: int
    unmarked: int
    residents: int
    rule: QuorumRule | None
    rule_error: str = ""
    members: list[dict[str, Any]] = field(default_factory=list)

    @property
    def quorum_met(self) -> bool:
        return self.rule is not None and self.rule.met(self.present, self.expected)

    @property
    def rule_label(self) -> str:
        return self.rule.label if self.rule else self.rule_error

    @property
    def ratio(self) -> str:
        """实到 over 应到 as a percentage with one decimal (7/9 → "77.8%"); "—" with nobody expected."""
        if not self.expected:
            return "—"
        tenths = (self.present * 1000 * 2 + self.expected) // (self.expected * 2)  # round half up, exactly
        return f"{tenths // 10}.{tenths % 10}%"

    @property
    def short_of(self) -> int:
        """How many more must come for the quorum (0 when met)."""
        if self.rule is None:
            return 0
        return max(0, self.rule.needed(self.expected) - self.present)

    @property
    def statement(self) -> str:
        """One sentence for the minutes: counts, proxies, and whether the quorum is met under which rule."""
        text = _("应到 {expected} 人，实到 {present} 人").format(expected=self.expected, present=self.present)
        if self.proxies:
            text += _("（含委托 {n} 人）").format(n=self.proxies)
        text += _("，请假 {excused} 人，缺席 {absent} 人").format(excused=self.excused,
                                                          absent=self.absent + self.unmarked)
        if self.residents:
            text += _("；列席居民 {n} 人").format(n=self.residents)
        if self.rule is None:
            return text + _("。法定人数规则有误：{error}").format(error=self.rule_error)
        verdict = _("符合法定人数") if self.quorum_met else _("未达到法定人数")
        return text + _("。法定人数：{rule}，{verdict}。").format(rule=self.rule.label, verdict=verdict)


async def members(meeting_id: int, council_id: int) -> list[dict[str, Any]]:
    """The expected members in seat order, each with their attendance row's status ("" if unmarked)."""
    seats = await CouncilMember.select(
        CouncilMember.person, CouncilMember.role, CouncilMember.affiliation,
        CouncilMember.person.name.as_alias("name"),
    ).where(CouncilMember.council == council_id).order_by(CouncilMember.position, CouncilMember.id)
    rows = {r["person"]: r for r in await Attendance.select().where(
        (Attendance.meeting == meeting_id) & Attendance.person.is_not_null())}
    out = []
    for seat in seats:
        if seat["role"] in NOT_EXPECTED:
            continue
        row = rows.get(seat["person"])
        out.append({**seat, "status": row["status"] if row else "", "proxy_name": row["proxy_name"] if row else "",
                    "method": row["method"] if row else ""})
    return out


#: Everything the summary needs in one query: the meeting's council and its quorum rule, the residents
#: who signed in, and each council member (seat order) with their attendance row, if any. It used to
#: be four ORM queries (3.7 ms on every full console render, i.e. after anyone's action).
_SUMMARY_SQL = (
    "SELECT m.council, c.quorum,"
    " (SELECT COUNT(*) FROM yishi_attendance r WHERE r.meeting = m.id AND r.entry IS NOT NULL"
    "  AND r.status = 'present') AS residents,"
    " cm.person, cm.role, cm.affiliation, p.name, a.status, a.proxy_name, a.method"
    " FROM yishi_meeting m JOIN yishi_council c ON c.id = m.council"
    " LEFT JOIN yishi_council_member cm ON cm.council = m.council"
    " LEFT JOIN yishi_person p ON p.id = cm.person"
    " LEFT JOIN yishi_attendance a ON a.meeting = m.id AND a.person = cm.person"
    " WHERE m.id = {} ORDER BY cm.position, cm.id")


async def summary(meeting_id: int) -> Summary | None:
    """The meeting's sign-in summary, or None when there is no such meeting (one query).

    The minutes state it with ``summary.statement`` (or the fields: expected, present, proxies,
    excused, absent + unmarked, residents, quorum_met, rule_label).
    """
    rows = await Meeting.raw(_SUMMARY_SQL, meeting_id)
    if not rows:
        return None
    people = [{"person": r["person"], "role": r["role"], "affiliation": r["affiliation"], "name": r["name"],
               "status": r["status"] or "", "proxy_name": r["proxy_name"] or "", "method": r["method"] or ""}
              for r in rows if r["person"] is not None and r["role"] not in NOT_EXPECTED]
    try:
        rule, error = parse_rule(rows[0]["quorum"] or ""), ""
    except QuorumRuleError as exc:
        rule, error = None, str(exc)
    count = {s: sum(1 for p in people if p["status"] == s) for s in (*STATUSES, "")}
    return Summary(expected=len(people), present=count["present"] + count["proxy"], proxies=count["proxy"],
                   excused=count["excused"], absent=count["absent"], unmarked=count[""],
                   residents=rows[0]["residents"], rule=rule, rule_error=error, members=people)


async def status_of(meeting_id: int, person_id: int | None = None, entry_id: int | None = None) -> str:
    """The status of one person or roster entry at the meeting ("" if no row)."""
    where = Attendance.meeting == meeting_id
    where &= (Attendance.person == person_id) if person_id is not None else (Attendance.entry == entry_id)
    row = await Attendance.select(Attendance.status).where(where).first()
    return row["status"] if row else ""


# -------------------------------------------------------------------------------------------------
# Writing
# -------------------------------------------------------------------------------------------------


def validate_mark(status: str | None, proxy_name: str | None) -> tuple[str, str, dict[str, str]]:
    """A recorder's mark as typed: (status, proxy name, errors by field)."""
    status = (status or "").strip()
    name = " ".join((proxy_name or "").split())
    errors: dict[str, str] = {}
    if status not in STATUSES:
        errors["status"] = _("请选择出席、请假、缺席或委托。")
    elif status == "proxy":
        if not name:
            errors["proxy_name"] = _("委托出席请填写受托人姓名。")
        elif len(name) > PROXY_NAME_MAX or has_control(name):
            errors["proxy_name"] = _("受托人姓名不能超过 {n} 个字，也不能含控制字符。").format(n=PROXY_NAME_MAX)
    return status, name if status == "proxy" else "", errors


async def _lock_meeting(meeting_id: int) -> dict[str, Any]:
    row = await db.for_update(Meeting.select(Meeting.id, Meeting.state, Meeting.council, Meeting.is_open).where(
        Meeting.id == meeting_id)).first()
    if row is None:
        raise AttendanceError(_("会议不存在。"))
    return row


def _refuse_ended(state: str) -> None:
    if state == "cancelled":
        raise AttendanceError(_("会议已取消，不能签到。"))
    if state in ENDED:
        raise AttendanceError(_("会议已结束，不能签到。"))


async def _write(meeting_id: int, *, person: int | None, entry: int | None, name: str, status: str,
                 proxy_name: str, method: str, actor: str, action: str) -> bool:
    """Insert or update the one row of this person/entry (inside the meeting's lock); audit and tell
    the live pages. False when the row already says exactly this (a retry: nothing written)."""
    where = Attendance.meeting == meeting_id
    where &= (Attendance.person == person) if person is not None else (Attendance.entry == entry)
    before = await Attendance.select(Attendance.id, Attendance.status, Attendance.proxy_name).where(where).first()
    if before is not None and before["status"] == status and before["proxy_name"] == proxy_name:
        return False
    now = datetime.now(UTC)
    if before is None:
        await Attendance.insert(Attendance(meeting=meeting_id, person=person, entry=entry, name=name, status=status,
                                           proxy_name=proxy_name, method=method, updated_at=now, updated_by=actor))
    else:
        await Attendance.update({Attendance.status: status, Attendance.proxy_name: proxy_name,
                                 Attendance.method: method, Attendance.updated_at: now,
                                 Attendance.updated_by: actor}).where(Attendance.id == before["id"])
    who = {"person": person} if person is not None else {"entry": entry}
    await audit.record(actor=actor, action=action, entity=f"meeting:{meeting_id}",
                       before={**who, "status": before["status"], "proxy_name": before["proxy_name"]}
                       if before else {**who, "status": ""},
                       after={**who, "status": status, "proxy_name": proxy_name, "method": method})
    events.changed(f"meeting:{meeting_id}", "attendance", {"status": status})
    return True


async def mark(meeting_id: int, person_id: int, status: str, proxy_name: str, actor: str) -> bool:
    """The recorder marks (or corrects) an expected member's status. Changing nothing records nothing.

    Allowed until the minutes are approved: the record of who came may be corrected after the
    meeting, before the minutes that state it are approved.
    """
    status, proxy_name, errors = validate_mark(status, proxy_name)
    if errors:
        raise AttendanceError(next(iter(errors.values())))
    async with db.atomic():
        meeting = await _lock_meeting(meeting_id)
        if meeting["state"] in LOCKED:
            raise AttendanceError(_("会议已取消或纪要已审定，签到记录不能再修改。") if meeting["state"] != "cancelled"
                                  else _("会议已取消，不能签到。"))
        seat = await CouncilMember.select(CouncilMember.role, CouncilMember.person.name.as_alias("name")).where(
            (CouncilMember.council == meeting["council"]) & (CouncilMember.person == person_id)).first()
        if seat is None or seat["role"] in NOT_EXPECTED:
            raise AttendanceError(_("此人不是本会议的应到成员。"))
        return await _write(meeting_id, person=person_id, entry=None, name=seat["name"], status=status,
                            proxy_name=proxy_name, method="recorder", actor=actor, action="attendance.mark")


async def sign_in_member(meeting_id: int, person_id: int, actor: str) -> bool:
    """A council member signs themselves in (by the QR code). False: already signed in (您已签到)."""
    async with db.atomic():
        meeting = await _lock_meeting(meeting_id)
        _refuse_ended(meeting["state"])
        seat = await CouncilMember.select(CouncilMember.person.name.as_alias("name")).where(
            (CouncilMember.council == meeting["council"]) & (CouncilMember.person == person_id)).first()
        if seat is None:
            raise AttendanceError(_("您不是本议事会的成员。居民请从个人链接进入后签到。"))
        return await _write(meeting_id, person=person_id, entry=None, name=seat["name"], status="present",
                            proxy_name="", method="qr", actor=actor, action="attendance.sign_in")


async def sign_in_resident(meeting_id: int, entry: dict[str, Any], council_ids: list[int], actor: str) -> bool:
    """A resident (a roster entry whose phone passed the identity check) signs in to an open meeting
    of one of their councils. False: already signed in."""
    async with db.atomic():
        meeting = await _lock_meeting(meeting_id)
        _refuse_ended(meeting["state"])
        if not meeting["is_open"] or meeting["council"] not in council_ids:
            raise AttendanceError(_("这次会议不对居民开放签到。"))
        return await _write(meeting_id, person=None, entry=entry["id"], name=entry["name"][:50], status="present",
                            proxy_name="", method="qr", actor=actor, action="attendance.resident_sign_in")


__all__ = ["ENDED", "JOIN_PURPOSE", "LOCKED", "STATUSES", "AttendanceError", "Summary", "base_url_of",
           "console_context", "join_key", "join_path", "join_qr_svg", "join_url", "key_valid", "mark", "members",
           "sign_in_member", "sign_in_resident", "status_labels", "status_of", "summary", "validate_mark"]
