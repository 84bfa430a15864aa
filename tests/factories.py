"""Realistic records for tests, built through the ORM (the tables' own constraints apply)."""

from __future__ import annotations

from datetime import UTC, datetime

from core.accounts.passwords import hash_password
from core.accounts.tables import User
from core.meetings.tables import AgendaItem, Meeting
from core.org.tables import Council, CouncilMember, Person, Unit

TOPICS = [
    "电动自行车集中充电棚选址及收费，治理楼道“飞线充电”",
    "物业费由1.2元调整为1.5元/㎡·月及服务标准",
    "公共收益约5万元用于地下车库坡道防滑改造",
    "高空抛物治理：加装高空视频监控点位及费用来源",
    "利用广场旁闲置空地改建临时停车场（8个车位）",
    "动用专项维修资金更换屋面防水",
    "3栋2单元加装电梯方案及费用分摊",
    "楼道杂物清理和消防通道畅通专项行动",
    "小区夜间犬吠扰民问题协商",
    "东门道路翻新后门槛过低问题",
]


PASSWORD = "yishi-test-pw"
_HASH: list[str] = []


async def make_user(username: str, display_name: str = "", *, person: int | None = None,
                    unit: int | None = None, is_admin: bool = False) -> User:
    """An account with the test password (hashed once per test run: argon2 is slow on purpose)."""
    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return await User.objects().create(username=username, display_name=display_name or username,
                                       password_hash=_HASH[0], person=person, unit=unit, is_admin=is_admin)


async def make_council(practice: str = "sanfang", suffix: str = "") -> Council:
    """A council with a chair (login ``chair<suffix>``), a recorder (``recorder<suffix>``) and
    a property-company member who has no login."""
    street = await Unit.objects().create(name="荷叶地街道", kind="街道")
    unit = await Unit.objects().create(name="锦绣苑小区", kind="小区", parent=street.id)
    council = await Council.objects().create(name="锦绣苑小区三方联席会议", unit=unit.id,
                                             practice=practice)
    for i, (name, role, aff) in enumerate([("张国庆", "chair", "锦绣苑小区党支部"),
                                           ("黄丽娟", "recorder", "锦绣苑社区居委会"),
                                           ("吴海涛", "property_rep", "恒信物业")]):
        person = await Person.objects().create(name=name)
        await CouncilMember.objects().create(council=council.id, person=person.id, role=role,
                                             affiliation=aff, position=i)
        if role in ("chair", "recorder"):
            await make_user(f"{role}{suffix}", name, person=person.id)
    return council


async def make_meeting(n_items: int = 3, state: str = "draft", council: Council | None = None,
                       suffix: str = "") -> Meeting:
    council = council or await make_council(suffix=suffix)
    meeting = await Meeting.objects().create(
        council=council.id, kind="联席会议", title="2026年11月三方联席会议", place="社区会议室",
        starts_at=datetime(2026, 11, 20, 11, 0, tzinfo=UTC), state=state)
    for position in range(1, n_items + 1):
        await AgendaItem.objects().create(meeting=meeting.id, position=position,
                                          title=TOPICS[(position - 1) % len(TOPICS)],
                                          proposer="第二网格", description="")
    return meeting
