"""The one-time key of a form submission (a phone's double tap or retry stores one submission)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-23T18:52:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "submission nonce"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="topics", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Submission",
        tablename="yishi_submission",
        column_name="nonce",
        db_column_name="nonce",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
