"""Every route of the running app — core's and an enabled plugin's — is either declared public or
refuses those who may not use it, and a refused request changes nothing.

The list of routes is read from the app itself (``app.routes``), so a route added tomorrow is checked
tomorrow without editing this file. What the file does name by hand is the list of public routes:
making a route public is a decision someone must see.

For each route and method, with path parameters filled from a seeded database (a meeting, an agenda
item, a user, the council of council A and the unit it hangs on; a parameter this file cannot seed gets a dummy value —
harmless for the refusals, which the guard decides from the council in the path, and a parameter that
names the council through a plugin's resolver then fails here until it is seeded):

- anonymous: a plain request is sent to the login page (303), an htmx request gets 401 + HX-Redirect;
- logged in, no seat on council A, no staff scope — and also the chair of council B, staff of council
  B's street, and staff of council A's street for what the role "staff" is not granted: 403 for
  council-bound permissions and for unit-bound ones (a ``unit_id`` in the path: council A's unit,
  which council B's chair and street B's staff do not reach); for "authenticated" routes they are
  let in (asserted);
- nothing in the database changed: the audit head and the row count of every table after each route,
  and every row of every table after all of them;
- as a control that the ids were real and the 403s came from the permission check, a user who holds
  the permission (the chair of council A, or an admin) is let through the guard;
- a public route answers anonymous requests without an error and without changing anything, and
  a public route outside the reviewed list fails the test.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from litestar import Litestar

from core import db
from core.accounts.permissions import ADMIN_PERMISSIONS, AUTHENTICATED, PUBLIC
from core.app import create_app
from core.audit.tables import AuditHead
from core.meetings.tables import AgendaItem
from core.org.tables import Unit
from core.plugins import load_plugins
from core.settings import Settings
from tests.conftest import database_state, http_client, login
from tests.factories import make_council, make_meeting, make_user

#: The only routes anyone may use without logging in. Add to them only on purpose.
PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/theme"),  # sets the display-theme cookie only (docs/themes.md)
    # Anyone holding a printed minutes/公示 may check it (rate-limited; docs/documents.md).
    ("GET", "/documents/verify"),
    ("POST", "/documents/verify"),
    # A published meeting's 公示 (404 before): also under /public/, named here on purpose.
    ("GET", "/public/meetings/{meeting_id:int}/gongshi"),
    ("GET", "/public/meetings/{meeting_id:int}/gongshi.pdf"),
    # A party's signing link of a record (docs/records.md): the HMAC token in the path is the credential.
    ("GET", "/records/sign/{kind_id:str}/{party_id:str}/{token:str}"),
    ("POST", "/records/sign/{kind_id:str}/{party_id:str}/{token:str}"),
}
#: Whole trees that are public by design: a personal link whose token in the path is the credential
#: (a resident's /r/…, a responsible unit's /u/…), and what councils publish for everyone.
PUBLIC_PREFIXES = ("/r/{token:str}", "/u/{token:str}", "/public/",
                   "/m/{meeting_id:int}/{key:str}")  # a meeting's QR sign-in page: the HMAC key is the credential


def meant_public(method: str, path: str) -> bool:
    return (method, path) in PUBLIC_ROUTES or any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/")
                                                  for p in PUBLIC_PREFIXES)


#: Permissions no role grants: only admins have them.
ADMIN_ONLY = {"users.manage", "plugins.manage", "units.manage"}

#: A value for a path parameter this file does not seed, by its type.
DUMMY = {"int": "1", "str": "x", "path": "x"}

#: Logged-in users who hold nothing on council A.
REFUSED_USERS = ("outsider", "chair_b", "staff_b")

REGISTRY = """
[registry]
on_error = "fail"

[plugins.sanfang]
enabled = true

[plugins.sample_county]
enabled = true
"""

HX = {"HX-Request": "true"}
PARAM = re.compile(r"\{(\w+):(\w+)\}")
DENIED = "您没有权限进行此操作"
#: The guard's answer when a path parameter names no council (core.accounts.permissions.council_of).
GUARD_NOT_FOUND = "您要找的内容不存在或已被删除"


@dataclass(frozen=True)
class RouteCase:
    method: str
    path: str  # as declared, e.g. /meetings/{meeting_id:int}/open
    permission: str | None
    where: str  # module.function of the handler

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.permission}] ({self.where})"


def _is_static(handler: Any) -> bool:
    return getattr(getattr(handler, "fn", None), "__module__", "").startswith("litestar.static_files")


def routes_of(app: Litestar) -> tuple[list[RouteCase], list[RouteCase]]:
    """(every route × method to check, the static file routes) of a built app."""
    cases: list[RouteCase] = []
    static: list[RouteCase] = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            fn = getattr(handler, "fn", None)
            where = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"
            for method in sorted(set(handler.http_methods) - {"OPTIONS"}):
                case = RouteCase(method, route.path, handler.opt.get("permission"), where)
                (static if _is_static(handler) else cases).append(case)
    return cases, static


@dataclass
class Seeded:
    params: dict[str, int]

    def url(self, case: RouteCase) -> str:
        def value(match: re.Match[str]) -> str:
            name, kind = match.groups()
            return str(self.params[name]) if name in self.params else DUMMY[kind]

        return PARAM.sub(value, case.path)

    def fully_seeded(self, case: RouteCase) -> bool:
        return all(name in self.params for name, _kind in PARAM.findall(case.path))


async def seed() -> Seeded:
    """Council A with a meeting, items and logins; council B with its own; staff of both streets."""
    council_a = await make_council()  # logins chair, recorder
    meeting = await make_meeting(2, council=council_a)
    item = await AgendaItem.select(AgendaItem.id).where(AgendaItem.meeting == meeting.id).first()
    council_b = await make_council(suffix="_b")  # chair_b, recorder_b
    await make_meeting(1, council=council_b)
    street_a = (await Unit.select(Unit.parent).where(Unit.id == council_a.unit).first())["parent"]
    street_b = (await Unit.select(Unit.parent).where(Unit.id == council_b.unit).first())["parent"]
    await make_user("outsider")  # no person, no unit: logged in and nothing else
    await make_user("staff_a", unit=street_a)
    await make_user("staff_b", unit=street_b)
    await make_user("admin", is_admin=True)
    recorder = await db_user_id("recorder")
    from core.voting.polls import create_poll

    poll = await create_poll(council_id=council_a.id, item_id=item["id"], title="表决", method="yesno", options=[],
                             rule_id="simple_majority", visibility="named", electorate={"kind": "members_present"},
                             actor="test")
    # unit_id: council A's unit — the guard checks unit-bound permissions (stats.view) against it, so
    # council A's chair holds them there and council B's chair and street B's staff do not.
    return Seeded(params={"council_id": council_a.id, "meeting_id": meeting.id, "item_id": item["id"],
                          "user_id": recorder, "poll_id": poll, "unit_id": council_a.unit})


async def db_user_id(username: str) -> int:
    from core.accounts.tables import User

    return (await User.select(User.id).where(User.username == username).first())["id"]


async def row_counts() -> dict[str, int]:
    """The number of rows of every table, in one query."""
    import core.piccolo_conf as conf

    names = [t._meta.tablename for a in conf.APP_REGISTRY.app_configs.values() for t in a.table_classes]
    sql = " UNION ALL ".join(f"SELECT '{n}' AS name, COUNT(*) AS n FROM \"{n}\"" for n in names)
    return {r["name"]: r["n"] for r in await AuditHead.raw(sql)}


@pytest.fixture
def route_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The suite's settings (database_url on SQLite and PostgreSQL) with the sample plugin enabled."""
    registry = tmp_path / "plugin_registry.toml"
    registry.write_text(textwrap.dedent(REGISTRY), encoding="utf-8")
    return dataclasses.replace(settings, plugin_registry=registry)


async def test_every_route_refuses_whoever_may_not_use_it(sample_county: Path, route_settings: Settings) -> None:
    app = create_app(route_settings, load_plugins(route_settings.plugin_registry))
    engine = await db.connect(route_settings.database_url)
    app.state.engine = engine
    try:
        await _check_every_route(app)
    finally:
        await db.disconnect(engine)


async def _check_every_route(app: Litestar) -> None:
    cases, static = routes_of(app)
    declared = {(c.method, c.path) for c in cases}
    # The walk found the app's routes — core's and the plugin's — not an empty list.
    for expected in [("GET", "/meetings/{meeting_id:int}"), ("POST", "/meetings/{meeting_id:int}/open"),
                     ("POST", "/admin/users"), ("GET", "/p/sample_county/report/{council_id:int}")]:
        assert expected in declared, f"{expected} missing from the routes found: {sorted(declared)}"
    assert static and all(s.permission == PUBLIC for s in static), [str(s) for s in static]
    unexpected = sorted(str(c) for c in cases if c.permission == PUBLIC and not meant_public(c.method, c.path))
    assert not unexpected, (
        f"new public routes {unexpected}: anyone may use them without logging in. If that is intended, "
        "add them to PUBLIC_ROUTES in tests/test_route_permissions.py")
    grants = app.state.access.grants
    granted = set().union(*grants.values())
    staff_grants = grants.get("staff", frozenset())
    assert ADMIN_ONLY == set(ADMIN_PERMISSIONS), "core's admin-only permissions and ADMIN_ONLY differ"
    assert not ADMIN_ONLY & granted, f"a role grants an admin-only permission: {ADMIN_ONLY & granted}"
    for case in cases:
        assert case.permission is not None, f"{case}: declares no permission"
        if case.permission in (PUBLIC, AUTHENTICATED):
            continue
        assert case.permission in granted or case.permission in ADMIN_ONLY, (
            f"{case}: no role grants {case.permission!r} (a typo? a missing yishi_permissions grant?)")

    seeded = await seed()
    problems: list[str] = []
    async with AsyncExitStack() as stack:
        clients = {"anonymous": await stack.enter_async_context(http_client(app))}
        for username in (*REFUSED_USERS, "staff_a", "chair", "admin"):
            clients[username] = await stack.enter_async_context(http_client(app))
            await login(clients[username], username)
        before = await database_state()
        for case in cases:
            problems += await _refusals(case, seeded.url(case), clients, staff_grants)
        after = await database_state()  # every row, to catch updates too (row counts are checked per route)
        changed = sorted(name for name in before if before[name] != after.get(name))
        if changed:
            problems.append(f"requests by anonymous or unprivileged users changed rows of {changed}")
        # Last, as it changes the data: the holders of each permission get through.
        for case in sorted(cases, key=lambda c: c.method != "GET"):
            if case.permission != PUBLIC:
                problems += await _holder_gets_through(case, seeded, clients, grants)
        for case in static:  # public: a real file, anonymously
            r = await clients["anonymous"].request(case.method, "/static/css/yishi.css")
            if r.status_code != 200:
                problems.append(f"{case}: anonymous got {r.status_code} for /static/css/yishi.css")
    assert not problems, "\n".join(problems)


async def _refusals(case: RouteCase, url: str, clients: dict[str, httpx.AsyncClient],
                    staff_grants: frozenset[str]) -> list[str]:
    problems: list[str] = []
    before = await row_counts()
    head_before = await AuditHead.select().first()
    anonymous = clients["anonymous"]
    if case.permission == PUBLIC:
        r = await anonymous.request(case.method, url)
        if r.status_code >= 500 or r.status_code in (401, 403):
            problems.append(f"{case}: public, yet anonymous got {r.status_code}")
    else:
        r = await anonymous.request(case.method, url)
        location = r.headers.get("location", "")
        if r.status_code != 303 or not location.startswith("/login?next="):
            problems.append(f"{case}: anonymous plain request got {r.status_code} {location!r}, "
                            "expected 303 to /login?next=…")
        elif case.method == "GET" and location != f"/login?next={quote(url, safe='/')}":
            problems.append(f"{case}: the login page would not come back here: {location!r}")
        r = await anonymous.request(case.method, url, headers=HX)
        if r.status_code != 401 or not r.headers.get("hx-redirect", "").startswith("/login?next="):
            problems.append(f"{case}: anonymous htmx request got {r.status_code} "
                            f"(HX-Redirect {r.headers.get('hx-redirect')!r}), expected 401 to /login")
        users = list(REFUSED_USERS)
        if case.permission not in staff_grants:
            users.append("staff_a")  # staff of council A's street hold "staff" there, nothing more
        for username in users:
            r = await clients[username].request(case.method, url)
            if case.permission == AUTHENTICATED:
                if r.status_code in (401, 403) or r.status_code >= 500 or "/login" in r.headers.get("location", ""):
                    problems.append(f"{case}: any logged-in user may use it, yet {username} got {r.status_code}")
            elif r.status_code != 403 or DENIED not in r.text:
                problems.append(f"{case}: {username} holds nothing on council A, yet got {r.status_code} "
                                f"{r.text[:120]!r}")
    after = await row_counts()
    if after != before:
        changed = sorted(name for name in before if before[name] != after.get(name))
        problems.append(f"{case}: requests by anonymous or unprivileged users added or removed rows: {changed}")
    head_after = await AuditHead.select().first()
    if head_after != head_before:
        problems.append(f"{case}: the audit head moved from {head_before} to {head_after}")
    return problems


async def _holder_gets_through(case: RouteCase, seeded: Seeded, clients: dict[str, httpx.AsyncClient],
                               grants: dict[str, frozenset[str]]) -> list[str]:
    """The control: someone who holds the permission on council A is let through the guard, so the
    refusals above came from the permission check and the ids that name the council were real. (What
    the handler answers after that — even a 404 for an empty roster — is its own business.)"""
    permission = case.permission or ""
    username = ("outsider" if permission == AUTHENTICATED
                else "chair" if permission in grants.get("chair", ()) else "admin")
    r = await clients[username].request(case.method, seeded.url(case),
                                        headers=HX if case.method != "GET" else None)
    if r.status_code in (401, 403) or r.status_code >= 500 or (r.status_code == 404 and GUARD_NOT_FOUND in r.text):
        hint = "" if seeded.fully_seeded(case) else " (a path parameter got a dummy value: seed it in seed())"
        return [f"{case}: {username}, who holds {permission!r} on council A, got {r.status_code}{hint} "
                f"{r.text[:200]!r}"]
    return []
