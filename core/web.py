"""Small helpers shared by controllers: reading forms, answering HTMX and plain requests alike."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

from core.plugins import PluginSystem
from core.settings import Settings


def plugins_of(request: Request) -> PluginSystem:
    return request.app.state.plugins


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


#: The largest id an INTEGER column holds; larger numbers in a URL or form cannot name anything.
MAX_ID = 2**31 - 1


def parse_id(raw: str | None) -> int | None:
    """A row id typed into a form or URL: ASCII digits within the column's range, else None."""
    raw = (raw or "").strip()
    if not raw or not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        return None
    value = int(raw)
    return value if 0 < value <= MAX_ID else None


def is_htmx(request: Request) -> bool:
    """An htmx swap that wants a fragment — not htmx restoring a page from its history cache (the
    back button after ``hx-push-url`` sends HX-History-Restore-Request and needs the whole page)."""
    return (request.headers.get("hx-request") == "true"
            and request.headers.get("hx-history-restore-request") != "true")


async def form_of(request: Request) -> dict[str, str]:
    """The submitted form as plain strings (one value per field; files are ignored)."""
    form = await request.form()
    return {k: v if isinstance(v, str) else "" for k, v in form.items()}


async def form_with_files(request: Request) -> tuple[dict[str, list[str]], dict[str, Any]]:
    """A posted form (urlencoded or multipart) as ``core.lowcode.forms.validate`` takes it: every
    value of every name, and the uploaded files by name (an empty file input is no file)."""
    from litestar.datastructures import UploadFile

    from core.lowcode.forms import Upload

    form = await request.form()
    data: dict[str, list[str]] = {}
    files: dict[str, list[Upload]] = {}
    for key in form:
        for value in form.getall(key):
            if isinstance(value, str):
                data.setdefault(key, []).append(value)
            elif isinstance(value, UploadFile):
                content = await value.read()
                if value.filename or content:
                    files.setdefault(key, []).append(Upload(value.filename or "", value.content_type or "", content))
    return data, files


def page_or_fragment(request: Request, page: str, fragment: str, context: dict[str, Any],
                     status_code: int = 200) -> Template:
    """HTMX gets the fragment to swap in; a plain request gets the whole page."""
    return Template(template_name=fragment if is_htmx(request) else page, context=context,
                    status_code=status_code)


def see_other(url: str) -> Redirect:
    """After a plain (non-HTMX) POST, go back to the page: reloading it repeats nothing."""
    return Redirect(path=url, status_code=303)
