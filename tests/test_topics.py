"""The topic side of the closed loop over HTTP, on SQLite and PostgreSQL: a resident raises an issue
from the phone (提事), follows it, the council triages, schedules, decides and publishes it (公示).

The estate is 锦绣苑小区 (tests.factories.make_council, 三方联席会议: phone's last four digits).
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core.meetings.tables import AgendaItem, HandCount, Meeting
from core.org.tables import Council, CouncilMember, Person
from core.topics.tables import StoredFile, Submission, Topic, TopicEvent
from tests.conftest import database_state, http_client, login
from tests.factories import make_user
from tests.test_residents import answer, link_of, seed

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
HX = {"HX-Request": "true"}

VALID = {"title": "3栋楼道堆放杂物", "category": "环境卫生",
         "details": "3栋2单元一楼楼道堆满纸箱和旧家具，挡住消防通道，晚上看不清容易绊倒。",
         "where.building": "3栋", "where.unit_no": "2", "where.room": "", "phone": ""}


async def resident(client: httpx.AsyncClient, settings: Any, name: str = "朱秀英",
                   council: Council | None = None) -> tuple[Council, dict[str, Any], str, dict[str, Any]]:
    """A seeded council, the resident's entry, their verified link, and all entries."""
    council, entries = await seed(council)
    entry = entries[name]
    link = link_of(settings, entry)
    phone = {"朱秀英": "4460", "张桂芳": "3721", "马晓东": "7305", "何志明": "6075"}[name]
    r = await answer(client, link, phone)
    assert r.status_code == 303, r.text
    return council, entry, link, entries


async def tishi(client: httpx.AsyncClient, link: str, values: dict[str, str] | None = None,
                files: list[tuple[str, tuple[str, bytes, str]]] | None = None, nonce: str = "n-1") -> httpx.Response:
    data = {**VALID, **(values or {}), "_nonce": nonce}
    empty = [("photos", ("", b"", "application/octet-stream"))]
    return await client.post(f"{link}/tishi", data=data, files=files or empty)


async def raise_one(client: httpx.AsyncClient, link: str, nonce: str, **values: str) -> int:
    r = await tishi(client, link, values, nonce=nonce)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


async def add_member(council: Council, username: str, role: str = "member") -> None:
    person = await Person.objects().create(name="李明")
    await CouncilMember.objects().create(council=council.id, person=person.id, role=role, affiliation="", position=9)
    await make_user(username, "李明", person=person.id)


async def staff(client: httpx.AsyncClient, username: str) -> httpx.AsyncClient:
    other = http_client(client.app)  # type: ignore[attr-defined]
    c = await other.__aenter__()
    c._yishi_cm = other  # type: ignore[attr-defined]  # keep the context manager (and its client) alive
    await login(c, username)
    return c


async def act(c: httpx.AsyncClient, council_id: int, topic_id: int, transition: str, state: str,
              headers: dict[str, str] | None = None, **extra: str) -> httpx.Response:
    return await c.post(f"/councils/{council_id}/topics/{topic_id}/act",
                        data={"transition": transition, "state": state, **extra}, headers=headers or {})


# -------------------------------------------------------------------------------------------------
# The resident
# -------------------------------------------------------------------------------------------------


async def test_resident_raises_an_issue(client: httpx.AsyncClient, settings) -> None:
    council, entry, link, _entries = await resident(client, settings)
    r = await client.get(f"{link}/tishi")
    assert r.status_code == 200
    assert "居民提事表" in r.text and 'name="_nonce"' in r.text and 'enctype="multipart/form-data"' in r.text
    r = await tishi(client, link, files=[("photos", ("现场.png", PNG, "image/png"))])
    assert r.status_code == 303, r.text
    topic = await Topic.select().first()
    assert topic["state"] == "raised" and topic["council"] == council.id and topic["title"] == VALID["title"]
    assert topic["proposer_entry"] == entry["id"] and topic["proposer_name"] == "朱秀英"
    assert topic["category"] == "环境卫生" and "消防通道" in topic["description"]
    assert r.headers["location"] == f"{link}/topics/{topic['id']}"
    events = await TopicEvent.select().where(TopicEvent.topic == topic["id"])
    assert [(e["transition"], e["to_state"]) for e in events] == [("raise", "raised")]
    sub = await Submission.select().first()
    assert sub["form_id"] == "tishi" and sub["nonce"] == "n-1"
    sha = await StoredFile.select(StoredFile.sha256).first()
    assert sha is not None and (settings.data_dir / "uploads" / sha["sha256"][:2] / sha["sha256"]).exists()

    page = await client.get(r.headers["location"])
    assert page.status_code == 200 and "已提出" in page.text and "t-state-raised" in page.text
    assert f"/files/{sha['sha256']}" in page.text
    img = await client.get(f"{link}/files/{sha['sha256']}")
    assert img.status_code == 200 and img.content == PNG and img.headers["content-type"].startswith("image/png")

    home = await client.get(link)
    assert "我提的事" in home.text and VALID["title"] in home.text and f"/public/councils/{council.id}" in home.text

    chair = await staff(client, "chair")
    seen = await chair.get(f"/councils/{council.id}/files/{sha['sha256']}")
    assert seen.status_code == 200 and seen.content == PNG
    anon = await client.get(f"/councils/{council.id}/files/{sha['sha256']}")
    assert anon.status_code in (401, 403, 303)
    await chair.aclose()


async def test_invalid_submission_keeps_values(client: httpx.AsyncClient, settings) -> None:
    _council, _entry, link, _ = await resident(client, settings)
    r = await tishi(client, link, {"details": "太短", "title": "楼道灯坏了"})
    assert r.status_code == 422
    assert "楼道灯坏了" in r.text and "太短" in r.text and 'name="_nonce" value="n-1"' in r.text
    assert "field-error" in r.text
    assert await Topic.count() == 0 and await Submission.count() == 0


async def test_double_submit_creates_one_topic(client: httpx.AsyncClient, settings) -> None:
    _council, _entry, link, _ = await resident(client, settings)
    first = await tishi(client, link, nonce="same-key")
    second = await tishi(client, link, nonce="same-key")
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert await Topic.count() == 1 and await Submission.count() == 1
    await raise_one(client, link, "another-key")
    assert await Topic.count() == 2


async def test_exe_renamed_jpg_refused(client: httpx.AsyncClient, settings) -> None:
    _council, _entry, link, _ = await resident(client, settings)
    r = await tishi(client, link, files=[("photos", ("photo.jpg", EXE, "image/jpeg"))])
    assert r.status_code == 422 and "现场照片" in r.text
    assert await Topic.count() == 0 and await StoredFile.count() == 0


async def test_follow_page_history_decline_reason_and_other_entry(client: httpx.AsyncClient, settings) -> None:
    council, _entry, link, entries = await resident(client, settings)
    topic_id = await raise_one(client, link, "k1")
    chair = await staff(client, "chair")
    r = await act(chair, council.id, topic_id, "decline", "raised", reason="属于物业合同纠纷，请通过物业投诉渠道解决")
    assert r.status_code == 303, r.text
    page = await client.get(f"{link}/topics/{topic_id}")
    text = re.sub(r"\s+", "", page.text)
    assert "不予受理" in text and "属于物业合同纠纷，请通过物业投诉渠道解决" in text and "提出议题" in text

    other = link_of(settings, entries["张桂芳"])
    await answer(client, other, "3721")
    assert (await client.get(f"{other}/topics/{topic_id}")).status_code == 404
    assert (await client.get(f"{link}/topics/999999")).status_code == 404
    await chair.aclose()


async def test_pages_need_identity_check(client: httpx.AsyncClient, settings) -> None:
    _council, entries = await seed()
    link = link_of(settings, entries["朱秀英"])
    r = await client.get(f"{link}/tishi")
    assert r.status_code == 200 and "请先核对身份" in r.text and "居民提事表" not in r.text
    r = await tishi(client, link)
    assert "请先核对身份" in r.text and await Topic.count() == 0
    assert (await client.get("/r/1.1.AAAAAAAAAAAAAAAAAAAAAA/tishi")).status_code == 404


# -------------------------------------------------------------------------------------------------
# Triage
# -------------------------------------------------------------------------------------------------


async def test_triage_roles_accept_merge(client: httpx.AsyncClient, settings) -> None:
    council, _entry, link, _ = await resident(client, settings)
    a = await raise_one(client, link, "a", title="楼道电动车飞线充电")
    b = await raise_one(client, link, "b", title="3栋电动车充电问题")
    await add_member(council, "member1")
    member = await staff(client, "member1")
    page = await member.get(f"/councils/{council.id}/topics")
    assert page.status_code == 200 and "楼道电动车飞线充电" in page.text and "/act" not in page.text
    assert (await act(member, council.id, a, "accept", "raised")).status_code == 403
    await member.aclose()

    chair = await staff(client, "chair")
    page = await chair.get(f"/councils/{council.id}/topics")
    assert ">受理</button>" in page.text and "合并" in page.text and f"/public/councils/{council.id}" in page.text
    r = await act(chair, council.id, a, "accept", "raised", headers=HX)
    assert r.status_code == 200 and f'id="topic-{a}"' in r.text and "已受理" in r.text
    r = await act(chair, council.id, b, "merge", "raised", merge_into=str(a))
    assert r.status_code == 303
    row = await Topic.select().where(Topic.id == b).first()
    assert row["state"] == "merged" and row["merged_into"] == a
    await chair.aclose()


async def test_decline_needs_reason_and_stale_action_refused(client: httpx.AsyncClient, settings) -> None:
    council, _entry, link, _ = await resident(client, settings)
    t = await raise_one(client, link, "a")
    chair = await staff(client, "chair")
    recorder = await staff(client, "recorder")
    r = await act(chair, council.id, t, "decline", "raised", reason="  ")
    assert r.status_code == 422 and "理由" in r.text
    assert (await act(recorder, council.id, t, "accept", "raised")).status_code == 303
    before = await database_state()
    r = await act(chair, council.id, t, "decline", "raised", reason="重复提出", headers=HX)
    assert r.status_code == 422 and "请刷新页面" in r.text
    assert await database_state() == before
    await chair.aclose()
    await recorder.aclose()


async def test_schedule_adopt_and_override(client: httpx.AsyncClient, settings) -> None:
    council, _entry, link, _ = await resident(client, settings)
    t = await raise_one(client, link, "a")
    chair = await staff(client, "chair")
    assert (await act(chair, council.id, t, "accept", "raised")).status_code == 303
    draft = await Meeting.select().where((Meeting.council == council.id) & (Meeting.state == "draft")).first()
    positions = [i["position"] for i in await AgendaItem.select().where(AgendaItem.meeting == draft["id"])]
    r = await act(chair, council.id, t, "schedule", "accepted")
    assert r.status_code == 422 and "会议" in r.text
    assert (await act(chair, council.id, t, "schedule", "accepted", meeting=str(draft["id"]))).status_code == 303
    topic = await Topic.select().where(Topic.id == t).first()
    item = await AgendaItem.select().where(AgendaItem.id == topic["agenda_item"]).first()
    assert topic["state"] == "scheduled" and item["meeting"] == draft["id"]
    assert item["position"] == max(positions) + 1 and item["title"] == VALID["title"]
    assert item["proposer"] == "居民 朱*英"

    r = await act(chair, council.id, t, "adopt", "scheduled")
    assert r.status_code == 422
    assert (await Topic.select(Topic.state).where(Topic.id == t).first())["state"] == "scheduled"
    await HandCount.insert(HandCount(item=item["id"], yes=9, no=2, abstain=1))
    assert (await act(chair, council.id, t, "adopt", "scheduled")).status_code == 303
    assert (await Topic.select(Topic.state).where(Topic.id == t).first())["state"] == "decided"

    url = f"/councils/{council.id}/topics/{t}/override"
    r = await chair.post(url, data={"state": "decided", "target": "accepted", "reason": "错"})
    assert r.status_code == 422 and "理由" in r.text
    r = await chair.post(url, data={"state": "decided", "target": "answered", "reason": "已由街道统一答复"})
    assert r.status_code == 303
    assert (await Topic.select(Topic.state).where(Topic.id == t).first())["state"] == "answered"
    recorder = await staff(client, "recorder")
    r = await recorder.post(url, data={"state": "answered", "target": "raised", "reason": "重新讨论一下"})
    assert r.status_code == 403
    await chair.aclose()
    await recorder.aclose()


# -------------------------------------------------------------------------------------------------
# 公示
# -------------------------------------------------------------------------------------------------


async def test_public_page_masks_names(client: httpx.AsyncClient, settings) -> None:
    council, _entry, link, _ = await resident(client, settings)
    t = await raise_one(client, link, "a", title="高空抛物治理")
    hidden = await raise_one(client, link, "b", title="刚提出的事")
    chair = await staff(client, "chair")
    await act(chair, council.id, t, "accept", "raised")
    draft = await Meeting.select().where(Meeting.council == council.id).first()
    await Meeting.update({Meeting.starts_at: datetime.now(UTC) + timedelta(days=1)}).where(Meeting.id == draft["id"])
    await act(chair, council.id, t, "schedule", "accepted", meeting=str(draft["id"]))
    assert (await act(chair, council.id, t, "agree", "scheduled")).status_code == 303
    await chair.aclose()
    anon = http_client(client.app)  # type: ignore[attr-defined]
    async with anon as c:
        r = await c.get(f"/public/councils/{council.id}")
    assert r.status_code == 200
    assert "高空抛物治理" in r.text and "已决议" in r.text and "决议日期" in r.text
    assert "刚提出的事" not in r.text and hidden
    assert "朱秀英" not in r.text and "1502" not in r.text and "3栋" not in r.text
