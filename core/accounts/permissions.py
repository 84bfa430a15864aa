"""Who may use which route.

Every route handler declares ``opt={"permission": NAME}``:

- ``"public"`` — anyone (health check, login page, static files, a resident's personal link);
- ``"authenticated"`` — anyone logged in;
- any other name, e.g. ``"meeting.run"`` — checked against the council the request is about. The
  council is found from the path: ``council_id`` directly, ``meeting_id`` through the meeting
  (plugins add resolvers with the ``yishi_council_resolvers`` hook). A path about a unit rather
  than a council (``unit_id``: a unit's dashboard) is checked against the unit instead — see
  :meth:`AccessPolicy.allows_on_unit`: staff of the unit or above it, and holders of the permission
  on a council hanging on the unit or above it.

A user holds roles per council (their person's seats) and, as staff, the pseudo-role ``"staff"``
for every council in their unit's subtree; admins may do everything. Which role grants which
permission comes from the ``yishi_permissions`` hook — core's own grants are registered through it
like any plugin's. A route that declares nothing is refused for everyone, and ``create_app`` refuses
to start with one (naming it), so a permission can never be forgotten silently.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from core.accounts.sessions import COOKIE, CurrentUser, load_user
from core.i18n import _
from core.web import MAX_ID

PUBLIC = "public"
AUTHENTICATED = "authenticated"
STAFF_ROLE = "staff"

#: Core's grants, registered through the yishi_permissions hook by core.builtin.
CORE_GRANTS: dict[str, tuple[str, ...]] = {
    "chair": ("meeting.view", "meeting.run", "meeting.override", "roster.manage", "topic.view", "topic.triage",
              "topic.override", "task.assign", "department.manage", "stats.view"),
    "recorder": ("meeting.view", "meeting.run", "roster.manage", "topic.view", "topic.triage",
                 "department.manage", "stats.view"),
    "member": ("meeting.view", "topic.view", "stats.view"),
    "observer": ("meeting.view", "topic.view", "stats.view"),
    STAFF_ROLE: ("meeting.view", "roster.manage", "topic.view", "stats.view"),
}

#: Core's permissions that no role grants, so only administrators hold them: account administration
#: (``users.manage``), switching plugins off and on at /admin/plugins (``plugins.manage``) and
#: editing the unit tree and rebuilding the dashboards' figures (``units.manage``).
#: tests/test_route_permissions.py keeps the same list in ADMIN_ONLY.
ADMIN_PERMISSIONS: tuple[str, ...] = ("users.manage", "plugins.manage", "units.manage")

CouncilResolver = Callable[[Any], Awaitable[int | None]]
#: path parameter value → the unit it names (None: no such unit, a 404).
UnitResolver = Callable[[Any], Awaitable[int | None]]


@dataclass
class AccessPolicy:
    """Role → permissions, and path parameter → council resolvers, gathered from the hooks."""

    grants: dict[str, frozenset[str]]
    resolvers: dict[str, CouncilResolver]
    #: (path parameter, value) → council. A meeting never moves to another council, so positive
    #: answers are kept for the life of this app; misses are not (the row may be created later).
    _councils: dict[tuple[str, Any], int] = field(default_factory=dict)
    #: council → its unit and the units above it, for staff scope; the tree changes rarely.
    _ancestors: dict[int, tuple[float, frozenset[int]]] = field(default_factory=dict)
    #: path parameter → unit resolvers, for routes about a unit (core's only: ``unit_id``).
    unit_resolvers: dict[str, UnitResolver] = field(default_factory=lambda: dict(UNIT_RESOLVERS))

    @classmethod
    def from_hooks(cls, grant_sets: Sequence[Mapping[str, Sequence[str]]],
                   resolver_sets: Sequence[Mapping[str, CouncilResolver]]) -> AccessPolicy:
        grants: dict[str, set[str]] = {}
        for grant_set in grant_sets:
            for role, perms in grant_set.items():
                grants.setdefault(role, set()).update(perms)
        resolvers: dict[str, CouncilResolver] = {}
        for resolver_set in resolver_sets:
            resolvers.update(resolver_set)
        return cls({r: frozenset(p) for r, p in grants.items()}, resolvers)

    def role_allows(self, roles: frozenset[str] | set[str], permission: str) -> bool:
        return any(permission in self.grants.get(role, ()) for role in roles)

    async def council_of(self, path_params: Mapping[str, Any]) -> int | None:
        """The council the path is about; None when no parameter names one.

        A parameter that names something that does not exist is a 404, not a 403: the person
        followed a stale link rather than trying something they may not do.
        """
        for name, resolver in self.resolvers.items():
            if name in path_params:
                key = (name, path_params[name])
                council = self._councils.get(key)
                if council is None:
                    council = await resolver(path_params[name])
                    if council is None:
                        raise NotFoundException(_("您要找的内容不存在或已被删除。"))
                    if len(self._councils) > 100_000:
                        self._councils.clear()
                    self._councils[key] = council
                return council
        return None

    async def allows(self, user: CurrentUser, permission: str, council_id: int | None) -> bool:
        """May ``user`` do ``permission`` on the council ``council_id`` (None: not council-bound)?"""
        if user.is_admin:
            return True
        if council_id is None:
            return False
        if self.role_allows(user.roles.get(council_id, frozenset()), permission):
            return True
        if user.unit is not None and self.role_allows({STAFF_ROLE}, permission):
            return user.unit in await self.council_unit_ancestors(council_id)
        return False

    async def unit_of(self, path_params: Mapping[str, Any]) -> int | None:
        """The unit the path is about; None when no parameter names one (404 for a unit that is gone)."""
        for name, resolver in self.unit_resolvers.items():
            if name in path_params:
                unit = await resolver(path_params[name])
                if unit is None:
                    raise NotFoundException(_("您要找的内容不存在或已被删除。"))
                return unit
        return None

    async def allows_on_unit(self, user: CurrentUser, permission: str, unit_id: int) -> bool:
        """May ``user`` do ``permission`` on the unit ``unit_id`` (e.g. read its dashboard)?

        Admins may. Otherwise the user's footholds are their staff unit (when the role "staff" grants
        the permission) and the unit of every council where one of their roles grants it; the unit is
        theirs when one of the footholds is the unit itself or above it — the same reach as staff
        have over councils. Never cached: one short recursive query, and a moved unit counts at once.
        """
        if user.is_admin:
            return True
        footholds = await self.unit_footholds(user, permission)
        if not footholds:
            return False
        from core.org.tree import unit_ancestors

        return not footholds.isdisjoint(await unit_ancestors(unit_id))

    async def unit_footholds(self, user: CurrentUser, permission: str) -> set[int]:
        """The units from which ``user`` holds ``permission`` over the subtree (see allows_on_unit)."""
        footholds: set[int] = set()
        if user.unit is not None and self.role_allows({STAFF_ROLE}, permission):
            footholds.add(user.unit)
        councils = [c for c, roles in user.roles.items() if self.role_allows(roles, permission)]
        if councils:
            footholds |= await council_units(councils)
        return footholds

    def unit_refusal(self, user: CurrentUser, permission: str) -> str:
        """Why ``allows_on_unit`` said no: the unit is outside the user's reach, or no role of theirs
        grants the permission anywhere (then the plain refusal)."""
        roles = set().union(*user.roles.values()) | ({STAFF_ROLE} if user.unit is not None else set())
        if self.role_allows(roles, permission):
            return _("您没有权限进行此操作：这个单元不在您的管辖范围内，只能查看本人所在单元及其下级单元。")
        return _("您没有权限进行此操作。")

    async def council_unit_ancestors(self, council_id: int) -> frozenset[int]:
        """The council's unit and every unit above it (cached for ANCESTOR_CACHE_SECONDS)."""
        now = time.monotonic()
        cached = self._ancestors.get(council_id)
        if cached and cached[0] > now:
            return cached[1]
        ids = await council_unit_ancestors(council_id)
        self._ancestors[council_id] = (now + ANCESTOR_CACHE_SECONDS, ids)
        return ids


async def current_user(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser | None:
    """The logged-in user of this request (looked up once per request)."""
    if "yishi_user" not in connection.scope:
        connection.scope["yishi_user"] = await load_user(connection.cookies.get(COOKIE))  # type: ignore[typeddict-unknown-key]
    return connection.scope["yishi_user"]  # type: ignore[typeddict-item]


async def permission_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Litestar guard on every route: check the handler's declared permission."""
    permission = handler.opt.get("permission")
    if permission is None:
        raise PermissionDeniedException(_("此页面没有声明访问权限，已拒绝访问。"))
    for value in connection.path_params.values():
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            raise NotFoundException(_("您要找的内容不存在或已被删除。"))  # no row can have this id
    user = await current_user(connection)  # also for public pages: the header shows who is logged in
    if permission == PUBLIC:
        return
    if user is None:
        raise NotAuthorizedException(_("请先登录。"))
    if permission == AUTHENTICATED:
        return
    policy: AccessPolicy = connection.app.state.access
    council_id = await policy.council_of(connection.path_params)
    if council_id is None and (unit_id := await policy.unit_of(connection.path_params)) is not None:
        if not await policy.allows_on_unit(user, permission, unit_id):
            raise PermissionDeniedException(policy.unit_refusal(user, permission))
        return
    if not await policy.allows(user, permission, council_id):
        raise PermissionDeniedException(_("您没有权限进行此操作。"))


# -------------------------------------------------------------------------------------------------
# Council lookups (AccessPolicy caches their answers per app)
# -------------------------------------------------------------------------------------------------

ANCESTOR_CACHE_SECONDS = 30.0


async def meeting_council(meeting_id: Any) -> int | None:
    from core.meetings.tables import Meeting

    row = await Meeting.select(Meeting.council).where(Meeting.id == int(meeting_id)).first()
    return row["council"] if row else None


async def council_identity(council_id: Any) -> int | None:
    """The council itself — if it exists (a stale link is a 404, not a 403)."""
    from core.org.tables import Council

    council_id = int(council_id)
    return council_id if await Council.exists().where(Council.id == council_id) else None


async def council_unit_ancestors(council_id: int) -> frozenset[int]:
    """The council's unit and every unit above it."""
    from core.org.tables import Council
    from core.org.tree import unit_ancestors

    council = await Council.select(Council.unit).where(Council.id == council_id).first()
    return frozenset(await unit_ancestors(council["unit"])) if council else frozenset()


async def council_units(council_ids: Sequence[int]) -> set[int]:
    """The units these councils hang on."""
    from core.org.tables import Council

    return {r["unit"] for r in await Council.select(Council.unit).where(Council.id.is_in(list(council_ids)))}


async def unit_identity(unit_id: Any) -> int | None:
    """The unit itself — if it exists (a stale link is a 404, not a 403)."""
    from core.org.tables import Unit

    unit_id = int(unit_id)
    return unit_id if await Unit.exists().where(Unit.id == unit_id) else None


#: Path parameters that name a unit (``allows_on_unit`` decides); core's only.
UNIT_RESOLVERS: dict[str, UnitResolver] = {"unit_id": unit_identity}

CORE_RESOLVERS: dict[str, CouncilResolver] = {
    "council_id": council_identity,
    "meeting_id": meeting_council,
}


def council_roles(user: Any, council_id: int) -> set[str]:
    """The council roles a logged-in user acts with in workflows; an admin acts as the chair."""
    roles = set(user.roles.get(council_id, frozenset())) if user else set()
    if user is not None and user.is_admin:
        roles.add("chair")
    return roles
