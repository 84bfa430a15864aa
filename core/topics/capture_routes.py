"""The pages of a meeting capture (docs/capture.md), made from a practice's capture spec and mounted
under its plugin (``yishi_routes`` returns ``capture_routes(SPEC)``):

- ``/`` — the practice's councils and their meetings;
- ``/meetings/<id>/capture`` — the recorder's tablet: log each issue in seconds, triage it, 交办, 回访;
- ``/meetings/<id>/<department_path>/<department id>`` (+ ``/pdf``) — one department's sheet;
- ``/councils/<id>/ledger`` (+ ``.csv``) — the ledger of all the council's meetings;
- ``/councils/<id>/scores`` — 单位测评, when the spec has ``[scores]``.

Writes answer htmx with the capture fragment (422 with the errors beside the fields) and plain
posts with a 303 back to the page, as core's console does.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from core import live
from core.accounts.permissions import council_roles, current_user
from core.documents.service import DocumentNotFound
from core.i18n import _
from core.lowcode.forms import Choices, validate
from core.lowcode.registry import shared_form
from core.minutes.render import render_pdf
from core.org.tables import Council
from core.security import nonce_of
from core.topics import capture
from core.topics.capture_documents import issues_context, practice_meeting, sheets_context
from core.topics.capture_read import (
    cell,
    column_labels,
    council_meetings,
    counts,
    ledger_csv,
    meeting_issues,
    today,
)
from core.topics.capture_spec import CaptureSpec
from core.topics.tables import Department
from core.topics.unit_scores import one_decimal, plain, score_units
from core.web import form_with_files, is_htmx, plugins_of, see_other, settings_of

NONCE_FIELD = "_nonce"
MAX_NONCE = 64
PAGE, FRAGMENT = "topics/capture.html", "topics/_capture.html"


async def _actor(request: Request) -> str:
    user = await current_user(request)
    return user.actor if user else "anonymous"


def _department_choices(departments: list[dict[str, Any]]) -> Choices:
    pairs = [(str(d["id"]), f"{d['name']}（{d['kind']}）" if d["kind"] else d["name"]) for d in departments]
    return Choices(units=pairs, by_field={"unit": pairs, "co_unit": pairs})


def _pdf(data: bytes, filename: str) -> Response[bytes]:
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}", "Cache-Control": "private, no-store"})


def capture_routes(spec: CaptureSpec) -> list[Any]:
    """The route handlers of one practice's capture; names start with ``<practice>:``."""
    p = spec.practice

    def workflow(request: Request) -> Any:
        return plugins_of(request).specs.workflow(spec.workflow)

    async def meeting_of(meeting_id: int) -> dict[str, Any]:
        row = await practice_meeting(spec, meeting_id)
        if row is None:
            raise NotFoundException(_("没有这次{meeting}。").format(**capture.words(spec)))
        return row

    async def council_of(council_id: int) -> dict[str, Any]:
        row = await Council.select().where(Council.id == council_id).first()
        if row is None or row["practice"] != p:
            raise NotFoundException(_("没有这个议事机构。"))
        return row

    class CaptureController(Controller):
        path = "/meetings/{meeting_id:int}"

        async def _context(self, request: Request, meeting: dict[str, Any], *, values: dict[str, Any] | None = None,
                           errors: dict[str, str] | None = None, failed: int | None = None) -> dict[str, Any]:
            user = await current_user(request)
            ctx = await issues_context(spec, meeting, plugins_of(request))
            if failed is not None and failed not in {i["id"] for i in ctx["issues"]}:
                failed = None  # not this meeting's issue: say so above the list, not beside a card
            specs = plugins_of(request).specs
            return {**ctx, "issues": list(reversed(ctx["issues"])), "form": specs.form(spec.form),
                    "reply_form": specs.form(spec.reply_form) if spec.reply_form else None,
                    "values": values or {}, "errors": errors or {}, "failed": failed,
                    "nonce": secrets.token_urlsafe(24), "writable": meeting["state"] in capture.WRITABLE_STATES,
                    "can_assign": user is not None and await request.app.state.access.allows(
                        user, "task.assign", meeting["council"]),
                    "live_version": await live.version(request, f"meeting:{meeting['id']}"),
                    "rating_spec": shared_form("manyidu"), "words": capture.words(spec),
                    "prepared": await capture.open_floor_item(spec, meeting["id"]) is not None}

        async def _answer(self, request: Request, meeting: dict[str, Any], status_code: int = 200,
                          **context: Any) -> Template | Redirect:
            if status_code == 200 and not is_htmx(request):
                return see_other(f"{spec.base}/meetings/{meeting['id']}/capture")
            ctx = await self._context(request, meeting, **context)
            return Template(FRAGMENT if is_htmx(request) else PAGE, context=ctx, status_code=status_code)

        @get("/capture", name=f"{p}:capture", opt={"permission": "meeting.run"})
        async def page(self, request: Request, meeting_id: FromPath[int]) -> Template:
            ctx = await self._context(request, await meeting_of(meeting_id))
            return Template(FRAGMENT if is_htmx(request) else PAGE, context=ctx)

        @post("/prepare", name=f"{p}:prepare", opt={"permission": "meeting.run"})
        async def prepare(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
            """Put the open floor on the agenda so the meeting can be opened, then go there."""
            meeting = await meeting_of(meeting_id)
            try:
                await capture.ensure_open_floor(spec, meeting_id, await _actor(request))
            except capture.CaptureError as exc:
                return await self._answer(request, meeting, 422, errors={"form": exc.message})
            return see_other(f"/meetings/{meeting_id}")

        @post("/issues", name=f"{p}:record", opt={"permission": "meeting.run"})
        async def record(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
            meeting = await meeting_of(meeting_id)
            data, _files = await form_with_files(request)
            nonce = (data.get(NONCE_FIELD) or [""])[0][:MAX_NONCE]
            result = validate(plugins_of(request).specs.form(spec.form), data)
            if not nonce:
                result.errors["form"] = _("页面已过期，请刷新后重新记录。")
            if result.ok:
                try:
                    await capture.record_issue(spec, settings_of(request).data_dir, meeting_id, result,
                                               await _actor(request), nonce)
                except capture.CaptureError as exc:
                    result.errors["form"] = exc.message
            if not result.ok:
                return await self._answer(request, meeting, 422, values=data, errors=result.errors)
            return await self._answer(request, meeting)

        @post("/issues/{topic_id:int}/triage", name=f"{p}:triage", opt={"permission": "meeting.run"})
        async def triage(self, request: Request, meeting_id: FromPath[int],
                         topic_id: FromPath[int]) -> Template | Redirect:
            meeting = await meeting_of(meeting_id)
            data, _files = await form_with_files(request)
            track = (data.get("track") or [""])[0]
            errors: dict[str, str] = {}
            reply = ""
            wf = workflow(request)
            chosen = capture.tracks_of(spec, wf).get(track)
            if chosen is not None and chosen.needs_reply and spec.reply_form:
                result = validate(plugins_of(request).specs.form(spec.reply_form), data)
                errors.update(result.errors)
                reply = result.values.get("reply", "")
            if not errors:
                user = await current_user(request)
                try:
                    await capture.triage(spec, meeting_id, topic_id, track, reply, workflow=wf,
                                         roles=council_roles(user, meeting["council"]), actor=await _actor(request))
                except capture.CaptureError as exc:
                    errors[exc.field or "form"] = exc.message
            if errors:
                return await self._answer(request, meeting, 422, values=data, errors=errors, failed=topic_id)
            return await self._answer(request, meeting)

        @post("/issues/{topic_id:int}/assign", name=f"{p}:assign", opt={"permission": "task.assign"})
        async def assign(self, request: Request, meeting_id: FromPath[int],
                         topic_id: FromPath[int]) -> Template | Redirect:
            meeting = await meeting_of(meeting_id)
            data, files = await form_with_files(request)
            issue = await capture.issue_of_meeting(spec, meeting_id, topic_id)
            if issue is not None:
                data["matter"] = [issue["title"][:100]]  # the 交办事项 is the issue as it was logged
            departments = await Department.select().where(Department.council == meeting["council"])
            result = validate(shared_form("jiaobandan"), data, files, _department_choices(departments))
            if result.ok:
                try:
                    await capture.assign(spec, settings_of(request).data_dir, meeting_id, topic_id, result,
                                         workflow=workflow(request), actor=await _actor(request))
                except capture.CaptureError as exc:
                    result.errors["form"] = exc.message
            if not result.ok:
                return await self._answer(request, meeting, 422, values=data, errors=result.errors, failed=topic_id)
            return await self._answer(request, meeting)

        @post("/issues/{topic_id:int}/rating", name=f"{p}:rate", opt={"permission": "meeting.run"})
        async def rate(self, request: Request, meeting_id: FromPath[int],
                       topic_id: FromPath[int]) -> Template | Redirect:
            meeting = await meeting_of(meeting_id)
            data, _files = await form_with_files(request)
            result = validate(shared_form("manyidu"), data)
            if result.ok:
                user = await current_user(request)
                try:
                    await capture.rate(spec, settings_of(request).data_dir, meeting_id, topic_id, result,
                                       workflow=workflow(request), roles=council_roles(user, meeting["council"]),
                                       actor=await _actor(request))
                except capture.CaptureError as exc:
                    result.errors["form"] = exc.message
            if not result.ok:
                return await self._answer(request, meeting, 422, values=data, errors=result.errors, failed=topic_id)
            return await self._answer(request, meeting)

    class CouncilController(Controller):
        path = "/councils/{council_id:int}"
        opt = {"permission": "topic.view"}  # noqa: RUF012

        async def _ledger(self, request: Request, council_id: int) -> dict[str, Any]:
            council = await council_of(council_id)
            wf = workflow(request)
            meetings = await council_meetings(council_id)
            issues = await meeting_issues(spec, wf, [m["id"] for m in meetings])
            tracks = capture.tracks_of(spec, wf)
            form = plugins_of(request).specs.form(spec.form)
            return {"council": council, "spec": spec, "meetings": {m["id"]: m for m in meetings}, "issues": issues,
                    "tracks": {t.id: t.label for t in tracks.values()}, "track_info": tracks,
                    "state_label": wf.state_label, "counts": counts(issues, tracks), "form": form,
                    "columns": list(zip(spec.page_columns(), column_labels(spec, form, spec.page_columns()),
                                        strict=True)), "cell": cell}

        @get("/ledger", name=f"{p}:ledger")
        async def ledger_page(self, request: Request, council_id: FromPath[int]) -> Template:
            return Template("topics/capture_ledger.html", context=await self._ledger(request, council_id))

        @get("/ledger.csv", name=f"{p}:ledger_csv")
        async def ledger_csv(self, request: Request, council_id: FromPath[int]) -> Response[bytes]:
            ctx = await self._ledger(request, council_id)
            body = ledger_csv(spec, ctx["form"], ctx["issues"], ctx["meetings"], tracks=ctx["tracks"],
                              state_label=ctx["state_label"])
            name = quote(f"{_(spec.ledger_title)}-{ctx['council']['name']}.csv")
            return Response(body, media_type="text/csv; charset=utf-8", headers={
                "Content-Disposition": f"attachment; filename*=UTF-8''{name}", "Cache-Control": "private, no-store"})

        @get("/scores", name=f"{p}:scores")
        async def scores(self, request: Request, council_id: FromPath[int]) -> Template:
            council = await council_of(council_id)
            if spec.scores is None:
                raise NotFoundException(_("这种议事实践没有单位测评。"))
            meetings = await council_meetings(council_id)
            issues = await meeting_issues(spec, workflow(request), [m["id"] for m in meetings])
            ratings = {i["id"]: i["rating"] for i in issues if i["rating"]}
            scores = score_units([t for i in issues for t in i["tasks"]], ratings, today(), spec.scores)
            return Template("topics/capture_scores.html", context={
                "council": council, "spec": spec, "scores": scores, "fmt": one_decimal, "plain": plain,
                "rule": spec.scores})

    @get("/", name=f"{p}:index", opt={"permission": "authenticated"})
    async def index(request: Request) -> Template:
        user = await current_user(request)
        councils = await Council.select().where(Council.practice == p).order_by(Council.id)
        access = request.app.state.access
        mine = []
        for c in councils:
            if user is not None and await access.allows(user, "meeting.view", c["id"]):
                c["meetings"] = list(reversed(await council_meetings(c["id"])))
                c["can_run"] = await access.allows(user, "meeting.run", c["id"])
                mine.append(c)
        return Template("topics/capture_index.html", context={
            "councils": mine, "spec": spec, "practice": plugins_of(request).practices.get(p),
            "issues_doc": spec.document("issues")})

    routes: list[Any] = [index, CaptureController, CouncilController]
    sheet = spec.document("department_sheets")
    if sheet is not None and sheet.department_path:
        routes.append(_department_sheet(spec, sheet.template, sheet.department_path))
    return routes


def _department_sheet(spec: CaptureSpec, template: str, sheet_path: str) -> type[Controller]:
    """One department's sheet of one meeting (the whole meeting's is the spec's document)."""

    async def context(request: Request, meeting_id: int, department_id: int) -> dict[str, Any]:
        try:
            ctx = await sheets_context(spec, meeting_id, plugins_of(request), department_id=department_id)
        except DocumentNotFound as exc:
            raise NotFoundException(str(exc)) from exc
        return {**ctx, "department_id": department_id}

    def render(request: Request, ctx: dict[str, Any], *, for_print: bool) -> str:
        page = request.app.state.jinja.get_template(template)
        return page.render(**ctx, for_print=for_print, nonce="" if for_print else nonce_of(request))

    class DepartmentSheetController(Controller):
        path = f"/meetings/{{meeting_id:int}}/{sheet_path}/{{department_id:int}}"
        opt = {"permission": "meeting.view"}  # noqa: RUF012

        @get("/", name=f"{spec.practice}:department_sheet", media_type="text/html")
        async def page(self, request: Request, meeting_id: FromPath[int],
                       department_id: FromPath[int]) -> Response[str]:
            ctx = await context(request, meeting_id, department_id)
            return Response(render(request, ctx, for_print=False), media_type="text/html")

        @get("/pdf", name=f"{spec.practice}:department_sheet_pdf")
        async def pdf(self, request: Request, meeting_id: FromPath[int],
                      department_id: FromPath[int]) -> Response[bytes]:
            ctx = await context(request, meeting_id, department_id)
            page = render(request, ctx, for_print=True)
            data = await asyncio.to_thread(render_pdf, page, str(request.base_url))
            name = ctx["sheets"][0]["department"]["name"]
            return _pdf(data, f"{_(sheet_title(spec))}-{name}-{ctx['meeting']['title']}.pdf")

    return DepartmentSheetController


def sheet_title(spec: CaptureSpec) -> str:
    sheet = spec.document("department_sheets")
    return sheet.title if sheet else ""
