"""Minutes on screen (HTML) and as a PDF download."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from core.minutes.render import (
    MinutesNotFound,
    minutes_context,
    pdf_filename,
    render_html,
    render_pdf,
)
from core.security import nonce_of
from core.web import plugins_of, settings_of


class MinutesController(Controller):
    path = "/meetings/{meeting_id:int}"

    async def _context(self, request: Request, meeting_id: int) -> dict:
        try:
            return await minutes_context(meeting_id, plugins_of(request),
                                         settings_of(request).site_name)
        except MinutesNotFound as exc:
            raise NotFoundException(str(exc)) from exc

    @get("/minutes", name="minutes_html", media_type="text/html", opt={"permission": "meeting.view"})
    async def html(self, request: Request, meeting_id: FromPath[int]) -> Response[str]:
        ctx = await self._context(request, meeting_id)
        return Response(render_html(request.app.state.jinja, ctx, nonce=nonce_of(request)), media_type="text/html")

    @get("/minutes.pdf", name="minutes_pdf", opt={"permission": "meeting.view"})
    async def pdf(self, request: Request, meeting_id: FromPath[int]) -> Response[bytes]:
        ctx = await self._context(request, meeting_id)
        html = render_html(request.app.state.jinja, ctx, for_print=True)
        # WeasyPrint is CPU-bound: print in a thread so the server keeps answering.
        pdf = await asyncio.to_thread(render_pdf, html, str(request.base_url))
        name = quote(pdf_filename(ctx["view"]))
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f"attachment; filename=\"minutes-{meeting_id}.pdf\"; "
                                   f"filename*=UTF-8''{name}"})
