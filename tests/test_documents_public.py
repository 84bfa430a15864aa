"""Documents seen from outside and per practice, on SQLite and PostgreSQL.

A document a practice plugin declares (``DocumentSpec.practices``) is listed and produced only for
meetings of councils run under that practice; anyone else gets a 404 that says why. A published
meeting's 公示 is readable by anyone at /public/meetings/<id>/gongshi (and as a PDF), with nothing
personal beyond what the paper on the wall shows, and nothing there before it is published. The
verification page works without logging in, refuses files that are not documents and too many
tries from one address.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile

import httpx
import pytest

from core.documents.service import DocumentNotFound, build_document
from core.documents.spec import DocumentSpec
from core.documents.verify import MAX_BYTES
from core.meetings.tables import Meeting
from core.minutes.export import environment_for
from core.plugins import PluginSystem
from core.ratelimit import RateLimiter
from core.settings import Settings
from tests.conftest import login
from tests.factories import make_council, make_meeting, make_user
from tests.test_documents import POLL_TITLE, make_record, save

#: People the record names — members, the proxy, residents who voted by name: not on a public 公示.
PEOPLE = ("张国庆", "黄丽娟", "吴海涛", "陈志强", "王建国", "李秀英", "赵磊")
PRACTICE_DOCS = ("wuchang_huiyin", "wuchang_jiaoban", "jiexiang_jiyao", "linjuli_yuebao")


async def council_of(meeting_id: int) -> int:
    row = await Meeting.select(Meeting.council).where(Meeting.id == meeting_id).first()
    return row["council"]


# -------------------------------------------------------------------------------------------------
# Documents per practice
# -------------------------------------------------------------------------------------------------


def test_a_spec_names_its_practices_as_a_tuple() -> None:
    def context(*_args: object) -> dict:
        return {}

    everywhere = DocumentSpec(id="x", title="回执", template="x.html", context=context)
    only = DocumentSpec(id="y", title="回音表", template="y.html", context=context, practices=["wuchang"])
    assert everywhere.applies_to("sanfang") and everywhere.applies_to("wuchang")
    assert only.practices == ("wuchang",) and only.applies_to("wuchang") and not only.applies_to("sanfang")
    with pytest.raises(ValueError, match="practices 应是做法编号的元组"):
        DocumentSpec(id="z", title="回音表", template="z.html", context=context, practices="wuchang")  # type: ignore[arg-type]


async def test_a_practice_document_is_only_for_its_own_councils(client: httpx.AsyncClient) -> None:
    sanfang = await make_record()
    wuchang = (await make_meeting(2, state="published", council=await make_council("wuchang", suffix="_w"))).id
    await make_user("admin", "管理员", is_admin=True)
    await login(client, "admin")

    listing = await client.get(f"/meetings/{sanfang}/documents")
    assert listing.status_code == 200
    assert f"/meetings/{sanfang}/documents/minutes.pdf" in listing.text
    assert f"/meetings/{sanfang}/documents/gongshi.pdf" in listing.text
    for doc in PRACTICE_DOCS:
        assert f"/documents/{doc}." not in listing.text, doc

    listing = await client.get(f"/meetings/{wuchang}/documents")
    assert listing.status_code == 200
    for href in ("minutes.pdf", "gongshi.html", "wuchang_huiyin.html", "wuchang_jiaoban.pdf"):
        assert f"/meetings/{wuchang}/documents/{href}" in listing.text, href
    for doc in ("jiexiang_jiyao", "linjuli_yuebao"):
        assert f"/documents/{doc}." not in listing.text, doc

    refused = await client.get(f"/meetings/{sanfang}/documents/wuchang_huiyin.html")
    assert refused.status_code == 404
    assert "“回音表”只用于屋场恳谈会的议事机构" in refused.text
    assert f"会议 {sanfang}“2026年11月三方联席会议”所属的议事机构采用三方联席会议" in refused.text
    assert (await client.get(f"/meetings/{sanfang}/documents/linjuli_yuebao.pdf")).status_code == 404
    opened = await client.get(f"/meetings/{wuchang}/documents/wuchang_huiyin.html")
    assert opened.status_code == 200 and "回音表" in opened.text


async def test_the_command_line_path_refuses_another_practices_document(engine, plugins: PluginSystem,
                                                                         settings: Settings) -> None:
    meeting_id = await make_record()
    with pytest.raises(DocumentNotFound) as refused:
        await build_document(plugins, settings, environment_for(plugins, settings), "jiexiang_jiyao", meeting_id,
                             "docx")
    assert "“议事纪要”只用于街巷议事会的议事机构" in str(refused.value)
    assert f"会议 {meeting_id}" in str(refused.value)


# -------------------------------------------------------------------------------------------------
# The public 公示
# -------------------------------------------------------------------------------------------------


def pdf_text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode()


async def test_the_gongshi_is_public_once_published_and_names_nobody(client: httpx.AsyncClient) -> None:
    meeting_id = await make_record(state="approved")
    page, pdf = f"/public/meetings/{meeting_id}/gongshi", f"/public/meetings/{meeting_id}/gongshi.pdf"
    for url in (page, pdf):  # anonymous, before publication: nothing there
        early = await client.get(url)
        assert early.status_code == 404 and f"会议 {meeting_id} 的公示尚未公布" in early.text, url
    for unknown in (999999, 2**40):  # none such; past PostgreSQL's integers: no meeting either, not an error
        assert (await client.get(f"/public/meetings/{unknown}/gongshi")).status_code == 404

    await Meeting.update({Meeting.state: "published"}).where(Meeting.id == meeting_id)
    public = await client.get(page)
    assert public.status_code == 200 and "/login" not in str(public.url)
    text = public.text
    for fact in ("公示", "锦绣苑小区三方联席会议", "应到 3 人，实到 3 人", POLL_TITLE, "恒信物业", "公示期",
                 "记录校验码（SHA-256）"):
        assert fact in text, fact
    for name in PEOPLE:
        assert name not in text, name
    assert 'href="/meetings/' not in text  # no link into pages that need a login
    nonce = re.search(r'<style nonce="([^"]+)"', text)
    assert nonce and f"'nonce-{nonce.group(1)}'" in public.headers["content-security-policy"]  # styled on a phone
    assert f'href="/public/meetings/{meeting_id}/gongshi.pdf"' in text and 'href="/documents/verify"' in text
    save("gongshi-public.html", public.content)  # for a person to look at on a phone-sized screen

    printed = await client.get(pdf)
    assert printed.status_code == 200 and printed.content.startswith(b"%PDF")
    assert "attachment" in printed.headers["content-disposition"]
    save("gongshi-public.pdf", printed.content)
    if shutil.which("pdftotext"):
        words = pdf_text(printed.content)
        assert "公示" in words and "恒信物业" in words
        for name in PEOPLE:
            assert name not in words, name
    checked = await client.post("/documents/verify", files={"file": ("公示.pdf", printed.content)})
    assert checked.status_code == 200 and f"一致：文件与会议 {meeting_id}" in checked.text
    assert f'href="/public/meetings/{meeting_id}/gongshi"' in checked.text

    await login(client, "chair")  # staff see the public link beside the meeting's documents
    listing = await client.get(f"/meetings/{meeting_id}/documents")
    assert f'href="/public/meetings/{meeting_id}/gongshi"' in listing.text


async def test_public_pdfs_are_rate_limited_by_address(client: httpx.AsyncClient) -> None:
    meeting_id = await make_record()
    client.app.state["document_limits"] = {  # type: ignore[attr-defined]
        "verify": RateLimiter(limit=30, window_seconds=600), "pdf": RateLimiter(limit=1, window_seconds=600)}
    assert (await client.get(f"/public/meetings/{meeting_id}/gongshi.pdf")).status_code == 200
    again = await client.get(f"/public/meetings/{meeting_id}/gongshi.pdf")
    assert again.status_code == 429 and "请求次数过多，请稍后再试" in again.text
    assert (await client.get(f"/public/meetings/{meeting_id}/gongshi")).status_code == 200  # the page still opens


# -------------------------------------------------------------------------------------------------
# Verification without logging in
# -------------------------------------------------------------------------------------------------


def zip_of(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, "<x/>")
    return buffer.getvalue()


async def test_anyone_may_verify_but_only_documents(client: httpx.AsyncClient) -> None:
    form = await client.get("/documents/verify")
    assert form.status_code == 200 and 'type="file"' in form.text and "无需登录" in form.text
    photo = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    for name, data in (("照片.png", photo), ("表格.xlsx", zip_of("xl/workbook.xml")), ("坏.docx", b"PK\x03\x04broken")):
        refused = await client.post("/documents/verify", files={"file": (name, data)})
        assert refused.status_code == 422, name
        assert "这不是 PDF、Word（.docx）或网页文件，无法核验" in refused.text, name
    plain = await client.post("/documents/verify", files={"file": ("说明.html", "<p>没有校验码</p>".encode())})
    assert plain.status_code == 200 and "文件中没有记录校验码" in plain.text
    forged = f'<meta name="keywords" content="yishi-record:{2**40}:{"a" * 64}">'.encode()
    nowhere = await client.post("/documents/verify", files={"file": ("伪造.html", forged)})
    assert nowhere.status_code == 200 and f"文件指向会议 {2**40}，但该会议不存在" in nowhere.text
    for size in (MAX_BYTES, MAX_BYTES + 200_000):  # just over the limit, and past what the server reads at all
        too_big = await client.post("/documents/verify", files={"file": ("大.pdf", b"%PDF-1.7\n" + b"0" * size)})
        assert too_big.status_code == 413 and "文件太大（超过 20 MB）" in too_big.text, size


async def test_verification_is_rate_limited_by_address(client: httpx.AsyncClient) -> None:
    for _ in range(30):
        r = await client.post("/documents/verify", files={"file": ("空.pdf", b"")})
        assert r.status_code == 422
    blocked = await client.post("/documents/verify", files={"file": ("空.pdf", b"")})
    assert blocked.status_code == 429 and "核验次数过多，请 10 分钟后再试" in blocked.text


# -------------------------------------------------------------------------------------------------
# The ledgers from the council's topics
# -------------------------------------------------------------------------------------------------


async def test_the_council_topics_page_links_the_ledgers(client: httpx.AsyncClient) -> None:
    council_id = await council_of(await make_record())
    await login(client, "chair")
    topics = await client.get(f"/councils/{council_id}/topics")
    assert topics.status_code == 200
    assert f'href="/councils/{council_id}/ledger"' in topics.text and "议题与交办台账" in topics.text
    ledger = await client.get(f"/councils/{council_id}/ledger")
    assert ledger.status_code == 200
