"""邻聚力·月月谈 — the plugin's behaviour; what it *is* lives in plugin.toml beside this file.

Landlords (房东, 党员房东), tenants (租户), grid workers (网格员) and the community police officer
(社区民警) meet every month under the rental-housing party branch (出租屋管理党支部). Core runs the
meetings (a monthly series), the roster, topics and tasks, and — through its record engine — the
rental-safety checklist with its follow-ups (records/linjuli_anquan.toml, linjuli_zhenggai.toml) and
the volunteer points ledger (records/linjuli_jifen.toml). plugin.toml declares the metadata, the
practice and its roles, the permissions and the menu link; core finds forms/, workflows/, records/,
templates/, static/ and piccolo_app.py by convention (core/plugin_manifest.py). Here: the overview and
report pages and the monthly report as a meeting document; core loads demo.toml (its seed format) by convention.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.i18n import _
from core.plugin_manifest import load_manifest
from core.plugin_meta import hookimpl

HERE = Path(__file__).parent
MANIFEST = load_manifest(__file__)
meta = MANIFEST.meta
PRACTICE = MANIFEST.practice

VIEW = "linjuli.view"
RECORD = "linjuli.record"
#: The record kinds (records/*.toml): a check, a failed item's follow-up, a points line.
CHECK, FIX, POINTS = "linjuli_anquan", "linjuli_zhenggai", "linjuli_jifen"


@hookimpl
def yishi_routes() -> list[Any]:
    from yishi_linjuli.controllers import ROUTES

    return ROUTES


@hookimpl
def yishi_documents() -> list[Any]:
    """月月谈月报 for the month of a meeting, as HTML, PDF and Word, listed with the meeting's documents."""
    from core.documents.spec import DocumentSpec
    from yishi_linjuli.report import document_context

    return [DocumentSpec(id="linjuli_yuebao", title=_("月月谈月报"), template="linjuli/report.html",
                         context=document_context, formats=("html", "pdf", "docx"), practices=(PRACTICE.id,))]


__all__ = ["CHECK", "FIX", "MANIFEST", "POINTS", "PRACTICE", "RECORD", "VIEW", "meta"]
