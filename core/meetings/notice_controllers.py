"""The meeting notice on screen (printable HTML), as an A4 PDF and as a calendar file (.ics).

Reading only: nothing here changes the record, so there is no form to post and nothing to audit.
The optional ``bring`` and ``contact`` query parameters reword two lines for one printing; a bad
one answers 422 with the page and the error beside its field, whichever of the three was asked for.
"""

from __future__ import annotations

import asyncio

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response

from core.meetings import notice
from core.meetings.notice import NOTICE_PERMISSION, NoticeNotFound
from core.security import nonce_of
from core.web import plugins_of, settings_of


class NoticeController(Controller):
    path = "/meetings/{meeting_id:int}"

    async def _context(self, request: Request, meeting_id: int, options: notice.NoticeOptions) -> dict:
        meeting_url = f"{str(request.base_url).rstrip('/')}/meetings/{meeting_id}"
        try:
            return await notice.notice_context(meeting_id, plugins_of(request), settings_of(request).site_name,
                                               options=options, meeting_url=meeting_url)
        except NoticeNotFound as exc:
            raise NotFoundException(str(exc)) from exc

    async def _prepare(self, request: Request, meeting_id: int) -> tuple[dict, Response[str] | None]:
        """The context, and — when an option is bad — the page with the errors beside the fields
        (422), which the PDF and the calendar file answer with too."""
        options, errors, values = notice.parse_options(request.query_params)
        ctx = await self._context(request, meeting_id, options)
        if not errors:
            return ctx, None
        return ctx, self._show(request, ctx, errors=errors, values=values, status_code=422)

    def _show(self, request: Request, ctx: dict, *, errors: dict[str, str], values: dict[str, str],
              status_code: int = 200) -> Response[str]:
        html = notice.render_html(request.app.state.jinja, ctx, nonce=nonce_of(request), errors=errors,
                                  values=values)
        return Response(html, media_type="text/html", status_code=status_code)

    @get("/notice", name="meeting_notice", media_type="text/html", opt={"permission": NOTICE_PERMISSION})
    async def html(self, request: Request, meeting_id: FromPath[int]) -> Response[str]:
        ctx, refused = await self._prepare(request, meeting_id)
        options = ctx["options"]
        return refused or self._show(request, ctx, errors={},
                                     values={"bring": options.bring, "contact": options.contact})

    @get("/notice.pdf", name="meeting_notice_pdf", opt={"permission": NOTICE_PERMISSION})
    async def pdf(self, request: Request, meeting_id: FromPath[int]) -> Response[bytes] | Response[str]:
        ctx, refused = await self._prepare(request, meeting_id)
        if refused is not None:
            return refused
        html = notice.render_html(request.app.state.jinja, ctx, for_print=True)
        # WeasyPrint is CPU-bound: print in a thread so the server keeps answering.
        pdf = await asyncio.to_thread(notice.render_pdf, html, str(request.base_url))
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": notice.content_disposition(ctx["view"], "pdf")})

    @get("/notice.ics", name="meeting_notice_ics", opt={"permission": NOTICE_PERMISSION})
    async def ics(self, request: Request, meeting_id: FromPath[int]) -> Response[bytes] | Response[str]:
        ctx, refused = await self._prepare(request, meeting_id)
        if refused is not None:
            return refused
        body = notice.notice_ics(ctx, settings_of(request).secret()).encode("utf-8")
        return Response(body, media_type="text/calendar",
                        headers={"Content-Disposition": notice.content_disposition(ctx["view"], "ics")})
