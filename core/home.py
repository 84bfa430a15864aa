"""The home page (councils and their meetings) and the health check."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from core.meetings.services import list_councils, state_labels
from core.web import plugins_of


@get("/", name="home")
async def home(request: Request) -> Template:
    councils = await list_councils()
    plugins = plugins_of(request)
    for council in councils:
        practice = plugins.practice(council["practice"])
        council["practice_name"] = practice.name if practice else council["practice"]
    return Template("home.html", context={
        "councils": councils, "practices": list(plugins.practices.values()),
        "state_labels": state_labels(),
    })


@get("/healthz", name="healthz", media_type="text/plain", sync_to_thread=False)
def healthz() -> str:
    """A plain endpoint: the ceiling the benchmarks compare pages against."""
    return "ok"
