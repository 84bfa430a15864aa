"""The chair's meeting console: one page, every action a small form that HTMX swaps in place.

Without JavaScript every form still posts and the server answers with a redirect to the page, so
a reload always shows the true state.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect, Template

from core import db, live
from core.accounts.permissions import council_roles, current_user
from core.i18n import _
from core.lowcode.forms import KIND_MIME, Upload
from core.lowcode.workflow import TransitionRefused
from core.meetings import agenda, attendance, items, labels, lifecycle, services
from core.meetings.handcount import parse_counts, rule_label
from core.meetings.services import MeetingError, MeetingView
from core.meetings.tables import Meeting
from core.topics.storage import upload_path
from core.web import form_of, is_htmx, page_or_fragment, parse_id, plugins_of, see_other, settings_of

PAGE = "meetings/console.html"
FRAGMENT = "meetings/_console.html"
#: An item action's HTMX answer: the item panel, plus the agenda list and message line out of band.
ITEM_ANSWER = "meetings/_item_answer.html"
#: A timer press's HTMX answer: the timer row only (#timer-row), plus the message line out of band.
TIMER_ANSWER = "meetings/_timer_answer.html"
#: An item answer replaces the item panel, whichever part of it the form targeted (the timer row).
RETARGET_ITEM = {"HX-Retarget": "#current-item", "HX-Reswap": "outerHTML"}
#: Response headers that make htmx swap the whole console instead of the part the form targeted.
RETARGET_CONSOLE = {"HX-Retarget": "#console", "HX-Reswap": "outerHTML"}
#: Roles that run the console (edit the agenda, take notes …); others see it read-only.
RUNNING_ROLES = frozenset({"chair", "recorder"})
#: The live events that change what the console shows (core.events.changed in the services).
LIVE_EVENTS = "state item hands note agenda speaker outcome timer attendance"
NONCE_MAX = 64


def new_nonce() -> str:
    """A form's one-time key: the same form sent twice (weak Wi-Fi) is stored once."""
    return secrets.token_urlsafe(24)


def _nonce(form: dict[str, str]) -> str | None:
    raw = form.get("nonce", "").strip()
    return raw[:NONCE_MAX] if raw else None


async def _view(meeting_id: int) -> MeetingView:
    view = await services.load_meeting(meeting_id)
    if view is None:
        raise NotFoundException(_("会议 {id} 不存在").format(id=meeting_id))
    return view


async def _exists(meeting_id: int) -> None:
    """404 for a meeting that does not exist — one cheap query, where a handler needs no more.

    The item actions (goto, hands, note, speakers, outcome, timer) skip it: the permission guard
    already answers 404 for an unknown meeting id, their services refuse an item of another meeting,
    and every answer but a successful plain post loads the meeting anyway (404 if it is gone)."""
    if not await Meeting.exists().where(Meeting.id == meeting_id):
        raise NotFoundException(_("会议 {id} 不存在").format(id=meeting_id))


async def _known(request: Request, meeting_id: int) -> MeetingView | None:
    """For an HTMX item action that may well be a retry (note, speaker, outcome, hands): the meeting
    as its answer will show it, loaded first. The service checks the item, the state and the retry
    against it instead of a query of its own, and when nothing changes this is the answer — one
    query in all. A plain post (answered with a redirect) loads nothing."""
    return await _view(meeting_id) if is_htmx(request) else None


async def _write_then_read(request: Request, meeting_id: int,
                           action: Callable[[], Awaitable[Any]]) -> MeetingView | None:
    """Run an item action that writes (goto, timer) and, for HTMX, read its answer in the same
    transaction (the service's :func:`db.atomic` joins this one): the fresh view costs no trip of its
    own — on SQLite it runs in place, under the write lock already held — and it shows exactly what
    was committed. Live updates still go out after the commit. A plain post reads nothing."""
    async with db.atomic():
        await action()
        return await _view(meeting_id) if is_htmx(request) else None


async def _actor(request: Request) -> str:
    user = await current_user(request)
    return user.actor if user else "anonymous"


async def _roles(request: Request, council_id: int) -> set[str]:
    return council_roles(await current_user(request), council_id)


async def _item_context(request: Request, view: MeetingView, roles: set[str] | None = None,
                        **extra: Any) -> dict[str, Any]:
    """What the item panel and the agenda list need (meetings/_item_answer.html): no lifecycle
    steps, no sign-in summary or QR code — an item action's answer renders only those two parts."""
    if roles is None:
        roles = await _roles(request, view.council["id"])
    return {"view": view, "practice": plugins_of(request).practice(view.council["practice"]),
            "rule_label": rule_label(), "errors": {}, "values": {}, "message": "", "can_override": "chair" in roles,
            "can_run": bool(roles & RUNNING_ROLES), "outcome_labels": items.outcome_labels(),
            "speaker_labels": items.speaker_state_labels(), "revision": view.meeting["agenda_revision"],
            "error_item": None, "edit_item": None, "note_nonce": new_nonce(), "speaker_nonce": new_nonce(),
            "live_version": 0, "live_events": LIVE_EVENTS, "duration_max": agenda.DURATION_MAX,
            "attachment_mb": agenda.ATTACHMENT_MAX_BYTES // (1024 * 1024),
            # the fixed labels translated once per locale, not on every render (core.meetings.labels)
            "_": labels.gettext_for(settings_of(request).locale), **extra}


async def _context(request: Request, view: MeetingView, **extra: Any) -> dict[str, Any]:
    """The whole console: the item context plus the lifecycle steps and the sign-in panel."""
    roles = await _roles(request, view.council["id"])
    ctx = await _item_context(request, view, roles)
    spec = lifecycle.meeting_workflow()
    return ctx | {"steps": await lifecycle.offered(view.meeting, roles, has_agenda=bool(view.items)),
                  "workflow_states": [(s, services.state_labels().get(s, spec.state_label(s))) for s in spec.states],
                  "meeting_step_labels": services.step_labels(),
                  **await attendance.console_context(request, view), **extra}


class MeetingController(Controller):
    path = "/meetings"

    @get("/{meeting_id:int}", name="meeting", opt={"permission": "meeting.view"})
    async def console(self, request: Request, meeting_id: FromPath[int]) -> Template:
        version = await live.version(request, f"meeting:{meeting_id}")  # before loading: see docs/live.md
        view = await _view(meeting_id)
        # ?edit=<item>: that item's edit form is open (a link, so the page carries one form, not one per item)
        edit = parse_id(request.query_params.get("edit"))
        return page_or_fragment(request, PAGE, FRAGMENT, await _context(request, view, live_version=version,
                                                                        edit_item=edit))

    async def _answer(self, request: Request, meeting_id: int, *, error: str = "",
                      errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
                      item_id: int | None = None, part: str = "console", view: MeetingView | None = None,
                      **extra: Any) -> Template | Redirect:
        """After an action: a plain post gets a 303 back to the page (or the page with errors, 422);
        HTMX gets the part that changed. ``part="item"`` (note, speaker, outcome, timer, hands, goto)
        answers with the item panel and, out of band, the agenda list and message line — unless the
        meeting is no longer in session (another tablet closed it …): then the whole console comes
        back, retargeted to #console, so the chair sees the true state. ``view``: the meeting as the
        handler loaded it before an action that then changed nothing (reused, not read again)."""
        failed = bool(error or errors)
        if not failed and not is_htmx(request):
            return see_other(f"/meetings/{meeting_id}")
        status = 422 if failed else 200
        if part == "item" and is_htmx(request):
            view = view or await _view(meeting_id)
            if view.state == "in_session":
                ctx = await _item_context(request, view, message=error, errors=errors or {}, values=values or {},
                                          error_item=item_id, **extra)
                return Template(ITEM_ANSWER, context=ctx, status_code=status, headers=RETARGET_ITEM)
            version = await live.version(request, f"meeting:{meeting_id}")
            view = await _view(meeting_id)  # read after the version, as the page does
            ctx = await _context(request, view, message=error, errors=errors or {}, values=values or {},
                                 error_item=item_id, live_version=version, **extra)
            return Template(FRAGMENT, context=ctx, status_code=status, headers=RETARGET_CONSOLE)
        version = await live.version(request, f"meeting:{meeting_id}")
        view = await _view(meeting_id)
        ctx = await _context(request, view, message=error, errors=errors or {}, values=values or {},
                             error_item=item_id, live_version=version, **extra)
        return page_or_fragment(request, PAGE, FRAGMENT, ctx, status_code=status)

    async def _council_roles(self, request: Request, meeting_id: int) -> set[str]:
        """The person's roles in the meeting's council — the council the permission guard has just
        resolved (and cached) for this path, so no query of its own."""
        council = await request.app.state.access.council_of(request.path_params)
        return await _roles(request, council)

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
        await _exists(meeting_id)
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
        await _exists(meeting_id)
        try:
            roles = await self._council_roles(request, meeting_id)
            await services.open_meeting(meeting_id, await _actor(request), roles)
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc))
        return await self._answer(request, meeting_id)

    @post("/{meeting_id:int}/goto", name="meeting_goto", opt={"permission": "meeting.run"})
    async def goto(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
        position = parse_id((await form_of(request)).get("position"))
        if position is None:
            return await self._answer(request, meeting_id, part="item", error=_("请选择一个议题。"))
        try:
            actor = await _actor(request)
            view = await _write_then_read(request, meeting_id,
                                          lambda: services.go_to_item(meeting_id, position, actor))
        except MeetingError as exc:
            return await self._answer(request, meeting_id, part="item", error=str(exc))
        return await self._answer(request, meeting_id, part="item", view=view)

    @post("/{meeting_id:int}/items/{item_id:int}/hands", name="meeting_hands", opt={"permission": "meeting.run"})
    async def hands(self, request: Request, meeting_id: FromPath[int], item_id: FromPath[int]) -> Template | Redirect:
        form = await form_of(request)
        counts, errors = parse_counts(form)
        values = {k: form.get(k, "") for k in ("yes", "no", "abstain")}
        if counts is None:
            return await self._answer(request, meeting_id, part="item", errors=errors, values=values,
                                      item_id=item_id)
        known = await _known(request, meeting_id)
        try:
            changed = await services.record_hand_count(meeting_id, item_id, counts, await _actor(request), known)
        except MeetingError as exc:
            return await self._answer(request, meeting_id, part="item", error=str(exc), values=values,
                                      item_id=item_id, view=known)
        return await self._answer(request, meeting_id, part="item", view=None if changed else known)

    @post("/{meeting_id:int}/items/{item_id:int}/notes", name="meeting_note", opt={"permission": "meeting.run"})
    async def note(self, request: Request, meeting_id: FromPath[int], item_id: FromPath[int]) -> Template | Redirect:
        form = await form_of(request)
        body, error = services.validate_note(form.get("body"))
        nonce = _nonce(form)
        keep = {"note_nonce": nonce} if nonce else {}  # a refused note keeps its key: resending it stays one note
        if error:
            return await self._answer(request, meeting_id, part="item", errors={"body": error},
                                      values={"body": body}, item_id=item_id, **keep)
        known = await _known(request, meeting_id)
        try:
            changed = await services.add_note(meeting_id, item_id, body, await _actor(request), nonce=nonce,
                                              known=known)
        except MeetingError as exc:
            return await self._answer(request, meeting_id, part="item", error=str(exc), values={"body": body},
                                      item_id=item_id, view=known, **keep)
        return await self._answer(request, meeting_id, part="item", view=None if changed else known)

    # ---- the agenda (议程): add, edit, delete, reorder, attach -------------------------------------

    @post("/{meeting_id:int}/agenda", name="agenda_add", opt={"permission": "meeting.run"})
    async def agenda_add(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
        await _exists(meeting_id)
        form = await form_of(request)
        values = {k: form.get(k, "") for k in ("title", "description", "proposer", "duration_minutes")}
        item, errors = agenda.validate_item(form)
        if item is None:
            return await self._answer(request, meeting_id, errors=errors, values=values, item_id=0)
        try:
            await agenda.add_item(meeting_id, agenda.parse_revision(form.get("revision")), item,
                                  await _actor(request))
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc), values=values, item_id=0)
        return await self._answer(request, meeting_id)

    @post("/{meeting_id:int}/agenda/{item_id:int}/edit", name="agenda_edit", opt={"permission": "meeting.run"})
    async def agenda_edit(self, request: Request, meeting_id: FromPath[int],
                          item_id: FromPath[int]) -> Template | Redirect:
        await _exists(meeting_id)
        form = await form_of(request)
        values = {k: form.get(k, "") for k in ("title", "description", "proposer", "duration_minutes")}
        item, errors = agenda.validate_item(form)
        if item is None:
            return await self._answer(request, meeting_id, errors=errors, values=values, item_id=item_id,
                                      edit_item=item_id)
        try:
            await agenda.edit_item(meeting_id, item_id, agenda.parse_revision(form.get("revision")), item,
                                   await _actor(request))
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc), values=values, item_id=item_id,
                                      edit_item=item_id)
        return await self._answer(request, meeting_id)

    @post("/{meeting_id:int}/agenda/{item_id:int}/delete", name="agenda_delete", opt={"permission": "meeting.run"})
    async def agenda_delete(self, request: Request, meeting_id: FromPath[int],
                            item_id: FromPath[int]) -> Template | Redirect:
        await _exists(meeting_id)
        form = await form_of(request)
        try:
            await agenda.delete_item(meeting_id, item_id, agenda.parse_revision(form.get("revision")),
                                     await _actor(request))
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc))
        return await self._answer(request, meeting_id)

    @post("/{meeting_id:int}/agenda/{item_id:int}/move", name="agenda_move", opt={"permission": "meeting.run"})
    async def agenda_move(self, request: Request, meeting_id: FromPath[int],
                          item_id: FromPath[int]) -> Template | Redirect:
        await _exists(meeting_id)
        form = await form_of(request)
        try:
            await agenda.move_item(meeting_id, item_id, form.get("direction", ""),
                                   agenda.parse_revision(form.get("revision")), await _actor(request))
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc))
        return await self._answer(request, meeting_id)

    @post("/{meeting_id:int}/items/{item_id:int}/attachments", name="agenda_attach",
          opt={"permission": "meeting.run"})
    async def attach(self, request: Request, meeting_id: FromPath[int], item_id: FromPath[int]) -> Template | Redirect:
        await _exists(meeting_id)
        form = await request.form()
        raw = form.get("file")
        upload = None
        if isinstance(raw, UploadFile):
            upload = Upload(raw.filename or "", raw.content_type or "", await raw.read())
        kind, error = agenda.check_attachment(upload)
        if error or upload is None:
            return await self._answer(request, meeting_id, errors={f"file-{item_id}": error or ""}, item_id=item_id)
        try:
            await agenda.add_attachment(settings_of(request).data_dir, meeting_id, item_id, upload, kind,
                                        await _actor(request))
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc), item_id=item_id)
        return await self._answer(request, meeting_id)

    @get("/{meeting_id:int}/attachments/{attachment_id:int}", name="agenda_attachment",
         opt={"permission": "meeting.view"})
    async def attachment_file(self, request: Request, meeting_id: FromPath[int], attachment_id: FromPath[int]) -> File:
        """An item's file, for people who may see the meeting (never public: the URL is not a secret)."""
        found = await agenda.attachment(meeting_id, attachment_id)
        path = upload_path(settings_of(request).data_dir, found["sha256"]) if found else None
        if found is None or path is None or not path.exists():
            raise NotFoundException(_("文件不存在。"))
        return File(path=path, filename=found["name"], content_disposition_type="inline",
                    media_type=KIND_MIME[found["kind"]][0],
                    headers={"Cache-Control": "private, max-age=3600"})  # nosniff: core.security

    # ---- per item: speakers, outcome, timer -----------------------------------------------------

    @post("/{meeting_id:int}/items/{item_id:int}/speakers", name="speaker_add", opt={"permission": "meeting.run"})
    async def speaker_add(self, request: Request, meeting_id: FromPath[int],
                          item_id: FromPath[int]) -> Template | Redirect:
        form = await form_of(request)
        cleaned, errors = items.validate_speaker(form)
        nonce = _nonce(form)
        keep = {"speaker_nonce": nonce} if nonce else {}
        values = {"speaker_name": form.get("name", ""), "speaker_affiliation": form.get("affiliation", "")}
        if errors:
            return await self._answer(request, meeting_id, part="item", errors=errors, values=values,
                                      item_id=item_id, **keep)
        known = await _known(request, meeting_id)
        try:
            changed = await items.add_speaker(meeting_id, item_id, cleaned["name"], cleaned["affiliation"],
                                              await _actor(request), nonce=nonce, known=known)
        except MeetingError as exc:
            return await self._answer(request, meeting_id, part="item", error=str(exc), values=values,
                                      item_id=item_id, view=known, **keep)
        return await self._answer(request, meeting_id, part="item", view=None if changed else known)

    @post("/{meeting_id:int}/items/{item_id:int}/speakers/{speaker_id:int}", name="speaker_state",
          opt={"permission": "meeting.run"})
    async def speaker_state(self, request: Request, meeting_id: FromPath[int], item_id: FromPath[int],
                            speaker_id: FromPath[int]) -> Template | Redirect:
        state = (await form_of(request)).get("state", "")
        try:
            if state == "removed":
                await items.remove_speaker(meeting_id, item_id, speaker_id, await _actor(request))
            else:
                await items.set_speaker_state(meeting_id, item_id, speaker_id, state, await _actor(request))
        except MeetingError as exc:
            return await self._answer(request, meeting_id, part="item", error=str(exc))
        return await self._answer(request, meeting_id, part="item")

    @post("/{meeting_id:int}/items/{item_id:int}/outcome", name="item_outcome", opt={"permission": "meeting.run"})
    async def outcome(self, request: Request, meeting_id: FromPath[int], item_id: FromPath[int]) -> Template | Redirect:
        form = await form_of(request)
        outcome, note, errors = items.validate_outcome(form)
        values = {"outcome": form.get("outcome", ""), "outcome_note": form.get("outcome_note", "")}
        if errors:
            return await self._answer(request, meeting_id, part="item", errors=errors, values=values, item_id=item_id)
        known = await _known(request, meeting_id)
        try:
            changed = await items.set_outcome(meeting_id, item_id, outcome, note, await _actor(request), known)
        except MeetingError as exc:
            return await self._answer(request, meeting_id, part="item", error=str(exc), values=values,
                                      item_id=item_id, view=known)
        return await self._answer(request, meeting_id, part="item", view=None if changed else known)

    @post("/{meeting_id:int}/items/{item_id:int}/timer", name="item_timer", opt={"permission": "meeting.run"})
    async def timer(self, request: Request, meeting_id: FromPath[int], item_id: FromPath[int]) -> Template | Redirect:
        action = (await form_of(request)).get("action", "")
        actor = await _actor(request)
        try:
            if action == "start":
                view = await _write_then_read(request, meeting_id,
                                              lambda: items.start_timer(meeting_id, item_id, actor))
            elif action == "pause":
                view = await _write_then_read(request, meeting_id,
                                              lambda: items.pause_timer(meeting_id, item_id, actor))
            else:
                raise MeetingError(_("请选择开始或暂停计时。"))
        except MeetingError as exc:
            return await self._answer(request, meeting_id, part="item", error=str(exc))
        current = view.current if view is not None and view.state == "in_session" else None
        if current is not None and current.id == item_id:
            # Only the timer row changed: it is the answer (a tenth of the item panel to render).
            return Template(TIMER_ANSWER, context=await _item_context(request, view))
        return await self._answer(request, meeting_id, part="item", view=view)

    @post("/{meeting_id:int}/close", name="meeting_close", opt={"permission": "meeting.run"})
    async def close(self, request: Request, meeting_id: FromPath[int]) -> Template | Redirect:
        await _exists(meeting_id)
        try:
            roles = await self._council_roles(request, meeting_id)
            await services.close_meeting(meeting_id, await _actor(request), roles)
        except MeetingError as exc:
            return await self._answer(request, meeting_id, error=str(exc))
        return await self._answer(request, meeting_id)
