"""Fixtures for the 街巷议事会 plugin: the installed plugin enabled through its entry point, the app with
core's tables migrated, on SQLite and PostgreSQL, and a council of the practice with logins."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core import db
from core.app import create_app
from core.org.tables import Council, CouncilMember, Person, Unit
from core.plugins import PluginSystem, load_plugins
from core.settings import Settings
from tests.factories import make_user

REGISTRY = """
[registry]
on_error = "fail"

[plugins.sanfang]
enabled = true

[plugins.jiexiang]
enabled = true
"""

#: (name, role, affiliation, login or None)
MEMBERS = [
    ("陈海燕", "chair", "四牌楼商圈联合党委书记", "jx_chair"),
    ("张建平", "lane_guide", "巷导", "jx_guide"),
    ("孙立群", "merchant_rep", "淮河路步行街商户代表", "jx_shop"),
    ("吴婷", "recorder", "逍遥津街道社区工作者", None),
]


@pytest.fixture
def jx_settings(tmp_path: Path, database_url: str) -> Settings:
    registry = tmp_path / "plugin_registry.toml"
    registry.write_text(textwrap.dedent(REGISTRY), encoding="utf-8")
    return Settings.from_env(data_dir=tmp_path / "data", database_url=database_url, plugin_registry=registry)


@pytest.fixture
def jx_plugins(jx_settings: Settings) -> PluginSystem:
    return load_plugins(jx_settings.plugin_registry)


@pytest.fixture
async def jx_app(jx_settings: Settings, jx_plugins: PluginSystem) -> AsyncIterator[Any]:
    """The app with the database connected and migrated (as `yishi migrate`); mediations live in core's
    record tables, so the plugin has no migrations of its own."""
    app = create_app(jx_settings, jx_plugins)
    apps = [a for _pid, found in jx_plugins.call_each("yishi_piccolo_apps") for a in found]
    engine = await db.connect(jx_settings.database_url, apps)
    await db.migrate()
    app.state.engine = engine
    yield app
    await db.disconnect(engine)


async def make_jiexiang_council() -> Council:
    """四牌楼商圈街巷议事会 with a chair, a lane guide (巷导), a shop representative and a recorder."""
    street = await Unit.objects().create(name="逍遥津街道", kind="街道")
    area = await Unit.objects().create(name="四牌楼商圈", kind="片区", parent=street.id)
    council = await Council.objects().create(name="四牌楼商圈街巷议事会", unit=area.id, practice="jiexiang")
    for position, (name, role, affiliation, login) in enumerate(MEMBERS):
        person = await Person.objects().create(name=name)
        await CouncilMember.objects().create(council=council.id, person=person.id, role=role,
                                             affiliation=affiliation, position=position)
        if login:
            await make_user(login, name, person=person.id)
    return council
