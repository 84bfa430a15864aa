"""The plugin's pages, under /p/linjuli/: a council's overview (buildings, landlords and tenants,
the monthly series), the rental-safety checks and their follow-ups, the points ledger and the
monthly report (page and PDF).

Each POST works with and without htmx: bad input answers 422 with the form again and the message
beside the field (nothing saved); a good plain post answers 303 back to the page.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from core.accounts.permissions import AUTHENTICATED, current_user
from core.i18n import _
from core.lowcode.forms import Choices, validate
from core.meetings.recurrence import RuleError, parse_rule
from core.meetings.tables import Meeting
from core.minutes.render import render_pdf
from core.security import nonce_of
from core.templating import LOCAL_TZ
from core.web import form_of, form_with_files, plugins_of, see_other
from yishi_linjuli import buildings, checks, points, report
from yishi_linjuli.plugin import PRACTICE, RECORD, VIEW

NONCE_FIELD = "_nonce"
MAX_NONCE = 64
BASE = "/p/linjuli/councils/{id}"


def _nonce(data: dict[str, list[str]]) -> str | None:
    raw = (data.get(NONCE_FIELD) or [""])[0].strip()
    return raw[:MAX_NONCE] or None


def _new_nonce() -> str:
    return secrets.token_urlsafe(24)


def _today() -> date:
    return datetime.now(LOCAL_TZ).date()


async def _actor(request: Request) -> str:
    user = await current_user(request)
    return user.actor if user else "anonymous"


async def _may(request: Request, permission: str, council_id: int) -> bool:
    user = await current_user(request)
    return user is not None and await request.app.state.access.allows(user, permission, council_id)


async def _council(council_id: int) -> dict[str, Any]:
    """The council, if it runs 月月谈; any other council is "not here" for this plugin's pages."""
    council = await buildings.council_row(council_id)
    if council is None or council["practice"] != PRACTICE.id:
        raise NotFoundException(_("没有这个月月谈议事会。"))
    council["base"] = BASE.format(id=council_id)
    return council


@get("/", name="linjuli:index", opt={"permission": AUTHENTICATED})
async def index(request: Request) -> Template:
    """The 月月谈 councils the user may see."""
    from core.org.tables import Council

    rows = await Council.select(Council.id, Council.name, Council.unit.name.as_alias("unit_name")).where(
        Council.practice == PRACTICE.id).order_by(Council.id)
    councils = [c for c in rows if await _may(request, VIEW, c["id"])]
    return Template("linjuli/index.html", context={"councils": councils, "practice": PRACTICE})


class CouncilController(Controller):
    path = "/councils/{council_id:int}"

    # ------------------------------------------------------------------ overview

    @get("", name="linjuli:council", opt={"permission": VIEW})
    async def overview(self, request: Request, council_id: FromPath[int]) -> Template:
        council = await _council(council_id)
        people = await buildings.people(council)
        meetings = await Meeting.select(Meeting.id, Meeting.title, Meeting.starts_at, Meeting.state,
                                        Meeting.recurrence, Meeting.place).where(
            Meeting.council == council_id).order_by(Meeting.starts_at)
        rule_label = ""
        for m in meetings:
            if m["recurrence"]:
                try:
                    rule_label = parse_rule(m["recurrence"]).label
                except RuleError:
                    rule_label = m["recurrence"]
                break
        now = datetime.now(LOCAL_TZ)
        upcoming = [m for m in meetings if m["starts_at"] >= now and m["state"] in ("draft", "notified")][:3]
        past = [m for m in meetings if m not in upcoming and m["starts_at"] < now][-3:][::-1]
        balances = await points.balances(council_id)
        return Template("linjuli/council.html", context={
            "council": council, "buildings": buildings.by_building(people), "balances": balances,
            "rule_label": rule_label, "upcoming": upcoming, "past": past,
            "departments": await report.departments(council_id),
            "open_fixes": await checks.fixes(council_id, state="open"),
            "can_record": await _may(request, RECORD, council_id),
            "can_run": await _may(request, "meeting.run", council_id),
            "can_manage_departments": await _may(request, "department.manage", council_id),
        })

    # ------------------------------------------------------------------ rental-safety checks

    async def _checks_page(self, request: Request, council: dict[str, Any], *, status_code: int = 200,
                           building: str = "", values: dict[str, list[str]] | None = None,
                           errors: dict[str, str] | None = None, nonce: str | None = None) -> Template:
        spec = plugins_of(request).specs.form(checks.FORM_ID)
        names = await buildings.building_names(council)
        if values is None:
            values = {"checked_on": [_today().isoformat()]}
        return Template("linjuli/checks.html", status_code=status_code, context={
            "council": council, "spec": spec, "building_names": names, "building": building,
            "values": values, "errors": errors or {}, "nonce": nonce or _new_nonce(),
            "checks": await checks.list_checks(council["id"]),
            "open_fixes": await checks.fixes(council["id"], state="open"),
            "can_record": await _may(request, RECORD, council["id"]),
            "today": _today().isoformat(),
        })

    @get("/checks", name="linjuli:checks", opt={"permission": VIEW})
    async def checks_index(self, request: Request, council_id: FromPath[int]) -> Template:
        council = await _council(council_id)
        return await self._checks_page(request, council, building=request.query_params.get("building", ""))

    @post("/checks", name="linjuli:check_add", opt={"permission": RECORD})
    async def check_add(self, request: Request, council_id: FromPath[int]) -> Template | Redirect:
        council = await _council(council_id)
        spec = plugins_of(request).specs.form(checks.FORM_ID)
        data, files = await form_with_files(request)
        building = (data.get("building") or [""])[0].strip()
        result = validate(spec, data, files)
        errors = dict(result.errors)
        if building not in await buildings.building_names(council):
            errors["building"] = _("请从名册的楼栋中选择被检查的出租屋。")
        if errors:
            return await self._checks_page(request, council, status_code=422, building=building, values=data,
                                           errors=errors, nonce=_nonce(data))
        check_id = await checks.save_check(council_id, building, spec, result, await _actor(request), _nonce(data))
        return see_other(f"{council['base']}/checks/{check_id}")

    @get("/checks/{check_id:int}", name="linjuli:check", opt={"permission": VIEW})
    async def check_show(self, request: Request, council_id: FromPath[int], check_id: FromPath[int]) -> Template:
        council = await _council(council_id)
        row = await checks.check_in(council_id, check_id)
        if row is None:
            raise NotFoundException(_("没有这次检查。"))
        spec = plugins_of(request).specs.form(checks.FORM_ID)
        values = row["record"]["values"]
        results = [{"name": name, "label": label, "value": values.get(name),
                    "problem": values.get(f"{name}_problem") or ""} for name, label in checks.items(spec)]
        return Template("linjuli/check.html", context={
            "council": council, "check": row, "results": results, "notes": values.get("notes") or "",
            "fixes": await checks.fixes(council_id, check_id=check_id),
            "can_record": await _may(request, RECORD, council_id), "today": _today().isoformat(),
            "errors": {}, "values": {}, "error_fix": None,
        })

    @post("/fixes/{fix_id:int}", name="linjuli:fix_done", opt={"permission": RECORD})
    async def fix_done(self, request: Request, council_id: FromPath[int], fix_id: FromPath[int]) -> Template | Redirect:
        council = await _council(council_id)
        form = await form_of(request)
        values, errors = checks.validate_fix(form, _today())
        back = form.get("back", "")
        if not back.startswith(council["base"] + "/"):  # only ever back to a page of this council
            back = f"{council['base']}/checks"
        if errors:
            return Template("linjuli/fix_error.html", status_code=422, context={
                "council": council, "errors": errors, "form": form, "fix_id": fix_id, "back": back,
                "today": _today().isoformat()})
        try:
            await checks.mark_fixed(council_id, fix_id, values["fixed_on"], values["fixed_note"], await _actor(request))
        except checks.CheckError as exc:
            raise NotFoundException(exc.message) from exc
        return see_other(back)

    @post("/fixes/{fix_id:int}/topic", name="linjuli:fix_topic", opt={"permission": RECORD})
    async def fix_topic(self, request: Request, council_id: FromPath[int], fix_id: FromPath[int]) -> Redirect:
        """转为议题: the hazard becomes a topic on the council's list, to be assigned to 派出所 or 网格."""
        council = await _council(council_id)
        form = await form_of(request)
        try:
            await checks.raise_topic(council_id, fix_id, await _actor(request))
        except checks.CheckError as exc:
            if exc.status == 404:
                raise NotFoundException(exc.message) from exc
            raise HTTPException(status_code=exc.status, detail=exc.message) from exc
        back = form.get("back", "")
        return see_other(back if back.startswith(council["base"] + "/") else f"{council['base']}/checks")

    # ------------------------------------------------------------------ volunteer points

    async def _points_page(self, request: Request, council: dict[str, Any], *, status_code: int = 200,
                           values: dict[str, list[str]] | None = None, errors: dict[str, str] | None = None,
                           nonce: str | None = None, done: dict[str, Any] | None = None) -> Template:
        people = await buildings.people(council)
        balances = await points.balances(council["id"])
        for p in people:
            p.update(balances.get(p["id"], {"balance": 0, "earned": 0, "redeemed": 0}))
        return Template("linjuli/points.html", status_code=status_code, context={
            "council": council, "spec": plugins_of(request).specs.form(points.FORM_ID),
            "choices": Choices(persons=buildings.person_choices(people)), "people": people,
            "values": values if values is not None else {"happened_on": [_today().isoformat()], "direction": ["earn"]},
            "errors": errors or {}, "nonce": nonce or _new_nonce(), "ledger": await points.ledger(council["id"]),
            "can_record": await _may(request, RECORD, council["id"]), "kinds": buildings.KINDS, "done": done,
        })

    @get("/points", name="linjuli:points", opt={"permission": VIEW})
    async def points_index(self, request: Request, council_id: FromPath[int]) -> Template:
        return await self._points_page(request, await _council(council_id))

    @post("/points", name="linjuli:points_add", opt={"permission": RECORD})
    async def points_add(self, request: Request, council_id: FromPath[int]) -> Template | Redirect:
        council = await _council(council_id)
        data, files = await form_with_files(request)
        choices = Choices(persons=buildings.person_choices(await buildings.people(council)))
        result = validate(plugins_of(request).specs.form(points.FORM_ID), data, files, choices)
        errors = dict(result.errors)
        if not errors:
            try:
                await points.add_line(council, points.line_from(result.values), await _actor(request), _nonce(data))
            except points.PointsError as exc:
                errors["points"] = exc.message
        if errors:
            return await self._points_page(request, council, status_code=422, values=data, errors=errors,
                                           nonce=_nonce(data))
        return see_other(f"{council['base']}/points")

    # ------------------------------------------------------------------ monthly report

    async def _report(self, request: Request, council_id: int) -> tuple[dict[str, Any], str]:
        council = await _council(council_id)
        month, problem = report.parse_month(request.query_params.get("month"))
        ctx = {"council": council, "r": await report.figures(council_id, month), "problem": problem,
               "generated": datetime.now(LOCAL_TZ), "toolbar": True}
        return ctx, problem

    @get("/report", name="linjuli:report", media_type="text/html", opt={"permission": VIEW})
    async def report_page(self, request: Request, council_id: FromPath[int]) -> Response[str]:
        ctx, problem = await self._report(request, council_id)
        html = request.app.state.jinja.get_template("linjuli/report.html").render(
            **ctx, for_print=False, nonce=nonce_of(request), request=request)
        return Response(html, media_type="text/html", status_code=422 if problem else 200)

    @get("/report.pdf", name="linjuli:report_pdf", opt={"permission": VIEW})
    async def report_pdf(self, request: Request, council_id: FromPath[int]) -> Response[bytes] | Response[str]:
        ctx, problem = await self._report(request, council_id)
        if problem:
            html = request.app.state.jinja.get_template("linjuli/report.html").render(
                **ctx, for_print=False, nonce=nonce_of(request), request=request)
            return Response(html, media_type="text/html", status_code=422)
        html = request.app.state.jinja.get_template("linjuli/report.html").render(**ctx, for_print=True, nonce="")
        pdf = await asyncio.to_thread(render_pdf, html, str(request.base_url))
        name = f"{_('月报')}-{ctx['council']['name']}-{ctx['r']['month'].key}.pdf"
        fallback = f"linjuli-report-{council_id}-{ctx['r']['month'].key}.pdf"
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"})


ROUTES = [index, CouncilController]
