"""Editing a meeting's agenda: add, edit, delete and reorder items, and attach files to them.

Every change bumps ``Meeting.agenda_revision`` with a conditional UPDATE (``WHERE agenda_revision =
<the revision the form was rendered with>``), so an edit made on a stale page — another tablet
changed the agenda meanwhile, or the same request is retried after it already applied — is refused
with a message and changes nothing. The change, the bump and its audit event are one transaction.

Items may be edited, deleted and moved while the meeting is a draft or notified; an item may also be
added (at the end) while it is in session. Attachments are images (JPEG/PNG/WebP) or PDF, judged by
their bytes (core.lowcode.forms.sniff), stored once by SHA-256 (core.topics.storage).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import audit, db, events
from core.i18n import _
from core.lowcode.forms import Upload, clean_filename, kind_labels, sniff
from core.meetings.lifecycle import BEFORE
from core.meetings.services import MeetingError
from core.meetings.tables import AgendaAttachment, AgendaItem, Meeting
from core.text import has_control
from core.topics.storage import write_upload

TITLE_MAX = 120
DESCRIPTION_MAX = 2000
PROPOSER_MAX = 60
DURATION_MIN, DURATION_MAX = 1, 240
#: Per file. Below Litestar's default request body limit (10 000 000 bytes), so an oversized file
#: still reaches us and gets a message beside the field rather than a bare 413.
ATTACHMENT_MAX_BYTES = 8 * 1024 * 1024
ATTACHMENT_KINDS = ("jpeg", "png", "webp", "pdf")
#: While the meeting is in session items may still be added (at the end) and given files.
ADD_STATES = BEFORE | {"in_session"}


def stale_message() -> str:
    return _("议程已被修改，请刷新后再试")


@dataclass(frozen=True)
class ItemInput:
    """An agenda item as typed into the form, cleaned."""

    title: str
    description: str
    proposer: str
    duration_minutes: int

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, "description": self.description, "proposer": self.proposer,
                "duration_minutes": self.duration_minutes}


def validate_item(form: Mapping[str, str]) -> tuple[ItemInput | None, dict[str, str]]:
    """The item from the form, or the errors by field name (in Chinese, shown beside the field)."""
    errors: dict[str, str] = {}
    title = (form.get("title") or "").strip()
    description = (form.get("description") or "").replace("\r\n", "\n").strip()
    proposer = (form.get("proposer") or "").strip()
    if not title:
        errors["title"] = _("请填写议题名称")
    elif len(title) > TITLE_MAX:
        errors["title"] = _("议题名称不能超过 {limit} 字").format(limit=TITLE_MAX)
    elif has_control(title):
        errors["title"] = _("议题名称中含有无法显示的控制字符")
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _("说明不能超过 {limit} 字").format(limit=DESCRIPTION_MAX)
    elif has_control(description, allow="\n\t"):
        errors["description"] = _("说明中含有无法显示的控制字符")
    if len(proposer) > PROPOSER_MAX:
        errors["proposer"] = _("提出人不能超过 {limit} 字").format(limit=PROPOSER_MAX)
    elif has_control(proposer):
        errors["proposer"] = _("提出人中含有无法显示的控制字符")
    raw = (form.get("duration_minutes") or "").strip()
    duration = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 4 else None
    if duration is None or not DURATION_MIN <= duration <= DURATION_MAX:
        errors["duration_minutes"] = _("建议时长须为 {low}–{high} 分钟的整数").format(
            low=DURATION_MIN, high=DURATION_MAX)
    if errors:
        return None, errors
    assert duration is not None
    return ItemInput(title, description, proposer, duration), errors


def parse_revision(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 9 else None


async def _bump(meeting_id: int, revision: int | None, states: frozenset[str]) -> None:
    """Claim the next revision, or say why not (inside the caller's transaction)."""
    row = await db.for_update(Meeting.select(Meeting.state, Meeting.agenda_revision).where(
        Meeting.id == meeting_id)).first()
    if row is None:
        raise MeetingError(_("会议不存在。"))
    if row["state"] not in states:
        raise MeetingError(_("会议已开始或已结束，议程不能再修改。") if "in_session" not in states
                           else _("会议已结束，议程不能再修改。"))
    if revision is None or row["agenda_revision"] != revision:
        raise MeetingError(stale_message())
    changed = await Meeting.update({Meeting.agenda_revision: revision + 1}).where(
        (Meeting.id == meeting_id) & (Meeting.agenda_revision == revision)).returning(Meeting.id)
    if not changed:
        raise MeetingError(stale_message())


async def _item(meeting_id: int, item_id: int) -> dict[str, Any]:
    row = await AgendaItem.select().where((AgendaItem.id == item_id) & (AgendaItem.meeting == meeting_id)).first()
    if row is None:
        raise MeetingError(stale_message())
    return row


async def add_item(meeting_id: int, revision: int | None, item: ItemInput, actor: str) -> int:
    """Append an item to the agenda; its id."""
    async with db.atomic():
        await _bump(meeting_id, revision, ADD_STATES)
        last = await AgendaItem.select(AgendaItem.position).where(AgendaItem.meeting == meeting_id).order_by(
            AgendaItem.position, ascending=False).first()
        position = (last["position"] if last else 0) + 1
        row = (await AgendaItem.insert(AgendaItem(meeting=meeting_id, position=position, **item.as_dict()))
               .returning(AgendaItem.id))[0]
        await audit.record(actor=actor, action="agenda.item_added", entity=f"agenda_item:{row['id']}",
                           after={"meeting": meeting_id, "position": position, **item.as_dict()})
        events.changed(f"meeting:{meeting_id}", "agenda", {"item": row["id"]})
    return row["id"]


async def edit_item(meeting_id: int, item_id: int, revision: int | None, item: ItemInput, actor: str) -> None:
    async with db.atomic():
        await _bump(meeting_id, revision, BEFORE)
        before = await _item(meeting_id, item_id)
        await AgendaItem.update({getattr(AgendaItem, k): v for k, v in item.as_dict().items()}).where(
            AgendaItem.id == item_id)
        await audit.record(actor=actor, action="agenda.item_edited", entity=f"agenda_item:{item_id}",
                           before={k: before[k] for k in item.as_dict()}, after=item.as_dict())
        events.changed(f"meeting:{meeting_id}", "agenda", {"item": item_id})


async def delete_item(meeting_id: int, item_id: int, revision: int | None, actor: str) -> None:
    """Remove an item and close the gap, so positions stay 1, 2, 3 …"""
    async with db.atomic():
        await _bump(meeting_id, revision, BEFORE)
        before = await _item(meeting_id, item_id)
        await AgendaItem.delete().where(AgendaItem.id == item_id)
        later = await AgendaItem.select(AgendaItem.id, AgendaItem.position).where(
            (AgendaItem.meeting == meeting_id) & (AgendaItem.position > before["position"])).order_by(
            AgendaItem.position)
        for row in later:  # ascending: each step moves into the place just freed
            await AgendaItem.update({AgendaItem.position: row["position"] - 1}).where(AgendaItem.id == row["id"])
        await audit.record(actor=actor, action="agenda.item_deleted", entity=f"agenda_item:{item_id}",
                           before={"meeting": meeting_id, "position": before["position"], "title": before["title"]})
        events.changed(f"meeting:{meeting_id}", "agenda", {"item": item_id})


async def move_item(meeting_id: int, item_id: int, direction: str, revision: int | None, actor: str) -> None:
    """Swap an item with its neighbour above (``up``) or below (``down``)."""
    if direction not in ("up", "down"):
        raise MeetingError(_("请选择上移或下移。"))
    async with db.atomic():
        await _bump(meeting_id, revision, BEFORE)
        item = await _item(meeting_id, item_id)
        up = direction == "up"
        neighbour = await AgendaItem.select(AgendaItem.id, AgendaItem.position).where(
            (AgendaItem.meeting == meeting_id)
            & (AgendaItem.position < item["position"] if up else AgendaItem.position > item["position"])
        ).order_by(AgendaItem.position, ascending=not up).first()
        if neighbour is None:
            raise MeetingError(_("已经在最前面了。") if up else _("已经在最后面了。"))
        # (meeting, position) is unique and not deferrable: park the item at a free position first.
        await AgendaItem.update({AgendaItem.position: -item["position"]}).where(AgendaItem.id == item_id)
        await AgendaItem.update({AgendaItem.position: item["position"]}).where(AgendaItem.id == neighbour["id"])
        await AgendaItem.update({AgendaItem.position: neighbour["position"]}).where(AgendaItem.id == item_id)
        await audit.record(actor=actor, action="agenda.item_moved", entity=f"agenda_item:{item_id}",
                           before={"position": item["position"]}, after={"position": neighbour["position"]})
        events.changed(f"meeting:{meeting_id}", "agenda", {"item": item_id})


def check_attachment(upload: Upload | None) -> tuple[str, str | None]:
    """The file's real kind, or a message for the chair (empty, too big, not an image or PDF)."""
    if upload is None or not upload.data:
        return "", _("请选择要上传的文件")
    name = clean_filename(upload.filename)
    if upload.size > ATTACHMENT_MAX_BYTES:
        return "", _("文件“{name}”超过 {limit} MB，请压缩后再上传").format(
            name=name, limit=ATTACHMENT_MAX_BYTES // (1024 * 1024))
    kind = sniff(upload.data)
    if kind not in ATTACHMENT_KINDS:
        labels = kind_labels()
        return "", _("文件“{name}”看起来是{kind}，只接受 JPEG、PNG、WebP 图片和 PDF 文档").format(
            name=name, kind=labels.get(kind, labels["unknown"]))
    return kind, None


async def add_attachment(data_dir: Path, meeting_id: int, item_id: int, upload: Upload, kind: str,
                         actor: str) -> None:
    """Attach a checked file to an item. The same file twice on one item is kept once."""
    row = await Meeting.select(Meeting.state).where(Meeting.id == meeting_id).first()
    if row is None or row["state"] not in ADD_STATES:
        raise MeetingError(_("会议已结束，议程不能再修改。"))
    await _item(meeting_id, item_id)
    write_upload(data_dir, upload)  # before the transaction: a rollback leaves an unreferenced file only
    sha = upload.sha256
    async with db.atomic():
        if await AgendaAttachment.exists().where((AgendaAttachment.item == item_id) & (AgendaAttachment.sha256 == sha)):
            return
        name = clean_filename(upload.filename)
        await AgendaAttachment.insert(AgendaAttachment(item=item_id, sha256=sha, name=name, kind=kind,
                                                       size=upload.size))
        await audit.record(actor=actor, action="agenda.attachment_added", entity=f"agenda_item:{item_id}",
                           after={"sha256": sha, "name": name, "kind": kind, "size": upload.size})
        events.changed(f"meeting:{meeting_id}", "agenda", {"item": item_id})


async def attachment(meeting_id: int, attachment_id: int) -> dict[str, Any] | None:
    """An attachment of one of this meeting's items (None for another meeting's)."""
    rows = await AgendaAttachment.raw(
        "SELECT a.id, a.sha256, a.name, a.kind FROM yishi_agenda_attachment a"
        " JOIN yishi_agenda_item i ON i.id = a.item WHERE a.id = {} AND i.meeting = {}", attachment_id, meeting_id)
    return rows[0] if rows else None


__all__ = ["ATTACHMENT_MAX_BYTES", "ItemInput", "add_attachment", "add_item", "attachment", "check_attachment",
           "delete_item", "edit_item", "move_item", "parse_revision", "validate_item"]
