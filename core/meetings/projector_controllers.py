"""The projector page (投屏) for members at ``/meetings/{id}/screen`` and, through a keyed link that
needs no login, for the TV browser at ``/public/screen/{key}`` (core.meetings.projector).

Reading only: nothing here changes the record. Both follow the meeting's live stream — members'
page the members' stream, the keyed page the public one, which carries no data — and re-fetch
themselves, so the TV updates without anyone touching it.
"""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Template

from core import live
from core.accounts.permissions import PUBLIC
from core.i18n import _
from core.meetings import projector
from core.voting.controllers import projector_poll
from core.web import settings_of

PAGE = "meetings/projector.html"


async def _page(request: Request, meeting_id: int, *, keyed: bool) -> Template:
    settings = settings_of(request)
    version = await live.version(request, f"meeting:{meeting_id}")  # before loading what the page shows
    ctx = await projector.screen_context(meeting_id, settings, str(request.base_url))
    if ctx is None:
        raise NotFoundException(_("会议 {id} 不存在").format(id=meeting_id))
    screen_path = projector.screen_path(settings, meeting_id)
    ctx |= {
        "live_version": version,
        "live_stream": f"/public/live/meetings/{meeting_id}" if keyed else f"/live/meetings/{meeting_id}",
        "live_get": screen_path if keyed else f"/meetings/{meeting_id}/screen",
        # The keyed link is offered on the members' page only: the TV already has it.
        "screen_link": "" if keyed else f"{str(request.base_url).rstrip('/')}{screen_path}",
        "screen_poll": await projector_poll(meeting_id),  # the current item's poll: its count, never a running result
    }
    return Template(PAGE, context=ctx)


class ScreenController(Controller):
    path = "/meetings/{meeting_id:int}"

    @get("/screen", name="meeting_screen", opt={"permission": "meeting.view"})
    async def screen(self, request: Request, meeting_id: FromPath[int]) -> Template:
        return await _page(request, meeting_id, keyed=False)


@get("/public/screen/{key:str}", name="meeting_screen_public", opt={"permission": PUBLIC})
async def public_screen(request: Request, key: FromPath[str]) -> Template:
    """The TV's page: the key is the credential (a forged or altered one is a plain 404)."""
    meeting_id = projector.meeting_of_key(settings_of(request), key)
    if meeting_id is None:
        raise NotFoundException(_("投屏链接无效，请向主持人重新获取。"))
    return await _page(request, meeting_id, keyed=True)


def screen_routes() -> list:
    return [ScreenController, public_screen]
