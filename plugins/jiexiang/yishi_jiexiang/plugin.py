"""The plugin module named by the entry point: the hooks with behaviour.

Most of the practice is data — plugin.toml beside this module (the metadata, the practice and its
roles, the permissions, the menu link), the forms, workflows and record kinds under ``forms/``,
``workflows/`` and ``records/`` and the templates under ``templates/`` — which core finds by
convention (core/plugin_manifest.py), as is the demo data, demo.toml (core's seed format,
docs/records.md). This module keeps the pages, documents and minutes.
"""

from __future__ import annotations

from typing import Any

from core import hookimpl
from core.plugin_manifest import load_manifest

MANIFEST = load_manifest(__file__)
meta = MANIFEST.meta
PRACTICE = MANIFEST.practice

VIEW = "jiexiang.view"
MEDIATE = "jiexiang.mediate"
#: The record kind of a 纠纷调解 (records/jiexiang_tiaojie.toml), kept by core's record engine.
KIND = "jiexiang_tiaojie"


@hookimpl
def yishi_routes() -> list:
    """The practice's index and the public 公示; a mediation's own pages are core's (/records/...)."""
    from yishi_jiexiang.notice import ROUTES

    return ROUTES


@hookimpl
def yishi_documents() -> list:
    """议事纪要: core's minutes of a 议事会 or 巷导下午茶 with the disputes mediated at it."""
    from core.documents.spec import DocumentSpec
    from yishi_jiexiang.documents import jiyao_context

    return [DocumentSpec(id="jiexiang_jiyao", title="议事纪要", template="jiexiang/jiyao.html",
                         context=jiyao_context, needs_approval=("docx",), practices=(PRACTICE.id,))]


@hookimpl
def yishi_minutes_context(meeting: Any, context: dict[str, Any]) -> dict[str, Any]:
    """The 议事纪要 names itself after the kind of meeting and lists the 巷导 who took part.

    (The hook is called synchronously, so nothing here reads the database.)
    """
    kind = meeting["kind"] if isinstance(meeting, dict) else getattr(meeting, "kind", "")
    view = context.get("view")
    members = view.members_with_role("lane_guide") if view is not None else []
    return {"jiexiang": {"title": "巷导下午茶纪要" if kind == "巷导下午茶" else "议事纪要",
                         "informal": kind == "巷导下午茶",
                         "lane_guides": "、".join(m["name"] for m in members)}}
