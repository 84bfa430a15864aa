"""`yishi user add`: create the first admin (and any other account) from the shell."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from core.errors import YishiError
from core.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    user = sub.add_parser("user", help="账号 / accounts: add").add_subparsers(metavar="ACTION")
    p = user.add_parser("add", help="创建账号 / create an account",
                        description="创建账号；密码交互输入，或用 --password-stdin 从标准输入读取。")
    p.add_argument("username", help="登录名 / login name (lowercase)")
    p.add_argument("--name", required=True, help="姓名 / display name")
    p.add_argument("--admin", action="store_true", help="管理员 / administrator")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码 / read the password from stdin")
    p.set_defaults(func=cmd_user_add)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise YishiError("没有终端可输入密码；请使用 --password-stdin / no terminal: use --password-stdin")
    first = getpass.getpass("密码 / password: ")
    if first != getpass.getpass("再次输入 / again: "):
        raise YishiError("两次输入的密码不一致 / the passwords differ")
    return first


def cmd_user_add(args: argparse.Namespace) -> int:
    from core.accounts.services import NewUser, create_user
    from core.cli import _with_db

    password = _read_password(args.password_stdin)
    settings = Settings.from_env()
    form = NewUser(username=args.username.strip().lower(), display_name=args.name, password=password,
                   is_admin=args.admin)
    user_id, errors = asyncio.run(_with_db(settings, lambda _plugins: create_user(form, "cli")))
    if errors:
        for field, message in errors.items():
            print(f"错误 / error: {field}: {message}", file=sys.stderr)
        return 2
    print(f"已创建账号 / created: {form.username} (id {user_id}){'，管理员 / admin' if args.admin else ''}")
    return 0
