"""Pages of the topic side of the closed loop.

- ``/r/<token>/tishi`` — a resident raises an issue from the phone (the shared 居民提事表);
- ``/r/<token>/topics/<id>`` — the proposer follows it (state, history, the decline reason, photos);
- ``/councils/<id>/topics`` — the council triages: accept, merge, decline, schedule, decide, answer;
- ``/public/councils/<id>`` — the 公示 of decisions and outcomes, without names or rooms.

Files are served by their SHA-256 only to someone who may see a topic they belong to: the council's
viewers, or the resident who submitted them.
"""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import File, Redirect, Template

from core.accounts.permissions import PUBLIC, council_roles, current_user
from core.i18n import _
from core.lowcode.forms import KIND_MIME, FormSpec, validate
from core.lowcode.workflow import TransitionRefused, WorkflowSpec
from core.org.tables import Council
from core.residents.controllers import MAX_ID, PRIVATE, resident_gate
from core.residents.identity import mask_name
from core.topics import flow, services
from core.topics.storage import upload_path
from core.topics.tables import StoredFile
from core.web import form_with_files, is_htmx, page_or_fragment, parse_id, plugins_of, see_other, settings_of

NONCE_FIELD = "_nonce"
MAX_NONCE = 64


def _real(value: int) -> bool:
    return 0 < value <= MAX_ID


def _valid_sha(sha256: str) -> bool:
    return len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)


def _new_nonce() -> str:
    return secrets.token_urlsafe(24)


def intake_form(request: Request, practice_id: str | None) -> FormSpec:
    """The 居民提事表 of a council's practice (core's ``tishi`` unless the practice ships its own)."""
    plugins = plugins_of(request)
    practice = plugins.practice(practice_id or "")
    return plugins.specs.form(practice.intake_form if practice else "tishi")


def topic_workflow(request: Request, practice_id: str | None) -> WorkflowSpec:
    """The workflow topics of a council's practice follow (core's ``topic`` unless it ships its own)."""
    plugins = plugins_of(request)
    practice = plugins.practice(practice_id or "")
    return plugins.specs.workflow(practice.topic_workflow if practice else "topic")


async def _serve(request: Request, sha256: str) -> File:
    path = upload_path(settings_of(request).data_dir, sha256)
    stored = await StoredFile.select(StoredFile.kind).where(StoredFile.sha256 == sha256).first()
    if stored is None or not path.exists():
        raise NotFoundException(_("文件不存在。"))
    return File(path=path, filename=sha256, content_disposition_type="inline",
                media_type=KIND_MIME[stored["kind"]][0] if stored["kind"] in KIND_MIME else "application/octet-stream",
                headers={**PRIVATE, "X-Content-Type-Options": "nosniff"})


# -------------------------------------------------------------------------------------------------
# The resident: raise an issue, follow it
# -------------------------------------------------------------------------------------------------


class ResidentTopicController(Controller):
    path = "/r/{token:str}"
    opt = {"permission": PUBLIC}  # noqa: RUF012 — the token is the credential

    def _form_page(self, request: Request, token: str, councils: list[dict[str, Any]], *,
                   values: dict[str, Any] | None = None, errors: dict[str, str] | None = None, nonce: str = "",
                   council_id: int | None = None, status_code: int = 200) -> Template:
        council_id = council_id if council_id is not None else (councils[0]["id"] if councils else None)
        council = next((c for c in councils if c["id"] == council_id), None)
        return Template("topics/tishi.html", status_code=status_code, headers=PRIVATE, context={
            "token": token, "spec": intake_form(request, council["practice"] if council else None),
            "councils": councils, "values": values or {}, "errors": errors or {}, "nonce": nonce or _new_nonce(),
            "council_id": council_id})

    @get("/tishi", name="resident_tishi")
    async def tishi_form(self, request: Request, token: FromPath[str]) -> Template:
        gate = await resident_gate(request, token)
        if isinstance(gate, Template):
            return gate
        _entry, councils = gate
        chosen = parse_id(request.query_params.get("council"))
        return self._form_page(request, token, councils, council_id=chosen if chosen in
                               [c["id"] for c in councils] else None)

    @post("/tishi", name="resident_tishi_submit")
    async def tishi_submit(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        gate = await resident_gate(request, token)
        if isinstance(gate, Template):
            return gate
        entry, councils = gate
        data, files = await form_with_files(request)
        nonce = (data.get(NONCE_FIELD) or [""])[0][:MAX_NONCE]
        raw_council = (data.get("council") or [""])[0]
        council_ids = [c["id"] for c in councils]
        council_id = int(raw_council) if raw_council.isascii() and raw_council.isdigit() else None
        if len(councils) == 1:
            council_id = councils[0]["id"]
        council = next((c for c in councils if c["id"] == council_id), councils[0] if councils else None)
        spec = intake_form(request, council["practice"] if council else None)
        result = validate(spec, data, files)
        errors = dict(result.errors)
        if council_id not in council_ids:
            errors["council"] = _("请选择议事机构。")
        if not nonce:
            nonce = _new_nonce()
        if errors:
            return self._form_page(request, token, councils, values=data, errors=errors, nonce=nonce,
                                   council_id=council_id, status_code=422)
        assert council_id is not None
        topic_id = await services.raise_topic(settings_of(request).data_dir, council_id, entry, result, nonce)
        return see_other(f"/r/{token}/topics/{topic_id}")

    @get("/topics/{topic_id:int}", name="resident_topic")
    async def follow(self, request: Request, token: FromPath[str], topic_id: FromPath[int]) -> Template:
        gate = await resident_gate(request, token)
        if isinstance(gate, Template):
            return gate
        entry, _councils = gate
        view = await services.follow_view(topic_id, entry["id"]) if _real(topic_id) else None
        if view is None:
            raise NotFoundException(_("没有找到这件事。"))
        return Template("topics/follow.html", headers=PRIVATE, context={
            **view, "token": token, "states": services.topic_state_labels(),
            "event_labels": services.event_labels(), "reason_labels": services.reason_labels()})

    @get("/files/{sha256:str}", name="resident_file")
    async def file(self, request: Request, token: FromPath[str], sha256: FromPath[str]) -> File | Template:
        gate = await resident_gate(request, token)
        if isinstance(gate, Template):
            return gate
        entry, _councils = gate
        if not _valid_sha(sha256) or not await services.entry_may_see_file(entry["id"], sha256):
            raise NotFoundException(_("文件不存在。"))
        return await _serve(request, sha256)


# -------------------------------------------------------------------------------------------------
# The council: triage
# -------------------------------------------------------------------------------------------------

PAGE = "topics/council.html"
CARD = "topics/_card.html"


async def _council(council_id: int) -> dict[str, Any]:
    council = await Council.select().where(Council.id == council_id).first() if _real(council_id) else None
    if council is None:
        raise NotFoundException(_("没有这个议事机构。"))
    return council


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    if value.isascii() and value.isdigit() and len(value) < 11 and _real(int(value)):
        return int(value)
    return None


class CouncilTopicController(Controller):
    path = "/councils/{council_id:int}"

    async def _context(self, request: Request, council_id: int, **extra: Any) -> dict[str, Any]:
        council = await _council(council_id)
        user = await current_user(request)
        roles = council_roles(user, council_id)
        spec = topic_workflow(request, council["practice"])
        view = await services.triage_view(council_id, roles, spec)
        return {"council": council, **view, "states": services.state_labels_of(spec),
                "labels": services.transition_labels(), "state_ids": list(spec.states),
                "error": "", "error_topic": None, "values": {}, **extra}

    async def _answer(self, request: Request, council_id: int, topic_id: int, *, error: str = "",
                      status_code: int = 200, values: dict[str, str] | None = None) -> Template | Redirect:
        if not error and not is_htmx(request):
            return see_other(f"/councils/{council_id}/topics")
        context = await self._context(request, council_id, error=error, error_topic=topic_id, values=values or {})
        if is_htmx(request):
            card = next((c for _s, cards in context["groups"] for c in cards if c["id"] == topic_id), None)
            if card is not None:
                return Template(CARD, status_code=status_code, context={**context, "t": card})
        return page_or_fragment(request, PAGE, PAGE, context, status_code=status_code)

    @get("/topics", name="council_topics", opt={"permission": "topic.view"})
    async def index(self, request: Request, council_id: FromPath[int]) -> Template:
        return Template(PAGE, context=await self._context(request, council_id))

    @post("/topics/{topic_id:int}/act", name="council_topic_act", opt={"permission": "topic.triage"})
    async def act(self, request: Request, council_id: FromPath[int], topic_id: FromPath[int]) -> Template | Redirect:
        council = await _council(council_id)
        if not _real(topic_id) or await services.council_topic(council_id, topic_id) is None:
            raise NotFoundException(_("没有找到这个议题。"))
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        user = await current_user(request)
        try:
            await services.act(council_id, topic_id, values.get("transition", ""),
                               seen_state=values.get("state", ""), roles=council_roles(user, council_id),
                               actor=user.actor if user else "anonymous", reason=values.get("reason", "")[:2000],
                               merge_into=_int(values.get("merge_into")), meeting_id=_int(values.get("meeting")),
                               spec=topic_workflow(request, council["practice"]))
        except TransitionRefused as exc:
            return await self._answer(request, council_id, topic_id, error=exc.message,
                                      status_code=422, values=values)
        except flow.NotFound as exc:
            raise NotFoundException(_("没有找到这个议题。")) from exc
        return await self._answer(request, council_id, topic_id)

    @post("/topics/{topic_id:int}/override", name="council_topic_override", opt={"permission": "topic.override"})
    async def override(self, request: Request, council_id: FromPath[int],
                       topic_id: FromPath[int]) -> Template | Redirect:
        council = await _council(council_id)
        if not _real(topic_id) or await services.council_topic(council_id, topic_id) is None:
            raise NotFoundException(_("没有找到这个议题。"))
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        user = await current_user(request)
        try:
            await services.override(council_id, topic_id, values.get("target", ""), seen_state=values.get("state", ""),
                                    actor=user.actor if user else "anonymous", reason=values.get("reason", "")[:2000],
                                    spec=topic_workflow(request, council["practice"]))
        except TransitionRefused as exc:
            return await self._answer(request, council_id, topic_id, error=exc.message,
                                      status_code=422, values=values)
        return await self._answer(request, council_id, topic_id)

    @get("/files/{sha256:str}", name="council_file", opt={"permission": "topic.view"})
    async def file(self, request: Request, council_id: FromPath[int], sha256: FromPath[str]) -> File:
        if not _valid_sha(sha256) or not await services.council_may_see_file(council_id, sha256):
            raise NotFoundException(_("文件不存在。"))
        return await _serve(request, sha256)


# -------------------------------------------------------------------------------------------------
# 公示
# -------------------------------------------------------------------------------------------------


class PublicTopicController(Controller):
    path = "/public/councils"

    @get("/{council_id:int}", name="public_council", opt={"permission": PUBLIC})
    async def index(self, council_id: FromPath[int]) -> Template:
        council = await _council(council_id)
        return Template("topics/public.html", context={
            "council": council, "topics": await services.public_view(council_id),
            "states": services.topic_state_labels(), "mask": mask_name})
