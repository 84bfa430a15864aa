"""办事 and 评事 over HTTP on SQLite and PostgreSQL: responsible units and their links, the chair's
交办单, the unit's page (接收 / 开始办理 / 退回 / 办理反馈 with photos), automatic 办结, overdue tasks,
the proposer's rating and the chair's 重新办理.

Topics are made directly in state "decided" through the ORM (the topic side has its own tests).
"""

from __future__ import annotations

import hashlib
import io
import re
from datetime import date, timedelta
from typing import Any

import httpx
from PIL import Image

from core.audit import verify as audit_verify
from core.audit.tables import AuditEvent
from core.org.tables import Council, CouncilMember, Person
from core.residents.tables import RosterEntry
from core.residents.tokens import make_token
from core.settings import Settings
from core.topics import tasks as task_services
from core.topics.tables import Department, Rating, Task, TaskReport, Topic, TopicEvent
from core.topics.unit_tokens import make_unit_token, parse_unit_token
from tests.conftest import database_state, login
from tests.factories import make_council, make_user

INVALID = "链接无效或已失效，请联系社区重新领取"


def png_bytes(colour: str = "green") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, format="PNG")
    return out.getvalue()


def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("yishi_csrf") or ""}


async def seed() -> tuple[Council, dict[str, int], int]:
    """A council with two departments and a decided topic; logged-in users chair / recorder / member."""
    council = await make_council()
    ids = {}
    for name, kind in [("安居物业服务有限公司", "物业"), ("荷叶地派出所", "派出所")]:
        ids[name] = (await Department.insert(Department(council=council.id, name=name, kind=kind))
                     .returning(Department.id))[0]["id"]
    person = await Person.objects().create(name="李明")
    await CouncilMember.objects().create(council=council.id, person=person.id, role="member", affiliation="",
                                         position=9)
    await make_user("member", "李明", person=person.id)
    topic = await Topic.objects().create(council=council.id, title="楼道杂物清理和消防通道畅通", state="decided")
    return council, ids, topic.id


def unit_link(settings: Settings, department_id: int, generation: int = 1) -> str:
    return f"/u/{make_unit_token(settings.secret(), department_id, generation)}"


def jiaoban(department_id: int, deadline: date | None = None, **extra: str) -> dict[str, str]:
    return {"matter": "清理3栋楼道堆物", "unit": str(department_id),
            "deadline": (deadline or date.today() + timedelta(days=7)).isoformat(),
            "requirements": "办结后上传现场照片。", **extra}


def fankui(progress: str = "已办结", **extra: str) -> dict[str, str]:
    data = {"progress": progress, "account": "已清理3栋1-18层楼道堆物，共清运三车。", "handler": "吴海涛",
            "phone": "13812345678", **extra}
    if progress == "办理中":
        data.setdefault("expected", (date.today() + timedelta(days=3)).isoformat())
    return data


async def assign(client: httpx.AsyncClient, council: Council, topic_id: int, department_id: int,
                 path: str = "assign", **extra: Any) -> httpx.Response:
    return await client.post(f"/councils/{council.id}/topics/{topic_id}/{path}", data=jiaoban(department_id, **extra),
                             headers=csrf(client))


async def topic_state(topic_id: int) -> str:
    return (await Topic.select(Topic.state).where(Topic.id == topic_id).first())["state"]


# -------------------------------------------------------------------------------------------------


def test_unit_tokens_are_their_own() -> None:
    token = make_unit_token("s", 7, 2)
    claim = parse_unit_token("s", token)
    assert claim is not None and (claim.entry_id, claim.generation) == (7, 2)
    assert parse_unit_token("other", token) is None
    assert parse_unit_token("s", make_token("s", 7, 2)) is None  # a resident's token is not a unit's
    assert parse_unit_token("s", token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert parse_unit_token("s", "07" + token[1:]) is None


async def test_departments_and_their_links(client: httpx.AsyncClient, settings: Settings) -> None:
    council = await make_council()
    await login(client, "recorder")
    base = f"/councils/{council.id}/departments"
    before = await database_state()
    r = await client.post(base, data={"name": "安居物业服务有限公司", "kind": ""}, headers=csrf(client))
    assert r.status_code == 422 and "请选择单位类型" in r.text
    r = await client.post(base, data={"name": "  ", "kind": "物业"}, headers=csrf(client))
    assert r.status_code == 422 and "请填写单位名称" in r.text
    assert await database_state() == before
    r = await client.post(base, data={"name": "安居物业服务有限公司", "kind": "物业"}, headers=csrf(client))
    assert r.status_code == 303
    r = await client.post(base, data={"name": "安居物业服务有限公司", "kind": "物业"}, headers=csrf(client))
    assert r.status_code == 422 and "已有同名" in r.text
    dept = await Department.select().first()
    r = await client.get(base)
    assert r.status_code == 200 and "安居物业服务有限公司" in r.text
    link = unit_link(settings, dept["id"])
    assert f"http://testserver{link}" in r.text
    svg = await client.get(f"{base}/{dept['id']}/qr.svg")
    assert svg.status_code == 200 and svg.text.startswith("<svg")

    phone = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")  # no login
    r = await phone.get(link)
    assert r.status_code == 200 and "安居物业服务有限公司" in r.text and "目前没有交办给本单位的任务" in r.text
    for bad in [link[:-1] + ("x" if link[-1] != "x" else "y"), "/u/abc", unit_link(settings, dept["id"], 2),
                unit_link(settings, 999)]:
        r = await phone.get(bad)
        assert r.status_code == 404 and INVALID in r.text, bad
    r = await client.post(f"{base}/{dept['id']}/reissue", headers=csrf(client))
    assert r.status_code == 303
    assert (await phone.get(link)).status_code == 404
    assert (await phone.get(unit_link(settings, dept["id"], 2))).status_code == 200
    await phone.aclose()
    assert (await audit_verify()).ok


async def test_assign_report_with_photo_and_finish(client: httpx.AsyncClient, settings: Settings) -> None:
    council, depts, topic_id = await seed()
    wuye, police = depts["安居物业服务有限公司"], depts["荷叶地派出所"]
    await login(client, "chair")
    r = await client.get(f"/councils/{council.id}/topics/{topic_id}/assign")
    assert r.status_code == 200 and "交办单" in r.text and "安居物业服务有限公司（物业）" in r.text
    r = await assign(client, council, topic_id, wuye)
    assert r.status_code == 303, r.text
    assert await topic_state(topic_id) == "assigned"
    task = await Task.select().first()
    assert (task["state"], task["department"], task["requirement"]) == ("assigned", wuye, "办结后上传现场照片。")
    # assigning again from "assigned" is refused; adding another task is the way
    r = await assign(client, council, topic_id, police)
    assert r.status_code == 422 and "不能进行此操作" in r.text
    r = await assign(client, council, topic_id, police, path="tasks/new")
    assert r.status_code == 303
    assert await Task.count() == 2 and await topic_state(topic_id) == "assigned"

    unit = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    await unit.get("/login")  # the CSRF cookie, as a phone gets it on its first page
    link = unit_link(settings, wuye)
    r = await unit.get(link)
    assert r.status_code == 200 and "清理3栋楼道堆物" in r.text and "楼道杂物清理和消防通道畅通" in r.text
    r = await unit.post(f"{link}/tasks/{task['id']}/receive", headers=csrf(unit))
    assert r.status_code == 303
    r = await unit.post(f"{link}/tasks/{task['id']}/start", headers=csrf(unit))
    assert r.status_code == 303
    assert (await Task.select(Task.state).where(Task.id == task["id"]).first())["state"] == "in_progress"
    photo = png_bytes()
    r = await unit.post(f"{link}/tasks/{task['id']}/report", data=fankui("办理中"),
                        files={"photos": ("现场.png", photo, "image/png")}, headers=csrf(unit))
    assert r.status_code == 303, r.text
    report = await TaskReport.select().first()
    assert report["progress"] == "办理中" and "现场.png" in report["files"]
    sha = hashlib.sha256(photo).hexdigest()
    r = await unit.get(f"{link}/files/{sha}")
    assert r.status_code == 200 and r.content == photo and r.headers["content-type"] == "image/png"
    r = await client.get(f"/councils/{council.id}/tasks/{task['id']}/files/{sha}")
    assert r.status_code == 200 and r.content == photo
    # the other unit sees neither this task nor its photo
    other = unit_link(settings, police)
    assert (await unit.get(f"{other}/files/{sha}")).status_code == 404
    r = await unit.get(other)
    assert "现场.png" not in r.text
    before = await database_state()
    for action in ("receive", "start", "return"):
        r = await unit.post(f"{other}/tasks/{task['id']}/{action}", data={"reason": "不归我们管"}, headers=csrf(unit))
        assert r.status_code == 404, action
    assert (await unit.get(f"{other}/tasks/{task['id']}/report")).status_code == 404
    assert await database_state() == before

    r = await unit.post(f"{link}/tasks/{task['id']}/report", data=fankui("已办结"),
                        files={"photos": ("整改后.png", png_bytes("blue"), "image/png")}, headers=csrf(unit))
    assert r.status_code == 303
    assert (await Task.select(Task.state).where(Task.id == task["id"]).first())["state"] == "done"
    assert await topic_state(topic_id) == "assigned"  # the police task is still open
    # the police finish straight from "assigned": receive and start are taken on the way
    task2 = await Task.select().where(Task.department == police).first()
    r = await unit.post(f"{other}/tasks/{task2['id']}/report", data=fankui("已办结"), headers=csrf(unit))
    assert r.status_code == 303
    assert await topic_state(topic_id) == "done"
    event = await TopicEvent.select().where(TopicEvent.to_state == "done").first()
    assert event["actor"] == "system" and event["transition"] == "complete"
    r = await unit.get(link)
    assert "已办结" in r.text
    r = await client.get(f"/councils/{council.id}/tasks")
    assert r.status_code == 200 and "安居物业服务有限公司" in r.text and "荷叶地派出所" in r.text
    await unit.aclose()
    assert (await audit_verify()).ok


async def test_overdue_tasks_come_first(client: httpx.AsyncClient, settings: Settings) -> None:
    council, depts, topic_id = await seed()
    wuye = depts["安居物业服务有限公司"]
    await Topic.update({Topic.state: "assigned"}).where(Topic.id == topic_id)
    soon = await Task.objects().create(topic=topic_id, department=wuye, requirement="下周完成",
                                       deadline=date.today() + timedelta(days=5))
    late = await Task.objects().create(topic=topic_id, department=wuye, requirement="早该完成",
                                       deadline=date.today() - timedelta(days=3))
    await Task.objects().create(topic=topic_id, department=wuye, requirement="已完成的不算",
                                deadline=date.today() - timedelta(days=9), state="done")
    assert await task_services.overdue_count(council.id) == 1
    r = await client.get(unit_link(settings, wuye))
    assert r.status_code == 200 and "有 1 项任务已逾期" in r.text
    assert r.text.index(f'id="task-{late.id}"') < r.text.index(f'id="task-{soon.id}"')
    section = r.text[r.text.index(f'id="task-{late.id}"'):r.text.index(f'id="task-{soon.id}"')]
    assert "已逾期" in section
    await login(client, "member")  # topic.view is enough for the list
    r = await client.get(f"/councils/{council.id}/tasks")
    assert r.status_code == 200 and "有 1 项任务已逾期" in r.text
    assert r.text.index(f'id="task-{late.id}"') < r.text.index(f'id="task-{soon.id}"')


async def test_unit_returns_a_task_with_a_reason(client: httpx.AsyncClient, settings: Settings) -> None:
    council, depts, topic_id = await seed()
    police = depts["荷叶地派出所"]
    await login(client, "chair")
    assert (await assign(client, council, topic_id, police)).status_code == 303
    task = await Task.select().first()
    link = unit_link(settings, police)
    before = await database_state()
    r = await client.post(f"{link}/tasks/{task['id']}/return", data={"reason": "  "}, headers=csrf(client))
    assert r.status_code == 422 and "退回时请说明原因" in r.text
    assert await database_state() == before
    r = await client.post(f"{link}/tasks/{task['id']}/return", data={"reason": "楼道堆物属物业管理职责"},
                          headers=csrf(client))
    assert r.status_code == 303
    assert (await Task.select(Task.state).first())["state"] == "returned"
    r = await client.get(link)
    assert "已退回" in r.text
    r = await client.post(f"{link}/tasks/{task['id']}/receive", headers=csrf(client))
    assert r.status_code == 422 and "状态已变" in r.text


async def _proposer(council: Council, topic_id: int, settings: Settings, client: httpx.AsyncClient) -> str:
    """A roster entry who raised the topic; the client answers the identity check. Returns the rate URL."""
    entry = await RosterEntry.objects().create(unit=council.unit, name="朱秀英", building="3栋", unit_no="2",
                                               room="1502", kind="owner", phone_last4="4460")
    await Topic.update({Topic.proposer_entry: entry.id}).where(Topic.id == topic_id)
    token = make_token(settings.secret(), entry.id, 1)
    await client.get(f"/r/{token}")
    r = await client.post(f"/r/{token}", data={"answer": "4460"}, headers=csrf(client))
    assert r.status_code == 303
    return f"/r/{token}/topics/{topic_id}/rate"


async def _done_topic(council: Council, topic_id: int, department_id: int) -> None:
    await Topic.update({Topic.state: "done"}).where(Topic.id == topic_id)
    await Task.objects().create(topic=topic_id, department=department_id, deadline=date.today(), state="done")


async def test_rating_satisfied(client: httpx.AsyncClient, settings: Settings) -> None:
    council, depts, topic_id = await seed()
    phone = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    await phone.get("/login")
    rate = await _proposer(council, topic_id, settings, phone)
    r = await phone.get(rate)
    assert r.status_code == 200 and "办结后才能评价" in r.text  # still "decided"
    r = await phone.post(rate, data={"rating": "满意"}, headers=csrf(phone))
    assert r.status_code == 422 and await Rating.count() == 0
    follow = rate.removesuffix("/rate")
    assert "评价办理结果" not in (await phone.get(follow)).text  # nothing to rate before 办结
    await _done_topic(council, topic_id, depts["安居物业服务有限公司"])
    assert f'href="{rate}"' in (await phone.get(follow)).text  # the follow page leads to the rating
    r = await phone.get(rate)
    assert r.status_code == 200 and "总体评价" in r.text
    r = await phone.post(rate, data={"rating": "满意"}, headers=csrf(phone))
    assert r.status_code == 200 and "感谢您的评价" in r.text
    assert await topic_state(topic_id) == "rated"
    assert (await Rating.select().first())["level"] == "satisfied"
    # another resident's link cannot rate this topic; an unverified phone is sent to the check
    other = await RosterEntry.objects().create(unit=council.unit, name="张桂芳", room="301", phone_last4="3721")
    stranger = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    token = make_token(settings.secret(), other.id, 1)
    r = await stranger.get(f"/r/{token}/topics/{topic_id}/rate")
    assert r.status_code == 200 and "请先核对身份" in r.text and "楼道杂物" not in r.text
    await stranger.get("/login")
    r = await stranger.post(f"/r/{token}", data={"answer": "3721", "next": f"/r/{token}/topics/{topic_id}/rate"},
                            headers=csrf(stranger))
    assert r.status_code == 303
    r = await stranger.get(r.headers["location"])
    assert r.status_code == 404 and "不是您提出的" in r.text
    await stranger.aclose()
    await phone.aclose()


async def test_unsatisfied_then_chair_reopens(client: httpx.AsyncClient, settings: Settings) -> None:
    council, depts, topic_id = await seed()
    await _done_topic(council, topic_id, depts["安居物业服务有限公司"])
    phone = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    await phone.get("/login")
    rate = await _proposer(council, topic_id, settings, phone)
    r = await phone.post(rate, data={"rating": "不满意"}, headers=csrf(phone))
    assert r.status_code == 422 and "意见和建议" in r.text  # an opinion is required when unsatisfied
    r = await phone.post(rate, data={"rating": "不满意", "reasons": ["问题没有解决", "办理时间太长"],
                                     "opinion": "楼道里还有杂物没有清走。"}, headers=csrf(phone))
    assert r.status_code == 200
    rating = await Rating.select().first()
    assert rating["level"] == "unsatisfied" and "问题没有解决" in rating["comment"]
    assert await topic_state(topic_id) == "rated"
    await phone.aclose()

    await login(client, "member")
    reopen = f"/councils/{council.id}/topics/{topic_id}/reopen"
    r = await client.post(reopen, data={"reason": "x"}, headers=csrf(client))
    assert r.status_code == 403
    await client.post("/logout", headers=csrf(client))
    await login(client, "chair")
    r = await client.get(f"/councils/{council.id}/topics/{topic_id}/reopen")
    assert r.status_code == 200 and "楼道里还有杂物没有清走" in r.text
    r = await client.post(reopen, data={"reason": ""}, headers=csrf(client))
    assert r.status_code == 422 and await topic_state(topic_id) == "rated"
    r = await client.post(reopen, data={"reason": "居民反映仍有堆物，重新清理"}, headers=csrf(client))
    assert r.status_code == 303 and r.headers["location"].endswith(f"/topics/{topic_id}/tasks/new")
    assert await topic_state(topic_id) == "assigned"
    r = await assign(client, council, topic_id, depts["安居物业服务有限公司"], path="tasks/new")
    assert r.status_code == 303 and await Task.count() == 2


async def test_satisfied_topic_cannot_be_reopened(client: httpx.AsyncClient) -> None:
    council, depts, topic_id = await seed()
    await _done_topic(council, topic_id, depts["安居物业服务有限公司"])
    await Rating.objects().create(topic=topic_id, level="satisfied")
    await login(client, "chair")
    r = await client.post(f"/councils/{council.id}/topics/{topic_id}/reopen", data={"reason": "再看看"},
                          headers=csrf(client))
    assert r.status_code == 422 and await topic_state(topic_id) == "done"


async def test_permissions(client: httpx.AsyncClient) -> None:
    council, depts, topic_id = await seed()
    await login(client, "member")
    before = await database_state()
    assert (await client.get(f"/councils/{council.id}/topics/{topic_id}/assign")).status_code == 403
    assert (await assign(client, council, topic_id, depts["安居物业服务有限公司"])).status_code == 403
    assert (await client.get(f"/councils/{council.id}/departments")).status_code == 403
    assert await database_state() == before
    await client.post("/logout", headers=csrf(client))
    await login(client, "recorder")  # manages units, but 交办 is the chair's
    assert (await client.get(f"/councils/{council.id}/departments")).status_code == 200
    assert (await assign(client, council, topic_id, depts["安居物业服务有限公司"])).status_code == 403
    await client.post("/logout", headers=csrf(client))
    # a topic of another council is not found through this council
    await login(client, "chair")
    other = await Council.objects().create(name="别的议事会", unit=council.unit, practice="sanfang")
    assert (await client.get(f"/councils/{other.id}/topics/{topic_id}/assign")).status_code in (403, 404)


async def test_bad_input_changes_nothing(client: httpx.AsyncClient, settings: Settings) -> None:
    council, depts, topic_id = await seed()
    wuye = depts["安居物业服务有限公司"]
    await login(client, "chair")
    before = await database_state()
    r = await assign(client, council, topic_id, wuye, deadline=date.today() - timedelta(days=1))
    assert r.status_code == 422 and "办理时限不能早于" in r.text
    r = await client.post(f"/councils/{council.id}/topics/{topic_id}/assign", data={"matter": "清理"},
                          headers=csrf(client))
    assert r.status_code == 422 and "责任单位" in r.text and "办理要求" in r.text
    r = await assign(client, council, topic_id, 99999)
    assert r.status_code == 422
    assert await database_state() == before
    assert (await assign(client, council, topic_id, wuye)).status_code == 303
    task = await Task.select().first()
    link = unit_link(settings, wuye)
    before = await database_state()
    r = await client.post(f"{link}/tasks/{task['id']}/report", data=fankui("已办结"),
                          files={"photos": ("照片.exe", b"MZ\x90\x00" + b"\x00" * 200, "image/png")},
                          headers=csrf(client))
    assert r.status_code == 422 and "现场照片" in r.text
    r = await client.post(f"{link}/tasks/{task['id']}/report", data={"progress": "已办结"}, headers=csrf(client))
    assert r.status_code == 422 and "情况说明" in r.text
    assert await database_state() == before
    assert re.search(r"aria-invalid", r.text)


# -------------------------------------------------------------------------------------------------
# A returned task: the identity check leads back to the rating; 重新交办 and 撤销 by the chair
# -------------------------------------------------------------------------------------------------

HX = {"HX-Request": "true"}


async def test_identity_check_from_the_rating_link_returns_to_the_rating(client: httpx.AsyncClient,
                                                                        settings: Settings) -> None:
    council, depts, topic_id = await seed()
    await _done_topic(council, topic_id, depts["安居物业服务有限公司"])
    entry = await RosterEntry.objects().create(unit=council.unit, name="朱秀英", room="1502", phone_last4="4460")
    await Topic.update({Topic.proposer_entry: entry.id}).where(Topic.id == topic_id)
    token = make_token(settings.secret(), entry.id, 1)
    rate = f"/r/{token}/topics/{topic_id}/rate"
    phone = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    r = await phone.get(rate)  # the link from a message, on a phone that never answered the check
    assert r.status_code == 200 and "请先核对身份" in r.text and "总体评价" not in r.text
    assert f'name="next" value="{rate}"' in r.text
    r = await phone.post(f"/r/{token}", data={"answer": "1234", "next": rate}, headers=csrf(phone))
    assert r.status_code == 422 and f'name="next" value="{rate}"' in r.text  # kept through a wrong answer
    r = await phone.post(f"/r/{token}", data={"answer": "4460", "next": rate}, headers=csrf(phone))
    assert r.status_code == 303 and r.headers["location"] == rate
    r = await phone.get(rate)
    assert r.status_code == 200 and "总体评价" in r.text and "提交评价" in r.text
    await phone.aclose()


async def _returned(client: httpx.AsyncClient, settings: Settings) -> tuple[Council, dict[str, int], int, int]:
    """(council, departments, topic id, task id): assigned to the police, who sent it back."""
    council, depts, topic_id = await seed()
    await login(client, "chair")
    assert (await assign(client, council, topic_id, depts["荷叶地派出所"])).status_code == 303
    task_id = (await Task.select(Task.id).first())["id"]
    r = await client.post(f"{unit_link(settings, depts['荷叶地派出所'])}/tasks/{task_id}/return",
                          data={"reason": "楼道堆物属物业管理职责"}, headers=csrf(client))
    assert r.status_code == 303
    return council, depts, topic_id, task_id


async def task_row(task_id: int) -> dict[str, Any]:
    return await Task.select().where(Task.id == task_id).first()


async def test_chair_reassigns_a_returned_task_to_another_unit(client: httpx.AsyncClient, settings: Settings) -> None:
    council, depts, topic_id, task_id = await _returned(client, settings)
    wuye, police = depts["安居物业服务有限公司"], depts["荷叶地派出所"]
    tasks_page = f"/councils/{council.id}/tasks"
    r = await client.get(tasks_page)
    assert r.status_code == 200 and "已退回" in r.text and "楼道堆物属物业管理职责" in r.text
    assert f'action="{tasks_page}/{task_id}/reassign"' in r.text and f'action="{tasks_page}/{task_id}/cancel"' in r.text
    assert 'value="清理3栋楼道堆物"' in r.text  # the old 交办单 fills the new one
    nonce = re.search(r'name="_nonce" value="([^"]+)"', r.text).group(1)
    new_deadline = (date.today() + timedelta(days=14)).isoformat()
    form = jiaoban(wuye, _nonce=nonce, deadline=date.today() + timedelta(days=14),
                   requirements="三日内清理完毕并上传照片。")

    before = await database_state()
    r = await client.post(f"{tasks_page}/{task_id}/reassign", headers=csrf(client),
                          data={**form, "deadline": (date.today() - timedelta(days=1)).isoformat()})
    assert r.status_code == 422 and "办理时限不能早于" in r.text and "aria-invalid" in r.text
    r = await client.post(f"{tasks_page}/{task_id}/reassign", headers=csrf(client), data={**form, "unit": "99999"})
    assert r.status_code == 422
    assert await database_state() == before

    r = await client.post(f"{tasks_page}/{task_id}/reassign", data=form, headers=csrf(client))
    assert r.status_code == 303 and r.headers["location"] == tasks_page
    task = await task_row(task_id)
    assert (task["state"], task["department"], task["deadline"].isoformat(), task["requirement"]) == (
        "assigned", wuye, new_deadline, "三日内清理完毕并上传照片。")
    assert await Task.count() == 1 and await topic_state(topic_id) == "assigned"
    # the retried POST (same form, same one-time key) changes nothing and is not an error
    after = await database_state()
    r = await client.post(f"{tasks_page}/{task_id}/reassign", data=form, headers=csrf(client))
    assert r.status_code == 303 and await database_state() == after
    # a second chair's form (another key) finds the task no longer returned
    r = await client.post(f"{tasks_page}/{task_id}/reassign", data={**form, "_nonce": "another-form"},
                          headers=csrf(client))
    assert r.status_code == 422 and "状态已变" in r.text and "请刷新页面" in r.text
    assert await database_state() == after

    r = await client.get(tasks_page)
    assert f'{tasks_page}/{task_id}/reassign' not in r.text  # nothing left to do on it
    r = await client.get(unit_link(settings, wuye))  # the new unit has it, the old one no longer
    assert "清理3栋楼道堆物" in r.text and "三日内清理完毕并上传照片" in r.text and "接收" in r.text
    r = await client.get(unit_link(settings, police))
    assert "目前没有交办给本单位的任务" in r.text
    actions = [e["action"] for e in await AuditEvent.select(AuditEvent.action).where(
        AuditEvent.entity == f"task:{task_id}").order_by(AuditEvent.seq)]
    assert actions == ["task.created", "task.return", "task.reassign", "task.updated"]
    assert (await audit_verify()).ok


async def test_chair_cancels_a_returned_task_and_the_topic_completes(client: httpx.AsyncClient,
                                                                     settings: Settings) -> None:
    council, depts, topic_id, task_id = await _returned(client, settings)
    done = await Task.objects().create(topic=topic_id, department=depts["安居物业服务有限公司"],
                                       deadline=date.today(), state="done")
    cancel = f"/councils/{council.id}/tasks/{task_id}/cancel"
    before = await database_state()
    r = await client.post(cancel, data={"reason": "  "}, headers=csrf(client))
    assert r.status_code == 422 and "撤销任务时请填写原因" in r.text
    assert f'id="cancel-{task_id}-error"' in r.text and "<details class=\"task-action\" open>" in r.text
    assert await database_state() == before
    r = await client.post(cancel, data={"reason": "物业已在另一任务中清理完毕"}, headers=csrf(client))
    assert r.status_code == 303
    assert (await task_row(task_id))["state"] == "cancelled"
    assert await topic_state(topic_id) == "done"  # the only live task left is done
    after = await database_state()
    r = await client.post(cancel, data={"reason": "物业已在另一任务中清理完毕"}, headers=csrf(client))
    assert r.status_code == 303 and await database_state() == after  # a retry applies nothing
    # a task that is not returned cannot be cancelled from here
    r = await client.post(f"/councils/{council.id}/tasks/{done.id}/cancel", data={"reason": "不需要了"},
                          headers=csrf(client))
    assert r.status_code == 422 and "状态已变" in r.text and await database_state() == after
    event = (await AuditEvent.select().where(AuditEvent.action == "task.cancel"))[0]
    assert "物业已在另一任务中清理完毕" in event["after"]
    assert (await audit_verify()).ok


async def test_only_who_may_assign_sees_and_uses_the_actions(client: httpx.AsyncClient, settings: Settings) -> None:
    council, depts, _topic_id, task_id = await _returned(client, settings)
    await client.post("/logout", headers=csrf(client))
    tasks_page = f"/councils/{council.id}/tasks"
    for user in ("member", "recorder"):
        await login(client, user)
        r = await client.get(tasks_page)
        assert r.status_code == 200 and "楼道堆物属物业管理职责" in r.text  # they see why it came back
        assert "/reassign" not in r.text and "/cancel" not in r.text
        before = await database_state()
        r = await client.post(f"{tasks_page}/{task_id}/cancel", data={"reason": "不需要了"}, headers=csrf(client))
        assert r.status_code == 403
        r = await client.post(f"{tasks_page}/{task_id}/reassign", data=jiaoban(depts["安居物业服务有限公司"]),
                              headers=csrf(client))
        assert r.status_code == 403 and await database_state() == before
        await client.post("/logout", headers=csrf(client))
    await login(client, "chair")  # a task of another council is not found through this one
    other = await Council.objects().create(name="别的议事会", unit=council.unit, practice="sanfang")
    r = await client.post(f"/councils/{other.id}/tasks/{task_id}/cancel", data={"reason": "x"}, headers=csrf(client))
    assert r.status_code in (403, 404) and (await task_row(task_id))["state"] == "returned"


async def test_council_list_swaps_in_place_with_htmx(client: httpx.AsyncClient, settings: Settings) -> None:
    council, _depts, _topic_id, task_id = await _returned(client, settings)
    cancel = f"/councils/{council.id}/tasks/{task_id}/cancel"
    r = await client.post(cancel, data={"reason": ""}, headers={**csrf(client), **HX})
    assert r.status_code == 422 and r.text.lstrip().startswith("<div id=\"council-tasks\">")
    assert "<html" not in r.text and "撤销任务时请填写原因" in r.text
    r = await client.post(cancel, data={"reason": "重复交办，撤销"}, headers={**csrf(client), **HX})
    assert r.status_code == 200 and "<html" not in r.text
    assert "已撤销任务“清理3栋楼道堆物”" in r.text and "已撤销" in r.text and "/reassign" not in r.text


async def test_unit_page_swaps_in_place_with_htmx(client: httpx.AsyncClient, settings: Settings) -> None:
    council, depts, topic_id = await seed()
    wuye = depts["安居物业服务有限公司"]
    await login(client, "chair")
    assert (await assign(client, council, topic_id, wuye)).status_code == 303
    task_id = (await Task.select(Task.id).first())["id"]
    link = unit_link(settings, wuye)
    hx = {**csrf(client), **HX}
    r = await client.post(f"{link}/tasks/{task_id}/receive", headers=hx)
    assert r.status_code == 200 and r.text.lstrip().startswith('<div id="unit-main"') and "<html" not in r.text
    assert "已接收。" in r.text and "开始办理" in r.text and r.headers["cache-control"] == "no-store"
    r = await client.post(f"{link}/tasks/{task_id}/return", data={"reason": "x"}, headers=hx)
    assert r.status_code == 422 and "状态已变" in r.text and '<div id="unit-main"' in r.text
    r = await client.get(f"{link}/tasks/{task_id}/report", headers=HX)
    assert r.status_code == 200 and "<html" not in r.text and 'hx-encoding="multipart/form-data"' in r.text
    # the back button after hx-push-url: htmx restores the page from the server and needs all of it
    r = await client.get(f"{link}/tasks/{task_id}/report", headers={**HX, "HX-History-Restore-Request": "true"})
    assert r.status_code == 200 and "<html" in r.text and "提交反馈" in r.text
    before = await database_state()
    r = await client.post(f"{link}/tasks/{task_id}/report", data={"progress": "已办结"}, headers=hx)
    assert r.status_code == 422 and "<html" not in r.text and "情况说明" in r.text and "aria-invalid" in r.text
    assert await database_state() == before
    r = await client.post(f"{link}/tasks/{task_id}/report", data=fankui("已办结"),
                          files={"photos": ("整改后.png", png_bytes(), "image/png")}, headers=hx)
    assert r.status_code == 200 and r.headers["hx-push-url"] == link
    assert '<div id="unit-main"' in r.text and "已办结，感谢反馈。" in r.text and "task-photo" in r.text
    assert (await task_row(task_id))["state"] == "done" and await topic_state(topic_id) == "done"
