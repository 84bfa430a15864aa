"""Shared fixtures: a fresh database on SQLite *and* PostgreSQL for every database test, the app,
and an async HTTP client that runs the app on the test's own event loop.

PostgreSQL: 127.0.0.1:5432, database ``test`` (or ``YISHI_TEST_POSTGRES_URL``). The suite creates
its own database ``yishi_test_<pid>`` there and drops it at the end. If PostgreSQL cannot be
reached the database tests fail with a message saying so; ``YISHI_TEST_POSTGRES=skip`` turns that
into a skip for a laptop without PostgreSQL (CI refuses skipped PostgreSQL tests).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from core import db
from core.app import create_app
from core.plugins import PluginSystem, load_plugins
from core.settings import PROJECT_ROOT, Settings

PG_ADMIN_URL = os.environ.get("YISHI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_KINDS = ["sqlite", "postgres"]


def _with_dbname(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test session."""
    name = f"yishi_test_{os.getpid()}"
    try:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}"'))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        message = (f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({type(exc).__name__}: {exc}). "
                   "Start it, or set YISHI_TEST_POSTGRES_URL; YISHI_TEST_POSTGRES=skip skips these tests.")
        if os.environ.get("YISHI_TEST_POSTGRES") == "skip":
            pytest.skip(message)
        pytest.fail(message)
    url = _with_dbname(PG_ADMIN_URL, name)

    async def prepare() -> None:
        engine = await db.connect(url)
        await db.migrate()
        await db.disconnect(engine)

    asyncio.run(prepare())
    yield url
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_all(url: str) -> None:
    import core.piccolo_conf as conf

    tables = [t._meta.tablename for app in conf.APP_REGISTRY.app_configs.values()
              for t in app.table_classes]
    engine = db.engine_from_url(url)
    await engine.run_ddl(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    await db.disconnect(engine)


@pytest.fixture(params=DB_KINDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database: a new SQLite file, or the session's PostgreSQL emptied after."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'yishi.sqlite3'}"

        async def prepare() -> None:
            engine = await db.connect(url)
            await db.migrate()
            await db.disconnect(engine)

        asyncio.run(prepare())
        yield url
    else:
        url = request.getfixturevalue("pg_url")
        yield url
        asyncio.run(_truncate_all(url))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[object]:
    """Tables bound to the test database, for tests of services without HTTP."""
    eng = await db.connect(database_url)
    yield eng
    await db.disconnect(eng)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings.from_env(data_dir=tmp_path / "data", database_url=database_url,
                             plugin_registry=PROJECT_ROOT / "plugin_registry.toml")


@pytest.fixture
def plugins(settings: Settings) -> PluginSystem:
    return load_plugins(settings.plugin_registry)


@pytest.fixture
async def client(settings: Settings, plugins: PluginSystem) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process on the test's event loop.

    The database is connected here rather than through ``app.lifespan()``: pytest-asyncio sets a
    fixture up and tears it down in different tasks, which anyio's cancel scopes refuse. The real
    lifespan runs in the browser tests, which start a real server.
    """
    app = create_app(settings, plugins)
    eng = await db.connect(settings.database_url)
    app.state.engine = eng
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        c.app = app  # type: ignore[attr-defined]
        yield c
    await db.disconnect(eng)
