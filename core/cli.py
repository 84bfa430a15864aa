"""The ``yishi`` command: demo, serve, migrate, plugin list, doctor, minutes export, audit verify,
backup and restore, roster import.

Errors meant for a person (:class:`core.errors.YishiError`) are printed without a traceback and
exit with status 2; ``yishi doctor`` exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import YishiError
from core.settings import Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.getLogger("piccolo").setLevel(logging.WARNING)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return args.func(args) or 0
    except YishiError as exc:
        print(f"错误 / error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yishi", description="议事 Yishi — 基层议事协商系统")
    sub = parser.add_subparsers(metavar="COMMAND")

    def command(name: str, func: Callable[[argparse.Namespace], int | None], help: str,
                parent: Any = sub) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    def serving(p: argparse.ArgumentParser) -> None:
        p.add_argument("--host", default=DEFAULT_HOST, help=f"listen address (default {DEFAULT_HOST})")
        p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")

    p = command("demo", cmd_demo, "create a demo database (SQLite) with realistic data and serve it")
    p.add_argument("--data-dir", default="data/demo", help="where the demo database lives (default data/demo)")
    p.add_argument("--no-serve", action="store_true", help="only create and seed, do not serve")
    p.add_argument("--reset", action="store_true", help="delete the demo database first")
    p.add_argument("--scale", type=int, default=0, metavar="N",
                   help="also add a county of N councils with five years of meetings and topics (docs/units.md)")
    serving(p)

    p = command("serve", cmd_serve, "migrate the database, then serve Yishi")
    serving(p)
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")

    command("migrate", cmd_migrate, "run pending database migrations of core and every plugin")

    plugin = sub.add_parser("plugin", help="plugins: list, check").add_subparsers(metavar="ACTION")
    command("list", cmd_plugin_list, "show installed plugins and whether they are enabled",
            parent=plugin)
    p = command("check", cmd_plugin_check, "validate plugins and their form/workflow specs (TOML)", parent=plugin)
    p.add_argument("path", nargs="?", help="a spec file or a plugin folder; default: this deployment")
    p = command("new", cmd_plugin_new, "scaffold a practice plugin package that installs and runs as generated",
                parent=plugin)
    p.add_argument("name", help="plugin id: lowercase letters, digits, _ (e.g. hongqiao)")
    p.add_argument("--dir", default=".", help="where to create the folder yishi_NAME (default: here)")
    p.add_argument("--title", default="", help="the practice's name in Chinese, e.g. 虹桥议事会")

    command("doctor", cmd_doctor, "check fonts, PDF libraries, the database and plugins")

    from core.accounts.cli import add_parser as add_user_parser

    add_user_parser(sub)

    from core.documents.cli import add_parser as add_document_parsers

    add_document_parsers(sub)  # minutes export|verify, documents list|export, ledger export

    from core.voting.cli import add_parser as add_poll_parser

    add_poll_parser(sub)  # poll verify

    audit = sub.add_parser("audit", help="audit log: verify").add_subparsers(metavar="ACTION")
    p = command("verify", cmd_audit_verify, "check the audit log's hash chain; exit 1 if broken",
                parent=audit)
    p.add_argument("--expect", metavar="SEQ:HASH", help="a head printed earlier that must still be there")

    p = command("backup", cmd_backup, "write a backup of the database to a file (SQLite or PostgreSQL)")
    p.add_argument("out", help="output file, or a folder to put a dated file in")
    p = command("restore", cmd_restore, "restore a backup into an empty database")
    p.add_argument("src", help="backup file written by `yishi backup`")
    p.add_argument("--force", action="store_true", help="SQLite: replace an existing database file")

    units = sub.add_parser("units", help="组织单元 / units: import").add_subparsers(metavar="ACTION")
    p = command("import", cmd_units_import, "import units (.xlsx or .csv: 编码, 名称, 类型, 上级编码); a file with "
                "any error imports nothing (exit 1)", parent=units)
    p.add_argument("file", help=".xlsx or .csv file")
    p.add_argument("--under", type=int, help="unit id that rows without 上级编码 go under (default: new roots)")
    p.add_argument("--dry-run", action="store_true", help="check and print the report only")
    stats = sub.add_parser("stats", help="统计 / dashboard figures: refresh").add_subparsers(metavar="ACTION")
    command("refresh", cmd_stats_refresh, "rebuild the dashboards' rollup now (e.g. from cron after imports)",
            parent=stats)

    roster = sub.add_parser("roster", help="居民名册 / roster: import").add_subparsers(metavar="ACTION")
    p = command("import", cmd_roster_import, "import a roster (.xlsx or .csv) into a unit; a file with any error "
                "imports nothing (exit 1)", parent=roster)
    p.add_argument("file", help=".xlsx or .csv file")
    p.add_argument("--unit", type=int, required=True, help="unit id (小区, 村民小组 …)")
    p.add_argument("--dry-run", action="store_true", help="check and print the report only")
    return parser


# -------------------------------------------------------------------------------------------------


async def _with_db(settings: Settings, work: Callable[[Any], Any]) -> Any:
    from core import db
    from core.i18n import use_locale
    from core.plugins import load_plugins

    use_locale(settings.locale)  # documents and ledgers written by the CLI speak the deployment's language
    plugins = load_plugins(settings.plugin_registry)
    apps = [a for _pid, apps in plugins.call_each("yishi_piccolo_apps") for a in apps]
    engine = await db.connect(settings.database_url, apps)
    try:
        return await work(plugins)
    finally:
        await db.disconnect(engine)


def cmd_migrate(args: argparse.Namespace) -> int:
    from core import db

    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(_with_db(settings, lambda _plugins: db.migrate()))
    print("数据库已是最新 / database is up to date")
    return 0


async def seed_demo(plugins: Any, settings: Settings) -> bool:
    """Seed an empty database through every plugin's ``yishi_demo_data``; False if not empty."""
    from core.org.tables import Council

    if await Council.count() > 0:
        return False
    for _pid, result in plugins.call_each("yishi_demo_data", settings=settings):
        if asyncio.iscoroutine(result):
            await result
    return True


def cmd_demo(args: argparse.Namespace) -> int:
    from core import db

    data_dir = Path(args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    database = data_dir / "yishi.sqlite3"
    if args.reset:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
    # The demo always uses its own SQLite file, never a database named in the environment.
    settings = Settings.from_env(data_dir=data_dir, database_url=f"sqlite:///{database}")

    async def prepare(plugins: Any) -> tuple[bool, list[tuple[str, str, str]]]:
        from core.demo_accounts import demo_accounts

        await db.migrate()
        seeded = await seed_demo(plugins, settings)
        return seeded, await demo_accounts(plugins)

    seeded, accounts = asyncio.run(_with_db(settings, prepare))
    print(("已载入演示数据 / demo data loaded: " if seeded else "沿用已有演示数据 / reusing demo data: ")
          + str(database))
    if args.scale > 0:
        from core.dashboard.seed import add_scaled_county

        print(add_scaled_county(settings, database, args.scale))
    from core.sanfang.demo import DEMO_PASSWORD

    print(f"演示账号 / demo accounts (密码 / password: {DEMO_PASSWORD}):")
    for username, name, what in accounts:
        print(f"  {username:<8} {name} — {what}" if what else f"  {username:<8} {name}")
    if args.no_serve:
        return 0
    return _serve(settings, args.host, args.port, workers=1)


def cmd_serve(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    cmd_migrate(args)
    return _serve(settings, args.host, args.port, args.workers)


def _serve(settings: Settings, host: str, port: int, workers: int) -> int:
    import uvicorn

    # Worker processes rebuild the app from the environment: hand them these exact settings.
    os.environ.update(settings.as_env())
    print(f"议事 Yishi 正在运行 / serving on http://{host}:{port}  (Ctrl+C 停止 / to stop)")
    uvicorn.run("core.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="warning", access_log=False, proxy_headers=False,
                timeout_graceful_shutdown=5)  # open live streams must not hold a stop
    return 0


def cmd_plugin_list(args: argparse.Namespace) -> int:
    from core.plugins import load_plugins

    settings = Settings.from_env()
    plugins = load_plugins(settings.plugin_registry)
    print(f"{'插件 id':<14}{'状态':<10}{'版本':<10}{'来源':<24}名称")
    for r in plugins.records:
        state = "已启用" if r.loaded else ("出错" if r.problem else ("未启用" if not r.enabled else "?"))
        version = r.meta.version if r.meta else "-"
        name = r.meta.name if r.meta else ""
        print(f"{r.id:<14}{state:<10}{version:<10}{r.source:<24}{name}")
        if r.problem:
            print(f"    ! {r.problem}")
    for practice in plugins.practices.values():
        print(f"议事实践 practice: {practice.id} — {practice.name} (插件 {practice.plugin})")
    for warning in plugins.warnings:
        print(f"警告 / warning: {warning}", file=sys.stderr)
    return 0


def cmd_plugin_check(args: argparse.Namespace) -> int:
    from core.lowcode.check import check_installed, check_path, check_plugin_folder, plugin_entry_points
    from core.plugins import load_plugins

    if args.path and plugin_entry_points(Path(args.path)) is not None:
        problems = list(check_plugin_folder(Path(args.path)))
    elif args.path:
        problems = list(check_path(Path(args.path)))
    else:
        plugins = load_plugins(Settings.from_env().plugin_registry)  # raises, naming the plugin
        problems = [("plugin_registry.toml", w) for w in plugins.warnings] + list(check_installed())
    for _file, problem in problems:
        print(problem)
    if problems:
        print(f"发现 {len(problems)} 个问题 / {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("全部有效 / all specs are valid")
    return 0


def cmd_plugin_new(args: argparse.Namespace) -> int:
    from core.plugin_kit.scaffold import scaffold

    folder = scaffold(args.name, Path(args.dir).resolve(), title=args.title)
    print(f"已生成插件 / plugin created: {folder}")
    print(f"下一步 / next: .venv/bin/pip install -e {folder}，在 plugin_registry.toml 加入 "
          f"[plugins.{args.name}] enabled = true，再运行 yishi plugin check {folder}（见 docs/plugins.md）")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from core.doctor import run_checks

    ok = True
    for check in run_checks():
        mark = "✓" if check.ok else "✗"
        print(f"{mark} {check.name}: {check.detail}")
        if not check.ok:
            ok = False
            print(f"    修复 / fix: {check.fix}")
    return 0 if ok else 1


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from core.audit.cli import cmd_verify

    return cmd_verify(args)


def cmd_backup(args: argparse.Namespace) -> int:
    from core.backup import cmd_backup

    return cmd_backup(args)


def cmd_restore(args: argparse.Namespace) -> int:
    from core.backup import cmd_restore

    return cmd_restore(args)


def cmd_units_import(args: argparse.Namespace) -> int:
    from core.org.unit_import import cmd_import

    return cmd_import(args)


def cmd_stats_refresh(args: argparse.Namespace) -> int:
    from core.dashboard.rollup import rebuild

    async def work(_plugins: Any) -> None:
        await rebuild()

    asyncio.run(_with_db(Settings.from_env(), work))
    print("统计数据已重算 / dashboard figures rebuilt")
    return 0


def cmd_roster_import(args: argparse.Namespace) -> int:
    from core.residents.import_service import cmd_import

    return cmd_import(args)


if __name__ == "__main__":
    sys.exit(main())
