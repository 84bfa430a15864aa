"""Pages: the council's roster for staff (add, revoke, re-issue, QR, slips) and the resident's own
page behind their personal link ``/r/<token>``.

The token is the resident's credential, so ``/r/…`` is public; every way a token can be wrong
(malformed, forged, another deployment's, revoked, re-issued) gets the same Chinese page with
404, and an address that keeps trying is slowed down (429).
"""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Response, Template

from core.accounts.permissions import PUBLIC, current_user
from core.i18n import _
from core.meetings.attendance import join_key
from core.meetings.services import state_labels
from core.ratelimit import RateLimiter, SharedCounts
from core.residents import services, slips
from core.residents.identity import FALLBACK_CHECK, MAX_ANSWER, IdentityCheck, gather, mask_name
from core.residents.tokens import (
    VERIFIED_DAYS,
    make_token,
    make_verified_cookie,
    verified_cookie_name,
    verified_cookie_valid,
)
from core.web import form_of, is_htmx, page_or_fragment, plugins_of, see_other, settings_of

ROSTER_PAGE = "residents/roster.html"
ROSTER_FRAGMENT = "residents/_roster.html"
#: Personal pages are nobody's to cache: not a shared proxy's, not the browser's back button's.
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


def resident_limiters(shared: SharedCounts | None = None) -> dict[str, RateLimiter]:
    """Per app (kept in app.state): invalid links by client address; wrong identity answers by
    roster entry (5 per 15 minutes, whatever the address). In Redis when ``shared`` is given."""
    return {"address": RateLimiter(30, 600, "resident-address", shared),
            "answer": RateLimiter(5, 900, "resident-answer", shared)}


#: Ids are 32-bit in PostgreSQL (and SQLite refuses Python ints past 64 bits): anything larger names
#: nothing, and must be "not found" rather than a database error.
MAX_ID = 2**31 - 1


def _real_id(value: int | None) -> bool:
    return value is None or 0 < value <= MAX_ID


#: After the identity check: a path below the resident's own link, made of plain path segments — no
#: scheme, host, ``//``, backslash, dot segment, query or escape can get through.
_NEXT_TAIL = re.compile(r"(?:/[A-Za-z0-9_-]+)*")
MAX_NEXT = 200


def safe_next(token: str, raw: str | None) -> str | None:
    """Where to send the resident after the identity check: ``raw`` if it is ``/r/<token>`` or a path
    under it (their own pages only), else None.

    Anything else — an absolute URL, ``//host``, a backslash, another resident's token — is refused:
    the check must not become an open redirect, nor a way to land on someone else's link.
    """
    base = f"/r/{token}"
    if not raw or len(raw) > MAX_NEXT or not raw.startswith(base):
        return None
    return raw if _NEXT_TAIL.fullmatch(raw[len(base):]) else None


def _verify_page(token: str, check: IdentityCheck, next_path: str | None, error: str = "", value: str = "",
                 status: int = 200) -> Template:
    """The identity question; ``next`` rides along in a hidden field so the answer leads back there."""
    return Template("residents/verify.html", status_code=status, headers=PRIVATE, context={
        "token": token, "check": check, "error": error, "value": value, "next": safe_next(token, next_path) or ""})


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _token_of(request: Request) -> Any:
    secret = settings_of(request).secret()
    return lambda entry: make_token(secret, entry["id"], entry["token_generation"])


def identity_checks(request: Request) -> dict[str, IdentityCheck]:
    """Every identity check the running plugins declare, by id.

    Gathered once per app and again whenever an administrator switches a plugin off or on
    (/admin/plugins): a switched-off plugin's checks go with it, like its other hooks, and a
    practice that asks for one then fails closed (:func:`check_for`)."""
    state = request.app.state
    plugins = plugins_of(request)
    cached = state.get("identity_checks")
    if cached is None or cached[0] != plugins.disabled:
        cached = (plugins.disabled, gather(plugins.call_each("yishi_identity_checks")))
        state["identity_checks"] = cached
    return cached[1]


# -------------------------------------------------------------------------------------------------
# Staff: the council's roster
# -------------------------------------------------------------------------------------------------


class RosterController(Controller):
    path = "/councils/{council_id:int}/roster"
    opt = {"permission": "roster.manage"}  # noqa: RUF012 — Litestar reads it as a class attribute

    async def _council(self, council_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        council = await services.council_row(council_id) if _real_id(council_id) else None
        if council is None:
            raise NotFoundException(_("没有这个议事机构。"))
        return council, await services.subtree_units(council["unit"])

    async def _entry(self, council_id: int, entry_id: int) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
        council, units = await self._council(council_id)
        unit_ids = [u["id"] for u in units]
        entry = await services.entry_in(entry_id, unit_ids) if _real_id(entry_id) else None
        if entry is None:
            raise NotFoundException(_("名册中没有这条记录，可能已被删除。"))
        return council, entry, unit_ids

    async def _context(self, request: Request, council_id: int, **extra: Any) -> dict[str, Any]:
        council, units = await self._council(council_id)
        entries = await services.list_entries([u["id"] for u in units])
        token_of = _token_of(request)
        base = str(request.base_url)
        for entry in entries:
            entry["link"] = slips.personal_link(base, token_of(entry))
        buildings = sorted({e["building"] for e in entries if not e["revoked"]},
                           key=lambda b: services._natural_key({"building": b, "unit_no": "", "room": "",
                                                                "name": "", "id": 0}))
        practice = plugins_of(request).practice(council["practice"])
        check_id = practice.identity_check if practice else ""
        check = identity_checks(request).get(check_id) if check_id else None
        return {"council": council, "units": units, "entries": entries, "buildings": buildings,
                "kinds": services.kind_labels(), "errors": {}, "values": {"kind": "owner"},
                "check": check, "check_id": check_id, "message": "",
                "active": sum(1 for e in entries if not e["revoked"]), **extra}

    async def _answer(self, request: Request, council_id: int, status_code: int = 200,
                      **extra: Any) -> Template | Redirect:
        if status_code < 400 and not is_htmx(request):
            return see_other(f"/councils/{council_id}/roster")
        context = await self._context(request, council_id, **extra)
        answer = page_or_fragment(request, ROSTER_PAGE, ROSTER_FRAGMENT, context, status_code=status_code)
        answer.headers.update(PRIVATE)  # the page carries every resident's link
        return answer

    @get("", name="roster")
    async def index(self, request: Request, council_id: FromPath[int]) -> Template:
        return Template(ROSTER_PAGE, context=await self._context(request, council_id), headers=PRIVATE)

    @post("", name="roster_add")
    async def add(self, request: Request, council_id: FromPath[int]) -> Template | Redirect:
        _council, units = await self._council(council_id)
        form = await form_of(request)
        values = {name: (form.get(name) or "")[:200] for name in services.FIELDS}
        entry, errors = services.validate_entry(form, units)
        if entry is not None:
            user = await current_user(request)
            assert user is not None  # the guard let only staff through
            _id, errors = await services.add_entry(entry, user.actor)
        if errors:
            return await self._answer(request, council_id, status_code=422, errors=errors, values=values)
        return await self._answer(request, council_id, values={"kind": entry.kind if entry else "owner"},
                                  message=_("已添加：{name}").format(name=entry.name if entry else ""))

    @post("/{entry_id:int}/revoke", name="roster_revoke")
    async def revoke(self, request: Request, council_id: FromPath[int], entry_id: FromPath[int]) -> Template | Redirect:
        _council, entry, _units = await self._entry(council_id, entry_id)
        user = await current_user(request)
        assert user is not None
        await services.revoke(entry_id, user.actor)
        return await self._answer(request, council_id,
                                  message=_("已停用 {name} 的链接和二维码。").format(name=entry["name"]))

    @post("/{entry_id:int}/reissue", name="roster_reissue")
    async def reissue(self, request: Request, council_id: FromPath[int],
                      entry_id: FromPath[int]) -> Template | Redirect:
        _council, entry, _units = await self._entry(council_id, entry_id)
        user = await current_user(request)
        assert user is not None
        await services.reissue(entry_id, user.actor)
        return await self._answer(request, council_id, message=_(
            "已为 {name} 重新生成链接，旧链接和旧二维码已失效。请打印新的二维码条。").format(name=entry["name"]))

    @get("/{entry_id:int}/qr.svg", name="roster_qr", media_type="image/svg+xml")
    async def qr(self, request: Request, council_id: FromPath[int], entry_id: FromPath[int]) -> Response[str]:
        _council, entry, _units = await self._entry(council_id, entry_id)
        if entry["revoked"]:
            raise NotFoundException(_("这条记录的链接已停用，请先重新生成。"))
        link = slips.personal_link(str(request.base_url), _token_of(request)(entry))
        return Response(slips.qr_svg(link), media_type="image/svg+xml", headers=PRIVATE)

    @get("/slips.pdf", name="roster_slips")
    async def slips_pdf(self, request: Request, council_id: FromPath[int], building: FromQuery[str | None] = None,
                        entry: FromQuery[int | None] = None) -> Response[bytes]:
        council, units = await self._council(council_id)
        if (building is not None and len(building) > 20) or not _real_id(entry):
            raise NotFoundException(_("没有可打印的二维码条：名册为空，或链接都已停用。"))
        entries = await services.list_entries([u["id"] for u in units], active_only=True, building=building,
                                              entry_id=entry)
        if not entries:
            raise NotFoundException(_("没有可打印的二维码条：名册为空，或链接都已停用。"))
        context = {"council": council, "sheets": slips.slip_context(entries, str(request.base_url), _token_of(request)),
                   "site_name": settings_of(request).site_name}
        html = slips.render_slips_html(request.app.state.jinja, context)
        # WeasyPrint is CPU-bound: print in a thread so the server keeps answering.
        pdf = await asyncio.to_thread(slips.render_slips_pdf, html, str(request.base_url))
        name = quote(f"二维码条-{council['name']}{'-' + building if building else ''}.pdf")
        disposition = f"attachment; filename=\"slips-{council_id}.pdf\"; filename*=UTF-8''{name}"
        return Response(pdf, media_type="application/pdf", headers={**PRIVATE, "Content-Disposition": disposition})


# -------------------------------------------------------------------------------------------------
# The resident's own page
# -------------------------------------------------------------------------------------------------


def _refusal(template: str, status: int, **context: Any) -> Template:
    return Template(template, status_code=status, context=context, headers=PRIVATE)


def _invalid_link() -> Template:
    return _refusal("residents/invalid.html", 404, title=_("链接无效"),
                    detail=_("链接无效或已失效，请联系社区重新领取。"))


def _too_many_links() -> Template:
    return _refusal("residents/invalid.html", 429, title=_("请稍后再试"),
                    detail=_("尝试次数过多，请稍后再试。如需帮助，请联系社区。"))


async def open_entry(request: Request, token: str) -> dict[str, Any] | Template:
    """The entry behind the token, or the page that says why not."""
    limits = request.app.state.resident_limits["address"]
    address = _client(request)
    if await limits.blocked(address):
        return _too_many_links()
    entry = await services.resolve_token(settings_of(request).secret(), token)
    if entry is None:
        await limits.allow(address)
        return _invalid_link()
    return entry


async def check_for(request: Request, entry: dict[str, Any],
                    councils: list[dict[str, Any]]) -> IdentityCheck | Template | None:
    """The identity check this resident must answer (the practice of their nearest council
    that asks for one), None when none asks, or a page when the check is not installed."""
    plugins = plugins_of(request)
    wanted = next((p.identity_check for c in councils
                   if (p := plugins.practice(c["practice"])) is not None and p.identity_check), "")
    if not wanted:
        return None
    checks = identity_checks(request)
    check = checks.get(wanted)
    if check is None:  # fail closed: a practice asks for a check this deployment lacks
        return _refusal("residents/invalid.html", 503, title=_("暂时无法核验身份"), detail=_(
            "本社区设置的身份核验方式（{check}）暂不可用，请联系社区。").format(check=wanted))
    if not check.applies(entry) and FALLBACK_CHECK in checks:
        check = checks[FALLBACK_CHECK]
    return check


async def resident_gate(request: Request, token: str,
                        next_path: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]] | Template:
    """For pages under ``/r/<token>/…``: the roster entry and its councils (nearest first) once the
    token is valid and this phone has passed the practice's identity check; otherwise the page to
    show instead (invalid link, too many tries, or the identity check, which posts to ``/r/<token>``
    and then leads to ``next_path`` if given, else back to the page asked for — when that is one of
    the link's own pages that can be shown after a GET).
    """
    opened = await open_entry(request, token)
    if isinstance(opened, Template):
        return opened
    councils = await services.councils_of(opened)
    check = await check_for(request, opened, councils)
    if isinstance(check, Template):
        return check
    if check is not None and not verified_cookie_valid(
            settings_of(request).secret(), token, check.id,
            request.cookies.get(verified_cookie_name(opened["id"]))):
        wanted = next_path or (request.url.path if request.method == "GET" else None)
        return _verify_page(token, check, wanted)
    return opened, councils


class ResidentController(Controller):
    path = "/r"

    async def _open(self, request: Request, token: str) -> dict[str, Any] | Template:
        return await open_entry(request, token)

    async def _check_for(self, request: Request, entry: dict[str, Any],
                         councils: list[dict[str, Any]]) -> IdentityCheck | Template | None:
        return await check_for(request, entry, councils)

    @get("/{token:str}", name="resident", opt={"permission": PUBLIC})
    async def page(self, request: Request, token: FromPath[str],
                   next_path: Annotated[str | None, QueryParameter(name="next")] = None) -> Template | Redirect:
        opened = await self._open(request, token)
        if isinstance(opened, Template):
            return opened
        entry = opened
        councils = await services.councils_of(entry)
        check = await self._check_for(request, entry, councils)
        if isinstance(check, Template):
            return check
        secret = settings_of(request).secret()
        if check is not None and not verified_cookie_valid(
                secret, token, check.id, request.cookies.get(verified_cookie_name(entry["id"]))):
            return _verify_page(token, check, next_path)
        target = safe_next(token, next_path)
        if target and target != f"/r/{token}":
            return see_other(target)
        meetings = await services.upcoming_meetings([c["id"] for c in councils])
        plugins = plugins_of(request)
        for council in councils:
            practice = plugins.practice(council["practice"])
            council["practice_name"] = practice.name if practice else ""
            council["meetings"] = meetings.get(council["id"], [])
            for m in council["meetings"]:  # residents sign in to open meetings from their own page
                m["join_key"] = join_key(settings_of(request), m["id"]) if m["is_open"] else ""
        from core.topics.services import entry_topics, topic_state_labels
        from core.voting.controllers import open_polls_for

        return Template("residents/resident.html", headers=PRIVATE, context={
            "masked_name": mask_name(entry["name"]), "entry": entry, "councils": councils,
            "kinds": services.kind_labels(), "state_labels": state_labels(), "token": token,
            "my_topics": await entry_topics(entry["id"]), "topic_states": topic_state_labels(),
            "open_polls": await open_polls_for(entry["id"], [c["id"] for c in councils])})

    @post("/{token:str}", name="resident_verify", opt={"permission": PUBLIC})
    async def verify(self, request: Request, token: FromPath[str]) -> Template | Redirect:
        opened = await self._open(request, token)
        if isinstance(opened, Template):
            return opened
        entry = opened
        check = await self._check_for(request, entry, await services.councils_of(entry))
        if isinstance(check, Template):
            return check
        secret = settings_of(request).secret()
        cookie = verified_cookie_name(entry["id"])
        posted = await form_of(request)
        target = safe_next(token, posted.get("next")) or f"/r/{token}"
        if check is None or verified_cookie_valid(secret, token, check.id, request.cookies.get(cookie)):
            return see_other(target)
        answers = request.app.state.resident_limits["answer"]
        key = str(entry["id"])
        value = (posted.get("answer") or "")[:MAX_ANSWER + 1]
        shown = value[:MAX_ANSWER]

        def form(error: str, status: int) -> Template:
            return _verify_page(token, check, target, error, shown, status)

        too_many = _("回答错误次数过多，请 15 分钟后再试，或联系社区核对信息。")
        if await answers.blocked(key):
            return form(too_many, 429)
        if len(value) <= MAX_ANSWER and value.strip() and check.verify(entry, value):
            await answers.reset(key)
            await services.record_verified(entry, check.id)
            response = see_other(target)
            response.set_cookie(cookie, make_verified_cookie(secret, token, check.id),
                                max_age=VERIFIED_DAYS * 86400, httponly=True, samesite="lax",
                                secure=request.url.scheme == "https", path=f"/r/{token}")
            return response
        await answers.allow(key)
        left = await answers.remaining(key)
        if left <= 0:
            return form(too_many, 429)
        return form(_("回答不正确，请核对后重新输入（还可以再试 {n} 次）。").format(n=left), 422)
