"""Export minutes and other documents to a file from the command line, without a running server."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from core.documents.service import build_document
from core.plugins import PluginSystem
from core.settings import Settings
from core.templating import build_environment


def environment_for(plugins: PluginSystem, settings: Settings):
    """The same template layers the app uses (theme > plugins > core)."""
    import core

    layers = [(pid, [Path(d) for d in dirs]) for pid, dirs in plugins.call_each("yishi_template_dirs")]
    return build_environment(settings.theme_dir, layers, settings.locale, {
        "site_name": settings.site_name, "core_version": core.__version__})


def write_atomic(out: Path, data: bytes) -> None:
    """Write to a temporary file beside ``out``, then rename: never a half-written ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def export_document(plugins: PluginSystem, settings: Settings, doc_id: str, meeting_id: int, fmt: str,
                          out: Path) -> str:
    """Render ``doc_id`` of the meeting in ``fmt`` and write it atomically; the record hash or ""."""
    built = await build_document(plugins, settings, environment_for(plugins, settings), doc_id, meeting_id, fmt,
                                 base_url=str(out.parent.resolve()))
    write_atomic(out, built.data)
    return built.sha256


async def export_minutes(plugins: PluginSystem, settings: Settings, meeting_id: int, fmt: str,
                         out: Path) -> str:
    """The minutes (会议纪要) of a meeting to ``out``; a failure leaves no file behind."""
    return await export_document(plugins, settings, "minutes", meeting_id, fmt, out)
