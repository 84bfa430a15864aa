"""Documents and ledgers on the site, on SQLite and PostgreSQL: the chair downloads the minutes as
Word, opens the 公示, uploads a file to the verification page, and downloads the 台账 of topics and
tasks as Excel and CSV with filters; what may not be produced yet is refused with the reason."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import httpx
import pytest
from openpyxl import load_workbook

from core.documents.docx import docx_text
from core.meetings.tables import ItemNote, Meeting
from core.topics.tables import Department, Task, Topic
from tests.conftest import login
from tests.test_documents import NOTE, POLL_TITLE, make_record


async def council_of(meeting_id: int) -> int:
    row = await Meeting.select(Meeting.council).where(Meeting.id == meeting_id).first()
    return row["council"]


async def test_minutes_word_gongshi_and_verification_on_the_site(client: httpx.AsyncClient) -> None:
    meeting_id = await make_record()
    await login(client, "chair")
    page = await client.get(f"/meetings/{meeting_id}/minutes")
    assert page.status_code == 200 and POLL_TITLE in page.text and "记录校验码（SHA-256）" in page.text
    assert f'href="/meetings/{meeting_id}/minutes.docx"' in page.text

    word = await client.get(f"/meetings/{meeting_id}/minutes.docx")
    assert word.status_code == 200 and "attachment" in word.headers["content-disposition"]
    assert NOTE in docx_text(word.content) and "恒信物业" in docx_text(word.content)

    listing = await client.get(f"/meetings/{meeting_id}/documents")
    assert listing.status_code == 200
    for href in ("minutes.pdf", "minutes.docx", "gongshi.html", "gongshi.pdf"):
        assert f"/meetings/{meeting_id}/documents/{href}" in listing.text

    gongshi = await client.get(f"/meetings/{meeting_id}/documents/gongshi.html")
    assert gongshi.status_code == 200 and "公示期" in gongshi.text and "草稿" not in gongshi.text
    pdf = await client.get(f"/meetings/{meeting_id}/documents/gongshi.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert (await client.get(f"/meetings/{meeting_id}/documents/nosuch.pdf")).status_code == 404
    assert (await client.get(f"/meetings/{meeting_id}/documents/gongshi.txt")).status_code == 404

    form = await client.get("/documents/verify")
    assert form.status_code == 200 and 'type="file"' in form.text
    ok = await client.post("/documents/verify", files={"file": ("纪要.docx", word.content)})
    assert ok.status_code == 200 and f"一致：文件与会议 {meeting_id}" in ok.text
    await ItemNote.update({ItemNote.body: "会后改动的记录"}).where(ItemNote.body == NOTE)
    changed = await client.post("/documents/verify", files={"file": ("公示.pdf", pdf.content)})
    assert f"不一致：会议 {meeting_id}" in changed.text
    empty = await client.post("/documents/verify", files={"file": ("空.pdf", b"")})
    assert empty.status_code == 422 and "请选择要核验的文件" in empty.text


async def test_word_and_gongshi_wait_for_approval(client: httpx.AsyncClient) -> None:
    meeting_id = await make_record(state="closed")
    await login(client, "chair")
    page = await client.get(f"/meetings/{meeting_id}/minutes")
    assert page.status_code == 200 and "草稿：纪要尚未审定" in page.text and "记录校验码" not in page.text
    for url in (f"/meetings/{meeting_id}/minutes.docx", f"/meetings/{meeting_id}/documents/gongshi.pdf"):
        refused = await client.get(url)
        assert refused.status_code == 409, url
        assert "纪要尚未审定" in refused.text and "2026年11月三方联席会议" in refused.text
    preview = await client.get(f"/meetings/{meeting_id}/documents/gongshi.html")
    assert preview.status_code == 200 and "草稿：纪要尚未审定，不得张贴" in preview.text


async def add_second_task(council_id: int) -> None:
    """A second unit and topic, raised and assigned in another category."""
    unit = await Department.objects().create(council=council_id, name="社区居委会", kind="社区")
    topic = await Topic.objects().create(council=council_id, title="楼道堆物清理", category="环境", state="assigned")
    await Task.objects().create(topic=topic.id, department=unit.id, requirement="两周内清理完毕",
                                deadline=date(2026, 12, 1), state="done")


async def test_ledgers_as_excel_and_csv_with_filters(client: httpx.AsyncClient) -> None:
    meeting_id = await make_record()
    council_id = await council_of(meeting_id)
    await add_second_task(council_id)
    await login(client, "chair")
    page = await client.get(f"/councils/{council_id}/ledger", params={"unit": "恒信物业"})
    assert page.status_code == 200
    assert f"/councils/{council_id}/ledger/tasks.xlsx?unit=" in page.text

    xlsx = await client.get(f"/councils/{council_id}/ledger/tasks.xlsx", params={"unit": "恒信物业"})
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:7] == ("编号", "议事机构", "议题", "类别", "责任单位", "办理要求", "办结期限")
    assert [(r[2], r[4], r[6]) for r in rows[1:]] == [("充电棚选址公示", "恒信物业", "2026-12-15")]

    every = await client.get(f"/councils/{council_id}/ledger/tasks.csv")
    text = every.content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert [r[4] for r in table[1:]] == ["社区居委会", "恒信物业"]  # by deadline
    done = list(csv.reader(io.StringIO((await client.get(
        f"/councils/{council_id}/ledger/tasks.csv", params={"state": "done"})).content.decode("utf-8-sig"))))
    assert [r[2] for r in done[1:]] == ["楼道堆物清理"]

    topics = list(csv.reader(io.StringIO((await client.get(
        f"/councils/{council_id}/ledger/topics.csv", params={"category": "停车"})).content.decode("utf-8-sig"))))
    assert [(r[2], r[3], r[4], r[8]) for r in topics[1:]] == [
        ("充电棚选址公示", "停车", "已交办", "2026年11月三方联席会议")]
    today = date.today().isoformat()
    in_period = await client.get(f"/councils/{council_id}/ledger/topics.csv", params={"from": today, "to": today})
    assert len(list(csv.reader(io.StringIO(in_period.content.decode("utf-8-sig"))))) == 3
    before = await client.get(f"/councils/{council_id}/ledger/topics.csv", params={"to": "2020-01-01"})
    assert len(list(csv.reader(io.StringIO(before.content.decode("utf-8-sig"))))) == 1  # the header only

    bad = await client.get(f"/councils/{council_id}/ledger", params={"from": "2026-13-01"})
    assert bad.status_code == 422 and "不是有效日期" in bad.text
    backwards = await client.get(f"/councils/{council_id}/ledger/tasks.xlsx", params={"from": "2026-12-01",
                                                                                      "to": "2026-11-01"})
    assert backwards.status_code == 400 and "早于起始日期" in backwards.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_ledger_export(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from core import db
    from core.cli import main

    monkeypatch.setenv("YISHI_DATABASE_URL", database_url)
    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path / "data"))

    async def seed() -> int:
        eng = await db.connect(database_url)
        try:
            meeting_id = await make_record()
            council_id = await council_of(meeting_id)
            await add_second_task(council_id)
            return council_id
        finally:
            await db.disconnect(eng)

    council_id = asyncio.run(seed())
    out = tmp_path / "ledger" / "tasks.xlsx"
    assert main(["ledger", "export", "tasks", "--council", str(council_id), "--category", "环境",
                 "--out", str(out)]) == 0
    assert "已导出 1 行" in capsys.readouterr().out
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    assert [(r[2], r[7]) for r in rows[1:]] == [("楼道堆物清理", "已办结")]
    bad = tmp_path / "ledger" / "bad.csv"
    assert main(["ledger", "export", "topics", "--from", "2026-02-30", "--format", "csv", "--out", str(bad)]) == 2
    assert "不是有效日期" in capsys.readouterr().err and not bad.exists()
    assert main(["ledger", "export", "topics", "--council", "99999", "--format", "csv", "--out", str(bad)]) == 2
    assert "议事机构 99999 不存在" in capsys.readouterr().err and not bad.exists()
