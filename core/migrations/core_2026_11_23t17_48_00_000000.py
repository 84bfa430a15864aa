"""The head of the audit chain (one row: seq 0, the genesis hash) and an index on the entity.

Raw statements only, in their own migration, because a MigrationManager runs raw statements before
it creates tables.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T17:48:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "seed the audit head; index audit events by entity"

STATEMENTS = (
    "INSERT INTO yishi_audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')",
    "CREATE INDEX yishi_audit_event_entity ON yishi_audit_event (entity, seq)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="core", description=DESCRIPTION)

    def run(statement: str):
        async def raw():
            from piccolo.engine import engine_finder

            await engine_finder().run_ddl(statement)

        return raw

    for statement in STATEMENTS:
        manager.add_raw(run(statement))
    return manager
