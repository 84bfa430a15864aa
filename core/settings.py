"""Deployment settings, read once from the environment (``YISHI_*``).

Every field is documented here and in docs/configuration.md; a test keeps the two in step.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path

from core.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


@dataclass(frozen=True)
class Settings:
    """Where Yishi keeps its data and how it is served. Read with :meth:`from_env`."""

    data_dir: Path = field(metadata={"env": "YISHI_DATA_DIR", "doc": (
        "Folder for the SQLite database, uploads and generated documents. Default: ./data.")})
    database_url: str = field(metadata={"env": "YISHI_DATABASE_URL", "doc": (
        "sqlite:///PATH (default: DATA_DIR/yishi.sqlite3) or "
        "postgresql://user:password@host:5432/dbname.")})
    redis_url: str = field(default="", metadata={"env": "YISHI_REDIS_URL", "doc": (
        "redis://host:6379/0 to share live updates (projector, console) and rate limits (login, "
        "links) between server processes and machines; needed with --workers above 1. ?prefix=NAME "
        "keeps two deployments on one Redis apart. Empty (default): in-memory, one process; see docs/live.md.")})
    plugin_registry: Path = field(default=PROJECT_ROOT / "plugin_registry.toml", metadata={
        "env": "YISHI_PLUGIN_REGISTRY", "doc": (
            "The plugin_registry.toml that says which plugins are enabled and their settings. "
            "Default: plugin_registry.toml in the project folder.")})
    theme: str = field(default="default", metadata={"env": "YISHI_THEME", "doc": (
        "Theme folder under themes/ whose templates and static files override core's: default, large "
        "(大字高对比) or dangjian (党建红). Residents may pick another theme's colours and sizes for "
        "their own phone; see docs/themes.md.")})
    locale: str = field(default="zh_CN", metadata={"env": "YISHI_LOCALE", "doc": (
        "Language of the pages: zh_CN (default) or any locale with a catalogue in core/locale.")})
    site_name: str = field(default="议事", metadata={"env": "YISHI_SITE_NAME", "doc": (
        "Name shown in the page header and on documents.")})
    debug: bool = field(default=False, metadata={"env": "YISHI_DEBUG", "doc": (
        "1 to show tracebacks in the browser. Never on a public server.")})
    secret_key: str = field(default="", repr=False, metadata={"env": "YISHI_SECRET_KEY", "doc": (
        "Secret for signing CSRF tokens. Default: generated once into DATA_DIR/secret_key (mode 600) "
        "and shared by every process using that data dir.")})

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Build settings from ``YISHI_*`` variables; keyword arguments win over the environment."""
        data_dir = Path(str(overrides.pop("data_dir", None) or _env("YISHI_DATA_DIR", "data")))
        default_db = f"sqlite:///{(data_dir / 'yishi.sqlite3').resolve()}"
        values: dict[str, object] = {
            "data_dir": data_dir.resolve(),
            "database_url": _env("YISHI_DATABASE_URL", default_db),
            "redis_url": _env("YISHI_REDIS_URL", ""),
            "plugin_registry": Path(
                _env("YISHI_PLUGIN_REGISTRY", str(PROJECT_ROOT / "plugin_registry.toml"))),
            "theme": _env("YISHI_THEME", "default"),
            "locale": _env("YISHI_LOCALE", "zh_CN"),
            "site_name": _env("YISHI_SITE_NAME", "议事"),
            "debug": _env("YISHI_DEBUG", "0").lower() in {"1", "true", "yes", "on"},
            "secret_key": _env("YISHI_SECRET_KEY", ""),
        }
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse settings that cannot work, naming the variable and the fix."""
        from core.themes import installed_themes, theme_named  # core.themes imports the web layer

        # Looked up among the installed folders, never joined into a path: "../x" or "/etc" is no theme.
        if theme_named(self.theme) is None:
            available = list(installed_themes())
            raise ConfigError(
                f"YISHI_THEME={self.theme!r}: 没有这个主题 / no such theme. "
                f"可选 / available: {', '.join(available)}")

    def secret(self) -> str:
        """YISHI_SECRET_KEY, or the data dir's own key, created on first use."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text(encoding="ascii").strip()
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_urlsafe(48))
        return path.read_text(encoding="ascii").strip()

    @property
    def theme_dir(self) -> Path:
        return PROJECT_ROOT / "themes" / self.theme

    def as_env(self) -> dict[str, str]:
        """The settings as ``YISHI_*`` variables, so worker processes see the same deployment."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "secret_key" and not value:
                continue
            out[f.metadata["env"]] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out


def documented_fields() -> list[tuple[str, str]]:
    """(environment variable, description) for every setting, for docs and `yishi doctor`."""
    return [(f.metadata["env"], f.metadata["doc"]) for f in fields(Settings)]
