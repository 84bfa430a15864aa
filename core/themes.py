"""Themes: which are installed, what they are called, and which one a request is shown in.

A theme is a folder under ``themes/`` with a ``theme.toml`` (``label``, ``description``), a stylesheet
``static/css/theme.css`` that sets core's CSS custom properties (loaded after core's yishi.css), and
optionally ``templates/`` that override core's.

The deployment's theme (``YISHI_THEME``) decides the template and static overrides for everyone.
A visitor may pick another installed theme's *stylesheet* for their own browser — large print on
an old resident's phone — with the ``yishi_theme`` cookie, set by ``GET /theme``. A GET, because
it changes nothing on the server, only how this browser shows pages: the worst a forged link can
do is switch someone's display, which the same switcher switches back, and a plain link keeps
working where a form's CSRF cookie has expired. Names from the setting or the cookie are only
ever looked up among the installed folders, never joined into a path, so neither can reach
outside ``themes/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from core.accounts.controllers import safe_next
from core.accounts.permissions import PUBLIC
from core.errors import ConfigError, read_config_toml

THEMES_DIR = Path(__file__).resolve().parent.parent / "themes"
COOKIE = "yishi_theme"
COOKIE_DAYS = 365
#: A theme's folder name, also its URL segment and cookie value: nothing a path could be made of.
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
STYLESHEET = Path("static") / "css" / "theme.css"
_KEYS = {"label", "description"}


@dataclass(frozen=True)
class Theme:
    """One installed theme, as theme.toml describes it."""

    name: str
    label: str
    description: str
    path: Path
    #: URL of the theme's theme.css, or None when it only uses core's look.
    stylesheet: str | None


def _read_toml(path: Path, name: str) -> tuple[str, str]:
    """(label, description) from a theme.toml; a mistake names the file and the key."""
    where = str(path)
    data = read_config_toml(path)
    unknown = set(data) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: 未知的键 / unknown key(s): {', '.join(sorted(unknown))}; "
                          f"可用 / allowed: {', '.join(sorted(_KEYS))}")
    label, description = data.get("label", name), data.get("description", "")
    for key, value in (("label", label), ("description", description)):
        if not isinstance(value, str) or (key == "label" and not value.strip()):
            raise ConfigError(f"{where}: {key} 必须是非空文字 / must be a non-empty string")
    return label.strip(), description.strip()


@cache
def installed_themes(root: Path = THEMES_DIR) -> dict[str, Theme]:
    """The themes under ``root`` by name: "default" first, then by name. Read once per process.

    Folders whose names are not theme names (``__pycache__``, ``.git``, ``My Theme``) are not themes.
    """
    found: dict[str, Theme] = {}
    if not root.is_dir():
        return found
    for folder in sorted(root.iterdir(), key=lambda p: (p.name != "default", p.name)):
        if not folder.is_dir() or not NAME.fullmatch(folder.name):
            continue
        toml = folder / "theme.toml"
        label, description = _read_toml(toml, folder.name) if toml.is_file() else (folder.name, "")
        css = f"/static/themes/{folder.name}/css/theme.css" if (folder / STYLESHEET).is_file() else None
        found[folder.name] = Theme(folder.name, label, description, folder, css)
    return found


def theme_named(name: object, root: Path = THEMES_DIR) -> Theme | None:
    """The installed theme called exactly ``name``, or None for anything else (``../``, ``/etc``)."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        return None
    return installed_themes(root).get(name)


class ThemeChoice:
    """What base.html asks (the global ``themes``): the installed themes and this request's one."""

    def __init__(self, default: str | None, root: Path = THEMES_DIR) -> None:
        self.root = root
        self.default = theme_named(default, root)

    @classmethod
    def for_dir(cls, theme_dir: Path) -> ThemeChoice:
        """For the environment built on ``theme_dir``: its theme is the default when it is installed."""
        theme = theme_named(theme_dir.name)
        return cls(theme.name if theme and theme.path.resolve() == theme_dir.resolve() else None)

    @property
    def all(self) -> list[Theme]:
        return list(installed_themes(self.root).values())

    def of(self, request: Any) -> Theme | None:
        """The visitor's choice from the cookie when it names an installed theme, else the deployment's."""
        cookies = getattr(request, "cookies", None) or {}
        return theme_named(cookies.get(COOKIE), self.root) or self.default

    def switch_url(self, theme: Theme, request: Any) -> str:
        """The switcher link to ``theme`` that comes back to the page it was clicked on."""
        url = getattr(request, "url", None)
        back = (url.path + (f"?{url.query}" if url.query else "")) if url is not None else "/"
        return "/theme?" + urlencode({"name": theme.name, "next": back})


@get("/theme", name="theme_switch", opt={"permission": PUBLIC})
async def switch_theme(request: Request) -> Redirect:
    """Remember the chosen theme in this browser and go back. An unknown name changes nothing."""
    response = Redirect(path=safe_next(request.query_params.get("next")), status_code=303,
                        headers={"cache-control": "no-store"})
    theme = theme_named(request.query_params.get("name"))
    if theme is None:
        return response
    if theme.name == request.app.state.settings.theme:
        response.delete_cookie(COOKIE, path="/")  # the deployment's own theme needs no cookie
    else:
        response.set_cookie(COOKIE, theme.name, max_age=COOKIE_DAYS * 86400, path="/", httponly=True,
                            samesite="lax", secure=request.url.scheme == "https")
    return response


def theme_handlers() -> list[Any]:
    """The switch route, and each installed theme's static files at ``/static/themes/<name>/``."""
    handlers: list[Any] = [switch_theme]
    for theme in installed_themes().values():
        if (theme.path / "static").is_dir():
            handlers.append(create_static_files_router(
                path=f"/static/themes/{theme.name}", directories=[theme.path / "static"],
                name=f"static_theme_{theme.name}", send_as_attachment=False, opt={"permission": PUBLIC}))
    return handlers
