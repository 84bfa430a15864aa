"""The home page (councils and their meetings) and the health check."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from core.accounts.permissions import AUTHENTICATED, PUBLIC, current_user
from core.meetings.services import list_councils, state_labels
from core.web import plugins_of


@get("/", name="home", opt={"permission": AUTHENTICATED})
async def home(request: Request) -> Template:
    user = await current_user(request)
    policy = request.app.state.access
    councils = [c for c in await list_councils()
                if user is not None and await policy.allows(user, "meeting.view", c["id"])]
    plugins = plugins_of(request)
    for council in councils:
        practice = plugins.practice(council["practice"])
        council["practice_name"] = practice.name if practice else council["practice"]
        council["can_manage_roster"] = user is not None and await policy.allows(user, "roster.manage", council["id"])
        council["can_run"] = user is not None and await policy.allows(user, "meeting.run", council["id"])
    return Template("home.html", context={
        "councils": councils, "practices": list(plugins.practices.values()),
        "state_labels": state_labels(),
    })


@get("/healthz", name="healthz", media_type="text/plain", sync_to_thread=False, opt={"permission": PUBLIC})
def healthz() -> str:
    """A plain endpoint: the ceiling the benchmarks compare pages against."""
    return "ok"
