"""Yishi 议事 core: meetings, agendas, voting and minutes; everything else comes from plugins.

Plugins import from here: ``from core import hookimpl, PluginMeta``.
"""

import os

__version__ = "0.1.0"

# Piccolo binds each Table class to an engine when the class is created, by importing the module
# named in PICCOLO_CONF. Point it at core's configuration before any table module is imported.
os.environ.setdefault("PICCOLO_CONF", "core.piccolo_conf")

from core.plugin_meta import PluginMeta, hookimpl

__all__ = ["PluginMeta", "__version__", "hookimpl"]
