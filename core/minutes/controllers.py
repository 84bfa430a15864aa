"""Minutes on screen (HTML), as a PDF and as Word — through the documents service, so a published
meeting's minutes carry the record's SHA-256 whichever way they are fetched."""

from __future__ import annotations

from litestar import Controller, Request, get
from litestar.params import FromPath
from litestar.response import Response, Template

from core.documents.controllers import serve_document


class MinutesController(Controller):
    path = "/meetings/{meeting_id:int}"

    @get("/minutes", name="minutes_html", opt={"permission": "meeting.view"})
    async def html(self, request: Request, meeting_id: FromPath[int]) -> Response[bytes] | Template:
        return await serve_document(request, meeting_id, "minutes", "html")

    @get("/minutes.pdf", name="minutes_pdf", opt={"permission": "meeting.view"})
    async def pdf(self, request: Request, meeting_id: FromPath[int]) -> Response[bytes] | Template:
        return await serve_document(request, meeting_id, "minutes", "pdf")

    @get("/minutes.docx", name="minutes_docx", opt={"permission": "meeting.view"})
    async def docx(self, request: Request, meeting_id: FromPath[int]) -> Response[bytes] | Template:
        return await serve_document(request, meeting_id, "minutes", "docx")
