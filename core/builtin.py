"""Core's own features as a default plugin: meeting pages, minutes, accounts, health check.

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
    description="会议、议程、表决结果、会议纪要与账号权限。",
    builtin=True,
)


@hookimpl
def yishi_routes() -> list:
    from core import live
    from core.accounts.controllers import AccountController, UserAdminController
    from core.dashboard.controllers import DashboardController, PublicUnitController
    from core.documents.controllers import routes as document_routes
    from core.home import healthz, home
    from core.meetings.attendance_controllers import routes as attendance_routes
    from core.meetings.controllers import MeetingController
    from core.meetings.new_controllers import NewMeetingController
    from core.meetings.notice_controllers import NoticeController
    from core.meetings.projector_controllers import screen_routes
    from core.minutes.controllers import MinutesController
    from core.org.controllers import UnitController
    from core.plugin_admin.controllers import PluginAdminController
    from core.records.controllers import ROUTES as record_routes
    from core.residents.controllers import ResidentController, RosterController
    from core.residents.import_controllers import RosterImportController
    from core.topics.controllers import CouncilTopicController, PublicTopicController, ResidentTopicController
    from core.topics.task_controllers import task_routes
    from core.voting.controllers import routes as voting_routes

    return [home, healthz, MeetingController, MinutesController, AccountController, UserAdminController,
            RosterController, RosterImportController, ResidentController, ResidentTopicController,
            CouncilTopicController, PublicTopicController, NoticeController, *task_routes(), *live.routes(),
            NewMeetingController, *screen_routes(), *attendance_routes(), *voting_routes(), *document_routes(),
            PluginAdminController, DashboardController, PublicUnitController, UnitController, *record_routes]


@hookimpl
async def yishi_on_transition(event: core.events.TransitionEvent) -> None:
    """A closed meeting of a recurring series keeps its upcoming drafts (core.meetings.series);
    the council's dashboard figures are refreshed (core.dashboard.rollup); records raised as a topic
    move on when it is settled (core.records.links)."""
    from core.dashboard.rollup import refresh_later
    from core.meetings.series import on_transition
    from core.records.links import on_topic_transition

    await on_transition(event)
    app = core.events.current_app()
    if app is not None and event.kind == "topic":
        await on_topic_transition(event, app.state.plugins.specs)
    refresh_later(event)  # the council's dashboard figures, in the background


@hookimpl
def yishi_menu_links(request: Request) -> list[dict[str, str]]:
    from core.i18n import _

    links = [{"href": "/", "label": _("首页")}]
    user = request.scope.get("yishi_user")  # type: ignore[call-overload]
    # 统计: whoever may read some unit's figures (stats.view: admins, staff, council roles granting it)
    if user is not None and (user.is_admin or user.unit is not None or any(
            request.app.state.access.role_allows(r, "stats.view") for r in user.roles.values())):
        links.append({"href": "/dashboard", "label": _("统计")})
    if user is not None and user.is_admin:
        links.append({"href": "/units", "label": _("组织单元")})
    if user is not None and user.is_admin:
        links.append({"href": "/admin/users", "label": _("账号管理")})
        links.append({"href": "/admin/plugins", "label": _("插件管理")})
    return links


@hookimpl
def yishi_permissions() -> dict[str, tuple[str, ...]]:
    from core.accounts.permissions import CORE_GRANTS

    return CORE_GRANTS


@hookimpl
def yishi_council_resolvers() -> dict:
    from core.accounts.permissions import CORE_RESOLVERS
    from core.records.service import council_of as record_council
    from core.voting.controllers import poll_council

    return {**CORE_RESOLVERS, "poll_id": poll_council, "record_id": record_council}


@hookimpl
def yishi_identity_checks() -> list:
    from core.residents.identity import core_checks

    return core_checks()


@hookimpl
def yishi_documents() -> list:
    """会议纪要 and 公示 — declared through the same hook a practice plugin uses."""
    from core.documents.core_documents import core_documents

    return core_documents()
