"""A dispute between a shop and a resident, from the 巷导's tablet to a signed 调解协议书, on core's
record engine (record kind jiexiang_tiaojie), on SQLite and PostgreSQL: bad input is refused with
Chinese messages and stores nothing, each party signs on their own phone (or the mediator records the
signed paper copy), the agreement can be corrected before the first signature (which voids the links
already sent) and not after it, and it is 已生效 only when both parties signed."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx

from core.meetings.tables import Meeting
from core.records.tables import Record, RecordSignature
from tests.conftest import database_state, http_client, login
from tests.plugins.jiexiang.conftest import make_jiexiang_council

KIND = "jiexiang_tiaojie"
DISPUTE = {
    "title": "益民街烧烤店油烟扰民", "category": "油烟异味", "lane": "益民街", "address": "益民街 26 号一楼",
    "facts": "烧烤店排烟口设在二楼住户窗下，每晚排烟到凌晨一点，住户无法开窗。",
    "a_kind": "居民", "a_name": "马秀兰", "a_phone": "13956021473",
    "a_request": "加装油烟净化设备，排烟口改向。",
    "b_kind": "商户", "b_name": "李海峰", "b_shop": "老街坊烧烤店", "b_phone": "13805513862",
    "b_request": "愿意整改，请给一个月时间。", "consent": "on", "_nonce": "jx-dispute-1",
}


def new_url(council_id: int) -> str:
    return f"/councils/{council_id}/records/{KIND}/new"


def agreement(**changes: str) -> dict[str, str]:
    values = {"facts": "乙方烧烤店排烟口正对甲方窗户，双方确认。", "revision": "1", "state": "mediating",
              "terms": "一、乙方于期限前加装油烟净化设备，排烟口改至楼顶。\n二、乙方每日 23 时后不在店外烤制。",
              "deadline": (date.today() + timedelta(days=30)).isoformat(), "follow_up": "巷导每周回访一次。",
              "mediator": "张建平", "place": "四牌楼商圈党群服务站", "copies": "3"}
    return values | changes


def sign_links(page: str) -> list[str]:
    return re.findall(r'href="https?://[^"/]+(/records/sign/[^"]+)" class="rec-sign-url"', page)


async def state_of(record_id: int) -> str:
    return (await Record.select(Record.state).where(Record.id == record_id).first())["state"]


async def register(tablet: httpx.AsyncClient, council_id: int, **changes: str) -> int:
    r = await tablet.post(new_url(council_id), data=DISPUTE | changes)
    assert r.status_code == 303, r.text
    return int(r.headers["location"].rsplit("/", 1)[1])


async def start(tablet: httpx.AsyncClient, record_id: int) -> None:
    r = await tablet.post(f"/records/{record_id}/act", data={"transition": "start", "state": "registered",
                                                              "revision": "1"})
    assert r.status_code == 303, r.text


async def test_bad_dispute_forms_are_refused_and_store_nothing(jx_app) -> None:
    from datetime import UTC, datetime

    council = await make_jiexiang_council()
    await Meeting.objects().create(council=council.id, kind="议事会", title="12月街巷议事会",
                                   starts_at=datetime.now(UTC), state="draft")
    async with http_client(jx_app) as tablet:
        await login(tablet, "jx_guide")
        page = await tablet.get(new_url(council.id))
        assert page.status_code == 200 and "纠纷调解登记表" in page.text and "乙方诉求" in page.text
        before = await database_state()
        missing = await tablet.post(new_url(council.id), data=DISPUTE | {"b_name": "", "b_shop": "", "consent": ""})
        assert missing.status_code == 422
        assert "请填写乙方姓名" in missing.text and "请填写乙方店铺名称" in missing.text
        assert "双方同意由街巷议事会组织调解" in missing.text
        assert "益民街烧烤店油烟扰民" in missing.text  # what was typed is kept
        same = await tablet.post(new_url(council.id),
                                 data=DISPUTE | {"b_kind": "居民", "b_name": "马秀兰", "b_phone": "13956021473"})
        assert same.status_code == 422 and "甲方和乙方是同一个人" in same.text
        phone = await tablet.post(new_url(council.id), data=DISPUTE | {"a_phone": "1395602"})
        assert phone.status_code == 422 and "甲方联系电话" in phone.text
        foreign = await tablet.post(new_url(council.id), data=DISPUTE | {"meeting": "999"})
        assert foreign.status_code == 422 and "请从列表中选择会议" in foreign.text
        assert await database_state() == before


async def test_a_dispute_ends_in_an_agreement_both_parties_signed(jx_app) -> None:
    council = await make_jiexiang_council()
    async with http_client(jx_app) as tablet, http_client(jx_app) as resident_phone:
        await login(tablet, "jx_guide")
        record_id = await register(tablet, council.id)
        again = await register(tablet, council.id)  # the same press resent on weak Wi-Fi
        assert again == record_id and await Record.count() == 1
        page = await tablet.get(f"/records/{record_id}")
        assert "已登记" in page.text and "开始调解" in page.text and "老街坊烧烤店" in page.text
        assert f"/p/jiexiang/public/{council.id}" in page.text

        await start(tablet, record_id)
        draft = f"/records/{record_id}/act/draft"
        form = await tablet.get(draft)
        assert form.status_code == 200 and "协议内容" in form.text and "履行期限" in form.text
        short = await tablet.post(draft, data=agreement(terms="同意"))
        assert short.status_code == 422 and "协议内容至少需要 10 个字" in short.text
        assert await state_of(record_id) == "mediating"
        assert (await tablet.post(draft, data=agreement())).status_code == 303
        page = await tablet.get(f"/records/{record_id}")
        assert "待签字" in page.text and f'href="/records/{record_id}/act/redraft"' in page.text
        link_a, link_b = sign_links(page.text)

        # 甲方 signs on her own phone; a name that is not hers is refused and changes nothing.
        shown = await resident_phone.get(link_a)
        assert shown.status_code == 200 and "您是本协议的甲方" in shown.text and "排烟口改至楼顶" in shown.text
        wrong = await resident_phone.post(link_a, data={"name": "马 秀", "confirm": "on"})
        assert wrong.status_code == 422 and "签名须与甲方的姓名一致" in wrong.text
        unconfirmed = await resident_phone.post(link_a, data={"name": "马秀兰"})
        assert unconfirmed.status_code == 422 and "本人已阅读并同意" in unconfirmed.text
        assert await RecordSignature.count() == 0
        signed = await resident_phone.post(link_a, data={"name": "马 秀兰", "confirm": "on"})  # spaces ignored
        assert signed.status_code == 303
        assert "您已于" in (await resident_phone.get(link_a)).text
        assert (await resident_phone.post(link_a, data={"name": "马秀兰", "confirm": "on"})).status_code == 303
        assert await RecordSignature.count() == 1

        # After a signature the agreement cannot change.
        stored = await Record.select(Record.steps, Record.revision).first()
        redraft = f"/records/{record_id}/act/redraft"
        refused = await tablet.post(redraft, data=agreement(terms="一、乙方三个月内整改即可，其余不变。",
                                                            revision="2", state="signing"))
        assert refused.status_code in (409, 422) and "已有当事人签字" in refused.text
        assert await Record.select(Record.steps, Record.revision).first() == stored
        page = await tablet.get(f"/records/{record_id}")
        assert "已有当事人签字，内容不能再修改" in page.text and "/act/redraft" not in page.text
        assert await state_of(record_id) == "signing"  # one of two signed

        # 乙方 signed the printed copy; the mediator records it.
        paper = f"/records/{record_id}/paper"
        today = date.today().isoformat()
        mismatch = await tablet.post(paper, data={"party": "b", "signed_name": "李海", "signed_on": today,
                                                  "checked": "on", "revision": "2"})
        assert mismatch.status_code == 422 and "签名须与乙方的姓名一致" in mismatch.text
        assert await state_of(record_id) == "signing"
        recorded = await tablet.post(paper, data={"party": "b", "signed_name": "李海峰", "signed_on": today,
                                                  "checked": "on", "revision": "2"})
        assert recorded.status_code == 303
        assert await state_of(record_id) == "effective"
        after = await resident_phone.get(link_b)  # 乙方's unused link: the agreement, signed on paper, no form
        assert after.status_code == 200 and "您已于" in after.text and 'name="confirm"' not in after.text

        doc = await tablet.get(f"/records/{record_id}/documents/agreement/html")
        assert "双方已签字，本协议已生效" in doc.text and "纸质签字" in doc.text and "手机确认" in doc.text
        assert "老街坊烧烤店经营者" in doc.text and "排烟口改至楼顶" in doc.text
        pdf = await tablet.get(f"/records/{record_id}/documents/agreement/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    async with http_client(jx_app) as anyone:
        notice = await anyone.get(f"/p/jiexiang/public/{council.id}")
        assert notice.status_code == 200
        assert "益民街烧烤店油烟扰民" in notice.text and "老街坊烧烤店" in notice.text and "居民 马*兰" in notice.text
        assert "马秀兰" not in notice.text and "13956021473" not in notice.text
        notice_pdf = await anyone.get(f"/p/jiexiang/public/{council.id}/notice.pdf")
        assert notice_pdf.content.startswith(b"%PDF")


async def test_a_correction_before_any_signature_voids_the_old_links(jx_app) -> None:
    council = await make_jiexiang_council()
    async with http_client(jx_app) as tablet, http_client(jx_app) as phone:
        await login(tablet, "jx_guide")
        record_id = await register(tablet, council.id)
        await start(tablet, record_id)
        assert (await tablet.post(f"/records/{record_id}/act/draft", data=agreement())).status_code == 303
        old_link, _b = sign_links((await tablet.get(f"/records/{record_id}")).text)
        redraft = f"/records/{record_id}/act/redraft"
        assert "排烟口改至楼顶" in (await tablet.get(redraft)).text  # the form holds what was written
        corrected_terms = "一、乙方两周内加装油烟净化设备。"
        stale = await tablet.post(redraft, data=agreement(terms=corrected_terms, revision="1", state="signing"))
        assert stale.status_code in (409, 422) and "可能已被其他人处理" in stale.text
        corrected = await tablet.post(redraft, data=agreement(terms=corrected_terms, revision="2", state="signing"))
        assert corrected.status_code == 303
        assert await state_of(record_id) == "signing"
        assert "这个链接已失效" in (await phone.get(old_link)).text
        refused = await phone.post(old_link, data={"name": "马秀兰", "confirm": "on"})
        assert refused.status_code == 422 and "内容已经修改" in refused.text
        new_link, _b = sign_links((await tablet.get(f"/records/{record_id}")).text)
        assert "两周内" in (await phone.get(new_link)).text
        assert (await phone.post(new_link, data={"name": "马秀兰", "confirm": "on"})).status_code == 303
        assert (await RecordSignature.select(RecordSignature.revision).first())["revision"] == 3


async def test_failing_a_mediation_needs_a_reason_and_who_may_do_what(jx_app) -> None:
    council = await make_jiexiang_council()
    async with http_client(jx_app) as tablet, http_client(jx_app) as shop, http_client(jx_app) as anonymous:
        await login(tablet, "jx_guide")
        record_id = await register(tablet, council.id)
        act = f"/records/{record_id}/act"
        edited = await tablet.post(f"/records/{record_id}/edit", data=DISPUTE | {
            "revision": "1", "b_kind": "居民", "b_name": "马秀兰", "b_phone": "13956021473"})
        assert edited.status_code == 422 and "甲方和乙方是同一个人" in edited.text
        assert (await Record.select(Record.revision).first())["revision"] == 1
        no_reason = await tablet.post(act, data={"transition": "fail", "state": "registered", "revision": "1",
                                                 "reason": " "})
        assert no_reason.status_code in (409, 422) and "“调解未成”需要填写理由" in no_reason.text
        await login(shop, "jx_shop")  # 商户代表: sees mediations, may not mediate
        assert (await shop.get(f"/records/{record_id}")).status_code == 200
        refused = await shop.post(act, data={"transition": "start", "state": "registered", "revision": "1"})
        assert refused.status_code in (403, 409, 422) and await state_of(record_id) == "registered"
        assert (await shop.post(new_url(council.id), data=DISPUTE | {"_nonce": "x2"})).status_code == 403
        assert (await shop.get(f"/records/{record_id}/act/draft")).status_code in (200, 403)
        assert (await anonymous.get(f"/records/{record_id}")).status_code == 303  # to the login
        assert (await anonymous.get(f"/records/sign/{KIND}/a/1.1.AAAAAAAAAAAAAAAAAAAAAA")).status_code == 404
        failed = await tablet.post(act, data={"transition": "fail", "state": "registered", "revision": "1",
                                              "reason": "乙方拒绝到场协商"})
        assert failed.status_code == 303
        assert await state_of(record_id) == "failed"
        page = await tablet.get(f"/records/{record_id}")
        assert "乙方拒绝到场协商" in page.text and "拟定协议书" not in page.text
        late = await tablet.post(f"/records/{record_id}/act/draft", data=agreement(revision="1", state="failed"))
        assert late.status_code in (409, 422) and await state_of(record_id) == "failed"
        assert (await tablet.get(f"/records/{record_id}/documents/agreement/html")).status_code == 404


async def test_the_minutes_of_a_lane_tea_list_its_mediations(jx_app) -> None:
    from datetime import UTC, datetime

    council = await make_jiexiang_council()
    meeting = await Meeting.objects().create(council=council.id, kind="巷导下午茶", title="11月巷导下午茶",
                                             place="四牌楼商圈党群服务站", starts_at=datetime.now(UTC), state="closed")
    async with http_client(jx_app) as tablet:
        await login(tablet, "jx_guide")
        record_id = await register(tablet, council.id, meeting=str(meeting.id))
        assert "11月巷导下午茶" in (await tablet.get(f"/records/{record_id}")).text
        doc = await tablet.get(f"/meetings/{meeting.id}/documents/jiexiang_jiyao.html")
        assert doc.status_code == 200, doc.text
        assert "巷导下午茶纪要" in doc.text and "张建平" in doc.text and "巷导代表（签字）" in doc.text
        assert "益民街烧烤店油烟扰民" in doc.text and "老街坊烧烤店" in doc.text and "已登记" in doc.text


async def test_photos_of_a_dispute_are_shown_to_the_council_only(jx_app) -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(buffer, format="PNG")
    council = await make_jiexiang_council()
    async with http_client(jx_app) as tablet, http_client(jx_app) as anonymous:
        await login(tablet, "jx_guide")
        r = await tablet.post(new_url(council.id), data=DISPUTE,
                              files={"photos": ("IMG_0412.png", buffer.getvalue(), "image/png")})
        assert r.status_code == 303, r.text
        page = await tablet.get(r.headers["location"])
        src = re.search(r'<img src="(/records/\d+/files/[0-9a-f]{64})"', page.text).group(1)
        photo = await tablet.get(src)
        assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
        assert photo.content == buffer.getvalue()
        assert (await tablet.get(src[:-64] + "0" * 64)).status_code == 404
        assert (await anonymous.get(src)).status_code == 303
