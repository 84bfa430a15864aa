"""Exactly once, in the database: one participation, one named ballot, one proxy and one electorate
entry per voter per poll (unique indexes), and indexes for the lists the pages read.

On SQLite the secret ballot table is rebuilt ``WITHOUT ROWID`` (it is still empty here): an ordinary
SQLite table numbers its rows in insertion order behind the scenes, and that hidden ``rowid`` would line
the ballots up with the participation rows written in the same transactions. Without it the rows are
stored in the order of their random ids. PostgreSQL has no such column (see docs/voting.md for what
its storage order can and cannot tell).

Raw statements only, in their own migration: see core/raw_migrations.py.
"""

from core.raw_migrations import raw_migration

ID = "2026-11-30T01:28:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "one ballot per voter per poll; secret ballots without a row number"

SECRET_TABLE = "yishi_poll_secret_ballot"

STATEMENTS = (
    "CREATE UNIQUE INDEX yishi_poll_participation_voter ON yishi_poll_participation (poll, voter_key)",
    "CREATE UNIQUE INDEX yishi_poll_named_ballot_voter ON yishi_poll_named_ballot (poll, voter_key)",
    "CREATE UNIQUE INDEX yishi_poll_elector_voter ON yishi_poll_elector (poll, voter_key)",
    "CREATE UNIQUE INDEX yishi_poll_proxy_voter ON yishi_poll_proxy (poll, voter_key)",
    "CREATE INDEX yishi_poll_elector_owner ON yishi_poll_elector (poll, owner_key)",
    "CREATE INDEX yishi_poll_proxy_holder ON yishi_poll_proxy (poll, holder_key)",
    "CREATE INDEX yishi_poll_council ON yishi_poll (council, state)",
    "CREATE INDEX yishi_poll_item ON yishi_poll (item)",
)


async def _secret_without_rowid() -> None:
    from piccolo.engine import engine_finder

    engine = engine_finder()
    if engine.engine_type == "sqlite":
        rows = await engine.run_ddl(f"SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '{SECRET_TABLE}'")
        if await engine.run_ddl(f"SELECT 1 FROM {SECRET_TABLE} LIMIT 1"):
            raise RuntimeError(f"{SECRET_TABLE} is not empty; it cannot be rebuilt here")
        await engine.run_ddl(f"DROP TABLE {SECRET_TABLE}")
        await engine.run_ddl(f"{rows[0]['sql']} WITHOUT ROWID")
    await engine.run_ddl(f"CREATE INDEX yishi_poll_secret_ballot_poll ON {SECRET_TABLE} (poll)")


async def forwards():
    manager = raw_migration(ID, "voting", DESCRIPTION, STATEMENTS)
    manager.add_raw(_secret_without_rowid)
    return manager
