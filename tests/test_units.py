"""The unit tree: add, rename, move (never under its own descendant), delete (never with councils or
children), councils moved between units, import from .csv/.xlsx with row errors and nothing imported
half-way, the CLI, and the admin pages — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import openpyxl
import pytest

from core import db
from core.audit.tables import AuditEvent
from core.cli import main
from core.org import unit_import, units
from core.org.tables import Council, Unit
from core.org.tree import unit_subtree
from tests.conftest import database_state, login
from tests.factories import make_user


async def tree() -> dict[str, int]:
    county = await units.add_unit(name="示范县", kind="县", parent=None, code="340100", actor="test")
    street = await units.add_unit(name="荷叶地街道", kind="街道", parent=county, code="340101", actor="test")
    community = await units.add_unit(name="翠竹园社区", kind="社区", parent=street, actor="test")
    estate = await units.add_unit(name="翠竹园小区", kind="小区", parent=community, actor="test")
    return {"county": county, "street": street, "community": community, "estate": estate}


async def test_add_rename_and_move(engine: object) -> None:
    ids = await tree()
    other = await units.add_unit(name="南七街道", kind="街道", parent=ids["county"], actor="test")
    await units.edit_unit(ids["community"], name=" 翠竹园 社区 ", kind="社区", code="C1", actor="test")
    row = await units.unit_row(ids["community"])
    assert (row["name"], row["code"]) == ("翠竹园 社区", "C1")
    await units.move_unit(ids["community"], other, actor="test")
    assert set(await unit_subtree(other)) == {other, ids["community"], ids["estate"]}
    assert await AuditEvent.count().where(AuditEvent.action == "unit.move") == 1


async def test_moving_under_its_own_descendant_is_refused(engine: object) -> None:
    ids = await tree()
    before = await database_state()
    for target in (ids["street"], ids["estate"]):
        with pytest.raises(units.UnitError, match="不能把单元移到它自己或它的下级单元之下"):
            await units.move_unit(ids["street"], target, actor="test")
    with pytest.raises(units.UnitError, match="目标上级单元不存在"):
        await units.move_unit(ids["street"], 999_999, actor="test")
    assert await database_state() == before


async def test_delete_is_refused_while_anything_hangs_on_the_unit(engine: object) -> None:
    ids = await tree()
    await Council.objects().create(name="翠竹园三方联席会议", unit=ids["estate"], practice="sanfang")
    with pytest.raises(units.UnitError, match="下级单元"):
        await units.delete_unit(ids["community"], actor="test")
    with pytest.raises(units.UnitError, match="1 个议事机构"):
        await units.delete_unit(ids["estate"], actor="test")
    await make_user("staff", unit=ids["street"])
    empty = await units.add_unit(name="空片区", kind="片区", parent=ids["street"], actor="test")
    await units.delete_unit(empty, actor="test")
    assert not await Unit.exists().where(Unit.id == empty)


async def test_bad_names_kinds_and_codes(engine: object) -> None:
    ids = await tree()
    with pytest.raises(units.UnitError, match="单元类型“省”无效"):
        await units.add_unit(name="某省", kind="省", parent=None, actor="test")
    with pytest.raises(units.UnitError, match="请填写单元名称"):
        await units.add_unit(name="  ", kind="区", parent=None, actor="test")
    with pytest.raises(units.UnitError, match="编码“340101”已被另一个单元使用"):
        await units.add_unit(name="重复", kind="街道", parent=ids["county"], code="340101", actor="test")


async def test_a_council_moves_to_another_unit(engine: object) -> None:
    ids = await tree()
    council = await Council.objects().create(name="议事会", unit=ids["estate"], practice="sanfang")
    await units.move_council(council.id, ids["street"], actor="test")
    assert (await Council.select(Council.unit).where(Council.id == council.id).first())["unit"] == ids["street"]
    with pytest.raises(units.UnitError, match="目标单元不存在"):
        await units.move_council(council.id, 999_999, actor="test")


# --- import ------------------------------------------------------------------------------------

HEADER = "编码,名称,类型,上级编码"


def csv_bytes(lines: list[str], encoding: str = "utf-8") -> bytes:
    return "\r\n".join(lines).encode(encoding)


async def test_import_builds_the_tree_parents_first(engine: object) -> None:
    ids = await tree()
    data = csv_bytes([HEADER, "E2,锦绣苑小区,小区,C9", "C9,锦绣苑社区,社区,340101", "G1,第一网格,网格,C9"], "gbk")
    plan, created = await unit_import.run_import(data, "units.csv", None, "test")
    assert created == 3 and plan.encoding == "GBK"
    by_code = {r["code"]: r for r in await Unit.select().where(Unit.code.is_in(["C9", "E2", "G1"]))}
    assert by_code["C9"]["parent"] == ids["street"]
    assert by_code["E2"]["parent"] == by_code["C9"]["id"] == by_code["G1"]["parent"]
    again, created = await unit_import.run_import(data, "units.csv", None, "test")
    assert created == 0 and all(r.status == "same" for r in again.rows)


async def test_import_with_errors_imports_nothing(engine: object) -> None:
    await tree()
    before = await database_state()
    data = csv_bytes([HEADER, "A1,甲,社区,NOPE", "A2,乙,省,340101", "A3,丙,社区,A4", "A4,丁,小区,A3",
                      "A5,戊,社区,340101", "A5,己,社区,340101", "340101,改名街道,街道,340100", "A6,,社区,"])
    plan = await unit_import.make_plan(data, "bad.csv", None)
    errors = {r.number: "；".join(r.errors) for r in plan.rows}
    assert "上级编码“NOPE”不存在" in errors[2]
    assert "单元类型“省”无效" in errors[3]
    assert "循环" in errors[4] and "循环" in errors[5]
    assert "编码“A5”与第 6 行重复" in errors[7]
    assert "已被系统中的单元“荷叶地街道”使用" in errors[8]
    assert "名称为空" in errors[9]
    assert not errors[6]
    with pytest.raises(unit_import.ImportRefused):
        await unit_import.run_import(data, "bad.csv", None, "test")
    assert await database_state() == before


async def test_import_from_xlsx_under_a_chosen_unit(engine: object) -> None:
    ids = await tree()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["荷叶地街道 单元表"])
    sheet.append(["编码", "名称", "类型", "上级编码"])
    sheet.append([3401011001, "新社区", "社区", None])
    out = io.BytesIO()
    book.save(out)
    _plan, created = await unit_import.run_import(out.getvalue(), "u.xlsx", ids["street"], "test")
    assert created == 1
    row = await Unit.select().where(Unit.code == "3401011001").first()
    assert row["parent"] == ids["street"] and row["name"] == "新社区"


def test_import_file_problems() -> None:
    assert "找不到表头" in unit_import.parse(b"a,b\n1,2", "x.csv").problems[0]
    assert "缺少必需的列：类型" in unit_import.parse("编码,名称\nA,甲".encode(), "x.csv").problems[0]
    assert "旧版 Excel" in unit_import.parse(b"\xd0\xcf\x11\xe0" + b"0" * 20, "x.xls").problems[0]
    assert "无法识别文件的编码" in unit_import.parse(bytes(range(1, 9)) * 9, "x.csv").problems[0]


def test_cli_import(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    async def count() -> int:
        eng = await db.connect(database_url)
        try:
            return await Unit.count()
        finally:
            await db.disconnect(eng)

    monkeypatch.setenv("YISHI_DATABASE_URL", database_url)
    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([HEADER, "X1,某县,县,", "X2,某街道,街道,X9"], "gbk"))
    assert main(["units", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "第 3 行：上级编码“X9”不存在" in err and "未导入任何单元" in err
    assert asyncio.run(count()) == 0
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes([HEADER, "X1,某县,县,", "X2,某街道,街道,X1"]))
    assert main(["units", "import", str(good), "--dry-run"]) == 0
    assert "将新建 2 个单元" in capsys.readouterr().out and asyncio.run(count()) == 0
    assert main(["units", "import", str(good)]) == 0
    assert "已导入 2 个单元" in capsys.readouterr().out and asyncio.run(count()) == 2


# --- pages -------------------------------------------------------------------------------------


async def test_admin_pages(client) -> None:
    ids = await tree()
    await make_user("boss", is_admin=True)
    await login(client, "boss")
    r = await client.get("/units/")
    assert r.status_code == 200 and "翠竹园小区" in r.text
    r = await client.post("/units/", data={"name": "新网格", "kind": "网格", "parent": str(ids["estate"])})
    assert r.status_code == 303
    before = await database_state()
    r = await client.post(f"/units/{ids['street']}/move", data={"parent": str(ids["estate"])})
    assert r.status_code == 422 and "不能把单元移到它自己或它的下级单元之下" in r.text
    r = await client.post(f"/units/{ids['street']}/delete")
    assert r.status_code == 422 and "下级单元" in r.text
    assert await database_state() == before
    r = await client.post(f"/units/{ids['community']}/edit", data={"name": "翠竹社区", "kind": "社区", "code": ""})
    assert r.status_code == 303 and (await units.unit_row(ids["community"]))["name"] == "翠竹社区"
    files = {"file": ("u.csv", csv_bytes([HEADER, "N1,新社区,社区,340101", "N2,新小区,小区,N1"]), "text/csv")}
    r = await client.post("/units/import", files=files, data={"under": ""})
    assert r.status_code == 200 and "确认导入" in r.text and "新建 2 个" in r.text
    assert not await Unit.exists().where(Unit.code == "N1")
    bad = {"file": ("bad.csv", csv_bytes([HEADER, "B1,甲社区,社区,NOPE", "B2,乙,省,340101"], "gbk"), "text/csv")}
    r2 = await client.post("/units/import", files=bad, data={"under": ""})
    assert r2.status_code == 422 and "确认导入" not in r2.text
    assert "上级编码“NOPE”不存在" in r2.text and "单元类型“省”无效" in r2.text and "未导入任何单元" in r2.text
    payload = r.text.split('name="payload" value="')[1].split('"')[0]
    r = await client.post("/units/import/confirm", data={"payload": payload, "filename": "u.csv", "under": ""})
    assert r.status_code == 200 and "已导入 2 个单元" in r.text
    assert await Unit.exists().where(Unit.code == "N2")


async def test_staff_may_not_edit_the_tree(client) -> None:
    ids = await tree()
    await make_user("staff", unit=ids["county"])
    await login(client, "staff")
    assert (await client.get("/units/")).status_code == 403
    assert (await client.post(f"/units/{ids['estate']}/delete")).status_code == 403
    assert await Unit.exists().where(Unit.id == ids["estate"])


async def test_every_refusal_is_an_html_page_that_changes_nothing(client) -> None:
    """Each handler's refusal is the page again with the reason, served as HTML (not as text)."""
    ids = await tree()
    await Council.objects().create(name="翠竹园三方联席会议", unit=ids["estate"], practice="sanfang")
    await make_user("boss", is_admin=True)
    await login(client, "boss")
    before = await database_state()
    refusals = [
        ("/units/", {"name": "某省", "kind": "省", "parent": ""}, None, "单元类型“省”无效"),
        (f"/units/{ids['community']}/edit", {"name": "", "kind": "社区", "code": ""}, None, "请填写单元名称"),
        (f"/units/{ids['street']}/move", {"parent": "abc"}, None, "目标上级单元不存在"),
        (f"/units/{ids['street']}/move", {"parent": str(ids["estate"])}, None,
         "不能把单元移到它自己或它的下级单元之下"),
        (f"/units/{ids['estate']}/delete", {}, None, "1 个议事机构"),
        (f"/units/{ids['estate']}/councils", {"council": "", "target": ""}, None, "请选择议事机构和目标单元"),
        ("/units/import", {"under": ""}, {"other": ("x.txt", b"x", "text/plain")}, "请选择要导入的文件"),
        ("/units/import/confirm", {"payload": "", "under": ""}, None, "没有收到要导入的文件"),
    ]
    for url, data, files, message in refusals:
        r = await client.post(url, data=data, files=files)
        assert r.status_code == 422 and message in r.text, (url, r.status_code, r.text[:200])
        assert r.headers["content-type"] == "text/html; charset=utf-8", (url, r.headers["content-type"])
    assert await database_state() == before
    r = await client.get("/units/999999")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
