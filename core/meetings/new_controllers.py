"""新建会议: the page a chair or recorder uses to put a meeting (or a recurring series) on the calendar.

Permission ``meeting.run`` on the council in the path. A bad field answers 422 with the form, what
was typed and the error beside the field, and nothing is written; a good one writes the draft
(core.meetings.series) and sends the browser to the new meeting's console (303, or ``HX-Redirect``
for htmx). Posting the same form twice gives the same meeting.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from core.accounts.permissions import current_user
from core.i18n import _
from core.meetings import recurrence, series
from core.org.tables import Council
from core.web import form_of, is_htmx, plugins_of, see_other

PAGE = "meetings/new.html"


class NewMeetingController(Controller):
    path = "/councils/{council_id:int}/meetings"

    async def _context(self, request: Request, council_id: int, **extra: Any) -> dict[str, Any]:
        council = await Council.select(Council.id, Council.name, Council.practice).where(
            Council.id == council_id).first()
        if council is None:
            raise NotFoundException(_("议事机构不存在"))
        practice = plugins_of(request).practice(council["practice"])
        kinds = list(practice.meeting_kinds) if practice else ["议事会"]
        return {"council": council, "practice": practice, "kinds": kinds, "labels": series.field_labels(),
                "repeat_labels": recurrence.repeat_labels(), "upcoming": series.UPCOMING, "errors": {},
                "values": {"kind": kinds[0], "repeat": "", "time": "19:30"}, **extra}

    @get("/new", name="meeting_new", opt={"permission": "meeting.run"})
    async def form(self, request: Request, council_id: FromPath[int]) -> Template:
        return Template(PAGE, context=await self._context(request, council_id))

    @post("/new", name="meeting_create", opt={"permission": "meeting.run"})
    async def create(self, request: Request, council_id: FromPath[int]) -> Template | Redirect | Response[None]:
        ctx = await self._context(request, council_id)
        new, errors, values = series.validate(await form_of(request), ctx["kinds"])
        if new is None:
            ctx.update(errors=errors, values=values)
            return Template(PAGE, context=ctx, status_code=422)
        user = await current_user(request)
        meeting_id = await series.create_meeting(council_id, new, user.actor if user else "anonymous")
        url = f"/meetings/{meeting_id}"
        if is_htmx(request):
            return Response(None, status_code=204, headers={"HX-Redirect": url})
        return see_other(url)
