"""The 议事纪要 of a meeting (core's ``yishi_documents``): core's minutes with the disputes taken up
at the meeting, read from core's record engine (``core.records.service.for_meeting``)."""

from __future__ import annotations

from typing import Any

from core.errors import YishiError
from core.i18n import _
from core.meetings.tables import Meeting
from core.records.service import for_meeting
from yishi_jiexiang.plugin import KIND


async def jiyao_context(meeting_id: int, plugins: Any, settings: Any) -> dict[str, Any]:
    """Core's minutes context (with this plugin's ``jiexiang`` names) and the mediations of the meeting."""
    from core.minutes.render import minutes_context

    meeting = await Meeting.select(Meeting.council.practice).where(Meeting.id == meeting_id).first()
    if meeting is None or meeting["council.practice"] != "jiexiang":
        raise YishiError(_("议事纪要只用于街巷议事会的会议；其他会议请使用会议纪要。"))
    context = await minutes_context(meeting_id, plugins, settings.site_name)
    spec = plugins.specs.workflow("jiexiang_mediation")
    context.update(mediations=await for_meeting(meeting_id, KIND),
                   mediation_states={s: spec.state_label(s) for s in spec.states})
    return context
