"""Core's own documents: 会议纪要 (minutes) and 公示 (public notice of the decisions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from core.documents.spec import DocumentSpec
from core.i18n import _

#: Days a 公示 stays on the notice board unless a practice says otherwise.
GONGSHI_DAYS = 7


async def minutes_document_context(meeting_id: int, plugins: Any, settings: Any) -> dict[str, Any]:
    from core.minutes.render import minutes_context

    return await minutes_context(meeting_id, plugins, settings.site_name)


async def gongshi_context(meeting_id: int, plugins: Any, settings: Any) -> dict[str, Any]:
    """The minutes' facts, the decisions and tasks, and the 公示期: ``GONGSHI_DAYS`` from the day the
    minutes were published (today for a preview before that), so every copy printed says the same."""
    from core.meetings.services import _aware
    from core.meetings.tables import MeetingEvent
    from core.minutes.render import minutes_context

    context = await minutes_context(meeting_id, plugins, settings.site_name)
    published = await MeetingEvent.select(MeetingEvent.at).where(
        (MeetingEvent.meeting == meeting_id) & (MeetingEvent.to_state == "published")).order_by(
        MeetingEvent.id, ascending=False).first()
    start = _aware(published["at"]) if published else datetime.now(UTC)  # the day it was published (公布)
    context.update(gongshi_from=start, gongshi_until=start + timedelta(days=GONGSHI_DAYS),
                   gongshi_days=GONGSHI_DAYS)
    return context


def core_documents() -> list[DocumentSpec]:
    return [
        DocumentSpec(id="minutes", title=_("会议纪要"), template="minutes/minutes.html",
                     context=minutes_document_context, needs_approval=("docx",)),
        DocumentSpec(id="gongshi", title=_("公示"), template="documents/gongshi.html",
                     context=gongshi_context, needs_approval=("pdf", "docx")),
    ]
