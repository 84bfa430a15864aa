"""The chair's meeting console: one page, every action a small form that HTMX swaps in place.

Without JavaScript every form still posts and the server answers with a redirect to the page, so
a reload always shows the true state.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from core.accounts.permissions import council_roles, current_user
from core.i18n import _
from core.lowcode.workflow import TransitionRefused
from core.meetings import lifecycle, services
from core.meetings.handcount import parse_counts, rule_label
from core.meetings.services import MeetingError, MeetingView
from core.web import form_of, is_htmx, page_or_fragment, parse_id, plugins_of, see_other

PAGE = "meetings/console.html"
FRAGMENT = "meetings/_console.html"


async def _view(meeting_id: int) -> MeetingView:
    view = await services.load_meeting(meeting_id)
    if view is None:
        raise NotFoundException(_("会议 {id} 不存在").format(id=meeting_id))
    return view


async def _actor(request: Request) -> str:
    user = await current_user(request)
    return user.actor if user else "anonymous"


async def _roles(request: Request, council_id: int) -> set[str]:
    return council_roles(await current_user(request), council_id)


async def _context(request: Request, view: MeetingView, **extra: Any) -> dict[str, Any]:
    practice = plugins_of(request).practice(view.council["practice"])
    roles = await _roles(request, view.council["id"])
    spec = lifecycle.meeting_workflow()
    return {"view": view, "practice": practice, "rule_label": rule_label(), "errors": {},
            "values": {}, "message": "", "steps": await lifecycle.offered(view.meeting, roles),
            "can_override": "chair" in roles,
            "workflow_states": [(s, services.state_labels().get(s, spec.state_label(s))) for s in spec.states],
            "meeting_step_labels": services.step_labels(),
            # attendance: the sign-in panel's context (core.meetings.attendance) goes here
            **extra}


class MeetingController(Controller):
    path = "/meetings"

    @get("/{meeting_id:int}", name="meeting", opt={"permission": "meeting.view"})
    async def console(self, request: Request, meeting_id: FromPath[int]) -> Template:
        view = await _view(meeting_id)
        return Template(PAGE, context=await _context(request, view))

    async def _answer(self, request: Request, meeting_id: int, *, error: str = "",
                      errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
                      item_id: int | None = None) -> Template | Redirect:
        failed = bool(error or errors)
        if not failed and not is_htmx(request):
            return see_other(f"/meetings/{meeting_id}")
        view = await _view(meeting_id)
        ctx = await _context(request, view, message=error, errors=errors or {}, values=values or {},
                             error_item=item_id)
        return page_or_fragment(request, PAGE, FRAGMENT, ctx, status_code=422 if failed else 200)

    async def _council_roles(self, request: Request, meeting_id: int) -> set[str]:
        view = await _view(meeting_id)
        return await _roles(request, view.council["id"])

    @post("/{meeting_id:int}/step", name="meeting_step", opt={"permission": "meeting.run"})
    async def step(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
        """Any lifecycle step the meeting workflow offers (发出通知, 审定纪要, 公示, 取消会议 …)."""
        form = await form_of(request)
        try:
            await services.step_meeting(meeting_id, form.get("transition", "")[:40], await _actor(request),
                                        await self._council_roles(request, meeting_id), form.get("reason", "")[:2000])
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc), values={"reason": form.get("reason", "")})
        return await self._answer(request, meeting_id)

    @post("/{meeting_id:int}/override", name="meeting_override", opt={"permission": "meeting.override"})
    async def override(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
        """The chair corrects the meeting's state, with a reason that is recorded (纠错)."""
        await _view(meeting_id)
        form = await form_of(request)
        try:
            await lifecycle.override_meeting(meeting_id, form.get("target", "")[:40], actor=await _actor(request),
                                             reason=form.get("reason", "")[:2000])
        except TransitionRefused as exc:
            return await self._answer(request, meeting_id, errors={"override_reason": exc.message},
                                      values={"override_reason": form.get("reason", "")})
        return await self._answer(request, meeting_id)

    @post("/{meeting_id:int}/open", name="meeting_open", opt={"permission": "meeting.run"})
    async def open(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
        await _view(meeting_id)
        try:
            roles = await self._council_roles(request, meeting_id)
            await services.open_meeting(meeting_id, await _actor(request), roles)
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc))
        return await self._answer(request, meeting_id)

    @post("/{meeting_id:int}/goto", name="meeting_goto", opt={"permission": "meeting.run"})
    async def goto(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
        await _view(meeting_id)
        position = parse_id((await form_of(request)).get("position"))
        if position is None:
            return await self._answer(request, meeting_id, error=_("请选择一个议题。"))
        try:
            await services.go_to_item(meeting_id, position, await _actor(request))
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc))
        return await self._answer(request, meeting_id)

    @post("/{meeting_id:int}/items/{item_id:int}/hands", name="meeting_hands", opt={"permission": "meeting.run"})
    async def hands(self, request: Request, meeting_id: FromPath[int], item_id: FromPath[int]) -> Template | Redirect:
        await _view(meeting_id)
        form = await form_of(request)
        counts, errors = parse_counts(form)
        values = {k: form.get(k, "") for k in ("yes", "no", "abstain")}
        if counts is None:
            return await self._answer(request, meeting_id, errors=errors, values=values,
                                      item_id=item_id)
        try:
            await services.record_hand_count(meeting_id, item_id, counts, await _actor(request))
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc), values=values,
                                      item_id=item_id)
        return await self._answer(request, meeting_id)

    @post("/{meeting_id:int}/items/{item_id:int}/notes", name="meeting_note", opt={"permission": "meeting.run"})
    async def note(self, request: Request, meeting_id: FromPath[int], item_id: FromPath[int]) -> Template | Redirect:
        await _view(meeting_id)
        body, error = services.validate_note((await form_of(request)).get("body"))
        if error:
            return await self._answer(request, meeting_id, errors={"body": error},
                                      values={"body": body}, item_id=item_id)
        try:
            await services.add_note(meeting_id, item_id, body, await _actor(request))
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc), values={"body": body},
                                      item_id=item_id)
        return await self._answer(request, meeting_id)

    @post("/{meeting_id:int}/close", name="meeting_close", opt={"permission": "meeting.run"})
    async def close(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
        await _view(meeting_id)
        try:
            roles = await self._council_roles(request, meeting_id)
            await services.close_meeting(meeting_id, await _actor(request), roles)
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc))
        return await self._answer(request, meeting_id)
