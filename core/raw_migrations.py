"""Migrations made only of SQL statements (unique indexes, seed rows), shared by every app.

Piccolo's composite ``Unique()`` fails on SQLite, so composite uniqueness is a unique index; and a
MigrationManager runs raw statements *before* it creates tables, so such statements live in a
migration of their own that follows the one creating the tables:

    ID = "2026-11-23T18:40:00:000000"
    async def forwards():
        return raw_migration(ID, "topics", "indexes for the council's topic list", STATEMENTS)
"""

from __future__ import annotations

from collections.abc import Iterable

from piccolo.apps.migrations.auto.migration_manager import MigrationManager


def raw_migration(migration_id: str, app_name: str, description: str,
                  statements: Iterable[str]) -> MigrationManager:
    """A migration that runs ``statements`` in order on the configured engine."""
    manager = MigrationManager(migration_id=migration_id, app_name=app_name, description=description)

    def step(statement: str):
        async def run() -> None:
            from piccolo.engine import engine_finder

            await engine_finder().run_ddl(statement)

        return run

    for statement in statements:
        manager.add_raw(step(statement))
    return manager
