"""Demo data for the 街巷议事会: the seed ``demo.toml`` (the district, its council with lane guides and
logins, a held 巷导下午茶, the next 议事会 and three mediations in core's record engine), plus what a
seed cannot hold: the agenda, notes, attendance and steps of the held meeting, the next agenda.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from core.meetings.tables import AgendaItem, Attendance, ItemNote, Meeting, MeetingEvent
from core.org.tables import Council, CouncilMember
from core.records.seed import load_seed

HERE = Path(__file__).parent
COUNCIL = "四牌楼商圈街巷议事会"

PAST_AGENDA = [
    ("益民街烧烤店夜间油烟和噪音问题", "益民街 20 号至 30 号的住户反映，楼下烧烤店排烟口正对二楼窗户，营业到凌晨一点。",
     "益民街居民", ["巷导张建平上周两次夜间走访，排烟口确实离窗户不到两米。",
                  "店主愿意加装油烟净化器、改排烟方向，请巷导出面调解，当场登记了调解。"]),
    ("淮河路步行街商户货物占道问题", "步行街部分服装店早上卸货后把纸箱堆在居民楼道口，老人进出不便。",
     "巷导刘桂珍", ["商户代表孙立群提议统一卸货时间为早上 8 点前，纸箱当天清走。",
                  "物业同意在楼道口划出禁止堆放标线。"]),
    ("无名背街小巷命名征询（“金斗河巷”）", "宿州路东侧一条无名背街小巷，快递和外卖常找不到门牌，居民提议命名。",
     "居民提事", ["巷导介绍这一带历史上靠近金斗河，居民提议的“金斗河巷”得到多数人认可。",
                 "下次议事会汇总意见后形成方案，报区民政部门审批。"]),
]

NEXT_AGENDA = [
    ("无名背街小巷命名方案（“金斗河巷”）征求意见汇总", "汇总两周来收集的 46 条意见，形成命名方案上报。", "社区", 30),
    ("宿州路早餐店占道经营整改", "三家早餐店早高峰在人行道摆桌，影响通行。讨论限时限区摆放方案。", "巷导周明", 25),
    ("商圈夜间停车与居民车位错时共享", "商圈停车场夜间空置，居民夜里无处停车。讨论错时共享和收费标准。",
     "益民街居民", 30),
]



async def seed(settings: Any) -> None:
    await load_seed(HERE / "demo.toml", settings)
    council = await Council.select(Council.id).where(Council.name == COUNCIL).order_by(Council.id,
                                                                                     ascending=False).first()
    meetings = {m["kind"]: m for m in await Meeting.select().where(Meeting.council == council["id"])}
    past, upcoming = meetings["巷导下午茶"], meetings["议事会"]
    start = past["starts_at"]
    await Meeting.update({Meeting.opened_at: start + timedelta(minutes=5),
                          Meeting.closed_at: start + timedelta(minutes=110)}).where(Meeting.id == past["id"])
    seats = await CouncilMember.select(CouncilMember.person, CouncilMember.person.name).where(
        CouncilMember.council == council["id"])
    for seat in seats:
        await Attendance.objects().create(meeting=past["id"], person=seat["person"], name=seat["person.name"],
                                          status="excused" if seat["person.name"] == "王磊" else "present",
                                          updated_at=start - timedelta(minutes=5), updated_by="user:chenhy")
    for transition, source, target, days in (("open", "draft", "in_session", 0), ("close", "in_session", "closed", 0),
                                             ("approve", "closed", "approved", 2),
                                             ("publish", "approved", "published", 3)):
        await MeetingEvent.objects().create(meeting=past["id"], transition=transition, from_state=source,
                                            to_state=target, actor="user:chenhy",
                                            at=start + timedelta(days=days, minutes=110))
    for position, (title, desc, proposer, notes) in enumerate(PAST_AGENDA, start=1):
        item = await AgendaItem.objects().create(meeting=past["id"], position=position, title=title,
                                                 description=desc, proposer=proposer)
        for k, body in enumerate(notes):
            await ItemNote.objects().create(item=item.id, body=body,
                                            created_at=start + timedelta(minutes=10 + position * 25 + k))
    for position, (title, desc, proposer, minutes) in enumerate(NEXT_AGENDA, start=1):
        await AgendaItem.objects().create(meeting=upcoming["id"], position=position, title=title, description=desc,
                                          proposer=proposer, duration_minutes=minutes)



