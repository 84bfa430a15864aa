"""Export minutes to a file from the command line, without a running server."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from core.errors import YishiError
from core.minutes.render import MinutesNotFound, minutes_context, render_html, render_pdf
from core.plugins import PluginSystem
from core.settings import Settings
from core.templating import build_environment


def environment_for(plugins: PluginSystem, settings: Settings):
    """The same template layers the app uses (theme > plugins > core)."""
    import core

    layers = [(pid, [Path(d) for d in dirs]) for pid, dirs in plugins.call_each("yishi_template_dirs")]
    return build_environment(settings.theme_dir, layers, settings.locale, {
        "site_name": settings.site_name, "core_version": core.__version__})


async def export_minutes(plugins: PluginSystem, settings: Settings, meeting_id: int, fmt: str,
                         out: Path) -> None:
    """Render and write atomically: a failure leaves no half-written file behind."""
    try:
        context = await minutes_context(meeting_id, plugins, settings.site_name)
    except MinutesNotFound as exc:
        raise YishiError(f"会议 {meeting_id} 不存在 / meeting {meeting_id} does not exist") from exc
    env = environment_for(plugins, settings)
    html = render_html(env, context, for_print=(fmt == "pdf"))
    data = render_pdf(html, base_url=str(out.parent.resolve())) if fmt == "pdf" else html.encode()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
