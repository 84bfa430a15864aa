"""The plugin's own pages, under /p/linjuli/: the councils, a council's overview (buildings with their
landlords and tenants, the monthly series, open hazards, points) and the monthly report (page and PDF).

Checks, follow-ups and points are core's record pages (/councils/<id>/records/<kind>); the former
addresses of those pages lead there.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from core.accounts.permissions import AUTHENTICATED, current_user
from core.i18n import _
from core.meetings.recurrence import RuleError, parse_rule
from core.meetings.tables import Meeting
from core.minutes.render import render_pdf
from core.org.tables import Council
from core.records import ledger, service
from core.records.links import natural_key
from core.residents.tables import RosterEntry
from core.security import nonce_of
from core.templating import LOCAL_TZ
from core.topics.tables import Department
from core.web import plugins_of
from yishi_linjuli import report
from yishi_linjuli.plugin import CHECK, FIX, POINTS, PRACTICE, RECORD, VIEW


async def _may(request: Request, permission: str, council_id: int) -> bool:
    user = await current_user(request)
    return user is not None and await request.app.state.access.allows(user, permission, council_id)


async def _council(council_id: int) -> dict[str, Any]:
    """The council, if it runs 月月谈; any other council is "not here" for this plugin's pages."""
    council = await Council.select().where(Council.id == council_id).first()
    if council is None or council["practice"] != PRACTICE.id:
        raise NotFoundException(_("没有这个月月谈议事会。"))
    return council


@get("/", name="linjuli:index", opt={"permission": AUTHENTICATED})
async def index(request: Request) -> Template:
    """The 月月谈 councils the user may see."""
    rows = await Council.select(Council.id, Council.name, Council.unit.name.as_alias("unit_name")).where(
        Council.practice == PRACTICE.id).order_by(Council.id)
    councils = [c for c in rows if await _may(request, VIEW, c["id"])]
    return Template("linjuli/index.html", context={"councils": councils, "practice": PRACTICE})


class CouncilController(Controller):
    path = "/councils/{council_id:int}"

    @get("", name="linjuli:council", opt={"permission": VIEW})
    async def overview(self, request: Request, council_id: FromPath[int]) -> Template:
        council = await _council(council_id)
        people = await RosterEntry.select(RosterEntry.id, RosterEntry.name, RosterEntry.building,
                                          RosterEntry.kind).where(
            (RosterEntry.unit == council["unit"]) & (RosterEntry.revoked == False)  # noqa: E712
            & RosterEntry.kind.is_in(["landlord", "tenant"])).order_by(RosterEntry.room).order_by(RosterEntry.id)
        buildings: dict[str, dict[str, list]] = {}
        for p in sorted(people, key=lambda p: natural_key(p["building"] or "—")):
            buildings.setdefault(p["building"] or "—", {"landlord": [], "tenant": []})[p["kind"]].append(p)
        meetings = await Meeting.select(Meeting.id, Meeting.title, Meeting.starts_at, Meeting.state,
                                        Meeting.recurrence).where(Meeting.council == council_id).order_by(
            Meeting.starts_at)
        rule = next((m["recurrence"] for m in meetings if m["recurrence"]), "")
        try:
            rule_label = parse_rule(rule).label if rule else ""
        except RuleError:
            rule_label = rule
        now = datetime.now(LOCAL_TZ)
        upcoming = [m for m in meetings if m["starts_at"] >= now and m["state"] in ("draft", "notified")][:3]
        return Template("linjuli/council.html", context={
            "council": council, "buildings": buildings, "balances": await ledger.balances(POINTS, council_id),
            "rule_label": rule_label, "upcoming": upcoming,
            "past": [m for m in meetings if m not in upcoming and m["starts_at"] < now][-3:][::-1],
            "departments": await Department.select(Department.name, Department.kind).where(
                Department.council == council_id).order_by(Department.id),
            "open_fixes": await service.listing(council_id, FIX, "open"),
            "can_record": await _may(request, RECORD, council_id),
            "can_run": await _may(request, "meeting.run", council_id),
            "can_manage_departments": await _may(request, "department.manage", council_id),
        })

    @get(["/checks", "/points"], name="linjuli:moved", opt={"permission": VIEW})
    async def moved(self, request: Request, council_id: FromPath[int]) -> Redirect:
        """The checks and points pages are core's record pages now."""
        kind = CHECK if request.url.path.endswith("/checks") else POINTS
        return Redirect(f"/councils/{(await _council(council_id))['id']}/records/{kind}", status_code=301)

    async def _report(self, request: Request, council_id: int) -> tuple[dict[str, Any], str]:
        council = await _council(council_id)
        month, problem = report.parse_month(request.query_params.get("month"))
        ctx = {"council": council, "r": await report.figures(council_id, month, plugins_of(request).specs),
               "problem": problem, "generated": datetime.now(LOCAL_TZ), "toolbar": True}
        return ctx, problem

    def _html(self, request: Request, ctx: dict[str, Any], for_print: bool = False) -> str:
        extra = {"nonce": ""} if for_print else {"nonce": nonce_of(request), "request": request}
        return request.app.state.jinja.get_template("linjuli/report.html").render(**ctx, for_print=for_print, **extra)

    @get("/report", name="linjuli:report", media_type="text/html", opt={"permission": VIEW})
    async def report_page(self, request: Request, council_id: FromPath[int]) -> Response[str]:
        ctx, problem = await self._report(request, council_id)
        return Response(self._html(request, ctx), media_type="text/html", status_code=422 if problem else 200)

    @get("/report.pdf", name="linjuli:report_pdf", opt={"permission": VIEW})
    async def report_pdf(self, request: Request, council_id: FromPath[int]) -> Response[bytes] | Response[str]:
        ctx, problem = await self._report(request, council_id)
        if problem:
            return Response(self._html(request, ctx), media_type="text/html", status_code=422)
        pdf = await asyncio.to_thread(render_pdf, self._html(request, ctx, for_print=True), str(request.base_url))
        key = ctx["r"]["month"].key
        name = quote(f"{_('月报')}-{ctx['council']['name']}-{key}.pdf", safe="")
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f"attachment; filename=\"linjuli-report-{council_id}-{key}.pdf\"; "
                                   f"filename*=UTF-8''{name}"})


ROUTES = [index, CouncilController]
