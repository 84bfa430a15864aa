"""Pages: importing a roster file for a council — upload → preview with the row-by-row report →
confirm → progress (a background task, polled every second by HTMX, or a page that refreshes itself
without JavaScript).

The uploaded file waits in the data folder under an unguessable import id (see
import_service.PendingStore), so the preview is a page of its own (``GET …/import/<id>``) that a
reload shows again; "确认导入" starts the import at most once per id, and the progress page reads the
job's state in memory, so a reload shows where it is.
"""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Litestar, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from core.accounts.permissions import current_user
from core.i18n import _
from core.residents import import_service, importer, services
from core.web import is_htmx, parse_id, see_other, settings_of

PAGE = "residents/import.html"
FRAGMENT = "residents/_import.html"
#: Personal data on every page: nobody's to cache.
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
#: The upload may be the largest file accepted plus the form around it.
MAX_BODY = importer.MAX_BYTES + 64 * 1024
#: The sample file offered for download: the header and two rows, UTF-8 with BOM so Excel opens it right.
TEMPLATE_CSV = ("姓名,身份,楼栋,单元,房号,户号,手机后四位,专有部分面积\r\n"
                "朱秀英,业主,3栋,2,1502,3-2-1502,4460,126.4\r\n"
                "马晓东,租户,3栋,1,801,3-1-801,7305,\r\n")


def jobs_of(app: Litestar) -> import_service.ImportJobs:
    """The app's running and finished imports (created on first use)."""
    state = app.state
    jobs = state.get("roster_imports")
    if jobs is None:
        jobs = import_service.ImportJobs()
        state["roster_imports"] = jobs
    return jobs


def store_of(request: Request) -> import_service.PendingStore:
    return import_service.PendingStore(settings_of(request).data_dir)


class RosterImportController(Controller):
    path = "/councils/{council_id:int}/roster/import"
    opt = {"permission": "roster.manage"}  # noqa: RUF012 — Litestar reads it as a class attribute

    async def _council(self, council_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        council = await services.council_row(council_id) if parse_id(str(council_id)) else None
        if council is None:
            raise NotFoundException(_("没有这个议事机构。"))
        return council, await services.subtree_units(council["unit"])

    def _base(self, council_id: int) -> str:
        return f"/councils/{council_id}/roster/import"

    def _answer(self, request: Request, context: dict[str, Any], status_code: int = 200,
                headers: dict[str, str] | None = None) -> Template:
        template = FRAGMENT if is_htmx(request) else PAGE
        return Template(template, context=context, status_code=status_code, headers={**PRIVATE, **(headers or {})})

    def _context(self, council: dict[str, Any], units: list[dict[str, Any]], mode: str, **extra: Any) -> dict:
        return {"council": council, "units": units, "mode": mode, "base": self._base(council["id"]),
                "errors": {}, "values": {}, "notes": [], "max_mb": importer.MAX_BYTES // (1024 * 1024),
                "max_rows": importer.MAX_ROWS, "statuses": import_service.status_labels(),
                "labels": importer.field_labels(), **extra}

    @get("", name="roster_import")
    async def form(self, request: Request, council_id: FromPath[int]) -> Template:
        council, units = await self._council(council_id)
        return self._answer(request, self._context(council, units, "upload"))

    @get("/template.csv", name="roster_import_template", media_type="text/csv")
    async def template(self, council_id: FromPath[int]) -> Response[bytes]:
        await self._council(council_id)
        disposition = "attachment; filename=\"roster.csv\"; filename*=UTF-8''%E5%90%8D%E5%86%8C%E6%A8%A1%E6%9D%BF.csv"
        return Response(b"\xef\xbb\xbf" + TEMPLATE_CSV.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={**PRIVATE, "Content-Disposition": disposition})

    @post("", name="roster_import_upload", request_max_body_size=MAX_BODY)
    async def upload(self, request: Request, council_id: FromPath[int]) -> Template | Redirect:
        council, units = await self._council(council_id)
        form = await request.form()
        upload = form.get("file")
        raw_unit = form.get("unit")
        values = {"unit": raw_unit if isinstance(raw_unit, str) else ""}
        unit_ids = [u["id"] for u in units]
        unit = parse_id(values["unit"]) if values["unit"] else units[0]["id"]
        errors: dict[str, str] = {}
        data = b""
        filename = ""
        if unit not in unit_ids:
            errors["unit"] = _("请从列表中选择。")
        if isinstance(upload, UploadFile):
            filename = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
            data = await upload.read(importer.MAX_BYTES + 1)
        if not data and not filename:
            errors["file"] = _("请选择要导入的文件（.xlsx 或 .csv）。")
        if errors:
            return self._answer(request, self._context(council, units, "upload", errors=errors, values=values),
                                status_code=422)
        assert unit is not None
        parsed = await asyncio.to_thread(importer.parse, data, filename, unit)
        if parsed.problems:  # the file as a whole: say why beside the file field, keep nothing
            return self._answer(request, self._context(council, units, "upload", values=values, notes=parsed.notes,
                                                       errors={"file": " ".join(parsed.problems)}), status_code=422)
        pending = store_of(request).save(council["id"], unit, filename, data)
        target = f"{self._base(council['id'])}/{pending.import_id}"
        if not is_htmx(request):
            return see_other(target)
        context = await self._preview_context(council, units, pending, parsed)
        return self._answer(request, context, headers={"HX-Push-Url": target})

    async def _preview_context(self, council: dict[str, Any], units: list[dict[str, Any]],
                               pending: import_service.Pending, parsed: importer.ParsedFile | None = None) -> dict:
        if parsed is None:
            parsed = await asyncio.to_thread(importer.parse, pending.data, pending.filename, pending.unit)
        plan = await import_service.make_plan(parsed, pending.unit)
        unit = next((u for u in units if u["id"] == pending.unit), None)
        return self._context(council, units, "preview", import_id=pending.import_id, parsed=parsed,
                             preview=import_service.preview(plan), unit=unit,
                             values={"unit": str(pending.unit)})

    def _progress_context(self, council: dict[str, Any], units: list[dict[str, Any]],
                          job: import_service.ImportJob) -> dict:
        return self._context(council, units, "progress", import_id=job.import_id, job=job)

    async def _pending(self, request: Request, council_id: int, import_id: str) -> import_service.Pending | None:
        pending = store_of(request).load(import_id)
        return pending if pending is not None and pending.council == council_id else None

    def _gone(self, council: dict[str, Any], units: list[dict[str, Any]], request: Request) -> Template:
        return self._answer(request, self._context(council, units, "upload", errors={"file": _(
            "找不到这次导入：可能已经完成，或文件已过期（上传后保留 24 小时）。请查看名册，或重新上传。")}),
            status_code=404)

    async def _show(self, request: Request, council_id: int, import_id: str) -> Template:
        """The job's progress or result if it was started here, else the preview of the waiting file."""
        council, units = await self._council(council_id)
        job = jobs_of(request.app).get(import_id)
        if job is not None and job.council == council["id"]:
            return self._answer(request, self._progress_context(council, units, job))
        pending = await self._pending(request, council["id"], import_id)
        if pending is None:
            return self._gone(council, units, request)
        return self._answer(request, await self._preview_context(council, units, pending))

    @get("/{import_id:str}", name="roster_import_preview")
    async def show(self, request: Request, council_id: FromPath[int], import_id: FromPath[str]) -> Template:
        return await self._show(request, council_id, import_id)

    @get("/{import_id:str}/progress", name="roster_import_progress")
    async def progress(self, request: Request, council_id: FromPath[int], import_id: FromPath[str]) -> Template:
        """What the progress display polls every second (the same as the page, as a fragment for HTMX)."""
        return await self._show(request, council_id, import_id)

    @post("/{import_id:str}", name="roster_import_confirm")
    async def confirm(self, request: Request, council_id: FromPath[int],
                      import_id: FromPath[str]) -> Template | Redirect:
        council, units = await self._council(council_id)
        jobs = jobs_of(request.app)
        target = f"{self._base(council['id'])}/{import_id}"
        job = jobs.get(import_id)
        if job is None or job.council != council["id"]:
            pending = await self._pending(request, council["id"], import_id)
            if pending is None:
                return self._gone(council, units, request)
            parsed = await asyncio.to_thread(importer.parse, pending.data, pending.filename, pending.unit)
            if not parsed.ok:  # cannot happen for a file the preview accepted; show the report again
                context = await self._preview_context(council, units, pending, parsed)
                return self._answer(request, context, status_code=422)
            job = jobs.get(import_id)  # another retry may have started it while the file was read
            if job is None:
                user = await current_user(request)
                assert user is not None  # the guard let only staff through
                job = jobs.start(pending, parsed, user.actor, store_of(request))
        if not is_htmx(request):
            return see_other(target)
        return self._answer(request, self._progress_context(council, units, job), headers={"HX-Push-Url": target})
