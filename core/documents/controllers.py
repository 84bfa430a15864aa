"""Pages: every document of a meeting in each format, the public copy of a published 公示, the
verification page (upload a file; open to anyone holding a printed copy) and the ledgers (台账) of
a council as CSV/XLSX with filters."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException, NotFoundException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import FromPath
from litestar.response import Response, Template

from core.accounts.permissions import PUBLIC
from core.documents.service import DocumentError, DocumentNotFound, build_document, document_specs, specs_for_practice
from core.documents.verify import MAX_BYTES, looks_like_document, verify_document
from core.i18n import _
from core.ratelimit import RateLimiter, SharedCounts
from core.security import nonce_of
from core.web import plugins_of, settings_of

PRIVATE = {"Cache-Control": "no-store"}


def attachment(filename: str, fallback: str) -> dict[str, str]:
    return {**PRIVATE, "Content-Disposition": f"attachment; filename=\"{fallback}\"; "
                                              f"filename*=UTF-8''{quote(filename)}"}


class DocumentController(Controller):
    """``/meetings/{id}/documents/{document id}.{html|pdf|docx}`` for every declared document."""

    path = "/meetings/{meeting_id:int}"

    @get("/documents", name="meeting_documents", opt={"permission": "meeting.view"})
    async def index(self, request: Request, meeting_id: FromPath[int]) -> Template:
        from core.meetings.services import load_meeting

        view = await load_meeting(meeting_id)
        if view is None:
            raise NotFoundException(_("会议 {id} 不存在。").format(id=meeting_id))
        return Template("documents/index.html", context={
            "view": view, "specs": specs_for_practice(document_specs(plugins_of(request)), view.council["practice"])})

    @get("/documents/{name:str}", name="meeting_document", opt={"permission": "meeting.view"})
    async def document(self, request: Request, meeting_id: FromPath[int],
                       name: FromPath[str]) -> Response[bytes] | Template:
        doc_id, _dot, fmt = name.rpartition(".")
        if not doc_id:
            doc_id, fmt = name, "html"
        return await serve_document(request, meeting_id, doc_id, fmt)


async def serve_document(request: Request, meeting_id: int, doc_id: str, fmt: str,
                         public: bool = False) -> Response[bytes] | Template:
    """The document as a page (html) or a download; a refusal as a page that says why (409)."""
    try:
        built = await build_document(plugins_of(request), settings_of(request), request.app.state.jinja, doc_id,
                                     meeting_id, fmt, base_url=str(request.base_url), nonce=nonce_of(request),
                                     public=public)
    except DocumentError as exc:
        if isinstance(exc, DocumentNotFound):
            raise NotFoundException(str(exc)) from exc
        return Template("error.html", context={"title": _("无法生成文档"), "detail": str(exc), "status": 409},
                        status_code=409, headers=PRIVATE)
    if fmt == "html":
        return Response(built.data, media_type=built.media_type, headers=PRIVATE)
    return Response(built.data, media_type=built.media_type,
                    headers=attachment(built.filename, f"{doc_id}-{meeting_id}.{fmt}"))


def public_limiters(shared: SharedCounts | None = None) -> dict[str, RateLimiter]:
    """Per app (kept in app.state), by client address: uploads to the verification page, and public
    公示 PDFs (each is printed afresh, a second of work) — as for residents' links (core.ratelimit)."""
    return {"verify": RateLimiter(30, 600, "document-verify", shared),
            "pdf": RateLimiter(30, 600, "document-pdf", shared)}


def _limiter(request: Request, kind: str) -> RateLimiter:
    state = request.app.state
    limiters = state.get("document_limits")
    if limiters is None:
        limiters = public_limiters(state.get("rate_counts"))
        state["document_limits"] = limiters
    return limiters[kind]


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _too_many() -> Template:
    return Template("error.html", status_code=429, headers=PRIVATE, context={
        "title": _("请稍后再试"), "detail": _("请求次数过多，请稍后再试。"), "status": 429})


class PublicDocumentController(Controller):
    """``/public/meetings/{id}/gongshi`` (and ``.pdf``): the 公示 of a published meeting for anyone —
    a resident opens it from a link or a QR code on the notice board, without logging in. Before the
    meeting is published there is nothing here (404). It shows what the paper on the wall shows and
    no more: the council, the counts, the decisions and the tasks with their units, no names of
    members or residents."""

    path = "/public/meetings/{meeting_id:int}"
    opt = {"permission": PUBLIC}  # noqa: RUF012 — the 公示 is public by nature

    @get("/gongshi", name="public_gongshi")
    async def page(self, request: Request, meeting_id: FromPath[int]) -> Response[bytes] | Template:
        return await serve_document(request, meeting_id, "gongshi", "html", public=True)

    @get("/gongshi.pdf", name="public_gongshi_pdf")
    async def pdf(self, request: Request, meeting_id: FromPath[int]) -> Response[bytes] | Template:
        limiter = _limiter(request, "pdf")
        if not await limiter.allow(_client(request)):
            return _too_many()
        return await serve_document(request, meeting_id, "gongshi", "pdf", public=True)


class VerifyController(Controller):
    """Upload a document and hear whether it matches the current record — anyone may, without logging
    in: whoever holds a printed copy can check it. Uploads are rate-limited by address."""

    path = "/documents/verify"
    opt = {"permission": PUBLIC}  # noqa: RUF012 — Litestar reads it as a class attribute

    @get("", name="document_verify_form")
    async def form(self) -> Template:
        return Template("documents/verify.html", context={"verdict": None, "error": ""}, headers=PRIVATE)

    @post("", name="document_verify", request_max_body_size=MAX_BYTES + 64 * 1024)
    async def check(self, request: Request) -> Template:
        def refuse(error: str, status: int) -> Template:
            return Template("documents/verify.html", context={"verdict": None, "error": error},
                            status_code=status, headers=PRIVATE)

        if not await _limiter(request, "verify").allow(_client(request)):
            return refuse(_("核验次数过多，请 10 分钟后再试。"), 429)
        too_big = _("文件太大（超过 20 MB），不是本系统生成的文档。")
        try:
            form = await request.form()
        except RequestEntityTooLarge:
            return refuse(too_big, 413)
        except ClientException:  # a broken upload: not multipart, cut off, over the parser's limits
            return refuse(_("上传没有完成或格式不对，请重新选择文件再试。"), 400)
        upload = form.get("file")
        data = await upload.read(MAX_BYTES + 1) if isinstance(upload, UploadFile) else b""
        if not data:
            return refuse(_("请选择要核验的文件（PDF、Word 或网页）。"), 422)
        if len(data) > MAX_BYTES:
            return refuse(too_big, 413)
        if not looks_like_document(data):
            return refuse(_("这不是 PDF、Word（.docx）或网页文件，无法核验。请上传本系统生成的纪要或公示。"), 422)
        verdict = await verify_document(data)
        return Template("documents/verify.html", context={"verdict": verdict, "error": "",
                                                          "filename": getattr(upload, "filename", "")},
                        status_code=200, headers=PRIVATE)


class LedgerController(Controller):
    """``/councils/{id}/ledger``: the filter form, and the topics/tasks ledgers as CSV or XLSX."""

    path = "/councils/{council_id:int}/ledger"
    opt = {"permission": "topic.view"}  # noqa: RUF012

    @get("", name="council_ledger")
    async def page(self, request: Request, council_id: FromPath[int]) -> Template:
        from core.residents.services import council_row
        from core.topics.ledger import parse_filters
        from core.topics.services import topic_state_labels
        from core.topics.tasks import list_departments

        council = await council_row(council_id)
        if council is None:
            raise NotFoundException(_("没有这个议事机构。"))
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        _filters, errors = parse_filters(params)
        from core.lowcode.workflows import shared_workflows

        def query(*keys: str, state_key: str) -> str:
            picked = {k: params[k] for k in keys if params.get(k)}
            if params.get(state_key):
                picked["state"] = params[state_key]
            return urlencode(picked)

        task_states = {sid: s.label for sid, s in shared_workflows()["task"].states.items()}
        return Template("documents/ledger.html", context={
            "council": council, "values": params, "errors": errors,
            "topics_query": query("from", "to", "category", state_key="state"),
            "tasks_query": query("from", "to", "category", "unit", state_key="task_state"),
            "states": topic_state_labels(), "task_states": task_states,
            "units": await list_departments(council_id)}, status_code=422 if errors else 200)

    @get("/{name:str}", name="council_ledger_file")
    async def file(self, request: Request, council_id: FromPath[int], name: FromPath[str]) -> Response[bytes]:
        from core.topics.ledger import LedgerError, export_ledger, ledger_title, parse_filters

        kind, _dot, fmt = name.rpartition(".")
        if kind not in ("topics", "tasks") or fmt not in ("csv", "xlsx"):
            raise NotFoundException(_("没有这个台账文件。"))
        params = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
        params["council"] = str(council_id)  # the council in the path, whatever the query says
        filters, errors = parse_filters(params)
        if errors:
            raise ValidationException("；".join(errors.values()))
        try:
            data, _count = await export_ledger(kind, filters, fmt)
        except LedgerError as exc:
            raise ValidationException(str(exc)) from exc
        media = "text/csv; charset=utf-8" if fmt == "csv" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        filename = f"{ledger_title(kind)}-{council_id}-{date.today():%Y%m%d}.{fmt}"
        return Response(data, media_type=media, headers=attachment(filename, f"ledger-{kind}-{council_id}.{fmt}"))


def routes() -> list[Any]:
    return [DocumentController, PublicDocumentController, VerifyController, LedgerController]
