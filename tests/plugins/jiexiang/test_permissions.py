"""Every page of a 纠纷调解 refuses whoever may not use it and changes nothing (SQLite and PostgreSQL).

The plugin's own routes (/p/jiexiang/...) and core's record routes (/records/..., a council's
/councils/<id>/records/<kind>...) are read from the running app, so a route added later without the
right permission fails here: anonymous visitors are sent to the login page, a logged-in user with no
seat on the council gets 403 (or 404 for a transition or document that does not exist for them), and
only the signing links and the 公示 are public.
"""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from core.accounts.permissions import PUBLIC
from core.records.tables import Record
from tests.conftest import database_state, http_client, login
from tests.factories import make_user
from tests.plugins.jiexiang.conftest import make_jiexiang_council
from tests.plugins.jiexiang.test_mediation import DISPUTE, KIND

PUBLIC_PATHS = {"/p/jiexiang/public/{council_id}", "/p/jiexiang/public/{council_id}/notice.pdf",
                "/records/sign/{kind_id}/{party_id}/{token}"}


def mediation_routes(app) -> list[tuple[str, str, str]]:
    out = []
    for route in app.routes:
        path = route.path_format
        if not (path.startswith(("/p/jiexiang", "/records")) or path.startswith("/councils/{council_id}/records")):
            continue
        for handler in getattr(route, "route_handlers", []):
            if isinstance(handler, HTTPRouteHandler):
                for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                    out.append((method, path, handler.opt.get("permission")))
    return out


async def test_every_mediation_route_refuses_outsiders(jx_app) -> None:
    council = await make_jiexiang_council()
    async with http_client(jx_app) as guide:
        await login(guide, "jx_guide")
        r = await guide.post(f"/councils/{council.id}/records/{KIND}/new", data=DISPUTE)
        assert r.status_code == 303
    record = await Record.select(Record.id).first()
    await make_user("outsider", "路人甲")
    routes = mediation_routes(jx_app)
    assert {p for _m, p, perm in routes if perm == PUBLIC} == PUBLIC_PATHS
    assert len(routes) >= 16
    fill = {"{council_id}": str(council.id), "{record_id}": str(record["id"]), "{kind_id}": KIND,
            "{transition_id}": "draft", "{document_id}": "agreement", "{fmt}": "html", "{sha256}": "0" * 64}
    async with http_client(jx_app) as anonymous, http_client(jx_app) as outsider:
        await login(outsider, "outsider")
        before = await database_state()
        for method, path, permission in routes:
            if permission == PUBLIC:
                continue
            url = path
            for key, value in fill.items():
                url = url.replace(key, value)
            anon = await anonymous.request(method, url, data={} if method == "POST" else None)
            assert anon.status_code == 303 and anon.headers["location"].startswith("/login"), (method, url)
            if path in ("/p/jiexiang", "/p/jiexiang/"):
                continue  # the index lists only the councils the person sits on
            other = await outsider.request(method, url, data={} if method == "POST" else None)
            assert other.status_code == 403, (method, url, other.status_code)
        outsider_index = await outsider.get("/p/jiexiang/")
        assert outsider_index.status_code == 200 and "四牌楼商圈街巷议事会" not in outsider_index.text
    assert await database_state() == before


async def test_guessing_signing_links_is_slowed_down(jx_app) -> None:
    async with http_client(jx_app) as guesser:
        answers = [(await guesser.get(f"/records/sign/{KIND}/a/{n}.1.AAAAAAAAAAAAAAAAAAAAAA")).status_code
                   for n in range(1, 32)]
    assert answers[:30] == [404] * 30 and answers[30] == 429


async def test_switching_the_plugin_off_withdraws_its_grants_until_it_is_on_again(jx_app) -> None:
    """The 巷导 reads the council's topics through the grant in jiexiang's plugin.toml; with the plugin
    switched off on /admin/plugins that grant is gone at once (as after a restart with it off), and it
    comes back with the switch."""
    council = await make_jiexiang_council()
    await make_user("jx_admin", is_admin=True)
    topics = f"/councils/{council.id}/topics"
    async with http_client(jx_app) as guide, http_client(jx_app) as admin:
        await login(guide, "jx_guide")
        await login(admin, "jx_admin")
        before = await guide.get(topics)
        assert (await admin.post("/admin/plugins/jiexiang/enabled", data={"enabled": "0"})).status_code == 303
        while_off = await guide.get(topics)
        assert (await admin.post("/admin/plugins/jiexiang/enabled", data={"enabled": "1"})).status_code == 303
        after = await guide.get(topics)
    assert before.status_code == 200 and after.status_code == 200
    assert while_off.status_code == 403
