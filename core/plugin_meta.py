"""What a plugin declares about itself, and the marker its hook implementations carry.

A plugin module sets ``meta = PluginMeta(...)`` — or a plugin.toml beside it declares ``[plugin]``
(:mod:`core.plugin_manifest`); the loader in :mod:`core.plugins` validates it and refuses (or skips)
a plugin whose metadata is broken or whose core range excludes this core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pluggy

hookimpl = pluggy.HookimplMarker("yishi")

PLUGIN_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


@dataclass(frozen=True)
class PluginMeta:
    """Metadata every Yishi plugin declares as a module-level ``meta``.

    id: short lowercase identifier, also the entry-point name and the URL prefix ``/p/<id>/``.
    name: the name people read (Chinese), e.g. "街巷议事会".
    version: the plugin's own version (PEP 440).
    core: the range of Yishi core versions it works with, as a PEP 440 specifier, e.g. ">=0.1,<0.2".
    description: one sentence on what the practice is.
    author: who maintains it (a county, a street office, a person).
    builtin: set only by core for its own default plugins; they are mounted at the root URL.
    """

    id: str
    name: str
    version: str
    core: str
    description: str = ""
    author: str = ""
    builtin: bool = False

    @property
    def url_prefix(self) -> str:
        """Where the plugin's routes are mounted: the root for core's own, else ``/p/<id>``."""
        return "" if self.builtin else f"/p/{self.id}"

    @property
    def static_prefix(self) -> str:
        """Where the plugin's static files are served."""
        return f"/static/plugins/{self.id}"
