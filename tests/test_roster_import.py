"""Roster import from .xlsx and .csv (core.residents.importer, import_service, import_controllers):
the encodings Excel writes, the row-by-row report, all-or-nothing, re-imports, the CLI, and the web
flow upload → preview → confirm → progress — on SQLite and PostgreSQL.

The estate is 锦绣苑小区 (tests.factories.make_council); its chair may manage the roster.
"""

from __future__ import annotations

import asyncio
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from core import db
from core.audit import verify as audit_verify
from core.audit.tables import AuditEvent
from core.cli import main
from core.org.tables import Council
from core.residents import import_service, importer
from core.residents.import_controllers import jobs_of
from core.residents.tables import RosterEntry
from tests.conftest import database_state, login
from tests.factories import make_council

HX = {"HX-Request": "true"}
HEADER = "姓名,身份,楼栋,单元,房号,户号,手机后四位,专有部分面积（㎡）"
GOOD = [
    "朱秀英,业主,3栋,2,1502,3-2-1502,4460,126.4",
    "张桂芳,业主,3栋,1,301,3-1-301,3721,89.50",
    "马晓东,租户,3栋,1,801,,7305,",
    "欧阳建国,房东,6栋,1,402,6-1-402,6075,143.6",
]


def csv_bytes(lines: list[str], encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


async def roster() -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in await RosterEntry.select().order_by(RosterEntry.id)}


async def import_events() -> list[dict[str, Any]]:
    return await AuditEvent.select().where(AuditEvent.action == "roster.imported").order_by(AuditEvent.seq)


# -------------------------------------------------------------------------------------------------
# Reading files (pure)
# -------------------------------------------------------------------------------------------------


def test_errors_name_the_sheet_row_and_column() -> None:
    lines = ["锦绣苑小区业主名册（2026年）", HEADER, *GOOD,
             "李秀兰,业主,6栋,2,601,,5566,",            # row 7: owner without area
             "王强,业主,6栋,2,602,,12345,-30",          # row 8: negative area, phone of 5 digits
             "赵敏,业主,6栋,2,603,,,八十",               # row 9: area not a number
             "朱秀英,业主,3栋,2,1502,,,126.4",          # row 10: same as row 3
             ",租户,6栋,2,604,,,",                        # row 11: no name
             "孙丽,学生,6栋,2,605,,,"]                    # row 12: unknown role
    parsed = importer.parse(csv_bytes(lines), "名册.csv", 1)
    assert parsed.problems == [] and not parsed.ok
    errors = {r.number: r.errors for r in parsed.error_rows}
    assert set(errors) == {7, 8, 9, 10, 11, 12}
    assert errors[7] == {"area": "业主须填写专有部分面积（按面积表决时要用）。"}
    assert errors[8]["area"] == "面积不能为负数。" and "4 位数字" in errors[8]["phone_last4"]
    assert "大于 0 的数字" in errors[9]["area"]
    assert errors[10] == {"name": "与第 3 行重复：同一楼栋、单元、房号和姓名只能出现一次。"}
    assert errors[11] == {"name": "请填写姓名。"}
    assert "业主、租户、房东 或 居民" in errors[12]["kind"]
    assert [n for n, _e in parsed.entries] == [3, 4, 5, 6]  # the good rows are still checked and shown


def test_header_by_english_names_unknown_columns_and_missing_required() -> None:
    parsed = importer.parse(csv_bytes(["No.,name,building,room,area,phone,role,备注",
                                       "1,Li Lei,1,101,80,1234,owner,x"]), "a.csv", 1)
    assert parsed.ok and parsed.notes == ["以下列不会导入：No.、备注。"]
    assert parsed.entries[0][1].kind == "owner" and parsed.entries[0][1].area == Decimal("80.00")
    missing = importer.parse(csv_bytes(["姓名,楼栋,单元", "朱秀英,3栋,2"]), "a.csv", 1)
    assert missing.problems == ["缺少必需的列：房号（表头在第 1 行）。"]
    twice = importer.parse(csv_bytes(["姓名,房号,面积,专有部分面积", "朱秀英,1502,1,1"]), "a.csv", 1)
    assert twice.problems == ["“面积”和“专有部分面积”是同一列（面积），请只保留一列。"]


@pytest.mark.parametrize("data, expected", [
    (b"", "文件是空的。"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "这是旧版 Excel（.xls）文件"),
    (b"PK\x03\x04not really a zip", "无法读取这个 Excel 文件"),
    ("name,room\ncafé,1\n".encode("latin-1"), "无法识别文件的编码"),
    (bytes(range(256)) * 4, "无法识别文件的编码"),
    (b"a,b\n1,2\n", "找不到表头"),
])
def test_unreadable_files_get_a_clear_message(data: bytes, expected: str) -> None:
    parsed = importer.parse(data, "upload.csv", 1)
    assert not parsed.ok and len(parsed.problems) == 1 and expected in parsed.problems[0], parsed.problems


def test_size_and_row_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    rows = [HEADER, *GOOD]  # four data rows
    assert importer.parse(csv_bytes(rows), "a.csv", 1).problems == ["文件超过 3 行，请分成几个文件导入。"]
    monkeypatch.setattr(importer, "MAX_BYTES", 50)
    assert importer.parse(csv_bytes(rows), "a.csv", 1).problems == ["文件超过 0 MB，请分成几个文件导入。"]


# -------------------------------------------------------------------------------------------------
# Importing (SQLite and PostgreSQL)
# -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding, label", [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 (BOM)"), ("gbk", "GBK")])
async def test_csv_in_the_encodings_excel_writes(engine: object, encoding: str, label: str) -> None:
    council = await make_council()
    data = csv_bytes([HEADER, *GOOD], encoding)
    if encoding == "gbk":
        assert data.decode("gbk") and b"\xd6\xec\xd0\xe3\xd3\xa2" in data  # 朱秀英 in real GBK bytes
    parsed = importer.parse(data, "名册.csv", council.unit)
    assert parsed.ok and parsed.encoding == label
    result = await import_service.run_import(parsed, council.unit, "user:1")
    assert (result.added, result.updated, result.unchanged) == (4, 0, 0)
    rows = await roster()
    assert list(rows) == ["朱秀英", "张桂芳", "马晓东", "欧阳建国"]
    zhu = rows["朱秀英"]
    assert (zhu["building"], zhu["unit_no"], zhu["room"], zhu["household"], zhu["phone_last4"], zhu["kind"]) == (
        "3栋", "2", "1502", "3-2-1502", "4460", "owner")
    assert Decimal(str(zhu["area"])) == Decimal("126.40") and rows["马晓东"]["area"] is None
    assert rows["欧阳建国"]["kind"] == "landlord" and all(r["unit"] == council.unit for r in rows.values())
    [event] = await import_events()
    assert event["entity"] == f"unit:{council.unit}" and '"added":4' in event["after"]
    assert (await audit_verify()).ok


async def test_xlsx_with_a_title_row_numbers_and_lost_zeros(engine: object) -> None:
    council = await make_council()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["锦绣苑小区业主名册"])
    sheet.append(["序号", "姓名", "楼栋", "单元", "房号", "面积", "手机尾号", "类别"])
    sheet.append([1, "朱秀英", "3栋", 2, 1502, 126.4, 4460, "业主"])
    sheet.append([2, "张桂芳", "3栋", 1, 301, 89.5, 123, None])       # phone 0123 stored as a number; area → owner
    sheet.append([None] * 8)                                              # a blank row is skipped
    sheet.append([3, "马晓东", "3栋", 1, 801, -20, None, "业主"])        # row 6: negative area
    book.create_sheet("说明")
    buffer = io.BytesIO()
    book.save(buffer)
    parsed = importer.parse(buffer.getvalue(), "名册.xlsx", council.unit)
    assert parsed.kind == "xlsx"
    assert {r.number: r.errors for r in parsed.error_rows} == {6: {"area": "面积不能为负数。"}}
    assert "以下列不会导入：序号。" in parsed.notes and any("只读取了第一个：“Sheet”" in n for n in parsed.notes)
    zhu, zhang = (e for _n, e in parsed.entries)
    assert (zhu.room, zhu.unit_no, zhu.area, zhu.phone_last4) == ("1502", "2", Decimal("126.40"), "4460")
    assert (zhang.phone_last4, zhang.kind, zhang.area) == ("0123", "owner", Decimal("89.50"))
    with pytest.raises(import_service.ImportRefused):
        await import_service.run_import(parsed, council.unit, "user:1")
    assert await RosterEntry.count() == 0


async def test_reimport_updates_changed_rows_and_changes_nothing_the_second_time(engine: object) -> None:
    council = await make_council()
    await import_service.run_import(importer.parse(csv_bytes([HEADER, *GOOD]), "a.csv", council.unit),
                                    council.unit, "user:1")
    before = await roster()
    changed = [HEADER, "朱秀英,业主,3栋,2,1502,3-2-1502,9999,130", *GOOD[1:], "宋小军,租户,6栋,2,601,,,"]
    parsed = importer.parse(csv_bytes(changed), "b.csv", council.unit)
    plan = await import_service.make_plan(parsed, council.unit)
    assert plan.counts == {"rows": 5, "new": 1, "updated": 1, "unchanged": 3, "errors": 0}
    shown = import_service.preview(plan)
    assert shown["rows"][0]["changes"] == ["手机后四位：4460 → 9999", "面积：126.4 → 130"]
    result = await import_service.run_import(parsed, council.unit, "user:1")
    assert (result.added, result.updated, result.unchanged) == (1, 1, 3)
    after = await roster()
    assert after["朱秀英"]["id"] == before["朱秀英"]["id"] and after["朱秀英"]["phone_last4"] == "9999"
    assert after["朱秀英"]["token_generation"] == before["朱秀英"]["token_generation"]  # printed slips still work
    again = await import_service.run_import(parsed, council.unit, "user:1")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 5)
    assert len(await import_events()) == 2  # the no-op import records nothing
    sparse = importer.parse(csv_bytes(["姓名,楼栋,单元,房号,户号", "朱秀英,3栋,2,1502,", "张桂芳,3栋,1,301,新户号"]),
                            "c.csv", council.unit)
    plan = await import_service.make_plan(sparse, council.unit)  # a missing column or a blank cell clears nothing
    assert plan.counts["updated"] == 1 and plan.updates[0][2] == {"household": "3-1-301"}
    await import_service.run_import(sparse, council.unit, "user:1")
    final = await roster()
    assert final["朱秀英"]["household"] == "3-2-1502" and final["朱秀英"]["phone_last4"] == "9999"
    assert final["张桂芳"]["household"] == "新户号" and final["张桂芳"]["kind"] == "owner"


async def test_large_file_in_chunks_with_progress(engine: object, monkeypatch: pytest.MonkeyPatch) -> None:
    council = await make_council()
    monkeypatch.setattr(import_service, "CHUNK", 100)
    lines = [HEADER] + [f"居民{i},租户,{i % 7 + 1}栋,{i % 3 + 1},{1000 + i},,," for i in range(250)]
    seen: list[tuple[int, int]] = []

    async def progress(done: int, total: int) -> None:
        seen.append((done, total))

    parsed = importer.parse(csv_bytes(lines), "big.csv", council.unit)
    result = await import_service.run_import(parsed, council.unit, "user:1", on_progress=progress)
    assert result.added == 250 and await RosterEntry.count() == 250
    assert seen == [(0, 250), (100, 250), (200, 250), (250, 250)]


# -------------------------------------------------------------------------------------------------
# CLI
# -------------------------------------------------------------------------------------------------


def test_cli_dry_run_errors_and_import(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    async def setup() -> int:
        eng = await db.connect(database_url)
        try:
            return (await make_council()).unit
        finally:
            await db.disconnect(eng)

    async def count() -> int:
        eng = await db.connect(database_url)
        try:
            return await RosterEntry.count()
        finally:
            await db.disconnect(eng)

    unit = asyncio.run(setup())
    monkeypatch.setenv("YISHI_DATABASE_URL", database_url)
    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([HEADER, *GOOD, "王强,业主,6栋,2,602,,12345,-30"], "gbk"))
    assert main(["roster", "import", str(bad), "--unit", str(unit)]) == 1
    err = capsys.readouterr().err
    assert "第 6 行 面积“-30”：面积不能为负数。" in err and "第 6 行 手机后四位“12345”" in err
    assert "没有导入任何记录。" in err and asyncio.run(count()) == 0
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([HEADER, *GOOD]))
    assert main(["roster", "import", str(good), "--unit", str(unit), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "共 4 行：新增 4，更新 0，不变 0，有错误 0 行。" in out and "--dry-run" in out
    assert asyncio.run(count()) == 0
    assert main(["roster", "import", str(good), "--unit", str(unit)]) == 0
    assert "导入完成：新增 4 条" in capsys.readouterr().out and asyncio.run(count()) == 4
    assert main(["roster", "import", str(good), "--unit", "999999"]) == 2
    assert "没有编号为 999999 的单位" in capsys.readouterr().err


# -------------------------------------------------------------------------------------------------
# Web: upload → preview → confirm → progress
# -------------------------------------------------------------------------------------------------


async def _upload(client: httpx.AsyncClient, council: Council, data: bytes, name: str = "名册.csv",
                  headers: dict[str, str] | None = None) -> httpx.Response:
    return await client.post(f"/councils/{council.id}/roster/import", files={"file": (name, data, "text/csv")},
                             headers=headers or {})


async def test_web_preview_then_confirm(client: httpx.AsyncClient) -> None:
    council = await make_council()
    await login(client, "chair")
    page = await client.get(f"/councils/{council.id}/roster")
    assert f'href="/councils/{council.id}/roster/import"' in page.text
    form = await client.get(f"/councils/{council.id}/roster/import")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text and "csrf" in form.text
    r = await _upload(client, council, csv_bytes([HEADER, *GOOD], "gbk"))
    assert r.status_code == 303
    preview_url = r.headers["location"]
    preview = await client.get(preview_url)
    assert preview.status_code == 200
    assert '<strong id="count-new">4</strong>' in preview.text and "文件编码：GBK" in preview.text
    assert "欧阳建国" in preview.text and "确认导入" in preview.text
    assert await RosterEntry.count() == 0  # a preview changes nothing
    r = await client.post(preview_url)
    assert r.status_code == 303 and r.headers["location"] == preview_url
    job = jobs_of(client.app).get(preview_url.rsplit("/", 1)[1])  # type: ignore[attr-defined]
    assert job is not None and job.task is not None
    await job.task
    again = await client.post(preview_url)  # a retried confirm starts nothing new
    assert again.status_code == 303
    done = await client.get(preview_url + "/progress", headers=HX)
    assert "导入完成：新增 4 条，更新 0 条，0 条没有变化。" in done.text and "hx-trigger" not in done.text
    assert await RosterEntry.count() == 4 and len(await import_events()) == 1
    listing = await client.get(f"/councils/{council.id}/roster")
    assert "欧阳建国" in listing.text


async def test_web_file_with_one_bad_row_imports_nothing(client: httpx.AsyncClient) -> None:
    council = await make_council()
    await login(client, "chair")
    state = await database_state()
    r = await _upload(client, council, csv_bytes([HEADER, *GOOD[:2], "王强,业主,6栋,2,602,,12345,-30", GOOD[2]]))
    preview_url = r.headers["location"]
    page = await client.get(preview_url)
    assert "文件中有 1 行有错误，没有导入任何记录" in page.text
    assert 'id="row-4"' in page.text and "面积：面积不能为负数。" in page.text and "手机后四位：" in page.text
    assert 'action="' + preview_url + '"' not in page.text  # no confirm button, only a new upload
    refused = await client.post(preview_url, headers=HX)
    assert refused.status_code == 422 and "没有导入任何记录" in refused.text
    assert await database_state() == state


async def test_web_file_errors_beside_the_field_with_htmx(client: httpx.AsyncClient) -> None:
    council = await make_council()
    await login(client, "chair")
    r = await _upload(client, council, b"\xd0\xcf\x11\xe0" + b"\0" * 64, "old.xls", headers=HX)
    assert r.status_code == 422 and 'id="err-file"' in r.text and "旧版 Excel（.xls）" in r.text
    r = await client.post(f"/councils/{council.id}/roster/import", data={"unit": ""}, headers=HX)
    assert r.status_code == 422 and "请选择要导入的文件" in r.text
    ok = await _upload(client, council, csv_bytes([HEADER, *GOOD]), headers=HX)
    assert ok.status_code == 200 and ok.headers["hx-push-url"].startswith(f"/councils/{council.id}/roster/import/")
    assert '<div id="roster-import">' in ok.text and "<html" not in ok.text


async def test_progress_shows_rows_done_while_running(client: httpx.AsyncClient,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    council = await make_council()
    await login(client, "chair")
    monkeypatch.setattr(import_service, "CHUNK", 2)
    gate = asyncio.Event()
    reached = asyncio.Event()
    advance = import_service.ImportJob.advance

    async def held(self: import_service.ImportJob, done: int, total: int) -> None:
        await advance(self, done, total)
        if done == 2:  # hold the import after its first chunk, inside its transaction
            reached.set()
            await gate.wait()

    monkeypatch.setattr(import_service.ImportJob, "advance", held)
    r = await _upload(client, council, csv_bytes([HEADER, *GOOD]))
    url = r.headers["location"]
    started = await client.post(url, headers=HX)
    assert started.status_code == 200 and started.headers["hx-push-url"] == url
    await reached.wait()
    running = await client.get(url + "/progress", headers=HX)
    assert "已处理 2 / 4 行" in running.text and 'hx-trigger="every 1s"' in running.text
    page = await client.get(url)  # a reload shows the true state, with a refresh for browsers without JS
    assert "已处理 2 / 4 行" in page.text and 'http-equiv="refresh"' in page.text
    gate.set()
    await jobs_of(client.app).get(url.rsplit("/", 1)[1]).task  # type: ignore[attr-defined, union-attr]
    done = await client.get(url + "/progress", headers=HX)
    assert "导入完成：新增 4 条" in done.text and "hx-trigger" not in done.text


async def test_import_needs_roster_permission_and_another_councils_id_is_not_found(
        client: httpx.AsyncClient) -> None:
    council = await make_council()
    other = await make_council(suffix="b")
    r = await client.get(f"/councils/{council.id}/roster/import")
    assert r.status_code in (302, 303)  # anonymous: to the login page
    await login(client, "chair")
    r = await _upload(client, council, csv_bytes([HEADER, *GOOD]))
    url = r.headers["location"]
    import_id = url.rsplit("/", 1)[1]
    elsewhere = await client.get(f"/councils/{other.id}/roster/import/{import_id}")
    assert elsewhere.status_code in (403, 404)
    assert (await client.get(f"/councils/{council.id}/roster/import/{'0' * 32}")).status_code == 404
    template = await client.get(f"/councils/{council.id}/roster/import/template.csv")
    assert template.status_code == 200 and template.content.startswith(b"\xef\xbb\xbf")
    assert importer.parse(template.content, "模板.csv", council.unit).ok
