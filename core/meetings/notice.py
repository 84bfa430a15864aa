"""会议通知: what a chair sends out before a meeting — a printable page, an A4 PDF, a calendar file.

Everything comes from the record (``load_meeting``): the council's name as the heading, to whom,
time, place, the agenda with proposer and duration, and the issuing body and date. Two lines the
record does not hold — what to bring and whom to call — have defaults (the chair's name and phone
from the roster); the chair may change them for one printing through the page's small form. They
travel as query parameters, so nothing is stored and the same link prints the same notice (dated
the day it is printed).

The template is looked up through the normal layers, so a practice can override
``meetings/notice.html`` or extend ``core:meetings/notice.html``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment

import core
from core.i18n import _
from core.meetings import ics
from core.meetings.services import MeetingView, load_meeting
from core.minutes.render import render_pdf as print_html
from core.org.tables import CouncilMember
from core.plugins import PluginSystem
from core.residents.slips import qr_data_uri
from core.templating import LOCAL_TZ, date_text, long_weekday_name
from core.text import has_control

TEMPLATE = "meetings/notice.html"
#: Who may read, print and download a meeting's notice. One name, so that making an open meeting's
#: notice public later is a one-line change here (and a reviewed entry in the route tests).
NOTICE_PERMISSION = "meeting.view"
#: The meeting column that marks a meeting residents may attend; until it exists every meeting is
#: a members' meeting and the notice is addressed to the members.
OPEN_FLAG = "is_open"
#: How long a meeting without durations on its agenda is put in a calendar.
DEFAULT_LENGTH = timedelta(hours=1)
OPTION_MAX = 100
#: Characters a file name may not hold on Windows, macOS or in a header.
UNSAFE_IN_FILENAME = set('\\/:*?"<>|')


class NoticeNotFound(LookupError):
    """No meeting has this id, so there is no notice to make."""


@dataclass(frozen=True)
class NoticeOptions:
    """The lines of the notice the chair may reword for one printing; empty means the default."""

    bring: str = ""
    contact: str = ""

    def query(self) -> str:
        """``?bring=…&contact=…`` for the links on the page (empty when both are defaults)."""
        pairs = {k: v for k, v in (("bring", self.bring), ("contact", self.contact)) if v}
        return "?" + urlencode(pairs) if pairs else ""


def option_labels() -> dict[str, str]:
    return {"bring": _("请携带"), "contact": _("联系人")}


def parse_options(query: Mapping[str, str]) -> tuple[NoticeOptions, dict[str, str], dict[str, str]]:
    """The options from a query string: (what is valid, error per field, what was typed).

    A bad value is left out (the default is printed) and its error is shown beside its field.
    """
    labels = option_labels()
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name, label in labels.items():
        raw = query.get(name) or ""
        value = raw.strip()
        values[name] = value
        if len(value) > OPTION_MAX:
            errors[name] = _("{label}不能超过 {limit} 字（现为 {length} 字）").format(
                label=label, limit=OPTION_MAX, length=len(value))
        elif has_control(raw):
            errors[name] = _("{label}中含有换行或无法显示的控制字符，请写成一行").format(label=label)
    valid = {k: v for k, v in values.items() if k not in errors}
    return NoticeOptions(**valid), errors, values


# -------------------------------------------------------------------------------------------------
# Dates as a Chinese notice writes them
# -------------------------------------------------------------------------------------------------


def local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_TZ)


def notice_date(value: datetime) -> str:
    """2026年12月4日（星期五）"""
    value = local(value)
    return _("{date}（{weekday}）").format(date=date_text(value), weekday=long_weekday_name(value.weekday()))


def notice_time(start: datetime, end: datetime | None) -> str:
    """2026年12月4日（星期五）19:30—21:10 (the end as planned from the agenda's durations)."""
    start_l = local(start)
    text = f"{notice_date(start)}{start_l:%H:%M}"
    if end is None:
        return text
    end_l = local(end)
    if end_l.date() == start_l.date():
        return f"{text}—{end_l:%H:%M}"
    return f"{text}—{notice_date(end)}{end_l:%H:%M}"


def issue_date(now: datetime) -> str:
    """The date under the issuing body: 2026年11月23日."""
    return date_text(local(now))


def agenda_minutes(view: MeetingView) -> int:
    return sum(max(item.duration_minutes or 0, 0) for item in view.items)


def planned_end(view: MeetingView) -> datetime | None:
    """Start plus the agenda's durations; None when the agenda gives none."""
    minutes = agenda_minutes(view)
    return view.meeting["starts_at"] + timedelta(minutes=minutes) if minutes else None


# -------------------------------------------------------------------------------------------------
# The notice
# -------------------------------------------------------------------------------------------------


def is_open(view: MeetingView) -> bool:
    return bool(view.meeting.get(OPEN_FLAG))


async def default_contact(council_id: int) -> str:
    """The chair (or, without one, the recorder) with a phone number when the roster has one."""
    rows = await CouncilMember.select(
        CouncilMember.role, CouncilMember.person.name.as_alias("name"),
        CouncilMember.person.phone.as_alias("phone"),
    ).where((CouncilMember.council == council_id) & CouncilMember.role.is_in(["chair", "recorder"])
            ).order_by(CouncilMember.position)
    for role in ("chair", "recorder"):
        people = [r for r in rows if r["role"] == role]
        if people:
            return "；".join(f"{p['name']} {p['phone']}".strip() for p in people)
    return ""


def default_bring() -> str:
    return _("本通知、与议题有关的材料和意见建议")


async def notice_context(meeting_id: int, plugins: PluginSystem, site_name: str, *,
                         options: NoticeOptions | None = None, meeting_url: str = "",
                         now: datetime | None = None) -> dict[str, Any]:
    """Everything the notice template (and the calendar file) reads, built from the record."""
    view = await load_meeting(meeting_id, with_members=True)
    if view is None:
        raise NoticeNotFound(_("会议 {id} 不存在").format(id=meeting_id))
    options = options or NoticeOptions()
    practice = plugins.practice(view.council["practice"])
    end = planned_end(view)
    return {
        "view": view,
        "practice": practice,
        "site_name": site_name,
        "open_meeting": is_open(view),
        "members": view.members,
        "starts": notice_time(view.meeting["starts_at"], None),
        "when": notice_time(view.meeting["starts_at"], end),
        "starts_at": view.meeting["starts_at"],
        "ends_at": end,
        "total_minutes": agenda_minutes(view),
        "bring": options.bring or default_bring(),
        "contact": options.contact or await default_contact(view.council["id"]),
        "options": options,
        "option_max": OPTION_MAX,
        "meeting_url": meeting_url,
        "qr": qr_data_uri(meeting_url) if meeting_url else "",
        "issued_on": issue_date(now or datetime.now(UTC)),
    }


def render_html(env: Environment, context: dict[str, Any], *, for_print: bool = False, nonce: str = "",
                errors: Mapping[str, str] | None = None, values: Mapping[str, str] | None = None) -> str:
    """The notice page; ``nonce`` lets its embedded stylesheet pass the page's CSP."""
    return env.get_template(TEMPLATE).render(**context, for_print=for_print, nonce=nonce,
                                             errors=errors or {}, values=values or {})


def render_pdf(html: str, base_url: str) -> bytes:
    """Print the notice HTML to A4 with the minutes' printer, which refuses without a CJK font."""
    return print_html(html, base_url)


# -------------------------------------------------------------------------------------------------
# The calendar file
# -------------------------------------------------------------------------------------------------


def event_uid(meeting_id: int, secret: str) -> str:
    """``meeting-<id>-<tag>@yishi``: the same for a meeting on every download, so a calendar updates
    the event instead of adding a second one. The tag (from the deployment's secret, which it does not
    reveal) keeps meeting 1 of one community's server apart from meeting 1 of another's."""
    tag = hmac.new(secret.encode(), b"yishi-ics-uid", hashlib.sha256).hexdigest()[:12]
    return f"meeting-{meeting_id}-{tag}@yishi"


def ics_description(context: dict[str, Any]) -> str:
    view: MeetingView = context["view"]
    lines = [f"{view.council['name']} {_('会议通知')}", "", _("会议议程：")]
    for n, item in enumerate(view.items, start=1):
        extra = [s for s in (item.proposer and _("提出：{who}").format(who=item.proposer),
                             item.duration_minutes and _("约 {n} 分钟").format(n=item.duration_minutes)) if s]
        lines.append(f"{n}. {item.title}" + (f"（{'，'.join(extra)}）" if extra else ""))
    if not view.items:
        lines.append(_("（议程待定）"))
    lines += ["", f"{_('请携带')}：{context['bring']}"]
    if context["contact"]:
        lines.append(f"{_('联系人')}：{context['contact']}")
    return "\n".join(lines)


def notice_ics(context: dict[str, Any], secret: str, now: datetime | None = None) -> str:
    """The meeting as an .ics file (one VEVENT)."""
    view: MeetingView = context["view"]
    start = context["starts_at"]
    event = ics.Event(
        uid=event_uid(view.meeting["id"], secret),
        start=start,
        end=context["ends_at"] or start + DEFAULT_LENGTH,
        summary=f"{view.meeting['title']}（{view.council['name']}）",
        stamp=now or datetime.now(UTC),
        location=view.meeting["place"] or "",
        description=ics_description(context),
        url=context["meeting_url"],
    )
    return ics.calendar([event], prodid=f"-//Yishi//Yishi {core.__version__}//ZH")


# -------------------------------------------------------------------------------------------------
# Downloads
# -------------------------------------------------------------------------------------------------


def filename(view: MeetingView, ext: str) -> str:
    """会议通知-<title>.<ext>, with characters no file system takes replaced."""
    title = "".join("_" if ch in UNSAFE_IN_FILENAME or not ch.isprintable() else ch
                    for ch in view.meeting["title"]).strip() or str(view.meeting["id"])
    return f"{_('会议通知')}-{title}.{ext}"


def content_disposition(view: MeetingView, ext: str) -> str:
    """``attachment`` with an ASCII name for old clients and the Chinese one as RFC 5987 ``filename*``."""
    fallback = f"meeting-notice-{view.meeting['id']}.{ext}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename(view, ext), safe='')}"
