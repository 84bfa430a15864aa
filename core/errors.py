"""Errors Yishi reports to the person running it, each saying what is wrong and how to fix it."""


class YishiError(Exception):
    """Base for errors whose message is meant for a person, not a traceback."""


class ConfigError(YishiError):
    """A setting, an environment variable or plugin_registry.toml is wrong."""


class PluginError(YishiError):
    """A plugin cannot be loaded: names the plugin and the problem."""


class DatabaseError(YishiError):
    """The database URL is malformed or the database cannot be reached."""
