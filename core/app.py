"""The application factory: settings + plugins → one Litestar app.

Everything a plugin contributes (routes, templates, static files, menu links) is gathered here
from the hooks; there is no hand-kept list of controllers.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.exceptions import HTTPException, NotFoundException
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

import core
from core import db
from core.fonts import MissingFontError
from core.i18n import _, use_locale
from core.plugins import PluginSystem, load_plugins
from core.settings import Settings
from core.templating import build_environment

CORE_STATIC = Path(__file__).parent / "static"

# WeasyPrint and Piccolo log every step at INFO; keep the server log for what matters.
for _noisy in ("weasyprint", "weasyprint.progress", "piccolo", "fontTools"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


def create_app(settings: Settings | None = None, plugins: PluginSystem | None = None) -> Litestar:
    """Build the app. With no arguments, read the environment and plugin_registry.toml."""
    settings = settings or Settings.from_env()
    plugins = plugins or load_plugins(settings.plugin_registry)
    use_locale(settings.locale)

    template_layers = [(pid, [Path(d) for d in dirs])
                       for pid, dirs in plugins.call_each("yishi_template_dirs")]

    def menu_links(request: Request) -> list[dict[str, str]]:
        links: list[dict[str, str]] = []
        for _pid, items in plugins.call_each("yishi_menu_links", request=request):
            links.extend(items)
        return links

    env = build_environment(settings.theme_dir, template_layers, settings.locale, {
        "site_name": settings.site_name,
        "menu_links": menu_links,
        "htmx_js": "/static/vendor/htmx/htmx-2.0.11.min.js",
        "core_version": core.__version__,
    })

    handlers: list[Any] = []
    for pid, routes in plugins.call_each("yishi_routes"):
        meta = plugins.metas[pid]
        if meta.builtin:
            handlers.extend(routes)
        else:
            handlers.append(Router(path=meta.url_prefix, route_handlers=list(routes)))
    handlers.append(create_static_files_router(
        path="/static", directories=[settings.theme_dir / "static", CORE_STATIC], name="static",
        send_as_attachment=False))
    for pid, dirs in plugins.call_each("yishi_static_dirs"):
        handlers.append(create_static_files_router(
            path=plugins.metas[pid].static_prefix, directories=[Path(d) for d in dirs],
            name=f"static_{pid}"))

    plugin_apps = [a for _pid, apps in plugins.call_each("yishi_piccolo_apps") for a in apps]

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        engine = await db.connect(settings.database_url, plugin_apps)
        app.state.engine = engine
        try:
            yield
        finally:
            await db.disconnect(engine)

    app = Litestar(
        route_handlers=handlers,
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(env)),
        plugins=[HTMXPlugin()],
        lifespan=[database],
        exception_handlers={HTTPException: _http_error, MissingFontError: _font_error},
        debug=settings.debug,
    )
    app.state.settings = settings
    app.state.plugins = plugins
    app.state.jinja = env
    return app


def _http_error(request: Request, exc: HTTPException) -> Response[Any]:
    """Errors as a page people can read (HTMX requests get the message alone)."""
    status = exc.status_code
    if isinstance(exc, NotFoundException):
        title = _("页面不存在")
        detail = exc.detail if exc.detail and exc.detail != "Not Found" else _("您要找的页面不存在或已被删除。")
    else:
        title = _("请求有误") if status < 500 else _("服务器出错")
        detail = exc.detail or title
    if request.headers.get("hx-request") == "true":
        return Response(detail, status_code=status, media_type="text/plain")
    return Template("error.html", context={"title": title, "detail": detail, "status": status},
                    status_code=status)


def _font_error(request: Request, exc: MissingFontError) -> Response[Any]:
    return Template("error.html", context={"title": _("缺少中文字体"), "detail": str(exc),
                                           "status": 500}, status_code=500)
