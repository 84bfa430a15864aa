"""The voting Piccolo app: polls, the electorate snapshots, participation, ballots, proxies, hand
counts and each council's voting settings, migrated after core's tables (councils, agenda items) and the
roster."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from core.voting.tables import CouncilVoting, Elector, HandTotals, NamedBallot, Participation, Poll, Proxy, SecretBallot

APP_CONFIG = AppConfig(
    app_name="voting",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=[Poll, Elector, Participation, NamedBallot, SecretBallot, Proxy, HandTotals, CouncilVoting],
    migration_dependencies=["core.piccolo_app", "core.residents.piccolo_app"],
    commands=[],
)
