"""Does a document match the record? Read the stamp a published document carries (meeting id and
SHA-256 of the record), recompute the record's hash now, and say which meeting and whether they agree.

The stamp is read from the metadata (PDF keywords, Word properties, HTML ``<meta>``) and, failing
that, from the document's text, so a file re-saved by another program is still checked.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
import zlib
from dataclasses import dataclass

from core.documents.record import meeting_record, record_sha256
from core.documents.service import MAX_ID, STAMP_RE, TEXT_STAMP_RE
from core.i18n import _
from core.meetings.tables import Meeting

MAX_BYTES = 20 * 1024 * 1024


@dataclass
class Verdict:
    ok: bool
    message: str
    meeting_id: int | None = None
    meeting_title: str = ""
    document_sha256: str = ""
    record_sha256: str = ""


def _pdf_text(data: bytes) -> str:
    """The PDF's metadata and text: pdfinfo/pdftotext when installed, else the raw (inflated) streams."""
    chunks: list[str] = []
    if shutil.which("pdfinfo") and shutil.which("pdftotext"):
        for cmd in (["pdfinfo", "-"], ["pdftotext", "-layout", "-", "-"]):
            out = subprocess.run(cmd, input=data, capture_output=True, check=False, timeout=60)
            chunks.append(out.stdout.decode("utf-8", "replace"))
        return "\n".join(chunks)
    chunks.append(data.decode("latin-1"))
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", data, flags=re.S):
        try:
            chunks.append(zlib.decompress(match.group(1)).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(chunks)


def document_text(data: bytes) -> str:
    """What the stamp is looked for in, by the file's kind (PDF, DOCX, otherwise HTML/text)."""
    if data.startswith(b"%PDF"):
        return _pdf_text(data)
    if data.startswith(b"PK"):
        from core.documents.docx import docx_keywords, docx_text

        try:
            return docx_keywords(data) + "\n" + docx_text(data)
        except (zipfile.BadZipFile, KeyError, ValueError):
            return ""
    return data.decode("utf-8", "replace")


def looks_like_document(data: bytes) -> bool:
    """Whether ``data`` is a kind of file a document comes as: a PDF, a Word .docx, or a web page /
    text (UTF-8). A photo, a spreadsheet or a program is not — the page says so instead of "no stamp"."""
    if data.lstrip()[:1024].find(b"%PDF-") != -1:
        return True
    if data.startswith(b"PK"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                return "word/document.xml" in archive.namelist()
        except (zipfile.BadZipFile, ValueError):
            return False
    if b"\x00" in data:
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_stamp(data: bytes) -> tuple[int, str] | None:
    """(meeting id, SHA-256) from the metadata stamp, else from the printed line; None if neither."""
    text = document_text(data)
    if match := STAMP_RE.search(text):
        return int(match.group(1)), match.group(2)
    if match := TEXT_STAMP_RE.search(re.sub(r"[ \t]*\n[ \t]*", "", text)):
        return int(match.group(2)), match.group(1)
    return None


async def verify_document(data: bytes) -> Verdict:
    """Compare a document's stamp with the current record of the meeting it names."""
    if not data:
        return Verdict(False, _("文件是空的。"))
    if len(data) > MAX_BYTES:
        return Verdict(False, _("文件太大（超过 20 MB），不是本系统生成的文档。"))
    stamp = read_stamp(data)
    if stamp is None:
        return Verdict(False, _("文件中没有记录校验码：它不是本系统生成的已公布文档（草稿和未公布的纪要不带校验码）。"))
    meeting_id, sha = stamp
    meeting = None if meeting_id > MAX_ID else await Meeting.select(Meeting.id, Meeting.title, Meeting.state).where(
        Meeting.id == meeting_id).first()
    if meeting is None:
        return Verdict(False, _("文件指向会议 {id}，但该会议不存在。").format(id=meeting_id), meeting_id,
                       document_sha256=sha)
    if meeting["state"] != "published":  # only published records are stamped; a title says no more than that
        return Verdict(False, _("不一致：文件指向会议 {id}，但该会议的纪要目前不是已公布状态。").format(id=meeting_id),
                       meeting_id, document_sha256=sha)
    record = await meeting_record(meeting_id)
    now = record_sha256(record) if record is not None else ""
    if now == sha:
        return Verdict(True, _("一致：文件与会议 {id}“{title}”的当前记录相符。").format(
            id=meeting_id, title=meeting["title"]), meeting_id, meeting["title"], sha, now)
    return Verdict(False, _("不一致：会议 {id}“{title}”的记录在文件生成后已有改动，或文件被修改过。").format(
        id=meeting_id, title=meeting["title"]), meeting_id, meeting["title"], sha, now)


__all__ = ["Verdict", "document_text", "looks_like_document", "read_stamp", "verify_document"]
