"""投屏: what the TV in the meeting room shows — the agenda with the current item, the join QR code,
the sign-in count (应到/实到) and the current item's show-of-hands counts and outcome.

The screen shows titles and counts, never a person's name, so two kinds of viewer may open it:
members (``meeting.view``, at ``/meetings/{id}/screen``) and a TV browser without an account, through
a screen link ``/public/screen/{key}``. The key is an HMAC of the meeting id with the deployment's
secret and its own purpose (core.residents.tokens), so it opens this meeting's screen and nothing
else — not the QR sign-in, not a resident's page. Changing the secret (YISHI_SECRET_KEY) withdraws
every screen link at once; there is no per-meeting revocation because there is no column for it.
"""

from __future__ import annotations

from typing import Any

from core.i18n import _
from core.meetings import attendance, services
from core.meetings.items import outcome_labels
from core.meetings.services import MeetingView
from core.meetings.tables import AgendaItem
from core.residents.tokens import make_token, parse_token
from core.settings import Settings

SCREEN_PURPOSE = "yishi-meeting-screen"
SCREEN_GENERATION = 1
#: Events on the meeting's channel that change what the screen shows (core.events.changed callers).
LIVE_EVENTS = "state item hands outcome attendance agenda timer poll"


def screen_key(settings: Settings, meeting_id: int) -> str:
    """The key of the meeting's screen link."""
    return make_token(settings.secret(), meeting_id, SCREEN_GENERATION, purpose=SCREEN_PURPOSE)


def meeting_of_key(settings: Settings, key: str) -> int | None:
    """The meeting a screen key opens, or None for a forged, altered or malformed key."""
    claim = parse_token(settings.secret(), key, purpose=SCREEN_PURPOSE)
    if claim is None or claim.generation != SCREEN_GENERATION:
        return None
    return claim.entry_id


def screen_path(settings: Settings, meeting_id: int) -> str:
    return f"/public/screen/{screen_key(settings, meeting_id)}"


async def screen_context(meeting_id: int, settings: Settings, base_url: str) -> dict[str, Any] | None:
    """Everything projector.html reads; None when there is no such meeting."""
    view: MeetingView | None = await services.load_meeting(meeting_id)
    if view is None:
        return None
    outcomes = {r["id"]: r["outcome"] for r in await AgendaItem.select(AgendaItem.id, AgendaItem.outcome).where(
        AgendaItem.meeting == meeting_id)}
    labels = outcome_labels()
    current = view.current if view.state == "in_session" else None
    summary = await attendance.summary(meeting_id)
    joinable = view.state not in attendance.ENDED and view.state != "cancelled"
    return {
        "view": view,
        "current": current,
        "outcomes": {item_id: labels.get(o, o) for item_id, o in outcomes.items() if o},
        "summary": summary,
        "join_qr": attendance.join_qr_svg(settings, meeting_id, base_url, scale=7) if joinable else "",
        "join_url": attendance.join_url(settings, meeting_id, base_url) if joinable else "",
        "live_events": LIVE_EVENTS,
        "headline": _screen_headline(view),
    }


def _screen_headline(view: MeetingView) -> str:
    """What the big line says when no item is under discussion."""
    return {"draft": _("会议即将开始"), "notified": _("会议即将开始"), "closed": _("会议已结束"),
            "approved": _("会议已结束"), "published": _("会议已结束"), "cancelled": _("会议已取消")}.get(
        view.state, _("会议进行中"))


__all__ = ["LIVE_EVENTS", "SCREEN_PURPOSE", "meeting_of_key", "screen_context", "screen_key", "screen_path"]
