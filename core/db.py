"""The database: engines from a URL, the connection pool, and migrations.

SQLite (a file in the data dir, WAL mode) is the default; PostgreSQL when ``YISHI_DATABASE_URL``
starts with ``postgres://`` or ``postgresql://``. Piccolo binds every Table class to one engine;
:func:`use_engine` rebinds all of them (core's and the plugins'), which is how the app, the CLI and
the tests (which run every database test on both engines) choose a database at run time.

Piccolo's stock SQLite engine opens a new connection — a new thread — for every query.
:class:`PooledSQLiteEngine` keeps a few connections open instead; transactions still get their
own connection, as in Piccolo. Inside a write transaction the statements run on the caller's
thread, without the hop to the connection's thread (see :class:`_Lent`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiosqlite
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, dict_factory

from core.errors import DatabaseError

logger = logging.getLogger(__name__)

CORE_APPS = ["core.piccolo_app", "core.accounts.piccolo_app", "core.residents.piccolo_app",
             "core.topics.piccolo_app", "core.voting.piccolo_app", "core.plugin_admin.piccolo_app",
             "core.records.piccolo_app"]


class PooledSQLiteEngine(SQLiteEngine):
    """SQLite with persistent connections reused across queries outside transactions.

    aiosqlite connections are not tied to an event loop (each call makes its future on the caller's
    loop), so the idle list needs no loop-bound primitive.
    """

    def __init__(self, path: str, pool_size: int = 4) -> None:
        super().__init__(path=path, timeout=30)
        self.pool_size = pool_size
        self._idle: list[aiosqlite.Connection] = []
        self._open: set[aiosqlite.Connection] = set()
        self._commits_in_place = 0  # since the last checkpoint (see _Lent)
        self._wal = False  # the database is in WAL mode (set by prep_database)
        # aiosqlite's worker threads are not daemons: an idle pooled connection left open (a test
        # that never closed its app, a CLI error path) would keep the interpreter from exiting.
        # threading's own exit hook runs before it joins those threads; atexit runs after.
        threading._register_atexit(self._stop_all)  # type: ignore[attr-defined]  # as concurrent.futures does

    async def _connect(self) -> aiosqlite.Connection:
        # check_same_thread=False: a transaction's statements may run on the event loop's thread
        # (:class:`_Lent`), one at a time, while the connection's own thread is idle.
        connection = aiosqlite.connect(**self.connection_kwargs, check_same_thread=False)
        # Known before its thread starts, so that _stop_all() ends that thread even if the event
        # loop closes while the connection is still being opened.
        self._open.add(connection)
        try:
            await connection
            connection.row_factory = dict_factory  # type: ignore[assignment]
            await connection.execute("PRAGMA foreign_keys = 1")
            await connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            await connection.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            self._open.discard(connection)
            await connection.close()
            raise
        return connection

    async def get_connection(self) -> Any:  # used by transactions
        """A pooled connection for a transaction: Piccolo closes it at the end, which gives it back.

        Opening one costs a thread and three PRAGMAs (about 2 ms); every audited write takes one.
        """
        connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = await self._connect()
        return _Lent(self, connection)

    async def _run_in_existing_connection(self, connection: Any, query: str, args: list[Any] | None = None,
                                          query_type: str = "generic", table: Any = None) -> Any:
        """A query inside a transaction in one trip to the connection's thread.

        Piccolo's own version first re-sends ``PRAGMA foreign_keys = 1`` (our connections have it
        from the start) and then executes and fetches separately: three thread hops per statement.
        SQLite here has RETURNING (3.35+), so inserts need no special path. Once the transaction
        holds its lock, a pooled connection runs the statement on this thread instead (no hop at
        all): :meth:`_Lent.run_inline`.
        """
        if isinstance(connection, _Lent):
            rows = connection.run_inline(query, args or [])
            if rows is not None:
                return rows
        return await connection.execute_fetchall(query, args or [])

    async def _give_back(self, connection: aiosqlite.Connection) -> None:
        """Back to the idle list when clean; closed when still in a transaction or the pool is full."""
        if not connection.in_transaction and len(self._idle) < self.pool_size:
            self._idle.append(connection)
            return
        self._open.discard(connection)
        await connection.close()

    async def prep_database(self) -> None:
        """WAL lets readers go on while one writer commits; it is stored in the file."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        async with aiosqlite.connect(self.path) as connection:
            rows = await connection.execute_fetchall("PRAGMA journal_mode = WAL")
        self._wal = bool(rows) and str(rows[0][0]).lower() == "wal"

    async def _run_in_new_connection(self, query: str, args: list[Any] | None = None,
                                     query_type: str = "generic", table: Any = None) -> Any:
        connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = await self._connect()
        try:
            # One trip to the connection's thread for execute, fetchall and close, not three.
            rows = await connection.execute_fetchall(query, args or [])
        except BaseException:
            # A connection in an unknown state is not given back.
            self._open.discard(connection)
            await connection.close()
            raise
        if len(self._idle) < self.pool_size:
            self._idle.append(connection)
        else:
            self._open.discard(connection)
            await connection.close()
        return rows

    async def start_connection_pool(self, **_: Any) -> None:
        await self.prep_database()

    async def close_connection_pool(self) -> None:
        connections, self._idle = list(self._open), []
        self._open.clear()
        for connection in connections:
            await connection.close()

    def _stop_all(self) -> None:
        for connection in self._open:
            connection.stop()


#: A statement run on the event loop's thread that takes longer than this sends the rest of its
#: transaction back to the connection's thread: the loop serves every other request meanwhile.
INLINE_BUDGET_S = 0.002
_BUSY_TIMEOUT_MS = 30000
_WRITE_BEGINS = ("BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")
#: Commits run in place between two checkpoints (each commits a few pages; SQLite's own automatic
#: checkpoint, which statements outside transactions keep, comes at 1000 pages).
CHECKPOINT_EVERY = 100
_AUTOCHECKPOINT_PAGES = 1000


class _Lent:
    """A pooled aiosqlite connection lent to one transaction; ``close()`` returns it to the pool.

    Why it runs statements itself: every aiosqlite call is a round trip to the connection's thread
    (a queue, a wake-up, the GIL handed over and back, ``call_soon_threadsafe``), about 0.1 ms,
    while the small statements of a console action or a vote take a few microseconds in SQLite. A
    write of five statements spent most of its time in hops. So, while the connection is lent:

    - ``BEGIN`` is tried on the caller's thread without waiting (``busy_timeout`` 0); only when
      another writer holds the lock does it go to the connection's thread and wait there (30 s), so
      the event loop never waits for a lock;
    - once the transaction is open, each statement runs on the caller's thread
      (:meth:`run_inline`): it holds the write lock, so nothing it does waits for another
      connection (a deferred, reading transaction keeps the hops: it holds no lock). A statement
      that takes longer than :data:`INLINE_BUDGET_S` (a bulk import) sends the rest of the
      transaction back to the connection's thread;
    - ``COMMIT`` runs here too, but without SQLite's automatic checkpoint (copying the WAL into the
      database file, with an fsync, which must not stall the event loop): every
      :data:`CHECKPOINT_EVERY` such commits, a passive checkpoint runs on the connection's thread.
      ``ROLLBACK`` and ``SAVEPOINT`` go to the connection's thread as before.

    Durability is unchanged (the same connection, the same PRAGMAs, the same COMMIT). Only one
    task uses a lent connection, and the connection's thread runs nothing while a statement runs
    here (``_hops`` counts the calls in flight there).
    """

    __slots__ = ("_connection", "_engine", "_hops", "_inline")

    def __init__(self, engine: PooledSQLiteEngine, connection: aiosqlite.Connection) -> None:
        self._engine, self._connection = engine, connection
        self._hops = 0
        # The sqlite3 connection under aiosqlite's wrapper (a private attribute: without it, or
        # if it changes, every statement simply takes the hop as before).
        self._inline: Any = getattr(connection, "_connection", None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _Lent.__slots__:
            object.__setattr__(self, name, value)
        else:  # Piccolo sets row_factory on the connection it is given
            setattr(self._connection, name, value)

    async def execute(self, sql: str, parameters: Any = None) -> Any:
        """Piccolo's BEGIN, COMMIT, ROLLBACK and SAVEPOINT come here; BEGIN is tried in place first."""
        if sql.startswith("BEGIN"):
            if sql not in _WRITE_BEGINS or _bulk.get():
                # A deferred (reading) transaction holds no lock: its statements could wait for one,
                # or read a whole table (``audit verify``). They take the hop, as before — and so do
                # the statements of ``atomic(bulk=True)``, whose first statement alone may run for
                # seconds (a dashboard rebuild) and must not hold up the event loop even once.
                self._inline = None
            elif self._try_begin(sql):
                return None  # Piccolo uses the cursor of neither BEGIN nor COMMIT
        if sql == "COMMIT" and await self._commit_in_place():
            return None
        self._hops += 1
        try:
            return await self._connection.execute(sql, parameters)
        finally:
            self._hops -= 1

    def _try_begin(self, sql: str) -> bool:
        raw = self._inline
        if raw is None or self._hops or raw.in_transaction:
            return False
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            raw.execute(sql)
            return True
        except sqlite3.OperationalError:  # locked by another writer: wait on the connection's thread
            return False
        finally:
            raw.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")

    async def _commit_in_place(self) -> bool:
        """COMMIT on this thread when the database is in WAL mode (with a rollback journal a commit
        syncs the file: that stays on the connection's thread)."""
        raw = self._inline
        if raw is None or self._hops or not raw.in_transaction or not self._engine._wal:
            return False
        raw.execute("PRAGMA wal_autocheckpoint = 0")
        try:
            raw.execute("COMMIT")
        finally:
            raw.execute(f"PRAGMA wal_autocheckpoint = {_AUTOCHECKPOINT_PAGES}")
        engine = self._engine
        engine._commits_in_place += 1
        if engine._commits_in_place >= CHECKPOINT_EVERY:
            engine._commits_in_place = 0
            self._hops += 1
            try:
                await self._connection.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                self._hops -= 1
        return True

    def run_inline(self, query: str, args: list[Any]) -> list[Any] | None:
        """The statement's rows, run on this thread — or None when it must take the hop (no open
        transaction, a call in flight on the connection's thread, or an earlier slow statement)."""
        raw = self._inline
        if raw is None or self._hops or not raw.in_transaction:
            return None
        start = time.perf_counter()
        cursor = raw.execute(query, args)
        try:
            return cursor.fetchall()
        finally:
            cursor.close()
            if time.perf_counter() - start > INLINE_BUDGET_S:
                self._inline = None

    async def close(self) -> None:
        await self._engine._give_back(self._connection)


def engine_from_url(url: str) -> Engine:
    """An engine for a ``sqlite:///path`` or ``postgresql://…`` URL, or a clear error."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        if not path:
            raise DatabaseError(f"YISHI_DATABASE_URL={url!r}: SQLite 地址应为 / should be "
                                "sqlite:////absolute/path/yishi.sqlite3")
        if not path.startswith("/"):
            path = str(Path(path).resolve())
        return PooledSQLiteEngine(path=path)
    if parts.scheme in ("postgres", "postgresql"):
        if not parts.hostname or not parts.path.strip("/"):
            raise DatabaseError(f"YISHI_DATABASE_URL={_redact(url)!r}: PostgreSQL 地址应为 / should "
                                "be postgresql://user:password@host:5432/dbname")
        try:
            _ = parts.port
        except ValueError as exc:
            raise DatabaseError(f"YISHI_DATABASE_URL={_redact(url)!r}: 端口无效 / bad port") from exc
        return PostgresEngine(config={"dsn": url}, extensions=())
    raise DatabaseError(f"YISHI_DATABASE_URL={_redact(url)!r}: 不支持的数据库 / unsupported "
                        "database; use sqlite:///PATH or postgresql://…")


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def app_modules(plugin_apps: list[str] | None = None) -> list[str]:
    """Dotted paths of every Piccolo app: core's, then the plugins'."""
    return CORE_APPS + [a for a in (plugin_apps or []) if a not in CORE_APPS]


def use_engine(engine: Engine, plugin_apps: list[str] | None = None) -> None:
    """Make ``engine`` the database of every table and of Piccolo's migration machinery."""
    from piccolo.apps.migrations.tables import Migration
    from piccolo.conf.apps import AppRegistry

    import core.piccolo_conf as conf

    conf.DB = engine
    conf.APP_REGISTRY = AppRegistry(apps=app_modules(plugin_apps))
    Migration._meta.db = engine
    for app in conf.APP_REGISTRY.app_configs.values():
        for table in app.table_classes:
            table._meta.db = engine


async def check_reachable(engine: Engine, url: str) -> None:
    """Run one query; turn a failure into a message naming the URL and what to check."""
    try:
        await engine._run_in_new_connection("SELECT 1") if isinstance(
            engine, SQLiteEngine) else await engine.run_ddl("SELECT 1")
    except Exception as exc:
        raise DatabaseError(f"无法连接数据库 / cannot reach the database {_redact(url)}: "
                            f"{type(exc).__name__}: {exc}. 检查 YISHI_DATABASE_URL、数据库是否运行、"
                            "用户名和密码 / check the URL, that the server runs, and the "
                            "credentials") from exc


async def migrate(quiet: bool = True) -> None:
    """Run every app's pending migrations (core first), as ``yishi migrate`` does."""
    import contextlib
    import io

    from piccolo.apps.migrations.commands.forwards import run_forwards

    import core.piccolo_conf as conf

    await conf.DB.prep_database()
    out = io.StringIO()
    with contextlib.redirect_stdout(out) if quiet else contextlib.nullcontext():
        result = await run_forwards(app_name="all")
    if not result.success:
        sys.stderr.write(out.getvalue())
        raise DatabaseError(f"数据库迁移失败 / migration failed: {result.message}")


async def _give_back_as_is(connection: Any) -> None:
    """asyncpg's pool, by default, sends a reset query (unlock advisory locks, close cursors,
    UNLISTEN, RESET ALL) each time a connection goes back: one more round trip to the server after
    every query outside a transaction and after every transaction. Yishi keeps no session state on
    its connections — its advisory locks are per transaction (``pg_advisory_xact_lock``), its SETs
    are ``SET TRANSACTION``/``SET LOCAL``, it uses no LISTEN and no cursor outside a transaction —
    so there is nothing to reset. An open transaction is still rolled back: asyncpg does that
    itself before calling this."""
    return None


async def connect(url: str, plugin_apps: list[str] | None = None) -> Engine:
    """Create the engine for ``url``, bind all tables to it, check it answers, start its pool."""
    engine = engine_from_url(url)
    use_engine(engine, plugin_apps)
    await check_reachable(engine, url)
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(reset=_give_back_as_is)
    else:
        await engine.start_connection_pool()
    return engine


async def disconnect(engine: Engine) -> None:
    """Close the engine's pool, if one was started (PostgreSQL warns when there is none)."""
    if isinstance(engine, PostgresEngine) and getattr(engine, "pool", None) is None:
        return
    await engine.close_connection_pool()


_after_commit: ContextVar[list[Callable[[], Awaitable[None]]] | None] = ContextVar("yishi_after_commit", default=None)
#: set inside ``atomic(bulk=True)``: SQLite statements keep to the connection's thread (see _Lent)
_bulk: ContextVar[bool] = ContextVar("yishi_bulk", default=False)


@asynccontextmanager
async def atomic(*, bulk: bool = False) -> AsyncIterator[None]:
    """A write transaction on the current engine: every change and its audit event commit together.

    ``bulk=True`` for a transaction whose statements may each run long (``INSERT … SELECT`` over a
    whole table): on SQLite they then stay on the connection's thread instead of the event loop's.

    On SQLite it is ``BEGIN IMMEDIATE``, taking the write lock at the start so two writers queue
    instead of failing half-way; on PostgreSQL a normal transaction (rows that must be serialised,
    such as the head of the audit chain, are locked with ``SELECT … FOR UPDATE``). Nested calls
    join the outer transaction. Callbacks given to :func:`after_commit` run once the outermost
    transaction has committed, and never when it rolls back.

        async with db.atomic():
            await Meeting.update(...)
            await audit.record(...)
    """
    import core.piccolo_conf as conf

    engine = conf.DB
    if isinstance(engine, SQLiteEngine):
        from piccolo.engine.sqlite import TransactionType

        transaction = engine.transaction(transaction_type=TransactionType.immediate)
    else:
        transaction = engine.transaction()
    outermost = _after_commit.get() is None
    token = _after_commit.set([]) if outermost else None
    bulk_token = _bulk.set(True) if bulk else None
    try:
        async with transaction:
            yield
        callbacks = (_after_commit.get() or []) if outermost else []
    finally:
        if bulk_token is not None:
            _bulk.reset(bulk_token)
        if token is not None:
            _after_commit.reset(token)
    for callback in callbacks:
        try:
            await callback()
        except Exception:  # the change is committed: a listener's failure must not undo the answer
            logger.exception("after-commit callback failed")


def after_commit(callback: Callable[[], Awaitable[None]]) -> None:
    """Run ``callback`` once the current :func:`atomic` block commits (live updates, plugin hooks).

    Outside a transaction nothing is pending, so it is a programming error to call this there.
    """
    pending = _after_commit.get()
    if pending is None:
        raise RuntimeError("after_commit() must be called inside db.atomic()")
    pending.append(callback)


def for_update(query: Any) -> Any:
    """``SELECT … FOR UPDATE`` inside :func:`atomic` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
    already holds the write lock, and it has no row locks."""
    import core.piccolo_conf as conf

    return query if isinstance(conf.DB, SQLiteEngine) else query.lock_rows("UPDATE")


def run(coro: Any) -> Any:
    """Run a coroutine from synchronous CLI code."""
    return asyncio.run(coro)
