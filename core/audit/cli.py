"""``yishi audit verify``: walk the audit chain and say whether it is intact."""

from __future__ import annotations

import argparse
import asyncio
import re
from typing import Any

from core.errors import ConfigError
from core.settings import Settings

EXPECT = re.compile(r"^(\d+):([0-9a-f]{64})$")


def parse_expect(text: str | None) -> tuple[int, str] | None:
    """``SEQ:HASH`` as printed by an earlier ``yishi audit verify``."""
    if not text:
        return None
    match = EXPECT.match(text.strip().lower())
    if not match:
        raise ConfigError(f"--expect {text!r}: 应为 / should be SEQ:HASH, e.g. "
                          "12:3fa2… (64 hex digits), as printed by `yishi audit verify`")
    return int(match.group(1)), match.group(2)


def cmd_verify(args: argparse.Namespace) -> int:
    """Exit 0 when the chain is intact, 1 with the first broken link."""
    from core.audit.log import verify
    from core.cli import _with_db

    expect = parse_expect(getattr(args, "expect", None))
    settings = Settings.from_env()

    async def work(_plugins: Any) -> Any:
        return await verify(expect)

    result = asyncio.run(_with_db(settings, work))
    if result.ok:
        print(f"✓ {result.message}")
        print(f"    导出备查 / keep for later: yishi audit verify --expect {result.head_seq}:{result.head_hash}")
        return 0
    print(f"✗ 审计日志已被改动 / audit log broken: {result.message}")
    print(f"    已核对 / checked: {result.events} 条完好的事件 / intact events before it")
    return 1
