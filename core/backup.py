"""Backup and restore of the whole database: ``yishi backup OUT`` and ``yishi restore IN``.

SQLite: the online backup API copies a consistent snapshot while the server runs; the backup is a
plain SQLite file. PostgreSQL: ``pg_dump -Fc`` and ``pg_restore --no-owner`` (Debian package
``postgresql-client``). A backup says what it is by its first bytes — SQLite's ``SQLite format 3``
header or pg_dump's ``PGDMP`` — so ``restore`` knows which kind it holds.

Outputs are written to a temporary file and renamed into place, so a failed backup leaves nothing
behind. Restore only fills an empty database; it never merges into or silently replaces live data.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from core.errors import YishiError
from core.settings import Settings

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
SUFFIX = {"sqlite": "sqlite3", "postgres": "pgdump"}
CLIENT_PACKAGE = "postgresql-client"


class BackupError(YishiError):
    """A backup or restore that cannot be done; says why and what to do."""


# ------------------------------------------------------------------------------------------------
# Shared


def database_kind(url: str) -> str:
    """``"sqlite"`` or ``"postgres"`` for a YISHI_DATABASE_URL.

    Parsed here rather than through :func:`core.db.engine_from_url`, which opens the database:
    it would create an empty SQLite file where restore must find none.
    """
    from core.db import _redact

    scheme = urlsplit(url).scheme
    if scheme == "sqlite" and url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        return "sqlite"
    if scheme in ("postgres", "postgresql"):
        return "postgres"
    raise BackupError(f"YISHI_DATABASE_URL={_redact(url)!r}: 应为 / should be sqlite:////absolute/path/"
                      "yishi.sqlite3 or postgresql://user:password@host:5432/dbname")


def _sqlite_path(url: str) -> Path:
    return Path(url[len("sqlite:///"):]).resolve()  # as core.db.engine_from_url reads it


def backup_kind(path: Path) -> str:
    """What a backup file holds, from its first bytes."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise BackupError(f"没有这个备份文件 / no such backup file: {path}") from None
    except IsADirectoryError:
        raise BackupError(f"{path} 是文件夹，不是备份文件 / is a folder, not a backup file") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgres"
    raise BackupError(f"{path} 不是议事的备份 / is not a Yishi backup: neither a SQLite database nor "
                      "a pg_dump archive (pg_dump -Fc)")


@contextlib.contextmanager
def _atomic_output(final: Path) -> Iterator[Path]:
    """A temporary path beside ``final``; renamed onto it only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, final)
        dir_fd = os.open(final.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        for leftover in (tmp, *(Path(f"{tmp}{s}") for s in ("-journal", "-wal", "-shm"))):
            leftover.unlink(missing_ok=True)


def _output_path(out: Path, kind: str) -> Path:
    """``out`` itself, or a dated file inside it when it is a folder."""
    if out.is_dir():
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return out / f"yishi-{stamp}.{SUFFIX[kind]}"
    return out


def backup(settings: Settings, out: Path) -> Path:
    """Write a backup of the database in ``settings`` to ``out`` (a file, or a folder for a dated
    file); return the file written."""
    kind = database_kind(settings.database_url)
    out = _output_path(out.expanduser().resolve(), kind)
    if kind == "sqlite":
        _backup_sqlite(_sqlite_path(settings.database_url), out)
    else:
        _backup_postgres(settings.database_url, out)
    return out


def restore(settings: Settings, src: Path, force: bool = False) -> str:
    """Restore the backup ``src`` into the (empty) database in ``settings``; return where it went."""
    kind = database_kind(settings.database_url)
    src = src.expanduser().resolve()
    held = backup_kind(src)
    if held != kind:
        names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
        raise BackupError(
            f"{src} 是 {names[held]} 的备份，但 YISHI_DATABASE_URL 指向 {names[kind]} / is a {names[held]} "
            f"backup but YISHI_DATABASE_URL points at {names[kind]}: restore it into the same kind of "
            "database it came from")
    if kind == "sqlite":
        return _restore_sqlite(src, _sqlite_path(settings.database_url), force)
    if force:
        raise BackupError("--force 只用于 SQLite / --force is for SQLite only. PostgreSQL: restore into "
                          "a new, empty database (createdb NAME) and point YISHI_DATABASE_URL at it")
    return _restore_postgres(src, settings.database_url)


# ------------------------------------------------------------------------------------------------
# SQLite


def _connect_existing(path: Path, mode: str) -> sqlite3.Connection:
    """Open ``path`` without ever creating it (a plain connect would make an empty database)."""
    return sqlite3.connect(f"{path.as_uri()}?mode={mode}", uri=True, timeout=30)


def _check_sqlite(path: Path, what: str) -> None:
    """A readable, undamaged SQLite database made by Yishi (it has Piccolo's migration table)."""
    try:
        with contextlib.closing(_connect_existing(path, "ro")) as conn:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
            migrated = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migration'").fetchone()
    except sqlite3.Error as exc:
        raise BackupError(f"{what} {path} 无法读取 / cannot be read: {exc}") from exc
    if result != "ok":
        raise BackupError(f"{what} {path} 已损坏 / is damaged: {result}")
    if not migrated:
        raise BackupError(f"{what} {path} 不是议事的数据库 / is not a Yishi database (no migration table)")


def _backup_sqlite(database: Path, out: Path) -> None:
    if not database.exists():
        raise BackupError(f"没有数据库 / no database at {database}: nothing to back up (check "
                          "YISHI_DATA_DIR / YISHI_DATABASE_URL)")
    if out in {database, Path(f"{database}-wal"), Path(f"{database}-shm")}:
        raise BackupError(f"备份不能写到数据库自身 / the backup cannot overwrite the database itself: {out}")
    with _atomic_output(out) as tmp:
        try:
            with contextlib.closing(_connect_existing(database, "rw")) as source, \
                    contextlib.closing(sqlite3.connect(tmp)) as dest:
                source.backup(dest)
                # A standalone file: rollback-journal mode, so it is complete without a -wal beside it.
                dest.execute("PRAGMA journal_mode = DELETE")
        except sqlite3.Error as exc:
            raise BackupError(f"备份失败 / backup failed: {database}: {exc}") from exc
        _check_sqlite(tmp, "备份 / backup")


def _restore_sqlite(src: Path, target: Path, force: bool) -> str:
    _check_sqlite(src, "备份 / backup")
    existing = [p for p in (target, Path(f"{target}-wal"), Path(f"{target}-shm")) if p.exists()]
    if existing and not force:
        raise BackupError(
            f"已有数据库 / a database already exists: {target}. 恢复不会覆盖它 / restore does not "
            "overwrite it: point YISHI_DATA_DIR at an empty folder, or move the database away; "
            "--force replaces it (stop the server first; the old file is kept beside it)")
    with _atomic_output(target) as tmp:
        shutil.copyfile(src, tmp)
        _check_sqlite(tmp, "恢复的副本 / restored copy")
        if existing:
            # Keep the replaced database, with its -wal, under one name it can still be opened by;
            # a stale -wal left beside the restored file would be replayed into it.
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            kept = target.with_name(f"{target.name}.before-restore-{stamp}")
            for path in existing:
                path.rename(Path(str(path).replace(str(target), str(kept), 1)))
    return str(target)


# ------------------------------------------------------------------------------------------------
# PostgreSQL


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BackupError(f"找不到 {name} / {name} not found: install the Debian package "
                          f"{CLIENT_PACKAGE} (sudo apt install {CLIENT_PACKAGE}), whose major version "
                          "is at least the server's")
    return path


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its password, and an environment carrying it (never on a command line,
    where other users could read it)."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        host = parts.netloc.rsplit("@", 1)[1]
        user = parts.netloc.rsplit("@", 1)[0].split(":", 1)[0]
        parts = parts._replace(netloc=f"{user}@{host}")
    return urlunsplit(parts), env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()
        raise BackupError(f"{what}失败 / {Path(command[0]).name} failed (exit {done.returncode}): {detail}")


def _backup_postgres(url: str, out: Path) -> None:
    pg_dump = _tool("pg_dump")
    dsn, env = _libpq(url)
    with _atomic_output(out) as tmp:
        _run([pg_dump, "--format=custom", "--file", str(tmp), "--dbname", dsn], env, "备份")
        if backup_kind(tmp) != "postgres":
            raise BackupError(f"pg_dump wrote something that is not a custom-format archive: {tmp}")


async def _user_relations(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%'")
    finally:
        await conn.close()


def _restore_postgres(src: Path, url: str) -> str:
    from core.db import _redact

    pg_restore = _tool("pg_restore")
    name = urlsplit(url).path.strip("/")
    try:
        relations = asyncio.run(_user_relations(url))
    except Exception as exc:
        raise BackupError(f"无法连接数据库 / cannot reach the database {_redact(url)}: "
                          f"{type(exc).__name__}: {exc}. 先建好空数据库 / create the empty database "
                          f"first: createdb {name or 'NAME'}") from exc
    if relations:
        raise BackupError(
            f"数据库 {name} 不是空的（{relations} 张表等）/ database {name} is not empty ({relations} "
            "tables, sequences or views): restore only into a new, empty database — createdb NAME, "
            "then point YISHI_DATABASE_URL at it")
    dsn, env = _libpq(url)
    # One transaction: a restore that fails half-way leaves the database empty, not half-filled.
    _run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          "--dbname", dsn, str(src)], env, "恢复")
    return _redact(url)


# ------------------------------------------------------------------------------------------------
# Commands (wired into core.cli)


def cmd_backup(args: argparse.Namespace) -> int:
    written = backup(Settings.from_env(), Path(args.out))
    print(f"已备份 / backup written: {written} ({written.stat().st_size:,} bytes)")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    where = restore(Settings.from_env(), Path(args.src), force=args.force)
    print(f"已恢复 / restored into {where}")
    print("    接着运行 / next: yishi migrate (if the backup is older than this version), "
          "yishi audit verify")
    return 0
