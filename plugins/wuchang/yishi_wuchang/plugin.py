"""屋场恳谈会 — the courtyard talk of Hunan (衡南县, 衡阳市石鼓区): no podium and no agenda; a cadre
briefs, the floor is open, a recorder writes down every issue raised (专人记录、记录在册), each is
triaged on the spot — 解疑释惑, 现场办公 or 集中交办 to a department with a deadline — and followed
until every item has an answer (件件有回音); departments are scored on residents' ratings.

The practice is data: plugin.toml (metadata, practice, roles, permissions, menu), forms/,
workflows/, capture.toml (core's meeting capture: tracks, ledger, scores, documents; docs/capture.md),
demo.toml and templates/wuchang/ (the 回音表 and 交办单 papers). This module only hands capture.toml
and demo.toml to core.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core import hookimpl
from core.topics.capture_spec import load_capture_file

HERE = Path(__file__).parent
SPEC = load_capture_file(HERE / "capture.toml")


@hookimpl
def yishi_routes() -> list[Any]:
    """The capture page, 民情台账, 单位测评 and one department's 交办单, under /p/wuchang/."""
    from core.topics.capture_routes import capture_routes

    return capture_routes(SPEC)


@hookimpl
def yishi_documents() -> list[Any]:
    """回音表 and 交办单, served by core at /meetings/<id>/documents/wuchang_huiyin.{html,pdf,docx} …"""
    from core.topics.capture_documents import capture_documents

    return capture_documents(SPEC)


@hookimpl
async def yishi_demo_data(settings: Any) -> None:
    from core.topics.capture_seed import load_capture_seed

    await load_capture_seed(HERE / "demo.toml", SPEC, settings)
