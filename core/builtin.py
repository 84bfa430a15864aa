"""Core's own features as a default plugin: meeting pages, minutes, health check.

Registered through the same hooks a county's plugin uses (see core.plugins.DEFAULT_PLUGINS), with
``builtin=True`` so its routes are mounted at the root instead of under ``/p/core/``.
"""

from __future__ import annotations

from litestar import Request

import core
from core.plugin_meta import PluginMeta, hookimpl

meta = PluginMeta(
    id="core",
    name="议事核心",
    version=core.__version__,
    core=f"=={core.__version__}",
    description="会议、议程、表决结果与会议纪要。",
    builtin=True,
)


@hookimpl
def yishi_routes() -> list:
    from core.home import healthz, home
    from core.meetings.controllers import MeetingController
    from core.minutes.controllers import MinutesController

    return [home, healthz, MeetingController, MinutesController]


@hookimpl
def yishi_menu_links(request: Request) -> list[dict[str, str]]:
    return [{"href": "/", "label": "首页"}]
