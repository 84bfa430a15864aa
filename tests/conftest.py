"""Shared fixtures: a fresh database on SQLite *and* PostgreSQL for every database test, the app,
and an async HTTP client that runs the app on the test's own event loop.

PostgreSQL: 127.0.0.1:5432, database ``test`` (or ``YISHI_TEST_POSTGRES_URL``). The suite creates
its own database ``yishi_test_<pid>`` there and drops it at the end. If PostgreSQL cannot be
reached the database tests fail with a message saying so; ``YISHI_TEST_POSTGRES=skip`` turns that
into a skip for a laptop without PostgreSQL (CI refuses skipped PostgreSQL tests).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from core import db
from core.app import create_app
from core.plugins import PluginSystem, load_plugins
from core.settings import PROJECT_ROOT, Settings

SAMPLE_SOURCE = Path(__file__).parent / "fixtures" / "yishi_sample_county"
SAMPLE_ID = "sample_county"
SAMPLE_PACKAGE = "yishi_sample_county"

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
    async with http_client(app) as c:
        yield c
    await db.disconnect(eng)


@asynccontextmanager
async def http_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An anonymous browser-like client: it keeps cookies and echoes the CSRF cookie in the
    header on every request, as base.html makes htmx do."""
    transport = httpx.ASGITransport(app=app)

    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:

        async def add_csrf(request: httpx.Request) -> None:
            token = c.cookies.get("yishi_csrf")
            if token and "x-csrftoken" not in request.headers:
                request.headers["x-csrftoken"] = token

        c.event_hooks["request"].append(add_csrf)
        c.app = app  # type: ignore[attr-defined]
        await c.get("/login")  # receive the CSRF cookie, as a browser would on its first page
        yield c


async def login(client: httpx.AsyncClient, username: str, password: str = "yishi-test-pw") -> None:
    """Log the client in through the login form; fail loudly if it does not work."""
    r = await client.post("/login", data={"username": username, "password": password, "next": "/"})
    assert r.status_code == 303, r.text
    assert client.cookies.get("yishi_session"), "no session cookie after login"


async def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (core's, accounts', plugins'), to prove a request changed nothing.

    Stronger than the audit head: it also sees changes that are not audited (sessions, failed-login
    counters) and changes that forgot their audit event.
    """
    import core.piccolo_conf as conf

    state: dict[str, list[dict[str, Any]]] = {}
    for app_config in conf.APP_REGISTRY.app_configs.values():
        for table in app_config.table_classes:
            state[table._meta.tablename] = await table.select().order_by(table._meta.primary_key)
    return state


@pytest.fixture(autouse=True)
def _forget_session_cache() -> Iterator[None]:
    """Sessions are cached per process; every test starts with a new database. (The permission
    check's own caches live in each app's AccessPolicy, and every test builds its own app.)"""
    from core.accounts import sessions

    yield
    sessions.forget()


# -------------------------------------------------------------------------------------------------
# The sample out-of-tree plugin (tests/fixtures/yishi_sample_county), installed for real
# -------------------------------------------------------------------------------------------------


def forget_modules(package: str) -> None:
    for name in list(sys.modules):
        if name == package or name.startswith(package + "."):
            del sys.modules[name]


@pytest.fixture(scope="session")
def sample_county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """yishi-sample-county installed for real with pip; yields the folder it was installed into.

    It is not importable otherwise: the loader must find it through its entry point like any
    county's package, never by importing a path. Enable it with a registry containing
    ``[plugins.sample_county] enabled = true``.
    """
    from core.plugins import installed_entry_points

    work = tmp_path_factory.mktemp("sample_county")
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources it builds.
    source = work / "source"
    shutil.copytree(SAMPLE_SOURCE, source,
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = work / "site-packages"
    assert importlib.util.find_spec(SAMPLE_PACKAGE) is None, "the sample plugin must not be importable yet"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--quiet", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"pip could not install {SAMPLE_SOURCE} (the venv needs setuptools and wheel: "
                    f"scripts/setup.sh --test):\n{result.stdout}\n{result.stderr}")
    sys.path.insert(0, str(target))
    importlib.invalidate_caches()
    try:
        assert SAMPLE_ID in installed_entry_points()
        yield target
    finally:
        sys.path.remove(str(target))
        forget_modules(SAMPLE_PACKAGE)
        importlib.invalidate_caches()


@contextmanager
def redis_prefix(url: str, stem: str, setting: str) -> Iterator[str]:
    """A key prefix of this test's own on the Redis at ``url`` (its keys deleted afterwards). An
    unreachable Redis fails the test under ``CI=true`` — CI has one — and skips it elsewhere, naming
    ``setting``, the variable that points the tests at another Redis."""
    import uuid

    from redis import Redis

    prefix = f"{stem}-{uuid.uuid4().hex[:12]}"
    client = Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:
        message = f"Redis is not reachable at {url} ({type(exc).__name__}: {exc}); set {setting}"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: Redis is required)")
        pytest.skip(message)
    try:
        yield prefix
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()
