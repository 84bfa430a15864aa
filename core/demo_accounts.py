"""The accounts ``yishi demo`` lists: read from the demo's database, so the list holds every demo login
— core's and each practice's — whether the demo was just seeded or reused, and says what each is for.
"""

from __future__ import annotations

from typing import Any

from core.i18n import _


async def demo_accounts(plugins: Any) -> list[tuple[str, str, str]]:
    """``(login, name, what it is for)`` for every active account, in the order they were made: its
    seats (council, role and the body the seat speaks for), else administrator or the unit it serves."""
    from core.accounts.tables import User
    from core.org.tables import CouncilMember

    users = await User.select(User.username, User.display_name, User.is_admin, User.person,
                              User.unit.name.as_alias("unit_name")).where(User.active.eq(True)).order_by(User.id)
    seats: dict[int, list[str]] = {}
    for s in await CouncilMember.select(
            CouncilMember.person, CouncilMember.role, CouncilMember.affiliation,
            CouncilMember.council.name.as_alias("council"),
            CouncilMember.council.practice.as_alias("practice")).order_by(CouncilMember.id):
        practice = plugins.practice(s["practice"])
        role = practice.role_label(s["role"]) if practice else s["role"]
        seats.setdefault(s["person"], []).append(
            f"{s['council']} {role}" + (f"（{s['affiliation']}）" if s["affiliation"] else ""))
    accounts = []
    for u in users:
        if u["person"] in seats:
            what = "；".join(seats[u["person"]])
        elif u["is_admin"]:
            what = _("管理员，可管理账号")
        elif u["unit_name"]:
            what = _("{unit}工作人员，查看辖区内的议事机构").format(unit=u["unit_name"])
        else:
            what = ""
        accounts.append((u["username"], u["display_name"], what))
    return accounts
