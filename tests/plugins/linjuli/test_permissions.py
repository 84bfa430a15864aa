"""Every route of the plugin, read from the running app, refuses whoever may not use it and changes
nothing: anonymous visitors go to the login page, a user without a seat on the 月月谈 council (and
the chair of another practice's council) gets 403, and only the index is open to every logged-in user
(showing them no council)."""

from __future__ import annotations

import re

import pytest

from core.app import create_app
from tests.conftest import database_state, http_client, login
from tests.factories import make_council, make_user
from tests.plugins.linjuli.conftest import make_linjuli_council

pytestmark = pytest.mark.db


def plugin_routes(app) -> list[tuple[str, str]]:
    out = []
    for route in app.routes:
        if not route.path.startswith("/p/linjuli"):
            continue
        for handler in getattr(route, "route_handlers", []):
            for method in sorted(getattr(handler, "http_methods", ()) or ()):
                if method not in ("HEAD", "OPTIONS"):
                    out.append((method, route.path))
    return sorted(set(out))


async def test_every_plugin_route_refuses_outsiders(lj_settings, lj_plugins, lj_engine: object) -> None:
    app = create_app(lj_settings, lj_plugins)
    routes = plugin_routes(app)
    assert ("GET", "/p/linjuli/councils/{council_id:int}/report.pdf") in routes and len(routes) >= 5
    # The checks, follow-ups and points are core's record pages, under the same rule.
    routes += [(method, f"/councils/{{council_id:int}}/records/{kind}{tail}") for kind in
               ("linjuli_anquan", "linjuli_zhenggai", "linjuli_jifen")
               for method, tail in (("GET", ""), ("POST", "/new"))]
    made = await make_linjuli_council()
    await make_council(suffix="s")  # a 三方联席会议 whose chair holds nothing on the 月月谈 council
    await make_user("outsider", "无关人员")
    values = {"council_id": str(made["council"])}

    def url(path: str) -> str:
        return re.sub(r"\{(\w+):\w+\}", lambda m: values[m.group(1)], path)

    before = await database_state()
    async with http_client(app) as anon:
        for method, path in routes:
            r = await anon.request(method, url(path), follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), (method, path, r.status_code)
    for username in ("outsider", "chairs"):
        async with http_client(app) as c:
            await login(c, username)
            state = await database_state()
            for method, path in routes:
                r = await c.request(method, url(path), data={"points": "500"}, follow_redirects=False)
                if path in ("/p/linjuli", "/p/linjuli/"):
                    assert r.status_code == 200 and "沥林新村" not in r.text
                else:
                    assert r.status_code == 403, (username, method, path, r.status_code)
            assert await database_state() == state
    assert {k: v for k, v in (await database_state()).items() if k.startswith("yishi_record")} == \
        {k: v for k, v in before.items() if k.startswith("yishi_record")}
