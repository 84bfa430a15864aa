"""Demo topics for 翠竹园小区三方联席会议, one in each stage of the loop (called by core.sanfang.demo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.meetings.tables import AgendaItem, Meeting
from core.org.tables import Council
from core.residents.tables import RosterEntry
from core.topics.tables import Topic, TopicEvent

COUNCIL = "翠竹园小区三方联席会议"

#: (title, category, description, proposer, days ago raised, [(transition, to_state, days ago, reason)], agenda)
TOPICS = [
    ("3栋2单元楼道堆放纸箱和旧家具", "环境卫生",
     "一楼到三楼楼道堆满纸箱和旧家具，挡住消防通道，晚上看不清容易绊倒老人。", "张桂芳", 2, [], None),
    ("6栋北侧建电动自行车充电棚", "治安消防",
     "6栋不少住户把电瓶拿回家充电，希望在北侧空地建集中充电棚。", "何志明", 9,
     [("accept", "accepted", 7, "")], None),
    ("5栋高空抛物，楼下行人被砸", "治安消防",
     "上周5栋楼下有花盆掉落，差点砸到小孩，希望加装监控。", "徐丽萍", 40,
     [("accept", "accepted", 38, ""), ("schedule", "scheduled", 35, ""), ("adopt", "decided", 28, "")], "past"),
    ("夜里小区门口烧烤摊油烟太大", "环境卫生",
     "小区东门外烧烤摊每天开到凌晨，油烟和噪音很大。", "郭凤兰", 20,
     [("decline", "declined", 18, "东门外属市政道路，不在小区管理范围，已转交街道城管中队处理，请拨打 12345 跟进。")],
     None),
    ("东门道路翻新后门槛过低，雨天积水", "物业服务",
     "东门道路翻新后比门岗地面还高，下雨门岗积水。", "吴建国", 15,
     [("accept", "accepted", 14, ""),
      ("answer", "answered", 10, "物业已于本周加装排水篦子并抬高门岗地面，雨天不再积水。")], None),
]


async def seed_topics() -> None:
    council = await Council.select(Council.id, Council.unit).where(Council.name == COUNCIL).first()
    if council is None:
        return
    entries = {e["name"]: e for e in await RosterEntry.select(RosterEntry.id, RosterEntry.name).where(
        RosterEntry.unit == council["unit"])}
    past = await Meeting.select(Meeting.id).where(
        (Meeting.council == council["id"]) & (Meeting.state == "closed")).first()
    past_item = None
    if past is not None:
        past_item = await AgendaItem.select(AgendaItem.id).where(
            (AgendaItem.meeting == past["id"]) & (AgendaItem.position == 1)).first()
    now = datetime.now(UTC)
    for title, category, description, proposer, days, steps, agenda in TOPICS:
        entry = entries.get(proposer)
        state = steps[-1][1] if steps else "raised"
        raised_at = now - timedelta(days=days)
        last_at = now - timedelta(days=steps[-1][2]) if steps else raised_at
        row = (await Topic.insert(Topic(
            council=council["id"], title=title, category=category, description=description, state=state,
            proposer_entry=entry["id"] if entry else None, proposer_name=proposer,
            agenda_item=past_item["id"] if agenda == "past" and past_item else None,
            created_at=raised_at, updated_at=last_at,
        )).returning(Topic.id))[0]
        await TopicEvent.insert(TopicEvent(topic=row["id"], transition="raise", to_state="raised",
                                           actor=f"resident:{entry['id']}" if entry else "", at=raised_at))
        source = "raised"
        for transition, target, ago, reason in steps:
            await TopicEvent.insert(TopicEvent(topic=row["id"], transition=transition, from_state=source,
                                               to_state=target, reason=reason, actor="demo",
                                               at=now - timedelta(days=ago)))
            source = target
