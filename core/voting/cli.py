"""``yishi poll verify``: check closed polls against the seal their close event put in the audit chain."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from core.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    poll = sub.add_parser("poll", help="表决 / polls: verify").add_subparsers(metavar="ACTION")
    p = poll.add_parser("verify", help="核对已结束表决的选票与封存摘要 / check closed polls against their seal; "
                        "exit 1 if any was changed",
                        description="核对已结束表决的选票与审计日志中封存的摘要；有改动时退出码为 1。"
                        "审计链本身请用 yishi audit verify 核对。")
    p.add_argument("--poll", type=int, help="只核对这一次表决 / only this poll (id)")
    p.set_defaults(func=cmd_verify)


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 when every closed poll matches its seal (or has none to check), 1 otherwise."""
    from core.cli import _with_db
    from core.voting import seal

    async def work(_plugins: Any) -> list[seal.SealCheck]:
        if args.poll is not None:
            return [await seal.verify_poll(args.poll)]
        return await seal.verify_all()

    checks = asyncio.run(_with_db(Settings.from_env(), work))
    for check in checks:
        mark = {True: "✓", False: "✗", None: "·"}[check.ok]
        print(f"{mark} {check.message}")
    if not checks:
        print("· 没有已结束的表决 / no closed polls")
    return 1 if any(c.ok is False for c in checks) else 0
