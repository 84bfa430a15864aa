"""The documents a capture spec declares (``[[documents]]``, docs/capture.md), served through core's
``yishi_documents`` at ``/meetings/<id>/documents/<id>.{html,pdf,docx}``:

- ``content = "issues"`` — every issue of the meeting, its track and its 回音 (a 回音表);
- ``content = "department_sheets"`` — a sheet per department with work from the meeting (交办单);
  with ``department_path`` one department's sheet is also a page of the practice.

The practice's own template lays the paper out; this module gathers what it shows.
"""

from __future__ import annotations

from typing import Any

from core.documents.service import DocumentNotFound
from core.documents.spec import DocumentSpec
from core.i18n import _
from core.meetings.tables import Meeting
from core.topics.capture import tracks_of, words
from core.topics.capture_read import counts, department_sheet, meeting_issues, rating_labels
from core.topics.capture_spec import CaptureSpec
from core.topics.tables import Department


async def practice_meeting(spec: CaptureSpec, meeting_id: int) -> dict[str, Any] | None:
    """The meeting with its council's name, if its council runs the spec's practice; else None."""
    row = await Meeting.select(Meeting.all_columns(), Meeting.council.name.as_alias("council_name"),
                               Meeting.council.practice.as_alias("practice")).where(Meeting.id == meeting_id).first()
    return row if row is not None and row["practice"] == spec.practice else None


async def issues_context(spec: CaptureSpec, meeting: dict[str, Any], plugins: Any) -> dict[str, Any]:
    """What a page or paper of the meeting's issues shows (the capture page builds on it too)."""
    workflow = plugins.specs.workflow(spec.workflow)
    tracks = tracks_of(spec, workflow)
    issues = await meeting_issues(spec, workflow, [meeting["id"]])
    return {"meeting": meeting, "spec": spec, "issues": issues, "tracks": {t.id: t.label for t in tracks.values()},
            "track_info": tracks, "state_label": workflow.state_label, "ratings": rating_labels(),
            "counts": counts(issues, tracks), "unreplied": [i for i in issues if not i["replied"]],
            "departments": await Department.select().where(Department.council == meeting["council"]).order_by(
                Department.id)}


async def _meeting_or_refuse(spec: CaptureSpec, meeting_id: int) -> dict[str, Any]:
    meeting = await practice_meeting(spec, meeting_id)
    if meeting is None:
        raise DocumentNotFound(_("会议 {id} 不是{meeting}，没有这份文档。").format(id=meeting_id, **words(spec)))
    return meeting


async def sheets_context(spec: CaptureSpec, meeting_id: int, plugins: Any,
                         department_id: int | None = None) -> dict[str, Any]:
    """For each department (or the one asked for), its issues of the meeting."""
    meeting = await _meeting_or_refuse(spec, meeting_id)
    issues = await meeting_issues(spec, plugins.specs.workflow(spec.workflow), [meeting_id])
    query = Department.select().where(Department.council == meeting["council"])
    if department_id is not None:
        query = query.where(Department.id == department_id)
    sheets = []
    for department in await query.order_by(Department.id):
        mine = department_sheet(issues, department["id"])
        if mine or department_id is not None:
            sheets.append({"department": department, "issues": mine})
    if department_id is not None and not sheets:
        raise DocumentNotFound(_("没有这个责任单位。"))
    return {"meeting": meeting, "spec": spec, "sheets": sheets,
            "task_label": plugins.specs.workflow("task").state_label}


def capture_documents(spec: CaptureSpec) -> list[DocumentSpec]:
    """The spec's documents, for the practice's ``yishi_documents``."""

    def context_of(content: str) -> Any:
        async def context(meeting_id: int, plugins: Any, settings: Any = None) -> dict[str, Any]:
            if content == "issues":
                return await issues_context(spec, await _meeting_or_refuse(spec, meeting_id), plugins)
            return await sheets_context(spec, meeting_id, plugins)

        return context

    return [DocumentSpec(id=d.id, title=d.title, template=d.template, context=context_of(d.content),
                         practices=(spec.practice,)) for d in spec.documents]
