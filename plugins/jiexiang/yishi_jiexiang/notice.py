"""The plugin's own pages, under /p/jiexiang/: the practice's councils (each linking to core's list
of its 纠纷调解 records) and the 公示 of finished mediations — the one page core's record engine does
not make, because it is public and masks residents' names."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Response, Template

from core.accounts.permissions import PUBLIC, council_unit_ancestors, current_user
from core.i18n import _
from core.minutes.render import render_pdf
from core.org.tables import Council
from core.records.service import listing, steps_of
from core.residents.identity import mask_name
from core.security import nonce_of
from core.web import plugins_of
from yishi_jiexiang.plugin import KIND, PRACTICE


@get("/", name="jiexiang:index", opt={"permission": "authenticated"})
async def index(request: Request) -> Template:
    user = await current_user(request)
    councils = await Council.select(Council.id, Council.name, Council.description).where(
        Council.practice == PRACTICE.id).order_by(Council.id)
    if not user.is_admin:  # seats, or staff whose unit is above the council
        councils = [c for c in councils if c["id"] in user.roles
                    or (user.unit and user.unit in await council_unit_ancestors(c["id"]))]
    return Template("jiexiang/index.html", context={"practice": PRACTICE, "councils": councils, "kind": KIND})


def public_party(values: dict[str, Any], side: str) -> str:
    """商户 by their shop's name (a business is public); everybody else by a masked name."""
    if values.get(f"{side}_shop"):
        return values[f"{side}_shop"]
    return f"{values.get(f'{side}_kind') or _('当事人')} {mask_name(values.get(f'{side}_name') or '')}"


async def _notice(request: Request, council_id: int, *, for_print: bool) -> tuple[str, dict]:
    council = await Council.select().where((Council.id == council_id) & (Council.practice == PRACTICE.id)).first()
    if council is None:
        raise NotFoundException(_("没有找到这个街巷议事会。"))
    rows = [{**r, "deadline": steps_of(r).get("jiexiang_xieyi", {}).get("deadline")}
            for r in await listing(council_id, KIND) if r["state"] in ("effective", "failed")]
    rows.sort(key=lambda r: r["updated_at"], reverse=True)
    workflow = plugins_of(request).specs.workflow("jiexiang_mediation")
    html = request.app.state.jinja.get_template("jiexiang/notice_doc.html").render(
        council=council, mediations=rows, states={s: workflow.state_label(s) for s in workflow.states},
        public_party=public_party, for_print=for_print, nonce="" if for_print else nonce_of(request))
    return html, council


@get("/public/{council_id:int}", name="jiexiang:public", media_type="text/html", opt={"permission": PUBLIC})
async def public_notice(request: Request, council_id: FromPath[int]) -> Response[str]:
    html, _council = await _notice(request, council_id, for_print=False)
    return Response(html, media_type="text/html")


@get("/public/{council_id:int}/notice.pdf", name="jiexiang:public_pdf", opt={"permission": PUBLIC})
async def public_notice_pdf(request: Request, council_id: FromPath[int]) -> Response[bytes]:
    html, council = await _notice(request, council_id, for_print=True)
    pdf = await asyncio.to_thread(render_pdf, html, str(request.base_url))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=\"jiexiang-notice-{council_id}.pdf\"; "
                               f"filename*=UTF-8''{quote('调解结果公示-' + council['name'] + '.pdf', safe='')}"})


ROUTES = [index, public_notice, public_notice_pdf]
