"""Render minutes from the record: gather the context, render the template, print the PDF.

The template is looked up through the normal layers (theme > plugins > core), so a practice can
override ``minutes/minutes.html`` or extend ``core:minutes/minutes.html``. Plugins add context
through ``yishi_minutes_context`` — only core's own plugins and the plugin that owns the meeting's
practice are asked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment

from core.fonts import MissingFontError, cjk_font_families
from core.i18n import _
from core.meetings import attendance
from core.meetings.handcount import rule_label
from core.meetings.items import outcome_labels
from core.meetings.services import MeetingView, load_meeting
from core.meetings.tables import AgendaItem, Speaker
from core.plugins import PluginSystem

TEMPLATE = "minutes/minutes.html"
#: Minutes are final once the meeting has approved them (审定); before that every page says 草稿.
FINAL_STATES = frozenset({"approved", "published"})


class MinutesNotFound(LookupError):
    pass


async def minutes_context(meeting_id: int, plugins: PluginSystem, site_name: str) -> dict[str, Any]:
    """Everything the minutes template reads, built from the record."""
    view = await load_meeting(meeting_id, with_members=True)
    if view is None:
        raise MinutesNotFound(f"会议 {meeting_id} 不存在 / meeting {meeting_id} does not exist")
    practice = plugins.practice(view.council["practice"])
    context: dict[str, Any] = {
        "view": view,
        "practice": practice,
        "site_name": site_name,
        "rule_label": rule_label(),
        "chair": _names(view, "chair"),
        "recorder": _names(view, "recorder"),
        "draft": view.state not in FINAL_STATES,
        "draft_note": draft_note(view.state),
        "attendance": await attendance.summary(meeting_id),
        "item_records": await item_records(meeting_id),
        "generated_at": datetime.now(UTC),
        # set by core.documents.service for a published meeting: the record's hash, printed
        "record_sha256": "",
        "record_stamp": "",
    }
    context.update(await record_parts(meeting_id, view, context["attendance"]))
    owners = {pid for pid, meta in plugins.metas.items() if meta.builtin}
    if practice is not None:
        owners.add(practice.plugin)
    for _plugin, extra in plugins.call_each("yishi_minutes_context", only=owners,
                                            meeting=view.meeting, context=dict(context)):
        context.update(extra)
    return context


async def record_parts(meeting_id: int, view: MeetingView, summary: Any) -> dict[str, Any]:
    """Absentees and proxies, the polls per item (method, rule, article, counts by headcount and
    area, outcome), the decisions taken and the tasks assigned — the rest of what the minutes state."""
    from core.documents.record import meeting_polls, meeting_tasks
    from core.voting.controllers import method_labels

    people = summary.members if summary is not None else []
    polls = await meeting_polls(meeting_id)
    by_item: dict[int, list[dict[str, Any]]] = {}
    for p in polls:
        by_item.setdefault(p["item_id"], []).append(p)
    decisions = []
    for item in view.items:
        passed = [p for p in by_item.get(item.id, []) if p["result"] and p["result"].get("passed")]
        if item.outcome or passed or (item.counts and item.counts.passed):
            decisions.append({"item": item, "polls": passed,
                              "outcome": outcome_labels().get(item.outcome, item.outcome) if item.outcome else ""})
    tasks = await meeting_tasks(meeting_id)
    return {
        "absentees": [p for p in people if p["status"] in ("absent", "excused", "")],
        "proxies": [p for p in people if p["status"] == "proxy"],
        "polls_by_item": by_item,
        "method_labels": method_labels(),
        "decisions": decisions,
        "tasks": tasks,
    }


def draft_note(state: str) -> str:
    """Why these minutes are not final yet ("" once approved)."""
    if state in FINAL_STATES:
        return ""
    if state == "closed":
        return _("草稿：纪要尚未审定，以下内容可能变动")
    if state == "cancelled":
        return _("草稿：会议已取消")
    return _("草稿：会议尚未结束，以下内容可能变动")


async def item_records(meeting_id: int) -> dict[int, dict[str, Any]]:
    """Per agenda item: what the meeting did with it (协商一致 / 表决 / 暂缓 / 会后交办, with the
    note) and who spoke, in the order they were registered."""
    labels = outcome_labels()
    items = await AgendaItem.select(AgendaItem.id, AgendaItem.outcome, AgendaItem.outcome_note).where(
        AgendaItem.meeting == meeting_id)
    records: dict[int, dict[str, Any]] = {
        i["id"]: {"outcome": labels.get(i["outcome"], i["outcome"]) if i["outcome"] else "",
                  "outcome_note": i["outcome_note"], "speakers": []} for i in items}
    if records:
        speakers = await Speaker.select(Speaker.item, Speaker.name, Speaker.affiliation, Speaker.state).where(
            Speaker.item.is_in(list(records))).order_by(Speaker.position).order_by(Speaker.id)
        for sp in speakers:
            records[sp["item"]]["speakers"].append(sp)
    return records


def _names(view: MeetingView, role: str) -> str:
    return "、".join(m["name"] for m in view.members_with_role(role))


def render_html(env: Environment, context: dict[str, Any], for_print: bool = False, nonce: str = "") -> str:
    """The minutes page; ``nonce`` lets its embedded stylesheet pass the page's CSP."""
    return env.get_template(TEMPLATE).render(**context, for_print=for_print, nonce=nonce)


def render_pdf(html: str, base_url: str) -> bytes:
    """Print the minutes HTML to PDF; refuse rather than print boxes when no CJK font exists."""
    if not cjk_font_families():
        raise MissingFontError()
    from weasyprint import HTML  # imported late: it loads pango and fonts (~0.3 s)

    return HTML(string=html, base_url=base_url).write_pdf()


def pdf_filename(view: MeetingView) -> str:
    started = view.meeting["starts_at"]
    return f"会议纪要-{view.council['name']}-{started:%Y%m%d}.pdf"
