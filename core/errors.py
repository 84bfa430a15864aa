"""Errors Yishi reports to the person running it, each saying what is wrong and how to fix it."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class YishiError(Exception):
    """Base for errors whose message is meant for a person, not a traceback."""


class ConfigError(YishiError):
    """A setting, an environment variable or plugin_registry.toml is wrong."""


class PluginError(YishiError):
    """A plugin cannot be loaded: names the plugin and the problem."""


class DatabaseError(YishiError):
    """The database URL is malformed or the database cannot be reached."""


def read_config_toml(path: Path) -> dict[str, Any]:
    """A deployment's TOML file (plugin_registry.toml, a theme's theme.toml) as a dict, or a
    :class:`ConfigError` naming the file: not UTF-8, or not valid TOML."""
    where = str(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{where}: 文件不是 UTF-8 编码 / not UTF-8 ({exc.reason})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: TOML 格式错误 / malformed TOML: {exc}") from exc
