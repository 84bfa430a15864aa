"""Pages: a unit's dashboard (figures rolled up from its subtree, SVG charts with their tables),
downloads of every table as CSV or XLSX, a council's drill-down with its topics, one topic's facts,
and the public summary of a unit (no login).

Who sees what (docs/units.md): a unit's dashboard and its downloads need ``stats.view`` on the
unit — administrators everywhere; staff on their own unit and the units below it; a council's
members on the unit their council hangs on and the units below it (the guard decides, from
``unit_id``: core.accounts.permissions.AccessPolicy.allows_on_unit). Below a council — its topics,
one topic — the council's own ``topic.view`` applies. Rebuilding the figures is ``units.manage``
(administrators). The public page shows the headline to everyone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Response, Template

from core import spreadsheet
from core.accounts.permissions import AUTHENTICATED, PUBLIC, AccessPolicy, CurrentUser, current_user
from core.dashboard import export, figures, rollup, svg
from core.i18n import _
from core.web import plugins_of

PRIVATE = {"Cache-Control": "no-store"}
TOPIC_PAGE = 50
#: Reading a unit's figures (granted to staff and council roles; scoped to the unit by the guard).
VIEW = "stats.view"
#: Rebuilding the figures on demand: administrators only, like editing the unit tree.
MANAGE = "units.manage"


def practice_labels(request: Request) -> dict[str, str]:
    return {pid: p.name for pid, p in plugins_of(request).practices.items()}


def _period(request: Request) -> tuple[figures.Period, str]:
    """The period asked for, or the last twelve months with the reason when it cannot be read."""
    today = datetime.now(rollup.LOCAL_TZ).date()
    try:
        return figures.parse_period(request.query_params.get("from"), request.query_params.get("to"), today), ""
    except figures.PeriodError as exc:
        return figures.last_months(12, today), str(exc)


def charts(fig: figures.UnitFigures) -> dict[str, Any]:
    """One SVG per table: what each chart shows is the table's main figure."""
    months = [m.label[2:] for m in fig.months]
    return {
        "months": svg.column_chart(_("每月会议与议题"), months, [
            (_("会议场次"), [m.totals.meetings for m in fig.months]),
            (_("提出议题"), [m.totals.raised for m in fig.months]),
            (_("已办结"), [m.totals.solved for m in fig.months])], width=1000),
        "children": svg.bar_chart(_("各下级单元提出议题数"), [b.label for b in fig.children],
                                  [b.totals.raised for b in fig.children]),
        "practices": svg.bar_chart(_("各议事实践会议场次"), [b.label for b in fig.practices],
                                   [b.totals.meetings for b in fig.practices]),
        "categories": svg.bar_chart(_("各类别议题数"), [b.label for b in fig.categories],
                                    [b.totals.raised for b in fig.categories]),
    }


async def landing_unit(policy: AccessPolicy, user: CurrentUser) -> int | None:
    """Where /dashboard leads: an admin to the first root unit, staff to their own unit, a council's
    member to the unit of their (first) council; None when the user may read no unit's figures."""
    from core.org.tables import Council, Unit

    if user.is_admin:
        root = await Unit.select(Unit.id).where(Unit.parent.is_null()).order_by(Unit.id).first()
        return root["id"] if root else None
    if user.unit is not None and policy.role_allows({"staff"}, VIEW):
        return user.unit
    councils = sorted(c for c, roles in user.roles.items() if policy.role_allows(roles, VIEW))
    if not councils:
        return None
    row = await Council.select(Council.unit).where(Council.id == councils[0]).first()
    return row["unit"] if row else None


async def trail_of(policy: AccessPolicy, user: CurrentUser | None, unit_id: int) -> list[dict[str, Any]]:
    """The units from the root down to this one, each with whether this user may open its dashboard
    (the units above their reach are shown as plain names, not as links that end in a 403)."""
    from core.org.tables import Unit
    from core.org.tree import unit_ancestors

    trail_ids = list(reversed(await unit_ancestors(unit_id)))
    names = {r["id"]: r["name"] for r in await Unit.select(Unit.id, Unit.name).where(Unit.id.is_in(trail_ids))}
    footholds = await policy.unit_footholds(user, VIEW) if user and not user.is_admin else set()
    reach = 0 if user is None or user.is_admin else next(
        (i for i, unit in enumerate(trail_ids) if unit in footholds), len(trail_ids))
    return [{"id": i, "name": names.get(i, ""), "link": n >= reach} for n, i in enumerate(trail_ids)]


async def council_linked(policy: AccessPolicy, user: CurrentUser | None, trail: list[dict[str, Any]]) -> Any:
    """Which councils of this unit's table link to their drill-down (``topic.view`` on the council):
    all of them for an admin or for staff whose unit is this unit or above it; otherwise only the
    councils where the user's own roles grant it — a member sees their sibling councils' figures
    here, but not their topics."""
    if user is None or user.is_admin:
        return lambda council: True
    if user.unit is not None and policy.role_allows({"staff"}, "topic.view") and any(
            u["id"] == user.unit for u in trail):
        return lambda council: True
    own = {c for c, roles in user.roles.items() if policy.role_allows(roles, "topic.view")}
    return lambda council: council in own


class DashboardController(Controller):
    path = "/dashboard"

    @get("/", name="dashboard_home", opt={"permission": AUTHENTICATED})
    async def home(self, request: Request) -> Redirect | Template:
        """Each user lands on the unit they look after (landing_unit); someone with no unit to look
        after is told so (200: the menu leads anyone here, it is not a refusal of a unit)."""
        user = await current_user(request)
        unit = await landing_unit(request.app.state.access, user) if user else None
        if unit is not None:
            return Redirect(path=f"/dashboard/units/{unit}", status_code=303)
        detail = (_("还没有任何组织单元。") if user and user.is_admin else
                  _("您的账号没有管辖单元，也不是任何议事机构的成员，没有可以查看的统计。"
                    "如需查看，请联系管理员在“账号管理”中设置管辖单元。"))
        return Template("error.html", context={"title": _("统计"), "detail": detail, "status": 200},
                        headers=PRIVATE)

    @get("/units/{unit_id:int}", name="dashboard_unit", opt={"permission": VIEW})
    async def unit(self, request: Request, unit_id: FromPath[int]) -> Template:
        user = await current_user(request)
        built_at = await rollup.built_at()
        period, period_error = _period(request)
        fig = await figures.unit_figures(unit_id, period, practice_labels(request))
        if fig is None:
            raise NotFoundException(_("没有这个单元。"))
        trail = await trail_of(request.app.state.access, user, unit_id)
        tables = {name: export.table(fig, name) for name in export.TABLES}
        query = f"from={period.start_text}&to={period.end_text}"
        linked = await council_linked(request.app.state.access, user, trail)
        links = {"children": [f"{b.href}?{query}" for b in fig.children],
                 "councils": [f"{b.href}?{query}" if linked(b.key) else "" for b in fig.councils]}
        return Template("dashboard/unit.html", context={
            "fig": fig, "period": period, "period_error": period_error, "charts": charts(fig), "tables": tables,
            "titles": export.table_titles(), "built_at": built_at, "is_admin": bool(user and user.is_admin),
            "trail": trail, "percent": export.percent,
            "query": query, "links": links}, headers=PRIVATE)

    @post("/units/{unit_id:int}/refresh", name="dashboard_refresh", opt={"permission": MANAGE})
    async def refresh(self, request: Request, unit_id: FromPath[int]) -> Redirect:
        """An admin rebuilds the figures now (after an import, or data changed outside the app)."""
        await rollup.rebuild()
        query = request.url.query
        return Redirect(path=f"/dashboard/units/{unit_id}" + (f"?{query}" if query else ""), status_code=303)

    @get("/units/{unit_id:int}/export/{name:str}", name="dashboard_export", opt={"permission": VIEW})
    async def download(self, request: Request, unit_id: FromPath[int], name: FromPath[str]) -> Response:
        kind = request.query_params.get("format", "csv")
        if name not in export.TABLES or kind not in ("csv", "xlsx"):
            raise NotFoundException(_("没有这个表格。"))
        period, _error = _period(request)
        fig = await figures.unit_figures(unit_id, period, practice_labels(request))
        if fig is None:
            raise NotFoundException(_("没有这个单元。"))
        head, rows = export.table(fig, name)
        title = f"{fig.unit['name']}-{export.table_titles()[name]}-{period.start_text}~{period.end_text}"
        if kind == "csv":
            body, media = spreadsheet.to_csv(head, rows), "text/csv; charset=utf-8"
        else:
            body = spreadsheet.to_xlsx(export.table_titles()[name], head, rows)
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        from urllib.parse import quote

        return Response(body, media_type=media, headers={
            **PRIVATE, "Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.{kind}"})

    @get("/councils/{council_id:int}", name="dashboard_council", opt={"permission": "topic.view"})
    async def council(self, request: Request, council_id: FromPath[int]) -> Template:
        from core.dashboard.topics import council_topics, state_labels

        period, period_error = _period(request)
        data = await figures.council_figures(council_id, period)
        if data is None:
            raise NotFoundException(_("没有这个议事机构。"))
        raw_page = request.query_params.get("page") or "1"
        page = max(1, int(raw_page)) if raw_page.isascii() and raw_page.isdigit() and len(raw_page) < 6 else 1
        topics, total = await council_topics(council_id, period, page, TOPIC_PAGE)
        months = [m.label[2:] for m in data["months"]]
        chart = svg.column_chart(_("每月会议与议题"), months, [
            (_("会议场次"), [m.totals.meetings for m in data["months"]]),
            (_("提出议题"), [m.totals.raised for m in data["months"]]),
            (_("已办结"), [m.totals.solved for m in data["months"]])], width=1000)
        return Template("dashboard/council.html", context={
            **data, "period": period, "period_error": period_error, "chart": chart, "topics": topics,
            "total": total, "page": page, "state_labels": state_labels(),
            "pages": max(1, (total + TOPIC_PAGE - 1) // TOPIC_PAGE),
            "practice": practice_labels(request).get(data["council"]["practice"], data["council"]["practice"]),
            "percent": export.percent, "query": f"from={period.start_text}&to={period.end_text}",
            "month_rows": [[m.label, *export.row_values("months", m.totals)] for m in data["months"]],
            "month_head": export.headers("months")}, headers=PRIVATE)

    @get("/councils/{council_id:int}/topics/{topic_id:int}", name="dashboard_topic",
         opt={"permission": "topic.view"})
    async def topic(self, council_id: FromPath[int], topic_id: FromPath[int]) -> Template:
        from core.dashboard.topics import topic_facts

        facts = await topic_facts(council_id, topic_id)
        if facts is None:
            raise NotFoundException(_("没有这个议题。"))
        return Template("dashboard/topic.html", context=facts, headers=PRIVATE)


class PublicUnitController(Controller):
    path = "/public/units"

    @get("/{unit_id:int}", name="public_unit", opt={"permission": PUBLIC})
    async def summary(self, request: Request, unit_id: FromPath[int]) -> Template:
        """The headline figures of the last twelve months; no names, nothing personal."""
        period = figures.last_months(12, datetime.now(rollup.LOCAL_TZ).date())
        fig = await figures.unit_figures(unit_id, period, practice_labels(request))
        if fig is None:
            raise NotFoundException(_("没有这个单元。"))
        return Template("dashboard/public.html", context={"fig": fig, "period": period,
                                                           "percent": export.percent},
                        headers={"Cache-Control": "public, max-age=300"})
