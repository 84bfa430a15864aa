"""A Yishi plugin used only by the page benchmark: one bare ~5 KB Jinja page, no database.

It is the reference the meeting console is compared against (``/p/bench/page``): same server,
same framework, same Jinja environment (loaded through the plugin template layer), but no query.
Loaded with ``load_plugins(..., extra_modules=[bench_plugin])`` by :mod:`bench.app`; never
registered as an entry point, so a real deployment cannot enable it.
"""

from __future__ import annotations

from pathlib import Path

from litestar import get
from litestar.response import Template

import core
from core.plugin_meta import PluginMeta, hookimpl

meta = PluginMeta(
    id="bench",
    name="性能基准页",
    version=core.__version__,
    core=f"=={core.__version__}",
    description="基准测试用的静态 Jinja 页面。",
    author="Yishi",
)

TEMPLATES = Path(__file__).parent / "templates"

# Fixed rows, so every request renders the same ~5 KB of HTML.
ROWS = [{"n": i, "title": f"议题 {i}：小区公共事务协商", "who": "第三网格", "minutes": 10 + i}
        for i in range(1, 21)]


# "public": core's permission guard lets anyone through (the literal, not core.accounts' constant, so
# this module also loads on a core without accounts; there the option is simply ignored).
@get("/page", name="bench_page", sync_to_thread=False, opt={"permission": "public"})
def bench_page() -> Template:
    return Template("bench/page.html", context={"rows": ROWS, "heading": "翠竹园小区议事记录"})


# The same page behind core's permission check for a council-bound permission: the difference
# from bench_page is what the guard costs (session lookup, meeting → council, the user's roles).
@get("/meeting/{meeting_id:int}/page", name="bench_guarded_page", sync_to_thread=False,
     opt={"permission": "meeting.view"})
def bench_guarded_page(meeting_id: int) -> Template:
    return Template("bench/page.html", context={"rows": ROWS, "heading": "翠竹园小区议事记录"})


# The like-for-like reference for bench_guarded_page: the same path shape (an int parameter to
# parse), but public, so the difference between the two is the permission check alone.
@get("/open/{meeting_id:int}/page", name="bench_open_page", sync_to_thread=False, opt={"permission": "public"})
def bench_open_page(meeting_id: int) -> Template:
    return Template("bench/page.html", context={"rows": ROWS, "heading": "翠竹园小区议事记录"})


@hookimpl
def yishi_routes() -> list:
    return [bench_page, bench_open_page, bench_guarded_page]


@hookimpl
def yishi_template_dirs() -> list[Path]:
    return [TEMPLATES]
