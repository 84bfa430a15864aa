"""Produce a document of a meeting in one format: look the spec up, check the meeting may have it,
build the context, render the template, stamp the record's SHA-256, print or convert.

Every refusal is a :class:`DocumentError` whose Chinese message names the meeting, the template or
the font; the caller writes nothing.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, TemplateError

from core.documents.record import meeting_record, record_sha256
from core.documents.spec import DocumentSpec
from core.errors import YishiError
from core.fonts import MissingFontError
from core.i18n import _
from core.meetings.tables import Meeting

#: Minutes are final once approved (审定); a published meeting's documents carry the record hash.
APPROVED_STATES = frozenset({"approved", "published"})
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf",
               "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
#: The stamp in a document's metadata: ``yishi-record:<meeting id>:<sha256 hex>``.
STAMP = "yishi-record:{meeting}:{sha}"
STAMP_RE = re.compile(r"yishi-record:(\d+):([0-9a-f]{64})")
#: The printed line (:func:`stamp_line`), for a file whose metadata another program dropped.
TEXT_STAMP_RE = re.compile(r"SHA-256\s*[)）]\s*[:：]\s*([0-9a-f]{64})\s*·\s*会议编号\s*(\d+)")


class DocumentError(YishiError):
    """A document that cannot be produced; the message says which meeting, template or font."""


class DocumentNotFound(DocumentError):
    """No such meeting, document or format (a page answers 404)."""


@dataclass
class Built:
    data: bytes
    filename: str
    media_type: str
    sha256: str  # the record's hash when the meeting is published, else ""


def document_specs(plugins: Any) -> dict[str, DocumentSpec]:
    """Every document the loaded plugins declare, by id, in load order (core's first)."""
    specs: dict[str, DocumentSpec] = {}
    for plugin_id, declared in plugins.call_each("yishi_documents"):
        for spec in declared:
            if not isinstance(spec, DocumentSpec):
                raise DocumentError(_("插件 {plugin} 的 yishi_documents 应返回 DocumentSpec，而不是 {kind}。").format(
                    plugin=plugin_id, kind=type(spec).__name__))
            if spec.id in specs:
                raise DocumentError(_("文档编号 {id} 被插件 {a} 和 {b} 重复声明。").format(
                    id=spec.id, a=specs[spec.id].plugin, b=plugin_id))
            specs[spec.id] = DocumentSpec(**{**spec.__dict__, "plugin": plugin_id})
    return specs


#: Ids are 32-bit in PostgreSQL: a larger one (typed into a public URL) names no meeting.
MAX_ID = 2**31 - 1


async def meeting_state(meeting_id: int) -> dict[str, Any]:
    if not 0 < meeting_id <= MAX_ID:
        raise DocumentNotFound(_("会议 {id} 不存在。").format(id=meeting_id))
    row = await Meeting.select(Meeting.id, Meeting.title, Meeting.state,
                               Meeting.council.practice.as_alias("practice")).where(Meeting.id == meeting_id).first()
    if row is None:
        raise DocumentNotFound(_("会议 {id} 不存在。").format(id=meeting_id))
    return row


def specs_for_practice(specs: dict[str, DocumentSpec], practice: str) -> list[DocumentSpec]:
    """The documents a meeting of a council run under ``practice`` has, in declaration order."""
    return [spec for spec in specs.values() if spec.applies_to(practice)]


def practice_name(plugins: Any, practice_id: str) -> str:
    """A practice's name for messages (its id when no loaded plugin declares it)."""
    practice = plugins.practice(practice_id) if hasattr(plugins, "practice") else None
    return practice.name if practice is not None else practice_id


def check_allowed(spec: DocumentSpec, meeting: dict[str, Any], fmt: str, plugins: Any = None) -> None:
    if not spec.applies_to(meeting["practice"]):
        raise DocumentNotFound(_("“{title}”只用于{practices}的议事机构；会议 {id}“{meeting}”所属的议事机构采用"
                                 "{practice}，没有这份文档。").format(
            title=spec.title, practices="、".join(practice_name(plugins, p) for p in spec.practices),
            id=meeting["id"], meeting=meeting["title"], practice=practice_name(plugins, meeting["practice"])))
    if fmt not in spec.formats:
        raise DocumentNotFound(_("“{title}”没有 {fmt} 格式（可用：{formats}）。").format(
            title=spec.title, fmt=fmt, formats="、".join(spec.formats)))
    if fmt in spec.needs_approval and meeting["state"] not in APPROVED_STATES:
        raise DocumentError(_("会议 {id}“{title}”的纪要尚未审定，不能导出{doc}的 {fmt} 文件；请先审定纪要。").format(
            id=meeting["id"], title=meeting["title"], doc=spec.title, fmt=fmt))


async def document_context(spec: DocumentSpec, meeting_id: int, plugins: Any, settings: Any) -> dict[str, Any]:
    try:
        result = spec.context(meeting_id, plugins, settings)
        if inspect.isawaitable(result):
            result = await result
    except YishiError:
        raise
    except Exception as exc:  # a plugin's context function failed: say whose
        raise DocumentError(_("插件 {plugin} 的文档“{title}”无法生成：{error}").format(
            plugin=spec.plugin, title=spec.title, error=exc)) from exc
    return dict(result or {})


def render_template(env: Environment, spec: DocumentSpec, context: dict[str, Any]) -> str:
    try:
        return env.get_template(spec.template).render(**context)
    except TemplateError as exc:
        where = f"{exc.filename}:{exc.lineno}" if getattr(exc, "lineno", None) else spec.template
        raise DocumentError(_("插件 {plugin} 的模板 {template} 有错误（{where}）：{error}").format(
            plugin=spec.plugin, template=spec.template, where=where, error=exc.message or exc)) from exc
    except Exception as exc:
        raise DocumentError(_("插件 {plugin} 的模板 {template} 渲染失败：{error}").format(
            plugin=spec.plugin, template=spec.template, error=exc)) from exc


def stamp_html(html: str, meeting_id: int, sha: str) -> str:
    """Add the record's hash to a published document: the machine-readable stamp in the metadata
    (PDF keywords, Word properties, HTML ``<meta>``) and, unless the template already prints the
    hash (core's do, in their footer), a last line with it."""
    meta = f'<meta name="keywords" content="{STAMP.format(meeting=meeting_id, sha=sha)}">'
    html = re.sub(r"(<head[^>]*>)", lambda m: m.group(1) + meta, html, count=1, flags=re.I)
    if sha in html.replace(meta, ""):
        return html
    line = f'<p class="record-hash" id="record-hash">{stamp_line(meeting_id, sha)}</p>'
    if re.search(r"</body>", html, flags=re.I):
        return re.sub(r"</body>", lambda m: line + m.group(0), html, count=1, flags=re.I)
    return html + line


def stamp_line(meeting_id: int, sha: str) -> str:
    """The stamp as people read it; :data:`TEXT_STAMP_RE` finds it again in a document's text."""
    return _("记录校验码（SHA-256）：{sha} · 会议编号 {id}").format(sha=sha, id=meeting_id)


def file_name(spec: DocumentSpec, meeting: dict[str, Any], fmt: str) -> str:
    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", meeting["title"])[:60]
    return f"{spec.title}-{meeting['id']}-{safe}.{fmt}"


async def build_document(plugins: Any, settings: Any, env: Environment, doc_id: str, meeting_id: int, fmt: str,
                         base_url: str = ".", nonce: str = "", public: bool = False) -> Built:
    """The document ``doc_id`` of meeting ``meeting_id`` as bytes in ``fmt`` (html, pdf, docx).

    ``public``: the copy anyone may read under /public/ — only of a published meeting (before that
    the meeting "has no such document"), and the template is told (``public``) so that its links
    stay on public pages."""
    specs = document_specs(plugins)
    spec = specs.get(doc_id)
    if spec is None:
        raise DocumentNotFound(_("没有名为 {id} 的文档（可用：{ids}）。").format(id=doc_id, ids="、".join(specs)))
    meeting = await meeting_state(meeting_id)
    if public and meeting["state"] != "published":
        raise DocumentNotFound(_("会议 {id} 的{doc}尚未公布。").format(id=meeting_id, doc=spec.title))
    check_allowed(spec, meeting, fmt, plugins)
    context = await document_context(spec, meeting_id, plugins, settings)
    sha = ""
    if meeting["state"] == "published":
        record = await meeting_record(meeting_id)
        sha = record_sha256(record) if record is not None else ""
    context.update(meeting_id=meeting_id, document=spec, for_print=fmt != "html", nonce=nonce, public=public,
                   record_sha256=sha, record_stamp=stamp_line(meeting_id, sha) if sha else "",
                   draft=context.get("draft", meeting["state"] not in APPROVED_STATES))
    html = render_template(env, spec, context)
    if sha:
        html = stamp_html(html, meeting_id, sha)
    if fmt == "html":
        data = html.encode()
    elif fmt == "pdf":
        from core.minutes.render import render_pdf
        try:
            data = await asyncio.to_thread(render_pdf, html, base_url)
        except MissingFontError as exc:
            raise DocumentError(str(exc)) from exc
    else:
        from core.documents.docx import html_to_docx
        data = await asyncio.to_thread(html_to_docx, html, spec.title, STAMP.format(meeting=meeting_id, sha=sha)
                                       if sha else "", stamp_line(meeting_id, sha) if sha else "")
    return Built(data=data, filename=file_name(spec, meeting, fmt), media_type=MEDIA_TYPES[fmt], sha256=sha)
