"""Sign-in pages: the recorder's marks on the console, and the phone page behind the meeting's QR code.

- ``POST /meetings/<id>/attendance/<person>`` — the recorder marks a member 出席/请假/缺席/委托
  (``meeting.run``); HTMX gets the sign-in panel back (#attendance), a plain post a 303 to the console.
- ``/m/<id>/<key>`` — the page the QR code opens (public: the key is the credential). It shows the
  meeting as the console does and a 签到 button: a logged-in council member signs themselves in.
- ``/r/<token>/m/<id>/<key>`` — the same page for a resident opened through their personal link,
  behind its identity check (core.residents.controllers.resident_gate); they sign in to an open
  meeting as 列席居民.

A forged or altered key gets the same Chinese "link not valid" page with 404, and records nothing.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core import live
from core.accounts.permissions import PUBLIC, council_roles, current_user
from core.i18n import _
from core.meetings import attendance, services
from core.meetings.attendance import AttendanceError
from core.meetings.controllers import PAGE, RUNNING_ROLES, _context, _view
from core.residents.controllers import PRIVATE, resident_gate
from core.residents.identity import mask_name
from core.web import MAX_ID, form_of, is_htmx, plugins_of, see_other, settings_of

PHONE = "meetings/phone.html"
#: The console's sign-in panel: what an HTMX mark gets back.
PANEL = "meetings/_attendance.html"


class AttendanceController(Controller):
    """The recorder's marks, on the console."""

    path = "/meetings/{meeting_id:int}/attendance"

    @post("/{person_id:int}", name="meeting_attendance_mark", opt={"permission": "meeting.run"})
    async def mark(self, request: Request, meeting_id: FromPath[int], person_id: FromPath[int]) -> Template | Redirect:
        view = await _view(meeting_id)
        form = await form_of(request)
        status, proxy_name, errors = attendance.validate_mark(form.get("status"), form.get("proxy_name", "")[:200])
        if not errors:
            user = await current_user(request)
            try:
                await attendance.mark(meeting_id, person_id, status, proxy_name, user.actor if user else "anonymous")
            except AttendanceError as exc:
                errors = {"status": str(exc)}
        if not errors and not is_htmx(request):
            return see_other(f"/meetings/{meeting_id}#attendance")
        marked = {"attendance_errors": {person_id: errors},
                  "attendance_values": {person_id: {"status": status, "proxy_name": form.get("proxy_name", "")}}
                  } if errors else {}
        code = 422 if errors else 200
        if not is_htmx(request):  # refused without JavaScript: the whole page, errors beside the row
            return Template(PAGE, context=await _context(request, view) | marked, status_code=code)
        # HTMX: only the sign-in panel (#attendance); the item panel and what is typed there stay as they are.
        roles = council_roles(await current_user(request), view.council["id"])
        ctx = {"view": view, "practice": plugins_of(request).practice(view.council["practice"]),
               "can_run": bool(roles & RUNNING_ROLES), **await attendance.console_context(request, view), **marked}
        return Template(PANEL, context=ctx, status_code=code)


def _not_found() -> Template:
    return Template("residents/invalid.html", status_code=404, headers=PRIVATE, context={
        "title": _("签到链接无效"),
        "detail": _("这个签到二维码无效或已被改动，请重新扫描会场的二维码，或联系会议记录人。")})


def _key_ok(request: Request, meeting_id: int, key: str) -> bool:
    return 0 < meeting_id <= MAX_ID and attendance.key_valid(settings_of(request), meeting_id, key)


async def _phone_context(request: Request, meeting_id: int, key: str, *, resident: dict[str, Any] | None = None,
                         token: str = "", message: str = "", error: str = "") -> dict[str, Any] | None:
    """The phone page: the meeting as the console shows it, the sign-in count, and who is looking."""
    since = await live.version(request, f"meeting:{meeting_id}")  # before reading, so no change is missed
    view = await services.load_meeting(meeting_id)
    if view is None:
        return None
    summary = await attendance.summary(meeting_id)
    user = await current_user(request)
    who, status = "anonymous", ""
    if resident is not None:
        who, status = "resident", await attendance.status_of(meeting_id, entry_id=resident["id"])
        if not view.meeting["is_open"]:
            who = "resident_closed"
    elif user is not None:
        seat = user.person is not None and any(
            m for m in (summary.members if summary else []) if m["person"] == user.person)
        who = "member" if seat or (user.person is not None and view.council["id"] in user.roles) else "user"
        if user.person is not None:
            status = await attendance.status_of(meeting_id, person_id=user.person)
    path = f"/r/{token}/m/{meeting_id}/{key}" if resident is not None else f"/m/{meeting_id}/{key}"
    return {"view": view, "summary": summary, "who": who, "my_status": status, "labels": attendance.status_labels(),
            "path": path, "live_version": since, "message": message, "error": error,
            "ended": view.state in attendance.ENDED or view.state == "cancelled",
            "masked_name": mask_name(resident["name"]) if resident else "", "user": user}


async def _phone(request: Request, meeting_id: int, key: str, status_code: int = 200, **kwargs: Any) -> Template:
    ctx = await _phone_context(request, meeting_id, key, **kwargs)
    if ctx is None:
        return _not_found()
    return Template(PHONE, context=ctx, status_code=status_code, headers=PRIVATE)


def _answer_sign_in(signed: bool) -> str:
    return _("签到成功") if signed else _("您已签到")


class JoinController(Controller):
    """The meeting's QR code opens here: anyone may look; members sign in."""

    path = "/m"

    @get("/{meeting_id:int}/{key:str}", name="meeting_join", opt={"permission": PUBLIC})
    async def page(self, request: Request, meeting_id: FromPath[int], key: FromPath[str]) -> Template:
        if not _key_ok(request, meeting_id, key):
            return _not_found()
        return await _phone(request, meeting_id, key, message=request.query_params.get("done", "") and _("签到成功"))

    @post("/{meeting_id:int}/{key:str}", name="meeting_join_sign_in", opt={"permission": PUBLIC})
    async def sign_in(self, request: Request, meeting_id: FromPath[int], key: FromPath[str]) -> Template | Redirect:
        if not _key_ok(request, meeting_id, key):
            return _not_found()
        user = await current_user(request)
        if user is None:
            return see_other(f"/login?next=/m/{meeting_id}/{key}")
        if user.person is None:
            return await _phone(request, meeting_id, key, status_code=422,
                                error=_("您的账号没有对应的议事会成员，无需签到。"))
        try:
            signed = await attendance.sign_in_member(meeting_id, user.person, user.actor)
        except AttendanceError as exc:
            return await _phone(request, meeting_id, key, status_code=422, error=str(exc))
        if not is_htmx(request):
            return see_other(f"/m/{meeting_id}/{key}?done=1") if signed else await _phone(
                request, meeting_id, key, message=_answer_sign_in(False))
        return await _phone(request, meeting_id, key, message=_answer_sign_in(signed))


class ResidentJoinController(Controller):
    """The same page for a resident who came through their personal link (and its identity check)."""

    path = "/r/{token:str}/m"

    @get("/{meeting_id:int}/{key:str}", name="resident_meeting_join", opt={"permission": PUBLIC})
    async def page(self, request: Request, token: FromPath[str], meeting_id: FromPath[int],
                   key: FromPath[str]) -> Template:
        if not _key_ok(request, meeting_id, key):
            return _not_found()
        gate = await resident_gate(request, token, f"/r/{token}/m/{meeting_id}/{key}")
        if isinstance(gate, Template):
            return gate
        return await _phone(request, meeting_id, key, resident=gate[0], token=token,
                            message=request.query_params.get("done", "") and _("签到成功"))

    @post("/{meeting_id:int}/{key:str}", name="resident_meeting_sign_in", opt={"permission": PUBLIC})
    async def sign_in(self, request: Request, token: FromPath[str], meeting_id: FromPath[int],
                      key: FromPath[str]) -> Template | Redirect:
        if not _key_ok(request, meeting_id, key):
            return _not_found()
        gate = await resident_gate(request, token, f"/r/{token}/m/{meeting_id}/{key}")
        if isinstance(gate, Template):
            return gate
        entry, councils = gate
        try:
            signed = await attendance.sign_in_resident(meeting_id, entry, [c["id"] for c in councils],
                                                       f"resident:{entry['id']}")
        except AttendanceError as exc:
            return await _phone(request, meeting_id, key, status_code=422, resident=entry, token=token,
                                error=str(exc))
        if signed and not is_htmx(request):
            return see_other(f"/r/{token}/m/{meeting_id}/{key}?done=1")
        return await _phone(request, meeting_id, key, resident=entry, token=token,
                            message=_answer_sign_in(signed))


def routes() -> list[type[Controller]]:
    """Sign-in's routes, for core.builtin's yishi_routes."""
    return [AttendanceController, JoinController, ResidentJoinController]


__all__ = ["AttendanceController", "JoinController", "ResidentJoinController", "routes"]
