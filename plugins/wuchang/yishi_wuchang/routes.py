"""The plugin's pages, under /p/wuchang/.

- ``/meetings/<id>/capture`` — the recorder's tablet: log each issue in seconds, triage it;
- ``/meetings/<id>/jiaoban/<department id>`` (+ ``/pdf``) — one department's 交办单;
- ``/councils/<id>/ledger`` (+ ``.csv``) — the 民情台账 of all the council's 屋场恳谈会;
- ``/councils/<id>/scores`` — 单位测评: each department's score from residents' ratings.

The 回音表 and the meeting's 交办单 are core documents (documents.py): /meetings/<id>/documents/….

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
from core.i18n import _
from core.lowcode.forms import Choices, validate
from core.lowcode.registry import shared_form
from core.org.tables import Council
from core.topics.tables import Department
from core.web import form_with_files, is_htmx, plugins_of, see_other, settings_of
from yishi_wuchang import capture, documents, ledger

PRACTICE_ID = "wuchang"
CAPTURE_FORM = "wuchang_minqing"
REPLY_FORM = "wuchang_huiyin"
WORKFLOW = "wuchang_topic"
NONCE_FIELD = "_nonce"
MAX_NONCE = 64


def _nonce() -> str:
    return secrets.token_urlsafe(24)


def _spec(request: Request, form_id: str) -> Any:
    return plugins_of(request).specs.form(form_id)


def _workflow(request: Request) -> Any:
    return plugins_of(request).specs.workflow(WORKFLOW)


async def _actor(request: Request) -> str:
    user = await current_user(request)
    return user.actor if user else "anonymous"


async def _meeting(meeting_id: int) -> dict[str, Any]:
    """The meeting with its council, if it is a 屋场恳谈会 council's; else 404."""
    row = await documents.wuchang_meeting(meeting_id)
    if row is None:
        raise NotFoundException(_("没有这次屋场恳谈会。"))
    return row


async def _council(council_id: int) -> dict[str, Any]:
    row = await Council.select().where(Council.id == council_id).first()
    if row is None or row["practice"] != PRACTICE_ID:
        raise NotFoundException(_("没有这个屋场恳谈会。"))
    return row


async def _departments(council_id: int) -> list[dict[str, Any]]:
    return await Department.select().where(Department.council == council_id).order_by(Department.id)


def _department_choices(departments: list[dict[str, Any]]) -> Choices:
    pairs = [(str(d["id"]), f"{d['name']}（{d['kind']}）" if d["kind"] else d["name"]) for d in departments]
    return Choices(units=pairs, by_field={"unit": pairs, "co_unit": pairs})


# -------------------------------------------------------------------------------------------------
# The recorder's capture screen
# -------------------------------------------------------------------------------------------------


class CaptureController(Controller):
    path = "/meetings/{meeting_id:int}"

    async def _context(self, request: Request, meeting: dict[str, Any], *, values: dict[str, Any] | None = None,
                       errors: dict[str, str] | None = None, failed: int | None = None,
                       message: str = "") -> dict[str, Any]:
        user = await current_user(request)
        can_assign = user is not None and await request.app.state.access.allows(user, "task.assign",
                                                                                  meeting["council"])
        issues = await ledger.meeting_issues([meeting["id"]])
        if failed is not None and failed not in {i["id"] for i in issues}:
            failed = None  # not this meeting's issue: say so above the list, not beside a card
        departments = await _departments(meeting["council"])
        wf = _workflow(request)
        return {
            "meeting": meeting, "issues": list(reversed(issues)), "spec": _spec(request, CAPTURE_FORM),
            "values": values or {}, "errors": errors or {}, "failed": failed, "message": message,
            "nonce": _nonce(), "writable": meeting["state"] in capture.WRITABLE_STATES, "can_assign": can_assign,
            "departments": departments, "tracks": capture.track_labels(), "state_label": wf.state_label,
            "live_version": await live.version(request, f"meeting:{meeting['id']}"),
            "counts": _counts(issues), "rating_spec": shared_form("manyidu"),
            "prepared": await capture.open_floor_item(meeting["id"]) is not None,
            "ratings": ledger.rating_labels(),
        }

    async def _answer(self, request: Request, meeting: dict[str, Any], status_code: int = 200,
                      **context: Any) -> Template | Redirect:
        if status_code == 200 and not is_htmx(request):
            return see_other(f"/p/wuchang/meetings/{meeting['id']}/capture")
        ctx = await self._context(request, meeting, **context)
        name = "wuchang/_capture.html" if is_htmx(request) else "wuchang/capture.html"
        return Template(name, context=ctx, status_code=status_code)

    @get("/capture", name="wuchang:capture", opt={"permission": "meeting.run"})
    async def page(self, request: Request, meeting_id: FromPath[int]) -> Template:
        meeting = await _meeting(meeting_id)
        name = "wuchang/_capture.html" if is_htmx(request) else "wuchang/capture.html"
        return Template(name, context=await self._context(request, meeting))

    @post("/prepare", name="wuchang:prepare", opt={"permission": "meeting.run"})
    async def prepare(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
        """Put the open floor (群众提事) on the agenda so the meeting can be opened, then go there."""
        meeting = await _meeting(meeting_id)
        try:
            await capture.ensure_open_floor(meeting_id, await _actor(request))
        except capture.CaptureError as exc:
            return await self._answer(request, meeting, 422, errors={"form": exc.message})
        return see_other(f"/meetings/{meeting_id}")

    @post("/issues", name="wuchang:record", opt={"permission": "meeting.run"})
    async def record(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
        meeting = await _meeting(meeting_id)
        data, _files = await form_with_files(request)
        nonce = (data.get(NONCE_FIELD) or [""])[0][:MAX_NONCE]
        result = validate(_spec(request, CAPTURE_FORM), data)
        if not nonce:
            result.errors["form"] = _("页面已过期，请刷新后重新记录。")
        if result.ok:
            try:
                await capture.record_issue(settings_of(request).data_dir, meeting_id, result,
                                           await _actor(request), nonce)
            except capture.CaptureError as exc:
                result.errors["form"] = exc.message
        if not result.ok:
            return await self._answer(request, meeting, 422, values=data, errors=result.errors)
        return await self._answer(request, meeting)

    @post("/issues/{topic_id:int}/triage", name="wuchang:triage", opt={"permission": "meeting.run"})
    async def triage(self, request: Request, meeting_id: FromPath[int], topic_id: FromPath[int]) -> Template | Redirect:
        meeting = await _meeting(meeting_id)
        data, _files = await form_with_files(request)
        track = (data.get("track") or [""])[0]
        errors: dict[str, str] = {}
        reply = ""
        if track in ("explain", "onsite"):
            result = validate(_spec(request, REPLY_FORM), data)
            errors.update(result.errors)
            reply = result.values.get("reply", "")
        if not errors:
            user = await current_user(request)
            try:
                await capture.triage(meeting_id, topic_id, track, reply, spec=_workflow(request),
                                     roles=council_roles(user, meeting["council"]), actor=await _actor(request))
            except capture.CaptureError as exc:
                errors[exc.field or "form"] = exc.message
        if errors:
            return await self._answer(request, meeting, 422, values=data, errors=errors, failed=topic_id)
        return await self._answer(request, meeting)

    @post("/issues/{topic_id:int}/assign", name="wuchang:assign", opt={"permission": "task.assign"})
    async def assign(self, request: Request, meeting_id: FromPath[int], topic_id: FromPath[int]) -> Template | Redirect:
        meeting = await _meeting(meeting_id)
        data, files = await form_with_files(request)
        issue = await capture.issue_of_meeting(meeting_id, topic_id)
        if issue is not None:
            data["matter"] = [issue["title"][:100]]  # the 交办事项 is the issue as it was logged
        departments = await _departments(meeting["council"])
        result = validate(shared_form("jiaobandan"), data, files, _department_choices(departments))
        if result.ok:
            try:
                await capture.assign(settings_of(request).data_dir, meeting_id, topic_id, result,
                                     await _actor(request))
            except capture.CaptureError as exc:
                result.errors["form"] = exc.message
        if not result.ok:
            return await self._answer(request, meeting, 422, values=data, errors=result.errors, failed=topic_id)
        return await self._answer(request, meeting)

    @post("/issues/{topic_id:int}/rating", name="wuchang:rate", opt={"permission": "meeting.run"})
    async def rate(self, request: Request, meeting_id: FromPath[int], topic_id: FromPath[int]) -> Template | Redirect:
        meeting = await _meeting(meeting_id)
        data, _files = await form_with_files(request)
        result = validate(shared_form("manyidu"), data)
        if result.ok:
            user = await current_user(request)
            try:
                await capture.rate(settings_of(request).data_dir, meeting_id, topic_id, result,
                                   spec=_workflow(request), roles=council_roles(user, meeting["council"]),
                                   actor=await _actor(request))
            except capture.CaptureError as exc:
                result.errors["form"] = exc.message
        if not result.ok:
            return await self._answer(request, meeting, 422, values=data, errors=result.errors, failed=topic_id)
        return await self._answer(request, meeting)


_counts = documents.counts


# -------------------------------------------------------------------------------------------------
# Documents of one meeting: the 回音 sheet and each department's 交办单
# -------------------------------------------------------------------------------------------------


class DepartmentSheetController(Controller):
    """One department's 交办单 of one meeting (the whole meeting's is core's document ``wuchang_jiaoban``)."""

    path = "/meetings/{meeting_id:int}/jiaoban/{department_id:int}"
    opt = {"permission": "meeting.view"}  # noqa: RUF012

    @get("/", name="wuchang:jiaoban", media_type="text/html")
    async def page(self, request: Request, meeting_id: FromPath[int], department_id: FromPath[int]) -> Response[str]:
        ctx = await documents.department_context(request, meeting_id, department_id)
        return documents.html(request, "wuchang/jiaoban.html", ctx)

    @get("/pdf", name="wuchang:jiaoban_pdf")
    async def pdf(self, request: Request, meeting_id: FromPath[int], department_id: FromPath[int]) -> Response[bytes]:
        ctx = await documents.department_context(request, meeting_id, department_id)
        data = await asyncio.to_thread(documents.pdf, request, "wuchang/jiaoban.html", ctx)
        return _pdf(data, f"交办单-{ctx['sheets'][0]['department']['name']}-{ctx['meeting']['title']}.pdf")


def _pdf(data: bytes, filename: str) -> Response[bytes]:
    return Response(data, media_type="application/pdf", headers={
        "Content-Disposition": f"inline; filename*=UTF-8''{quote(filename)}", "Cache-Control": "private, no-store"})


# -------------------------------------------------------------------------------------------------
# The council: 民情台账 and 单位测评
# -------------------------------------------------------------------------------------------------


class CouncilController(Controller):
    path = "/councils/{council_id:int}"
    opt = {"permission": "topic.view"}  # noqa: RUF012

    async def _ledger(self, request: Request, council_id: int) -> dict[str, Any]:
        council = await _council(council_id)
        meetings = await ledger.council_meetings(council_id)
        issues = await ledger.meeting_issues([m["id"] for m in meetings])
        return {"council": council, "meetings": {m["id"]: m for m in meetings}, "issues": issues,
                "tracks": capture.track_labels(), "state_label": _workflow(request).state_label,
                "ratings": ledger.rating_labels(), "counts": _counts(issues)}

    @get("/ledger", name="wuchang:ledger")
    async def ledger_page(self, request: Request, council_id: FromPath[int]) -> Template:
        return Template("wuchang/ledger.html", context=await self._ledger(request, council_id))

    @get("/ledger.csv", name="wuchang:ledger_csv")
    async def ledger_csv(self, request: Request, council_id: FromPath[int]) -> Response[bytes]:
        ctx = await self._ledger(request, council_id)
        body = ledger.ledger_csv(ctx["issues"], ctx["meetings"], ctx["state_label"])
        name = quote(f"民情台账-{ctx['council']['name']}.csv")
        return Response(body, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{name}", "Cache-Control": "private, no-store"})

    @get("/scores", name="wuchang:scores")
    async def scores(self, council_id: FromPath[int]) -> Template:
        council = await _council(council_id)
        meetings = await ledger.council_meetings(council_id)
        return Template("wuchang/scores.html", context={
            "council": council, "scores": await ledger.council_scores([m["id"] for m in meetings]),
            "fmt": ledger.one_decimal, "weights": ledger.WEIGHTS})


# -------------------------------------------------------------------------------------------------
# The plugin's index: its councils and their meetings
# -------------------------------------------------------------------------------------------------


@get("/", name="wuchang:index", opt={"permission": "authenticated"})
async def index(request: Request) -> Template:
    user = await current_user(request)
    councils = await Council.select().where(Council.practice == PRACTICE_ID).order_by(Council.id)
    access = request.app.state.access
    mine = []
    for c in councils:
        if user is not None and await access.allows(user, "meeting.view", c["id"]):
            c["meetings"] = list(reversed(await ledger.council_meetings(c["id"])))
            c["can_run"] = await access.allows(user, "meeting.run", c["id"])
            mine.append(c)
    return Template("wuchang/index.html", context={"councils": mine})


ROUTES = [index, CaptureController, DepartmentSheetController, CouncilController]
