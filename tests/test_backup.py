"""`yishi backup` and `yishi restore` on SQLite and PostgreSQL: a round trip keeps every row and an
intact audit chain; restore never overwrites a database that is there already."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from core import backup as backup_module
from core import db
from core.audit import record
from core.audit.tables import AuditEvent
from core.cli import main
from core.meetings.tables import AgendaItem, Meeting
from core.org.tables import Council, Unit
from tests.conftest import PG_ADMIN_URL, _pg_admin, _with_dbname
from tests.factories import make_meeting


async def on_database(url: str, work: Callable[[], Awaitable[Any]]) -> Any:
    engine = await db.connect(url)
    try:
        return await work()
    finally:
        await db.disconnect(engine)


async def make_data() -> None:
    meeting = await make_meeting(3)
    for state in ("in_session", "closed"):
        async with db.atomic():
            before = await Meeting.select(Meeting.state).where(Meeting.id == meeting.id).first()
            await Meeting.update({Meeting.state: state}).where(Meeting.id == meeting.id)
            await record(actor="user:1", action=f"meeting.{state}", entity=f"meeting:{meeting.id}",
                         before=before, after={"state": state})


async def counts() -> dict[str, int]:
    return {t.__name__: await t.count() for t in (Unit, Council, Meeting, AgendaItem, AuditEvent)}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------------
# SQLite


def use_data_dir(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> str:
    monkeypatch.setenv("YISHI_DATA_DIR", str(data_dir))
    monkeypatch.delenv("YISHI_DATABASE_URL", raising=False)
    return f"sqlite:///{data_dir.resolve() / 'yishi.sqlite3'}"


def test_sqlite_round_trip_into_an_empty_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    source = use_data_dir(monkeypatch, tmp_path / "live")
    assert main(["migrate"]) == 0
    asyncio.run(on_database(source, make_data))
    expected = asyncio.run(on_database(source, counts))
    assert expected["AuditEvent"] == 2 and expected["AgendaItem"] == 3

    # A row still only in the -wal file of an open connection must be in the backup too.
    live = sqlite3.connect(tmp_path / "live" / "yishi.sqlite3", isolation_level=None)
    live.execute("PRAGMA wal_autocheckpoint = 0")
    live.execute("INSERT INTO yishi_unit (name, kind) VALUES ('幸福里社区', '社区')")
    assert (tmp_path / "live" / "yishi.sqlite3-wal").stat().st_size > 0

    out = tmp_path / "backups" / "nightly.sqlite3"
    assert main(["backup", str(out)]) == 0
    live.close()
    assert "已备份 / backup written" in capsys.readouterr().out
    assert out.read_bytes().startswith(b"SQLite format 3\x00")
    assert list(out.parent.iterdir()) == [out]  # no temporary file left, no -wal beside it

    restored = use_data_dir(monkeypatch, tmp_path / "restored")
    assert main(["restore", str(out)]) == 0
    assert "已恢复 / restored into" in capsys.readouterr().out
    assert main(["audit", "verify"]) == 0
    assert "audit log intact: 2 条事件" in capsys.readouterr().out
    assert asyncio.run(on_database(restored, counts)) == {**expected, "Unit": expected["Unit"] + 1}


def test_sqlite_restore_refuses_an_existing_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    source = use_data_dir(monkeypatch, tmp_path / "live")
    assert main(["migrate"]) == 0
    asyncio.run(on_database(source, make_data))
    expected = asyncio.run(on_database(source, counts))
    out = tmp_path / "b.sqlite3"
    assert main(["backup", str(out)]) == 0

    other = use_data_dir(monkeypatch, tmp_path / "other")
    assert main(["migrate"]) == 0
    database = tmp_path / "other" / "yishi.sqlite3"
    before = digest(database)
    capsys.readouterr()
    assert main(["restore", str(out)]) == 2
    err = capsys.readouterr().err
    assert "已有数据库 / a database already exists" in err and str(database) in err
    assert digest(database) == before
    assert asyncio.run(on_database(other, counts)) == dict.fromkeys(expected, 0)

    assert main(["restore", str(out), "--force"]) == 0
    kept = list((tmp_path / "other").glob("yishi.sqlite3.before-restore-*"))
    assert [p.name for p in kept if not p.name.endswith(("-wal", "-shm"))]  # the old file is kept
    assert asyncio.run(on_database(other, counts)) == expected
    assert main(["audit", "verify"]) == 0


def test_sqlite_backup_into_a_folder_and_bad_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    use_data_dir(monkeypatch, tmp_path / "live")
    folder = tmp_path / "backups"
    folder.mkdir()
    assert main(["backup", str(folder)]) == 2  # no database yet: nothing written
    assert "nothing to back up" in capsys.readouterr().err
    assert list(folder.iterdir()) == []

    assert main(["migrate"]) == 0
    assert main(["backup", str(folder)]) == 0
    [written] = folder.iterdir()
    assert written.name.startswith("yishi-") and written.suffix == ".sqlite3"

    assert main(["backup", str(tmp_path / "live" / "yishi.sqlite3")]) == 2
    assert "cannot overwrite the database itself" in capsys.readouterr().err

    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    use_data_dir(monkeypatch, tmp_path / "empty")
    assert main(["restore", str(junk)]) == 2
    assert "is not a Yishi backup" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "missing.sqlite3")]) == 2
    assert "no such backup file" in capsys.readouterr().err
    assert not (tmp_path / "empty" / "yishi.sqlite3").exists()

    monkeypatch.setenv("YISHI_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/yishi")
    assert main(["restore", str(written)]) == 2
    assert "is a SQLite backup but YISHI_DATABASE_URL points at PostgreSQL" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# PostgreSQL


@pytest.fixture
def pg_databases(pg_url: str) -> Any:
    """Two databases of this test's own, created empty and dropped afterwards."""
    names = [f"yishi_test_backup_{which}_{os.getpid()}" for which in ("src", "dst")]
    for name in names:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    yield [_with_dbname(PG_ADMIN_URL, name) for name in names]
    for name in names:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_postgres_round_trip_into_a_new_empty_database(
        pg_databases: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    source, target = pg_databases
    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("YISHI_DATABASE_URL", source)
    assert main(["migrate"]) == 0
    asyncio.run(on_database(source, make_data))
    expected = asyncio.run(on_database(source, counts))
    assert expected["AuditEvent"] == 2

    out = tmp_path / "yishi.pgdump"
    assert main(["backup", str(out)]) == 0
    assert out.read_bytes().startswith(b"PGDMP")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["yishi.pgdump"]

    monkeypatch.setenv("YISHI_DATABASE_URL", target)
    capsys.readouterr()
    assert main(["restore", str(out)]) == 0
    assert main(["audit", "verify"]) == 0
    assert "audit log intact: 2 条事件" in capsys.readouterr().out
    assert asyncio.run(on_database(target, counts)) == expected

    assert main(["restore", str(out)]) == 2  # now it is not empty
    assert "is not empty" in capsys.readouterr().err
    assert main(["restore", str(out), "--force"]) == 2
    assert "--force is for SQLite only" in capsys.readouterr().err
    assert asyncio.run(on_database(target, counts)) == expected


def test_postgres_failed_backup_leaves_no_file(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("YISHI_DATABASE_URL", _with_dbname(PG_ADMIN_URL, "yishi_no_such_database"))
    out = tmp_path / "out" / "yishi.pgdump"
    assert main(["backup", str(out)]) == 2
    assert "pg_dump failed" in capsys.readouterr().err
    assert list(out.parent.iterdir()) == []


def test_missing_client_tools_name_the_debian_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(backup_module.shutil, "which", lambda name: None)
    monkeypatch.setenv("YISHI_DATABASE_URL", "postgresql://yishi:secret@127.0.0.1:5432/yishi")
    assert main(["backup", str(tmp_path / "x.pgdump")]) == 2
    err = capsys.readouterr().err
    assert "pg_dump not found" in err and "postgresql-client" in err


def test_the_password_goes_in_the_environment_not_the_command_line() -> None:
    dsn, env = backup_module._libpq("postgresql://yishi:p%40ss@db.example:5432/yishi?sslmode=require")
    assert dsn == "postgresql://yishi@db.example:5432/yishi?sslmode=require"
    assert env["PGPASSWORD"] == "p@ss"
