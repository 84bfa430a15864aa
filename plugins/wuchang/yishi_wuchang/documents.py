"""The plugin's documents: the 回音表 (every issue of a meeting and its answer) and the 交办单 (the
issues assigned to each department, a page each), declared through core's ``yishi_documents`` so
core serves them at ``/meetings/<id>/documents/wuchang_huiyin.{html,pdf,docx}`` (and
``wuchang_jiaoban``), lists them on the meeting's documents page and exports them from the CLI.

One department's own 交办单 (a page of the plugin, /p/wuchang/meetings/<id>/jiaoban/<department>)
renders the same template with only that department.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.exceptions import NotFoundException
from litestar.response import Response

from core.documents.service import DocumentNotFound
from core.documents.spec import DocumentSpec
from core.i18n import _
from core.meetings.tables import Meeting
from core.minutes.render import render_pdf
from core.security import nonce_of
from core.topics.tables import Department
from yishi_wuchang import capture, ledger

PRACTICE_ID = "wuchang"
WORKFLOW = "wuchang_topic"


async def wuchang_meeting(meeting_id: int) -> dict[str, Any] | None:
    """The meeting with its council's name, if it is a 屋场恳谈会 council's; else None."""
    row = await Meeting.select(Meeting.all_columns(), Meeting.council.name.as_alias("council_name"),
                               Meeting.council.practice.as_alias("practice")).where(Meeting.id == meeting_id).first()
    return row if row is not None and row["practice"] == PRACTICE_ID else None


async def _meeting_or_refuse(meeting_id: int) -> dict[str, Any]:
    meeting = await wuchang_meeting(meeting_id)
    if meeting is None:
        raise DocumentNotFound(_("会议 {id} 不是屋场恳谈会，没有这份文档。").format(id=meeting_id))
    return meeting


def counts(issues: list[dict[str, Any]]) -> dict[str, int]:
    out = {"all": len(issues), "raised": 0, "explain": 0, "onsite": 0, "concentrate": 0, "unreplied": 0}
    for i in issues:
        out[i["track"] or "raised"] += 1
        out["unreplied"] += not i["replied"]
    return out


async def huiyin_context(meeting_id: int, plugins: Any, settings: Any = None) -> dict[str, Any]:
    """What the 回音表 shows: every issue, its track, its answer (or why there is none yet)."""
    meeting = await _meeting_or_refuse(meeting_id)
    issues = await ledger.meeting_issues([meeting_id])
    return {"meeting": meeting, "issues": issues, "tracks": capture.track_labels(),
            "state_label": plugins.specs.workflow(WORKFLOW).state_label, "ratings": ledger.rating_labels(),
            "counts": counts(issues), "unreplied": [i for i in issues if not i["replied"]],
            "departments": await Department.select().where(Department.council == meeting["council"]).order_by(
                Department.id)}


async def jiaoban_context(meeting_id: int, plugins: Any, settings: Any = None,
                          department_id: int | None = None) -> dict[str, Any]:
    """What the 交办单 shows: for each department (or the one asked for), its issues of the meeting."""
    meeting = await _meeting_or_refuse(meeting_id)
    query = Department.select().where(Department.council == meeting["council"])
    if department_id is not None:
        query = query.where(Department.id == department_id)
    sheets = []
    for department in await query.order_by(Department.id):
        issues = await ledger.department_sheet(meeting_id, department["id"])
        if issues or department_id is not None:
            sheets.append({"department": department, "issues": issues})
    if department_id is not None and not sheets:
        raise DocumentNotFound(_("没有这个责任单位。"))
    return {"meeting": meeting, "sheets": sheets, "task_label": plugins.specs.workflow("task").state_label}


def document_specs() -> list[DocumentSpec]:
    return [
        DocumentSpec(id="wuchang_huiyin", title="回音表", template="wuchang/huiyin.html", context=huiyin_context,
                     practices=(PRACTICE_ID,)),
        DocumentSpec(id="wuchang_jiaoban", title="交办单", template="wuchang/jiaoban.html", context=jiaoban_context,
                     practices=(PRACTICE_ID,)),
    ]


# -------------------------------------------------------------------------------------------------
# One department's 交办单, a page of the plugin
# -------------------------------------------------------------------------------------------------


async def department_context(request: Request, meeting_id: int, department_id: int) -> dict[str, Any]:
    try:
        ctx = await jiaoban_context(meeting_id, request.app.state.plugins, department_id=department_id)
    except DocumentNotFound as exc:
        raise NotFoundException(str(exc)) from exc
    return {**ctx, "department_id": department_id}


def html(request: Request, template: str, context: dict[str, Any]) -> Response[str]:
    """The document as a page (its stylesheet carries the page's CSP nonce)."""
    page = request.app.state.jinja.get_template(template).render(**context, for_print=False, nonce=nonce_of(request))
    return Response(page, media_type="text/html")


def pdf(request: Request, template: str, context: dict[str, Any]) -> bytes:
    """The same document printed to A4."""
    page = request.app.state.jinja.get_template(template).render(**context, for_print=True, nonce="")
    return render_pdf(page, str(request.base_url))
