"""三方联席会议 — the three-in-one coordination session, core's own default practice.

小区党组织 + 业主委员会 + 物业服务企业, often with the 社区, a grid worker and the area police
officer; normally monthly. Every practice can convene one, so it ships with core — but as a plugin,
through the same hooks a county's practice uses, and it can be disabled in plugin_registry.toml.
"""

from __future__ import annotations

from typing import Any

import core
from core.plugin_meta import PluginMeta, hookimpl
from core.practices import Practice, Role

meta = PluginMeta(
    id="sanfang",
    name="三方联席会议",
    version=core.__version__,
    core=f"=={core.__version__}",
    description="小区党组织、业委会、物业服务企业三方联席，社区和网格员参加，一般每月召开一次。",
    author="Yishi",
    builtin=True,
)

PRACTICE = Practice(
    id="sanfang",
    name="三方联席会议",
    description=meta.description,
    meeting_kinds=("联席会议", "临时联席会议"),
    roles=(
        Role("party_rep", "党组织代表"),
        Role("owners_rep", "业委会代表"),
        Role("property_rep", "物业代表"),
        Role("community_rep", "社区代表"),
        Role("grid_worker", "网格员"),
        Role("police", "社区民警"),
    ),
    # Slips go into mailboxes and links get forwarded: ask for the phone's last four digits.
    identity_check="phone_last4",
)


@hookimpl
def yishi_practices() -> list[Practice]:
    return [PRACTICE]


@hookimpl
def yishi_permissions() -> dict[str, tuple[str, ...]]:
    """The parties' representatives follow their council's meetings and topics, as members do."""
    return {role.id: ("meeting.view", "topic.view") for role in PRACTICE.roles}


@hookimpl
async def yishi_demo_data(settings: Any) -> None:
    from core.sanfang.demo import seed

    await seed()
