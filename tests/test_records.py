"""The record engine through HTTP, on SQLite and PostgreSQL: a practice declares a dispute mediation
in TOML (tests/fixtures/records_kit) and core runs it — list, form, workflow buttons, parties'
signing links and paper copies, documents; bad input, stale pages and retries change nothing."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from core import db
from core.app import create_app
from core.audit.tables import AuditEvent
from core.plugins import load_plugins
from core.records.tables import Record, RecordSignature
from core.settings import Settings
from tests.conftest import database_state, http_client, login
from tests.factories import make_council, make_user

KIT = Path(__file__).parent / "fixtures" / "records_kit"


def kit_module() -> ModuleType:
    """The test practice plugin, imported from its folder (as ``yishi plugin check`` does)."""
    name = "yishi_records_kit"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, KIT / "plugin.py")
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Any]:
    application = create_app(settings, load_plugins(settings.plugin_registry, extra_modules=[kit_module()]))
    engine = await db.connect(settings.database_url)
    application.state.engine = engine
    yield application
    await db.disconnect(engine)


@pytest.fixture
async def council(app: Any) -> Any:
    council = await make_council()  # chair / recorder logins, practice sanfang
    return council


@pytest.fixture
async def chair(app: Any, council: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as c:
        await login(c, "chair")
        yield c


@pytest.fixture
async def anon(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(app) as c:
        yield c


DISPUTE = {"title": "烧烤店油烟影响楼上住户", "category": "fume", "a_name": "王秀兰", "b_name": "李海峰"}
AGREEMENT = {"terms": "一、乙方于12月15日前加装油烟净化设备。", "mediator": "张建平"}


def nonce_of(html: str) -> str:
    return re.search(r'name="_nonce" value="([^"]+)"', html)[1]


async def create_record(c: httpx.AsyncClient, council_id: int, **changes: str) -> int:
    page = await c.get(f"/councils/{council_id}/records/rk_mediation/new")
    assert page.status_code == 200, page.text
    r = await c.post(f"/councils/{council_id}/records/rk_mediation/new",
                     data={**DISPUTE, **changes, "_nonce": nonce_of(page.text)})
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


async def step(c: httpx.AsyncClient, record_id: int, transition: str, **extra: str) -> httpx.Response:
    row = await Record.select().where(Record.id == record_id).first()
    return await c.post(f"/records/{record_id}/act", data={"transition": transition, "state": row["state"],
                                                           "revision": str(row["revision"]), **extra})


def sign_links(html: str) -> dict[str, str]:
    return {party: url.replace("http://testserver", "")
            for url, party in re.findall(r'href="([^"]+)" class="rec-sign-url" data-party="(\w+)"', html)}


async def draft(c: httpx.AsyncClient, record_id: int, **changes: str) -> httpx.Response:
    """The step with a form: 拟定协议书 (the agreement's values are kept with the record)."""
    page = await c.get(f"/records/{record_id}/act/to_sign")
    assert page.status_code == 200 and "协议内容" in page.text, page.text
    row = await Record.select().where(Record.id == record_id).first()
    return await c.post(f"/records/{record_id}/act/to_sign", data={
        **AGREEMENT, **changes, "state": row["state"], "revision": str(row["revision"])})


async def to_signing(c: httpx.AsyncClient, council_id: int) -> tuple[int, dict[str, str]]:
    record_id = await create_record(c, council_id)
    assert (await step(c, record_id, "start")).status_code == 303
    assert (await draft(c, record_id)).status_code == 303
    page = await c.get(f"/records/{record_id}")
    links = sign_links(page.text)
    assert set(links) == {"a", "b"}, page.text
    return record_id, links


async def state_of(record_id: int) -> str:
    return (await Record.select(Record.state).where(Record.id == record_id).first())["state"]


# -------------------------------------------------------------------------------------------------
# The whole loop
# -------------------------------------------------------------------------------------------------


async def test_whole_loop_register_step_sign_effective_document(chair: httpx.AsyncClient, anon: httpx.AsyncClient,
                                                               council: Any) -> None:
    kit_module().HEARD.clear()
    record_id = await create_record(chair, council.id)
    page = await chair.get(f"/records/{record_id}")
    assert "烧烤店油烟影响楼上住户" in page.text and "油烟" in page.text and "已登记" in page.text
    assert "开始调解" in page.text and "各方签字，协议生效" not in page.text  # the parties' step has no button

    listing = await chair.get(f"/councils/{council.id}/records/rk_mediation")
    assert "烧烤店油烟影响楼上住户" in listing.text and "王秀兰" in listing.text
    assert "烧烤店" not in (await chair.get(f"/councils/{council.id}/records/rk_mediation?state=effective")).text

    assert (await step(chair, record_id, "start")).status_code == 303
    r = await step(chair, record_id, "to_sign")  # a step with a form cannot be pressed without it
    assert r.status_code == 422 and "需要先填写表单" in r.text
    bad = await draft(chair, record_id, terms="太短")
    assert bad.status_code == 422 and "协议内容" in bad.text and "张建平" in bad.text
    assert await state_of(record_id) == "mediating"
    assert (await draft(chair, record_id)).status_code == 303
    assert await state_of(record_id) == "signing"
    assert "加装油烟净化设备" in (await chair.get(f"/records/{record_id}")).text
    links = sign_links((await chair.get(f"/records/{record_id}")).text)

    # 甲方 signs on her phone, without an account.
    sign_page = await anon.get(links["a"])
    assert sign_page.status_code == 200 and "王秀兰" in sign_page.text and "加装油烟净化设备" in sign_page.text
    r = await anon.post(links["a"], data={"name": "王秀兰", "confirm": "on"})
    assert r.status_code == 303
    assert await state_of(record_id) == "signing"
    assert "您已于" in (await anon.get(links["a"])).text

    # Locked after the first signature.
    edit = await chair.post(f"/records/{record_id}/edit", data={**DISPUTE, "b_name": "李海", "revision": "2"})
    assert edit.status_code == 422 and "已有当事人签字" in edit.text
    assert "李海峰" in (await chair.get(f"/records/{record_id}")).text

    # 乙方 signs with full-width spaces: the same name. The record takes effect by itself.
    r = await anon.post(links["b"], data={"name": "李 海峰", "confirm": "on"})
    assert r.status_code == 303
    assert await state_of(record_id) == "effective"
    page = await chair.get(f"/records/{record_id}")
    assert "已生效" in page.text and page.text.count("已签字") == 2
    history = " ".join(page.text[page.text.index("<h2>经过</h2>"):].split())  # who did what, as people read it
    assert "甲方 · 签字（甲方，本人链接签字）" in history and "乙方 · 签字（乙方，本人链接签字）" in history
    assert "user:" not in history and "record_party" not in history

    assert kit_module().HEARD == [("record:rk_mediation", "start", "mediating"),
                                  ("record:rk_mediation", "to_sign", "signing"),
                                  ("record:rk_mediation", "take_effect", "effective")]
    doc = await chair.get(f"/records/{record_id}/documents/agreement/html")
    assert doc.status_code == 200 and "调解协议书" in doc.text and "乙方签字：李 海峰" in doc.text
    assert "协议内容：一、乙方于12月15日前加装油烟净化设备。" in doc.text and "调解员：张建平" in doc.text
    actions = [r["action"] for r in await AuditEvent.select(AuditEvent.action).order_by(AuditEvent.id)]
    assert actions[-6:] == ["record.rk_mediation.create", "record.rk_mediation.start", "record.rk_mediation.to_sign",
                            "record.rk_mediation.sign", "record.rk_mediation.sign",
                            "record.rk_mediation.take_effect"]


async def test_document_pdf(chair: httpx.AsyncClient, council: Any) -> None:
    record_id, _links = await to_signing(chair, council.id)
    r = await chair.get(f"/records/{record_id}/documents/agreement/pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert (await chair.get(f"/records/{record_id}/documents/agreement/docx")).status_code == 404


async def test_document_refused_before_its_states(chair: httpx.AsyncClient, council: Any) -> None:
    record_id = await create_record(chair, council.id)
    r = await chair.get(f"/records/{record_id}/documents/agreement/html")
    assert r.status_code == 404 and "还不能生成" in r.text


async def test_paper_signature_and_wrong_name(chair: httpx.AsyncClient, council: Any) -> None:
    record_id, _links = await to_signing(chair, council.id)
    before = await database_state()
    r = await chair.post(f"/records/{record_id}/paper", data={"party": "a", "signed_name": "王秀英",
                                                              "signed_on": "2026-11-28", "checked": "on",
                                                              "revision": "2"})
    assert r.status_code == 422 and "签名须与甲方的姓名一致" in r.text
    r = await chair.post(f"/records/{record_id}/paper", data={"party": "a", "signed_name": "王秀兰",
                                                              "signed_on": "", "revision": "2"})
    assert r.status_code == 422 and "签字日期" in r.text and "核对纸质文本" in r.text
    assert await database_state() == before
    r = await chair.post(f"/records/{record_id}/paper", data={"party": "a", "signed_name": "王秀兰",
                                                              "signed_on": "2026-11-28", "checked": "on",
                                                              "revision": "2"})
    assert r.status_code == 303
    sig = await RecordSignature.select().where(RecordSignature.record == record_id).first()
    assert sig["party"] == "a" and sig["how"] == "paper" and sig["name"] == "王秀兰"
    assert "纸质签字" in (await chair.get(f"/records/{record_id}")).text


async def test_paper_signed_today_is_accepted_and_tomorrow_refused(chair: httpx.AsyncClient, council: Any) -> None:
    """The day on the paper is a day in China: today counts at any hour (also before noon)."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    record_id, _links = await to_signing(chair, council.id)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    paper = {"party": "a", "signed_name": "王秀兰", "checked": "on", "revision": "2"}
    tomorrow = (today + timedelta(days=1)).isoformat()
    r = await chair.post(f"/records/{record_id}/paper", data=paper | {"signed_on": tomorrow})
    assert r.status_code == 422 and "签字日期不能晚于今天" in r.text
    assert await RecordSignature.count() == 0
    r = await chair.post(f"/records/{record_id}/paper", data=paper | {"signed_on": today.isoformat()})
    assert r.status_code == 303
    sig = await RecordSignature.select().where(RecordSignature.record == record_id).first()
    assert sig["signed_at"] <= datetime.now(UTC)


# -------------------------------------------------------------------------------------------------
# Bad input, retries, stale pages, permissions
# -------------------------------------------------------------------------------------------------


async def test_bad_form_gets_messages_and_changes_nothing(chair: httpx.AsyncClient, council: Any) -> None:
    page = await chair.get(f"/councils/{council.id}/records/rk_mediation/new")
    before = await database_state()
    r = await chair.post(f"/councils/{council.id}/records/rk_mediation/new",
                         data={**DISPUTE, "title": "", "category": "bribe", "_nonce": nonce_of(page.text)})
    assert r.status_code == 422
    assert "请填写纠纷简述" in r.text or "纠纷简述" in r.text
    assert "李海峰" in r.text  # nothing typed is lost
    assert await database_state() == before


async def test_retried_create_stores_once(chair: httpx.AsyncClient, council: Any) -> None:
    page = await chair.get(f"/councils/{council.id}/records/rk_mediation/new")
    data = {**DISPUTE, "_nonce": nonce_of(page.text)}
    first = await chair.post(f"/councils/{council.id}/records/rk_mediation/new", data=data)
    again = await chair.post(f"/councils/{council.id}/records/rk_mediation/new", data=data)
    assert first.headers["location"] == again.headers["location"]
    assert await Record.count() == 1


async def test_two_copies_of_one_create_at_once_store_one(app: Any, council: Any) -> None:
    async with http_client(app) as c:
        await login(c, "chair")
        page = await c.get(f"/councils/{council.id}/records/rk_mediation/new")
        data = {**DISPUTE, "_nonce": nonce_of(page.text)}
        first, second = await asyncio.gather(
            *(c.post(f"/councils/{council.id}/records/rk_mediation/new", data=data) for _ in range(2)))
        assert first.status_code == second.status_code == 303
        assert first.headers["location"] == second.headers["location"] and await Record.count() == 1


async def test_stale_step_refused_and_retry_is_noop(chair: httpx.AsyncClient, council: Any) -> None:
    record_id = await create_record(chair, council.id)
    seen = {"transition": "start", "state": "registered", "revision": "1"}
    assert (await chair.post(f"/records/{record_id}/act", data=seen)).status_code == 303
    events = await AuditEvent.count()
    assert (await chair.post(f"/records/{record_id}/act", data=seen)).status_code == 303  # a retried press
    assert await AuditEvent.count() == events
    # Someone else edited meanwhile: a press made on revision 1 is refused.
    r = await chair.post(f"/records/{record_id}/edit", data={**DISPUTE, "revision": "1"})
    assert r.status_code == 303
    r = await chair.post(f"/records/{record_id}/act", data={"transition": "fail", "state": "mediating",
                                                            "revision": "1", "reason": "双方意见分歧"})
    assert r.status_code == 409 and "请刷新页面" in r.text
    assert await state_of(record_id) == "mediating"
    # A stale edit is refused too.
    r = await chair.post(f"/records/{record_id}/edit", data={**DISPUTE, "title": "别的标题", "revision": "1"})
    assert r.status_code == 409 and "已被其他人修改" in r.text


async def test_reason_required_and_htmx_fragment(chair: httpx.AsyncClient, council: Any) -> None:
    record_id = await create_record(chair, council.id)
    r = await chair.post(f"/records/{record_id}/act", data={"transition": "fail", "state": "registered",
                                                            "revision": "1"}, headers={"HX-Request": "true"})
    assert r.status_code == 422 and "需要填写理由" in r.text and "<html" not in r.text
    r = await chair.post(f"/records/{record_id}/act", data={"transition": "fail", "state": "registered",
                                                            "revision": "1", "reason": "申请人不愿调解"},
                         headers={"HX-Request": "true"})
    assert r.status_code == 200 and 'id="record"' in r.text and "调解未成" in r.text and "<html" not in r.text


async def test_signing_transition_has_no_button_and_cannot_be_posted(chair: httpx.AsyncClient,
                                                                     council: Any) -> None:
    record_id, _links = await to_signing(chair, council.id)
    r = await step(chair, record_id, "take_effect")
    assert r.status_code == 422 and "自动完成" in r.text
    assert await state_of(record_id) == "signing"


async def test_sign_link_checks(chair: httpx.AsyncClient, anon: httpx.AsyncClient, council: Any) -> None:
    _record_id, links = await to_signing(chair, council.id)
    before = await database_state()
    wrong = await anon.post(links["a"], data={"name": "李海峰", "confirm": "on"})  # 乙方's name on 甲方's link
    assert wrong.status_code == 422 and "签名须与甲方的姓名一致" in wrong.text
    unconfirmed = await anon.post(links["a"], data={"name": "王秀兰"})
    assert unconfirmed.status_code == 422 and "勾选" in unconfirmed.text
    forged = links["a"][:-3] + "xyz"
    assert (await anon.get(forged)).status_code == 404
    crossed = links["a"].replace("/a/", "/b/")  # 甲方's token on 乙方's path
    assert (await anon.get(crossed)).status_code == 404
    assert await database_state() == before


async def test_link_of_an_older_revision_is_stale(app: Any, council: Any) -> None:
    """A kind that does not lock: an edit after a signature makes the old links stale."""
    async with http_client(app) as chair, http_client(app) as anon:
        await login(chair, "chair")
        record_id, links = await to_signing(chair, council.id)
        kind = app.state.plugins.specs.records["rk_mediation"]
        object.__setattr__(kind.signing, "lock", False)
        try:
            assert (await chair.post(f"/records/{record_id}/edit", data={**DISPUTE, "title": "改后的纠纷简述",
                                                                         "revision": "2"})).status_code == 303
            page = await anon.get(links["a"])
            assert "这个链接已失效" in page.text and "改后的纠纷简述" not in page.text
            r = await anon.post(links["a"], data={"name": "王秀兰", "confirm": "on"})
            assert r.status_code == 422 and "内容已经修改" in r.text
            assert await RecordSignature.count() == 0
        finally:
            object.__setattr__(kind.signing, "lock", True)


async def test_permissions(app: Any, council: Any) -> None:
    from core.org.tables import Council

    other = await Council.objects().create(name="别的小区三方联席会议", unit=council.unit, practice="sanfang")
    wrong_practice = await Council.objects().create(name="街巷议事会", unit=council.unit, practice="jiexiang")
    await make_user("outsider", "路人")
    async with http_client(app) as chair, http_client(app) as outsider, http_client(app) as anon:
        await login(chair, "chair")
        await login(outsider, "outsider")
        record_id = await create_record(chair, council.id)
        assert (await outsider.get(f"/records/{record_id}")).status_code == 403
        assert (await outsider.get(f"/councils/{council.id}/records/rk_mediation")).status_code == 403
        assert (await outsider.post(f"/records/{record_id}/act", data={"transition": "start", "state": "registered",
                                                                        "revision": "1"})).status_code == 403
        assert (await chair.get(f"/councils/{other.id}/records/rk_mediation/new")).status_code == 403
        assert (await chair.get(f"/councils/{wrong_practice.id}/records/rk_mediation")).status_code == 404
        assert (await chair.get(f"/councils/{council.id}/records/nosuchkind")).status_code == 404
        assert (await anon.get(f"/records/{record_id}")).status_code in (302, 303, 401)
        assert await state_of(record_id) == "registered"


# -------------------------------------------------------------------------------------------------
# Concurrency: the last two signatures, and a signature racing an edit
# -------------------------------------------------------------------------------------------------


async def test_concurrent_signatures_take_effect_once(app: Any, council: Any) -> None:
    async with http_client(app) as chair, http_client(app) as a, http_client(app) as b:
        await login(chair, "chair")
        record_id, links = await to_signing(chair, council.id)
        ra, rb = await asyncio.gather(a.post(links["a"], data={"name": "王秀兰", "confirm": "on"}),
                                      b.post(links["b"], data={"name": "李海峰", "confirm": "on"}))
        assert ra.status_code == rb.status_code == 303
        assert await state_of(record_id) == "effective"
        effective = await AuditEvent.count().where(AuditEvent.action == "record.rk_mediation.take_effect")
        assert effective == 1


async def test_signature_racing_an_edit(app: Any, council: Any) -> None:
    """Either the edit lands first (the link goes stale, no signature) or the signature does (the
    edit is refused as locked): never a signature on a text that then changed."""
    async with http_client(app) as chair, http_client(app) as a:
        await login(chair, "chair")
        record_id, links = await to_signing(chair, council.id)
        edit, sign = await asyncio.gather(
            chair.post(f"/records/{record_id}/edit", data={**DISPUTE, "title": "并发修改的简述", "revision": "2"}),
            a.post(links["a"], data={"name": "王秀兰", "confirm": "on"}))
        row = await Record.select().where(Record.id == record_id).first()
        sigs = await RecordSignature.select().where(RecordSignature.record == record_id)
        if edit.status_code == 303:
            assert sign.status_code == 422 and sigs == [] and row["revision"] == 3
        else:
            assert edit.status_code == 422 and sign.status_code == 303
            assert row["revision"] == 2 and [s["revision"] for s in sigs] == [2]


# -------------------------------------------------------------------------------------------------
# Demo data from TOML
# -------------------------------------------------------------------------------------------------


async def test_load_seed_then_pages_show_it(app: Any, tmp_path: Path) -> None:
    from core.records.seed import load_seed

    counts = await load_seed(KIT / "demo.toml", specs=app.state.plugins.specs)
    assert counts == {"units": 2, "councils": 1, "people": 2, "members": 2, "meetings": 1, "records": 2}
    async with http_client(app) as c:
        await login(c, "seed_chair", "yishi-demo")
        from core.org.tables import Council

        council = await Council.select().where(Council.name == "四牌楼三方联席会议").first()
        listing = await c.get(f"/councils/{council['id']}/records/rk_mediation?state=effective")
        assert "烧烤店油烟影响楼上住户" in listing.text and "奶茶店" not in listing.text
        record = await Record.select().where(Record.state == "effective").first()
        page = await c.get(f"/records/{record['id']}")
        assert page.text.count("已签字") == 2 and "纸质签字" in page.text and "加装油烟净化设备" in page.text
        assert "2026年11月三方联席会议" in page.text  # the meeting it was taken up at


async def test_seed_dates_may_count_from_the_day_it_is_loaded(app: Any, tmp_path: Path) -> None:
    """Demo data does not age: "today-3 15:00" is three days before the load, China time, and a
    meeting's title may name its month; a time that is neither a date-time nor a relative day is
    refused, naming it, and nothing is written."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from core.meetings.tables import Meeting
    from core.records.seed import SeedError, load_seed

    china = ZoneInfo("Asia/Shanghai")
    text = (KIT / "demo.toml").read_text(encoding="utf-8")
    seed = tmp_path / "relative.toml"
    seed.write_text(text.replace("starts_at = 2026-11-20T15:00:00", 'starts_at = "today-3 15:00"')
                    .replace('title = "2026年11月三方联席会议"', 'title = "{month}月三方联席会议"'), encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("starts_at = 2026-11-20T15:00:00", 'starts_at = "last tuesday"'), encoding="utf-8")
    before = await database_state()
    with pytest.raises(SeedError) as refused:
        await load_seed(bad, specs=app.state.plugins.specs)
    assert "last tuesday" in str(refused.value)
    assert await database_state() == before

    await load_seed(seed, specs=app.state.plugins.specs)
    meeting = await Meeting.select(Meeting.title, Meeting.starts_at).first()
    day = datetime.now(china).date() - timedelta(days=3)
    assert meeting["starts_at"].astimezone(UTC) == datetime(day.year, day.month, day.day, 15, tzinfo=china)
    assert meeting["title"] == f"{day.month}月三方联席会议"


async def test_bad_seed_names_the_entry_and_writes_nothing(app: Any, tmp_path: Path) -> None:
    from core.records.seed import SeedError, load_seed

    text = (KIT / "demo.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace('category = "other"', 'category = "bribe"'), encoding="utf-8")
    before = await database_state()
    with pytest.raises(SeedError) as exc:
        await load_seed(bad, specs=app.state.plugins.specs)
    assert "records[2].values" in str(exc.value) and "category" in str(exc.value)
    bad.write_text(text.replace('person = "wu"', 'person = "nobody"'), encoding="utf-8")
    with pytest.raises(SeedError) as exc:
        await load_seed(bad, specs=app.state.plugins.specs)
    assert "members[2]" in str(exc.value) and "nobody" in str(exc.value)
    assert await database_state() == before


async def test_photos_are_shown_to_the_council_only(app: Any, council: Any) -> None:
    from tests.test_topics import EXE, PNG

    await make_user("outsider", "路人")
    async with http_client(app) as chair, http_client(app) as outsider:
        await login(chair, "chair")
        await login(outsider, "outsider")
        page = await chair.get(f"/councils/{council.id}/records/rk_mediation/new")
        bad = await chair.post(f"/councils/{council.id}/records/rk_mediation/new",
                               data={**DISPUTE, "_nonce": nonce_of(page.text)},
                               files=[("photos", ("现场.jpg", EXE, "image/jpeg"))])
        assert bad.status_code == 422 and "现场照片" in bad.text and await Record.count() == 0
        r = await chair.post(f"/councils/{council.id}/records/rk_mediation/new",
                             data={**DISPUTE, "_nonce": nonce_of(page.text)},
                             files=[("photos", ("现场.png", PNG, "image/png"))])
        record_id = int(r.headers["location"].rsplit("/", 1)[1])
        detail = await chair.get(f"/records/{record_id}")
        src = re.search(r'<img src="(/records/\d+/files/[0-9a-f]{64})"', detail.text)[1]
        img = await chair.get(src)
        assert img.status_code == 200 and img.content == PNG and img.headers["content-type"].startswith("image/png")
        assert (await outsider.get(src)).status_code == 403
        other = src[:-64] + "0" * 64
        assert (await chair.get(other)).status_code == 404


async def test_a_record_names_the_meeting_where_it_was_taken_up(chair: httpx.AsyncClient, council: Any) -> None:
    from core.records.service import for_meeting
    from tests.factories import make_meeting

    meeting = await make_meeting(council=council)
    elsewhere = await make_meeting(suffix="_b")  # another council's meeting
    page = await chair.get(f"/councils/{council.id}/records/rk_mediation/new")
    assert "2026年11月三方联席会议" in page.text
    before = await database_state()
    r = await chair.post(f"/councils/{council.id}/records/rk_mediation/new",
                         data={**DISPUTE, "meeting": str(elsewhere.id), "_nonce": nonce_of(page.text)})
    assert r.status_code == 422 and "请从列表中选择会议" in r.text
    assert await database_state() == before
    record_id = await create_record(chair, council.id, meeting=str(meeting.id))
    assert "2026年11月三方联席会议" in (await chair.get(f"/records/{record_id}")).text
    found = await for_meeting(meeting.id, "rk_mediation")
    assert [r["id"] for r in found] == [record_id] and found[0]["values"]["b_name"] == "李海峰"
