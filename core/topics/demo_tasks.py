"""Demo data for 办事: the responsible units of the demo council (翠竹园小区三方联席会议).

The lead calls :func:`seed_demo_departments` from the demo seeding, after the council exists.
"""

from __future__ import annotations

from core.topics.tables import Department

DEMO_DEPARTMENTS = [
    ("安居物业服务有限公司", "物业"),
    ("翠竹园社区居委会", "社区"),
    ("荷叶地派出所", "派出所"),
    ("区城管局", "职能部门"),
]


async def seed_demo_departments(council_id: int) -> dict[str, int]:
    """Add the demo's four responsible units to the council (idempotent); their ids by name."""
    ids: dict[str, int] = {}
    for name, kind in DEMO_DEPARTMENTS:
        row = await Department.select(Department.id).where(
            (Department.council == council_id) & (Department.name == name)).first()
        if row is None:
            row = (await Department.insert(Department(council=council_id, name=name, kind=kind))
                   .returning(Department.id))[0]
        ids[name] = row["id"]
    return ids
