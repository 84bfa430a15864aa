"""Fixtures for the 邻聚力·月月谈 plugin: the installed plugin (through its entry point) enabled in a
registry of its own, a database on SQLite and PostgreSQL with the plugin's tables migrated, the app,
and a 月月谈 council with its people and a roster of landlords and tenants.

The suite's shared fixtures migrate core's apps only; a plugin's tables come from its
``yishi_piccolo_apps``, so these fixtures connect with the plugin's app and run its migrations too.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import db
from core.app import create_app
from core.org.tables import Council, CouncilMember, Person, Unit
from core.plugins import PluginSystem, load_plugins
from core.residents.tables import RosterEntry
from core.settings import Settings
from tests.conftest import DB_KINDS, http_client
from tests.factories import make_user

APPS = ["yishi_linjuli.piccolo_app"]
REGISTRY = """
[plugins.sanfang]
enabled = true

[plugins.linjuli]
enabled = true
"""


async def _migrate(url: str) -> None:
    engine = await db.connect(url, APPS)
    await db.migrate()
    await db.disconnect(engine)


async def _truncate(url: str) -> None:
    import core.piccolo_conf as conf

    engine = await db.connect(url, APPS)
    tables = [t._meta.tablename for app in conf.APP_REGISTRY.app_configs.values() for t in app.table_classes]
    await engine.run_ddl(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    await db.disconnect(engine)


@pytest.fixture(params=DB_KINDS)
def lj_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database with core's and the plugin's tables: a new SQLite file, or the session's
    PostgreSQL database (the plugin's migrations run on it once; it is emptied after each test)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'linjuli.sqlite3'}"
        asyncio.run(_migrate(url))
        yield url
    else:
        url = request.getfixturevalue("pg_url")
        asyncio.run(_migrate(url))
        yield url
        asyncio.run(_truncate(url))


@pytest.fixture
def lj_settings(tmp_path: Path, lj_url: str) -> Settings:
    registry = tmp_path / "plugin_registry.toml"
    registry.write_text(REGISTRY, encoding="utf-8")
    return dataclasses.replace(Settings.from_env(data_dir=tmp_path / "data", database_url=lj_url),
                               plugin_registry=registry)


@pytest.fixture
def lj_plugins(lj_settings: Settings) -> PluginSystem:
    return load_plugins(lj_settings.plugin_registry)


@pytest.fixture
async def lj_engine(lj_url: str) -> AsyncIterator[object]:
    engine = await db.connect(lj_url, APPS)
    yield engine
    await db.disconnect(engine)


@pytest.fixture
async def lj_client(lj_settings: Settings, lj_plugins: PluginSystem) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(lj_settings, lj_plugins)
    engine = await db.connect(lj_settings.database_url, APPS)
    app.state.engine = engine
    async with http_client(app) as c:
        yield c
    await db.disconnect(engine)


#: (楼栋, 房号, 姓名, 身份, 手机尾号)
ROSTER = [
    ("新村3栋", "101", "李桂芬", "landlord", "2816"),
    ("新村3栋", "302", "覃建新", "tenant", "1924"),
    ("新村8栋", "101", "钟国华", "landlord", "7740"),
    ("新村8栋", "402", "刘小勇", "tenant", "9185"),
    ("新村8栋", "501", "何美玲", "resident", "3301"),
]


async def make_linjuli_council(suffix: str = "") -> dict[str, Any]:
    """A 月月谈 council on a rental district with a chair (login ``chair<suffix>``), a grid worker
    (``grid<suffix>``), a tenant representative (``tenant<suffix>``, may look but not record) and the
    roster above; returns the ids by name."""
    town = await Unit.objects().create(name="沥林镇", kind="镇")
    area = await Unit.objects().create(name=f"沥林新村出租屋片区{suffix}", kind="片区", parent=town.id)
    council = await Council.objects().create(name=f"沥林新村邻聚力·月月谈议事会{suffix}", unit=area.id,
                                             practice="linjuli")
    out: dict[str, Any] = {"council": council.id, "unit": area.id, "roster": {}}
    for i, (name, role, login) in enumerate([("叶建明", "chair", "chair"), ("陈丽华", "grid_worker", "grid"),
                                             ("刘小勇", "tenant_rep", "tenant")]):
        person = await Person.objects().create(name=name)
        await CouncilMember.objects().create(council=council.id, person=person.id, role=role, position=i)
        await make_user(f"{login}{suffix}", name, person=person.id)
    for building, room, name, kind, phone in ROSTER:
        entry = await RosterEntry.objects().create(unit=area.id, name=name, building=building, room=room, kind=kind,
                                                   phone_last4=phone)
        out["roster"][name] = entry.id
    return out
