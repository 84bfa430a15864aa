"""The application factory: settings + plugins → one Litestar app.

Everything a plugin contributes (routes, templates, static files, menu links) is gathered here
from the hooks; there is no hand-kept list of controllers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, Router
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.utils.scope.state import ScopeState

import core
from core import db, live
from core.accounts.controllers import login_limiters
from core.accounts.permissions import PUBLIC, AccessPolicy, permission_guard
from core.errors import PluginError
from core.events import bind_app_middleware
from core.fonts import MissingFontError
from core.i18n import _, use_locale
from core.plugin_admin.switches import PluginSwitches, plugin_switch_guard
from core.plugins import PluginSystem, load_plugins
from core.ratelimit import SharedCounts
from core.residents.controllers import resident_limiters
from core.security import nonce_of, security_headers_middleware
from core.settings import Settings
from core.templating import build_environment
from core.themes import theme_handlers
from core.voting import lean as lean_votes

CORE_STATIC = Path(__file__).parent / "static"

# WeasyPrint and Piccolo log every step at INFO; keep the server log for what matters.
for _noisy in ("weasyprint", "weasyprint.progress", "piccolo", "fontTools"):
    logging.getLogger(_noisy).setLevel(logging.WARNING)


def create_app(settings: Settings | None = None, plugins: PluginSystem | None = None) -> Litestar:
    """Build the app. With no arguments, read the environment and plugin_registry.toml."""
    settings = settings or Settings.from_env()
    use_locale(settings.locale)  # first: specs are translated as the plugins' TOML is read
    plugins = plugins or load_plugins(settings.plugin_registry)

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
        "user_of": lambda request: request.scope.get("yishi_user") if request is not None else None,
        "csrf_token_of": lambda request: ScopeState.from_scope(request.scope).csrf_token or "",
        "csp_nonce": nonce_of,
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
    public = {"permission": PUBLIC}
    handlers.append(create_static_files_router(
        path="/static", directories=[settings.theme_dir / "static", CORE_STATIC], name="static",
        send_as_attachment=False, opt=public))
    handlers.extend(theme_handlers())  # GET /theme and /static/themes/<name>/ (docs/themes.md)
    for pid, dirs in plugins.call_each("yishi_static_dirs"):
        handlers.append(create_static_files_router(
            path=plugins.metas[pid].static_prefix, directories=[Path(d) for d in dirs],
            name=f"static_{pid}", opt=public))

    plugin_apps = [a for _pid, apps in plugins.call_each("yishi_piccolo_apps") for a in apps]

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        engine = await db.connect(settings.database_url, plugin_apps)
        app.state.engine = engine
        from core.dashboard.rollup import keep_fresh

        refresher = asyncio.get_running_loop().create_task(keep_fresh())  # dashboards' rollup (docs/units.md)
        try:
            yield
        finally:
            refresher.cancel()
            await db.disconnect(engine)

    app = Litestar(
        route_handlers=handlers,
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(env)),
        plugins=[HTMXPlugin(), *live.plugins(settings)],
        lifespan=[database],
        guards=[plugin_switch_guard, permission_guard],  # a switched-off plugin's pages: 404 for all
        openapi_config=None,  # no API schema pages: every route is a page for people
        # gzip: a tablet on weak Wi-Fi loads the console in a third of the bytes. Never the live
        # streams: a compressor buffers, and an event must leave as soon as it is published.
        compression_config=CompressionConfig(backend="gzip", exclude=[r"^/live/", r"^/public/live/"]),
        csrf_config=CSRFConfig(secret=settings.secret(), cookie_name="yishi_csrf", header_name="x-csrftoken",
                               cookie_samesite="lax"),
        middleware=[bind_app_middleware, security_headers_middleware],
        exception_handlers={
            NotAuthorizedException: _login_required,
            PermissionDeniedException: _forbidden,
            HTTPException: _http_error,
            MissingFontError: _font_error,
            UnicodeDecodeError: _bad_encoding,
            Exception: _server_error,
        },
        debug=settings.debug,
    )
    _require_declared_permissions(app, plugins)
    lean_votes.wrap(app)  # a plain phone vote is answered in front of Litestar (core/voting/lean.py)
    app.state.settings = settings
    app.state.plugins = plugins
    app.state.jinja = env
    app.state.rate_counts = counts = SharedCounts.from_settings(settings)  # Redis, or None: in-process
    if counts is not None:
        app.on_shutdown.append(counts.close)
    app.state.login_limits = login_limiters(counts)
    app.state.resident_limits = resident_limiters(counts)
    app.state.access = AccessPolicy.from_hooks(
        [grants for _pid, grants in plugins.call_each("yishi_permissions")],
        [resolvers for _pid, resolvers in plugins.call_each("yishi_council_resolvers")])

    def regrant() -> None:
        """A plugin switched off or on: its role grants go or come back (hooks skip disabled plugins)."""
        app.state.access.grants = AccessPolicy.from_hooks(
            [grants for _pid, grants in plugins.call_each("yishi_permissions")], []).grants

    app.state.plugin_switches = PluginSwitches(plugins, loader=env.loader, jinja=env,  # /admin/plugins
                                               on_change=regrant)
    return app


def _require_declared_permissions(app: Litestar, plugins: PluginSystem) -> None:
    """Refuse to start with a route that does not say who may use it."""
    missing = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if getattr(handler, "http_methods", None) == {"OPTIONS"}:
                continue  # Litestar's own preflight answer; the guard refuses it anyway
            if "permission" not in handler.opt:
                fn = getattr(handler, "fn", None)
                where = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', handler)}"
                missing.append(f"{route.path} ({where})")
    if missing:
        raise PluginError("这些路由没有声明访问权限 / these routes declare no permission "
                          '(add opt={"permission": ...}): ' + "; ".join(sorted(missing)))


def _login_required(request: Request, exc: NotAuthorizedException) -> Response[Any]:
    """Not logged in: go to the login page and come back afterwards."""
    from urllib.parse import quote

    back = request.url.path if request.method == "GET" else request.headers.get("hx-current-url", "/")
    if back.startswith("http"):
        from urllib.parse import urlsplit

        back = urlsplit(back).path or "/"
    target = f"/login?next={quote(back, safe='/')}"
    if request.headers.get("hx-request") == "true":
        return Response(_("请先登录。"), status_code=401, media_type="text/plain",
                        headers={"HX-Redirect": target})
    return Redirect(path=target, status_code=303)


def _forbidden(request: Request, exc: PermissionDeniedException) -> Response[Any]:
    detail = exc.detail or _("您没有权限进行此操作。")
    if "CSRF" in detail:
        detail = _("页面已过期或来源不明，请刷新页面后重试。")
    if request.headers.get("hx-request") == "true":
        return Response(detail, status_code=403, media_type="text/plain")
    return Template("error.html", context={"title": _("没有权限"), "detail": detail, "status": 403},
                    status_code=403)


def _http_error(request: Request, exc: HTTPException) -> Response[Any]:
    """Errors as a page people can read (HTMX requests get the message alone)."""
    status = exc.status_code
    if isinstance(exc, NotFoundException):
        title = _("页面不存在")
        detail = exc.detail if exc.detail and exc.detail != "Not Found" else _("您要找的页面不存在或已被删除。")
    else:
        title = _("请求有误") if status < 500 else _("服务器出错")
        detail = exc.detail or title
        if detail == _reason(status):  # Litestar's own English default ("Request Entity Too Large" …)
            detail = _plain_http_errors().get(status, title)
        elif isinstance(exc, ValidationException) and detail.startswith("Validation failed"):  # ?entry=abc
            # Litestar's own; Yishi's ValidationExceptions already say what is wrong, in Chinese
            keys = [str(e.get("key")) for e in exc.extra or () if isinstance(e, dict) and e.get("key")]
            detail = (_("地址中的“{names}”不对，请从页面上的链接进入。").format(names="”“".join(keys)) if keys
                      else _plain_http_errors()[400])
    if request.headers.get("hx-request") == "true":
        return Response(detail, status_code=status, media_type="text/plain")
    return Template("error.html", context={"title": title, "detail": detail, "status": status},
                    status_code=status)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _plain_http_errors() -> dict[int, str]:
    """What an HTTP error the framework raised itself means to the person who met it, instead of its
    English reason phrase: a form too big to accept, a link followed with the wrong method …"""
    return {
        400: _("请求有误，请刷新页面后重试。"),
        405: _("不能这样打开这个地址，请从页面上的链接或按钮进入。"),
        413: _("提交的内容太大，超过了允许的大小。请减少内容（如压缩或减少图片）后重试。"),
        415: _("提交的格式不对，请从页面上的表单提交。"),
        429: _("操作太频繁，请稍后再试。"),
    }


def _server_error(request: Request, exc: Exception) -> Response[Any]:
    """Anything unexpected: logged with its traceback, and a page in Chinese instead of raw JSON."""
    logging.getLogger("yishi").exception("unhandled error on %s %s", request.method, request.url.path)
    detail = _("服务器出错，请稍后再试。如果一再出现，请联系管理员。")
    if request.headers.get("hx-request") == "true":
        return Response(detail, status_code=500, media_type="text/plain")
    return Template("error.html", context={"title": _("服务器出错"), "detail": detail, "status": 500},
                    status_code=500)


def _bad_encoding(request: Request, exc: UnicodeDecodeError) -> Response[Any]:
    """A form whose bytes are not UTF-8 (a broken client, or someone probing): a clear 400."""
    detail = _("提交的内容不是有效的 UTF-8 文本，请刷新页面后重新填写。")
    if request.headers.get("hx-request") == "true":
        return Response(detail, status_code=400, media_type="text/plain")
    return Template("error.html", context={"title": _("请求有误"), "detail": detail, "status": 400},
                    status_code=400)


def _font_error(request: Request, exc: MissingFontError) -> Response[Any]:
    return Template("error.html", context={"title": _("缺少中文字体"), "detail": str(exc),
                                           "status": 500}, status_code=500)
