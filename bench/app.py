"""App factory for the page benchmark: the real Yishi app plus the bench plugin.

Run by uvicorn with ``factory=True`` (see :mod:`bench.pages`); settings come from the ``YISHI_*``
environment exactly as in ``yishi serve``. Nothing in core changes: the bench plugin is passed to
:func:`core.plugins.load_plugins` through ``extra_modules``.
"""

from __future__ import annotations

from litestar import Litestar

from bench import bench_plugin
from core.app import create_app
from core.plugins import load_plugins
from core.settings import Settings


def create_bench_app() -> Litestar:
    settings = Settings.from_env()
    plugins = load_plugins(settings.plugin_registry, extra_modules=[bench_plugin])
    return create_app(settings, plugins)
