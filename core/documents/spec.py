"""What a plugin declares to add a document (see the ``yishi_documents`` hook)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

#: Formats every document can be produced in (all from the one HTML template).
FORMATS = ("html", "pdf", "docx")

#: ``context(meeting_id, plugins, settings)`` -> dict of names for the template (sync or async).
ContextFunction = Callable[[int, Any, Any], "dict[str, Any] | Awaitable[dict[str, Any]]"]


@dataclass(frozen=True)
class DocumentSpec:
    """A document generated from one meeting's record.

    ``id`` is unique across plugins (start a plugin's own with the plugin id, ``linli_jiyao``);
    ``title`` is what the pages and file names show; ``formats`` a subset of :data:`FORMATS`;
    ``template`` the Jinja template (looked up theme > plugins > core) that renders the HTML;
    ``context`` builds the template's names from the record. ``needs_approval``: formats refused
    while the meeting's minutes are not yet approved (审定) — a filed Word copy or a 公示 on the
    wall must not show a draft. The record's SHA-256 is added to every document of a published
    meeting, whatever the plugin's template does, so ``yishi minutes verify`` works on it.
    ``practices``: the practice ids (``Council.practice``) whose meetings have this document; empty
    for every practice. A 回音表 of 五常 is not listed for a 三方 meeting, and opening it there is a 404.
    """

    id: str
    title: str
    template: str
    context: ContextFunction
    formats: tuple[str, ...] = FORMATS
    needs_approval: tuple[str, ...] = ()
    practices: tuple[str, ...] = ()
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        unknown = [f for f in self.formats if f not in FORMATS]
        if unknown:
            raise ValueError(f"文档 {self.id} 的格式 {'、'.join(unknown)} 不受支持（可用：{'、'.join(FORMATS)}）/ "
                             f"document {self.id}: unknown formats {unknown}")
        if isinstance(self.practices, str) or not all(isinstance(p, str) and p for p in self.practices):
            raise ValueError(f"文档 {self.id} 的 practices 应是做法编号的元组，如 (\"wuchang\",)，而不是 "
                             f"{self.practices!r} / document {self.id}: practices must be a tuple of practice ids")
        object.__setattr__(self, "practices", tuple(self.practices))  # a list would do too; keep it hashable

    def applies_to(self, practice: str) -> bool:
        """Whether a meeting of a council run under ``practice`` has this document."""
        return not self.practices or practice in self.practices
