"""屋场恳谈会 — the courtyard talk of Hunan (衡南县, 衡阳市石鼓区): no podium and no agenda; a cadre
briefs, the floor is open, a recorder writes down every issue raised (专人记录、记录在册), each is
triaged on the spot — 解疑释惑, 现场办公 or 集中交办 to a department with a deadline — and followed
until every item has an answer (件件有回音); departments are scored on residents' ratings.

Most of the practice is data: plugin.toml (the metadata, the practice and its roles, the
permissions, the menu link), the capture form and the reply form (forms/), the topic workflow with
the three tracks (workflows/), the pages and documents (templates/wuchang/) — core finds the folders
by convention (core/plugin_manifest.py). The Python is the behaviour: capture.py (writes),
ledger.py (reads and scores), routes.py (pages), documents.py (PDF), demo.py.
Issues are core topics and 交办 are core tasks, so core's department links, progress reports,
ratings and 公示 work for them unchanged.
"""

from __future__ import annotations

from typing import Any

from core import hookimpl


@hookimpl
def yishi_routes() -> list[Any]:
    from yishi_wuchang.routes import ROUTES

    return ROUTES


@hookimpl
def yishi_documents() -> list[Any]:
    """回音表 and 交办单, served by core at /meetings/<id>/documents/wuchang_huiyin.{html,pdf,docx} …"""
    from yishi_wuchang.documents import document_specs

    return document_specs()


@hookimpl
async def yishi_demo_data(settings: Any) -> None:
    from yishi_wuchang.demo import seed

    await seed(settings)
