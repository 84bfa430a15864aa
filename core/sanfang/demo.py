"""Demo data for the 三方联席会议: a real-looking estate in Hefei with its council and meetings.

Topics come from the sample topics in the project's domain notes; names and numbers are
invented but typical (13 buildings, 2,132 flats, 1,819 households).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.accounts.passwords import hash_password
from core.accounts.tables import User
from core.meetings.tables import AgendaItem, Attendance, HandCount, ItemNote, Meeting, MeetingEvent
from core.org.tables import Council, CouncilMember, Person, Unit
from core.residents.tables import RosterEntry

SHANGHAI = ZoneInfo("Asia/Shanghai")

MEMBERS = [
    ("王建华", "chair", "翠竹园小区党支部书记"),
    ("刘晓雯", "recorder", "翠竹园社区居委会"),
    ("李秀兰", "owners_rep", "翠竹园业主委员会主任"),
    ("陈志强", "property_rep", "安居物业服务有限公司项目经理"),
    ("赵敏", "community_rep", "翠竹园社区两委委员"),
    ("周海燕", "grid_worker", "第三网格网格员"),
    ("孙立新", "police", "荷叶地派出所社区民警"),
]

#: Demo logins (listed in the README; `yishi demo` lists every account from the database, with what it
#: is for: core.demo_accounts). Never use these on a real server.
DEMO_PASSWORD = "yishi-demo"
DEMO_ACCOUNTS = [("admin", "系统管理员"), ("wangjh", "王建华"), ("liuxw", "刘晓雯"), ("heyedi", "荷叶地街道办")]

PAST_AGENDA = [
    ("高空抛物治理：加装高空视频监控点位及费用来源",
     "近三个月物业接到高空抛物投诉 11 起。拟在 3、5、8 栋加装 12 个高空监控点位，费用约 3.6 万元，"
     "建议从公共收益中列支。", "第三网格", (5, 0, 1),
     ["物业报告近三个月投诉 11 起，其中 5 栋最多。", "业委会同意从公共收益列支，要求物业公开比价。",
      "派出所可协助调取录像，并开展入户宣传。"]),
    ("公共收益约5万元用于地下车库坡道防滑改造",
     "地下车库 B 区坡道雨天湿滑，今年已发生两起电动车摔倒。物业提出两套方案：环氧防滑地坪（约 4.8 万元）"
     "或金刚砂防滑条（约 2.1 万元）。", "业委会", (4, 1, 1),
     ["多数意见选择环氧防滑地坪，一次做好。", "物业承诺 12 月底前完工，施工期间分段封闭。"]),
    ("楼道杂物清理和消防通道畅通专项行动",
     "网格巡查发现 2、7、11 栋楼道堆放纸箱、旧家具，消防通道有车辆长期占用。", "社区", None,
     ["三方一致同意下周六开展集中清理，物业出人出车，网格员入户告知。"]),
]

NEXT_AGENDA = [
    ("电动自行车集中充电棚选址及收费，治理楼道“飞线充电”",
     "拟在 6 栋北侧绿化带旁建设集中充电棚（40 个充电位），收费 0.8 元/度。涉及改变共有部分用途，"
     "正式决定须提交业主大会，按民法典第二百七十八条经专有部分面积和人数四分之三以上同意。",
     "第三网格", 25),
    ("物业费由1.2元调整为1.5元/㎡·月及服务标准",
     "物业公司提出调价申请，并附服务标准提升清单（增加 2 名保洁、夜间巡逻 2 次）。本次先听取三方意见，"
     "再由业委会组织业主表决。", "安居物业", 30),
    ("公共收益5万元使用方案公示与审核",
     "业委会报告 2026 年第三季度公共收益收支情况，审核下季度使用方案。", "业委会", 15),
    ("利用广场旁闲置空地改建临时停车场（8个车位）",
     "中心广场东侧闲置空地长期堆放杂物，拟改建 8 个临时车位，需征得地块权属单位同意。", "居民提事", 20),
    ("3栋2单元加装电梯方案及费用分摊",
     "3 栋 2 单元 18 户中已有 14 户签字同意，低层住户担心采光和噪音。讨论费用按楼层分摊的方案。",
     "3栋2单元居民", 20),
]


#: The estate's roster (名册): (楼栋, 单元, 房号, 姓名, 身份, 专有部分面积 ㎡ or None, 手机尾号).
ROSTER = [
    ("3栋", "1", "301", "张桂芳", "owner", "89.50", "3721"),
    ("3栋", "1", "502", "刘德明", "owner", "112.30", "0958"),
    ("3栋", "1", "502", "陈淑珍", "resident", None, "6612"),
    ("3栋", "1", "801", "杨志刚", "landlord", "89.50", "2486"),
    ("3栋", "1", "801", "马晓东", "tenant", None, "7305"),
    ("3栋", "1", "1102", "黄玉兰", "owner", "112.30", ""),
    ("3栋", "2", "202", "吴建国", "owner", "96.80", "5140"),
    ("3栋", "2", "601", "徐丽萍", "owner", "126.40", "8823"),
    ("3栋", "2", "1201", "孙宏伟", "owner", "96.80", "1397"),
    ("3栋", "2", "1502", "朱秀英", "owner", "126.40", "4460"),
    ("3栋", "2", "1802", "胡海波", "tenant", None, "9031"),
    ("6栋", "1", "101", "郭凤兰", "owner", "89.50", "2218"),
    ("6栋", "1", "402", "何志明", "owner", "143.60", "6075"),
    ("6栋", "1", "702", "高丽娜", "tenant", None, "3349"),
    ("6栋", "1", "1001", "林国强", "owner", "112.30", "7782"),
    ("6栋", "1", "1001", "罗春梅", "resident", None, ""),
    ("6栋", "2", "302", "郑卫东", "owner", "96.80", "5596"),
    ("6栋", "2", "601", "梁美华", "landlord", "143.60", "0417"),
    ("6栋", "2", "601", "宋小军", "tenant", None, "8150"),
    ("6栋", "2", "902", "谢文静", "owner", "89.50", "2964"),
    ("6栋", "2", "1402", "韩振华", "owner", "112.30", "6638"),
]


def _at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0).astimezone(UTC)


async def seed() -> None:
    """Create the estate, its council, a finished meeting and the next one."""
    district = await Unit.objects().create(name="合肥市蜀山区", kind="区")
    street = await Unit.objects().create(name="荷叶地街道", kind="街道", parent=district.id)
    community = await Unit.objects().create(name="翠竹园社区", kind="社区", parent=street.id)
    estate = await Unit.objects().create(name="翠竹园小区", kind="小区", parent=community.id)

    council = await Council.objects().create(
        name="翠竹园小区三方联席会议", unit=estate.id, practice="sanfang",
        description="翠竹园小区共 13 栋 2132 套住房、1819 户。由小区党支部牵头，业委会、物业每月召开联席会议。",
    )
    people = {}
    for position, (name, role, affiliation) in enumerate(MEMBERS):
        person = await Person.objects().create(name=name)
        people[name] = person.id
        await CouncilMember.objects().create(council=council.id, person=person.id, role=role,
                                             affiliation=affiliation, position=position)
    password = hash_password(DEMO_PASSWORD)
    links = {"admin": {"is_admin": True}, "wangjh": {"person": people["王建华"]},
             "liuxw": {"person": people["刘晓雯"]}, "heyedi": {"unit": street.id}}
    for username, name in DEMO_ACCOUNTS:
        await User.objects().create(username=username, display_name=name, password_hash=password,
                                    **links[username])

    for building, unit_no, room, name, kind, area, phone in ROSTER:
        await RosterEntry.objects().create(
            unit=estate.id, name=name, building=building, unit_no=unit_no, room=room, kind=kind,
            household=f"{building.removesuffix('栋')}-{unit_no}-{room}", phone_last4=phone,
            area=Decimal(area) if area else None)

    today = datetime.now(SHANGHAI)
    past_day = (today - timedelta(days=28))
    past = await Meeting.objects().create(
        council=council.id, kind="联席会议", title=f"{past_day.year}年{past_day.month}月三方联席会议",
        place="翠竹园社区党群服务中心二楼会议室", starts_at=_at(past_day, 19, 0), state="published",
        opened_at=_at(past_day, 19, 2), closed_at=_at(past_day, 20, 40),
    )
    # Six of the seven sat (the police officer sent apologies); the minutes were approved a few days
    # later and published on the 公示栏 — the record the demo's minutes are generated from.
    for name, _role, _aff in MEMBERS:
        excused = name == "孙立新"
        await Attendance.objects().create(meeting=past.id, person=people[name], name=name,
                                          status="excused" if excused else "present",
                                          updated_at=_at(past_day, 18, 55), updated_by="user:liuxw")
    steps = (("open", "draft", "in_session", 0), ("close", "in_session", "closed", 0),
             ("approve", "closed", "approved", 3), ("publish", "approved", "published", 4))
    for transition, source, target, day_offset in steps:
        await MeetingEvent.objects().create(meeting=past.id, transition=transition, from_state=source,
                                            to_state=target, actor="user:wangjh",
                                            at=_at(past_day + timedelta(days=day_offset), 20, 40))
    for position, (title, desc, proposer, counts, notes) in enumerate(PAST_AGENDA, start=1):
        item = await AgendaItem.objects().create(meeting=past.id, position=position, title=title,
                                                 description=desc, proposer=proposer)
        if counts:
            yes, no, abstain = counts
            await HandCount.objects().create(item=item.id, yes=yes, no=no, abstain=abstain,
                                             recorded_at=_at(past_day, 19, 30 + position * 10))
        for k, body in enumerate(notes):
            await ItemNote.objects().create(item=item.id, body=body,
                                            created_at=_at(past_day, 19, 10 + position * 15 + k))

    next_day = today + timedelta(days=3)
    upcoming = await Meeting.objects().create(
        council=council.id, kind="联席会议", title=f"{next_day.year}年{next_day.month}月三方联席会议",
        place="翠竹园社区党群服务中心二楼会议室", starts_at=_at(next_day, 19, 0), state="draft",
    )
    for position, (title, desc, proposer, minutes) in enumerate(NEXT_AGENDA, start=1):
        await AgendaItem.objects().create(meeting=upcoming.id, position=position, title=title,
                                          description=desc, proposer=proposer,
                                          duration_minutes=minutes)

    from core.topics.demo import seed_topics
    from core.topics.demo_tasks import seed_demo_departments

    await seed_demo_departments(council.id)
    await seed_topics()
