"""Demo data: a 屋场恳谈会 in 衡阳市石鼓区 人民街道 马王巷小区 (the old-town estate of the domain
notes, where the party branch secretary also chairs the owners' committee — 一肩挑).

Last month's meeting in front of 5 栋 recorded eight issues, triaged on the spot: two answered
(解疑释惑), two solved there and then (现场办公), four assigned to departments (集中交办) — two
done and rated, one still in hand, one overdue — so the 回音 sheet, the ledger and the department
scores all have something true to show. Next week's meeting is scheduled. Everything goes through
the plugin's own services, so the audit log holds the same events a real evening would.

Names are invented but typical; places are from the reports the practice notes cite.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core.accounts.passwords import hash_password
from core.accounts.tables import User
from core.lowcode.forms import Choices, load_form_file, validate
from core.lowcode.registry import shared_form
from core.lowcode.workflow import load_workflow_file
from core.meetings.tables import Attendance, Meeting, MeetingEvent
from core.org.tables import Council, CouncilMember, Person, Unit
from core.topics import tasks as core_tasks
from core.topics.tables import Department, Task, Topic, TopicEvent
from yishi_wuchang import capture

HERE = Path(__file__).parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_PASSWORD = "yishi-demo"

#: Logins for the demo (password yishi-demo), printed by `yishi demo` and listed in docs/practices/wuchang.md.
ACCOUNTS = [("pengxl", "彭秀兰", "chair", "主持人：交办、测评"),
            ("xiaoyq", "肖玉琴", "recorder", "记录员：民情记录、分流")]

MEMBERS = [
    ("彭秀兰", "chair", "马王巷小区党支部书记、业委会主任"),
    ("肖玉琴", "recorder", "人民街道马王巷社区干事"),
    ("罗正平", "cadre", "人民街道包片干部"),
    ("曾凡军", "party_member", "马王巷小区值班党员"),
    ("廖春华", "group_head", "5栋楼栋长"),
]

DEPARTMENTS = [("人民街道城管中队", "职能部门"), ("马王巷社区居委会", "社区"), ("石鼓区住房和城乡建设局", "职能部门")]

#: (提出人, 类别, 反映的问题, track, reply or (department, days after the meeting, requirement, report,
#: days to finish or None, rating or None))
ISSUES: list[tuple[str, str, str, str, Any]] = [
    ("刘桂英（5栋）", "政策咨询", "老旧小区改造什么时候轮到马王巷，居民要不要出钱", "explain",
     "马王巷小区已报送列入老旧小区改造计划，基础类改造由政府投入，居民不需出钱；加装电梯等完善类项目另行征求意见。"),
    ("周建国（2栋）", "道路交通", "巷子口晚上乱停车，上次救护车都进不来", "concentrate",
     ("人民街道城管中队", 14, "巷口施划禁停标线、安装隔离桩，夜间加强巡查，办结后告知提出人。",
      "已在巷口施划禁停黄线 30 米，安装隔离桩 6 根，城管中队每晚 20 时至 22 时巡查一次。", 9, "满意")),
    ("陈丽华（7栋）", "环境卫生", "7栋后面垃圾桶满了没人清，夏天很臭", "onsite",
     "彭秀兰当场打电话给保洁员，当晚清运完毕；垃圾桶由 2 个增加到 4 个，每天早晚各清运一次。"),
    ("谭志明（3栋）", "水电气", "3栋楼道声控灯坏了半个月", "onsite",
     "值班党员曾凡军当场登记，业委会安排电工第二天上午更换了 3 盏声控灯。"),
    ("李秀梅（1栋）", "社会保障", "家里老人满80岁了，高龄津贴怎么申请", "explain",
     "本地户籍、年满 80 周岁的老人，带身份证和户口本到社区党群服务站申请，行动不便的由网格员上门代办。"),
    ("王海波（6栋）", "治安安全", "小区东门门禁坏了，外来人员随便进出", "concentrate",
     ("马王巷社区居委会", 10, "协调维修东门门禁，完善外来人员登记，办结后回访。",
      "已更换东门门禁控制器和电磁锁，恢复刷卡进出；值班党员在党群服务站登记外来车辆和人员。", 8, "基本满意")),
    ("廖美玲（4栋）", "邻里纠纷", "楼上空调外机滴水到我家阳台，说了几次不改", "concentrate",
     ("马王巷社区居委会", 40, "入户调解，督促加装冷凝水管。",
      "社区已两次上门调解，双方约定由楼上住户加装冷凝水管。", None, None)),
    ("彭德华（2栋）", "道路交通", "巷子里下水道井盖松动，晚上走路容易踩翻", "concentrate",
     ("石鼓区住房和城乡建设局", 12, "更换松动井盖并加装防坠网。", "", None, None)),
]


def _at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0).astimezone(UTC)


async def seed(settings: Any) -> None:
    """Create the estate's 屋场恳谈会, its people and departments, last month's meeting with its
    issues and their follow-up, and next week's meeting."""
    data_dir = Path(settings.data_dir)
    city = await Unit.objects().create(name="衡阳市石鼓区", kind="区")
    street = await Unit.objects().create(name="人民街道", kind="街道", parent=city.id)
    estate = await Unit.objects().create(name="马王巷小区", kind="小区", parent=street.id)
    council = await Council.objects().create(
        name="马王巷小区屋场恳谈会", unit=estate.id, practice="wuchang",
        description="小区党支部牵头，不定期在楼栋前坪召开，干部讲政策、群众提问题，件件有回音。")
    people = {}
    for position, (name, role, affiliation) in enumerate(MEMBERS):
        person = await Person.objects().create(name=name)
        people[name] = person.id
        await CouncilMember.objects().create(council=council.id, person=person.id, role=role,
                                             affiliation=affiliation, position=position)
    password = hash_password(DEMO_PASSWORD)
    print("屋场恳谈会演示账号 / wuchang demo accounts (密码 / password: " + DEMO_PASSWORD + "):")
    for username, name, _role, what in ACCOUNTS:
        if not await User.exists().where(User.username == username):
            await User.objects().create(username=username, display_name=name, password_hash=password,
                                        person=people[name])
            print(f"  {username:<8} {name} — 马王巷小区屋场恳谈会 {what}")
    departments = {}
    for name, kind in DEPARTMENTS:
        row = await Department.objects().create(council=council.id, name=name, kind=kind)
        departments[name] = row

    today = datetime.now(SHANGHAI)
    day = today - timedelta(days=30)
    past = await Meeting.objects().create(
        council=council.id, kind="屋场恳谈会", title=f"{day.month}月马王巷5栋前坪屋场恳谈会",
        place="马王巷小区5栋前坪", starts_at=_at(day, 19, 30), state="in_session", opened_at=_at(day, 19, 32))
    for name, _role, _aff in MEMBERS:
        await Attendance.objects().create(meeting=past.id, person=people[name], name=name, status="present",
                                          updated_at=_at(day, 19, 25), updated_by="user:xiaoyq")
    await MeetingEvent.objects().create(meeting=past.id, transition="open", from_state="draft",
                                        to_state="in_session", actor="user:pengxl", at=_at(day, 19, 32))
    await _issues(data_dir, past.id, council.id, day, departments)
    await Meeting.update({Meeting.state: "closed", Meeting.closed_at: _at(day, 21, 10)}).where(Meeting.id == past.id)
    await MeetingEvent.objects().create(meeting=past.id, transition="close", from_state="in_session",
                                        to_state="closed", actor="user:pengxl", at=_at(day, 21, 10))

    upcoming = today + timedelta(days=5)
    nxt = await Meeting.objects().create(
        council=council.id, kind="屋场恳谈会", title=f"{upcoming.month}月马王巷2栋前坪屋场恳谈会",
        place="马王巷小区2栋前坪", starts_at=_at(upcoming, 19, 30), state="draft")
    await capture.ensure_open_floor(nxt.id, "user:pengxl")  # core opens no meeting with an empty agenda


async def _issues(data_dir: Path, meeting_id: int, council_id: int, day: datetime,
                  departments: dict[str, Any]) -> None:
    minqing = load_form_file(HERE / "forms" / "wuchang_minqing.toml")
    workflow = load_workflow_file(HERE / "workflows" / "wuchang_topic.toml")
    unit_choices = [(str(d.id), d.name) for d in departments.values()]
    choices = Choices(units=unit_choices, by_field={"unit": unit_choices, "co_unit": unit_choices})
    recorder, chair = "user:xiaoyq", "user:pengxl"
    meeting_local = day.replace(hour=19, minute=40, second=0, microsecond=0, tzinfo=None)
    for n, (speaker, category, title, track, follow) in enumerate(ISSUES):
        result = validate(minqing, {"speaker": [speaker], "category": [category], "title": [title]})
        topic_id = await capture.record_issue(data_dir, meeting_id, result, recorder, f"wuchang-demo-{meeting_id}-{n}")
        raised_at = _at(day, 19, 40) + timedelta(minutes=4 * n)
        await Topic.update({Topic.created_at: raised_at, Topic.updated_at: raised_at}).where(Topic.id == topic_id)
        await TopicEvent.update({TopicEvent.at: raised_at}).where(TopicEvent.topic == topic_id)
        if track != "concentrate":
            await capture.triage(meeting_id, topic_id, track, follow, spec=workflow, roles={"recorder"}, actor=recorder)
            continue
        dept_name, days, requirement, report, finish_days, rating = follow
        await capture.triage(meeting_id, topic_id, track, "", spec=workflow, roles={"recorder"}, actor=recorder)
        department = departments[dept_name]
        deadline = (day + timedelta(days=days)).date().isoformat()
        jiaoban = validate(shared_form("jiaobandan"), {
            "matter": [title], "unit": [str(department.id)], "deadline": [deadline], "requirements": [requirement]},
            choices=choices, now=meeting_local)
        await capture.assign(data_dir, meeting_id, topic_id, jiaoban, chair)
        task = (await core_tasks.council_tasks(council_id))
        task = next(t for t in task if t["topic"] == topic_id)
        dept = {"id": department.id}
        if report:
            progress = "已办结" if finish_days is not None else "办理中"
            values = {"progress": [progress], "account": [report], "handler": [_handler(dept_name)],
                      "phone": [f"1387340{n:04d}"]}
            if progress == "办理中":
                values["expected"] = [(day + timedelta(days=days)).date().isoformat()]
            fankui = validate(shared_form("banli_fankui"), values,
                              now=meeting_local + timedelta(days=finish_days or 5))
            await core_tasks.report(data_dir, task, dept, fankui)
        if finish_days is not None:
            await Task.update({Task.done_at: _at(day + timedelta(days=finish_days), 16)}).where(Task.id == task["id"])
        if rating:
            manyidu = validate(shared_form("manyidu"), {"rating": [rating]})
            await capture.rate(data_dir, meeting_id, topic_id, manyidu, spec=workflow, roles={"recorder"},
                               actor=recorder)


def _handler(department: str) -> str:
    return {"人民街道城管中队": "邓志勇", "马王巷社区居委会": "肖玉琴", "石鼓区住房和城乡建设局": "蒋伟"}[department]
