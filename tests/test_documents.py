"""Documents from the record (issue #7), on SQLite and PostgreSQL: the minutes in HTML, PDF and Word
say everything the record holds; a published document carries the record's SHA-256 and verifies
against it until the record changes; 公示 is an A4 notice of the decisions; a plugin adds its own
document through ``yishi_documents``; bad input is refused with a Chinese message and no file.

A meeting is built through the ORM and the voting service: three members (one represented by a
proxy), a hand count, notes, an area-weighted poll under 民法典 第二百七十八条, and a task for the
property company. The PDF is read back with pdftotext/pypdf, the fonts with pdffonts, the .docx
with python-docx.
"""

from __future__ import annotations

import io
import re
import subprocess
import types
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader

from core import PluginMeta, hookimpl
from core.cli import main
from core.documents.docx import docx_text
from core.documents.service import DocumentError, DocumentNotFound, build_document, document_specs
from core.documents.spec import DocumentSpec
from core.documents.verify import verify_document
from core.errors import PluginError
from core.meetings.tables import AgendaItem, Attendance, HandCount, ItemNote, Meeting
from core.minutes.export import environment_for, export_document
from core.org.tables import Council, Person
from core.plugins import PluginSystem, load_plugins
from core.residents.tables import RosterEntry
from core.settings import PROJECT_ROOT, Settings
from core.topics.tables import Department, Task, Topic
from core.voting import polls
from tests.factories import make_meeting

ACTOR = "user:1"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
ROSTER = [  # room, name, area (m²): 王建国 owns two flats and votes once, with both areas
    ("101", "王建国", "89.50"), ("102", "王建国", "120.00"), ("201", "李秀英", "95.25"), ("202", "赵磊", "110.00")]
NOTE = "物业同意在6栋北侧先建40个充电位，收费0.8元/度。"
POLL_TITLE = "电动自行车集中充电棚选址方案"


async def make_record(state: str = "published") -> int:
    """A held meeting with everything the minutes state; its id."""
    meeting = await make_meeting(3, state=state)
    council = await Council.objects().get(Council.id == meeting.council)
    await Meeting.update({Meeting.closed_at: datetime(2026, 11, 20, 13, 0, tzinfo=UTC)}).where(
        Meeting.id == meeting.id)
    items = await AgendaItem.select(AgendaItem.id).where(AgendaItem.meeting == meeting.id).order_by(
        AgendaItem.position)
    first, second = items[0]["id"], items[1]["id"]
    people = {p["name"]: p["id"] for p in await Person.select(Person.id, Person.name)}
    for name, status, proxy in (("张国庆", "present", ""), ("黄丽娟", "present", ""), ("吴海涛", "proxy", "陈志强")):
        await Attendance.objects().create(meeting=meeting.id, person=people[name], name=name, status=status,
                                          proxy_name=proxy)
    await ItemNote.objects().create(item=first, body=NOTE)
    await HandCount.objects().create(item=second, yes=2, no=1, abstain=0)
    entries = {}
    for room, name, area in ROSTER:
        row = await RosterEntry.objects().create(unit=council.unit, name=name, building="6栋", unit_no="1", room=room,
                                                 kind="owner", household=f"6-1-{room}", phone_last4="",
                                                 area=Decimal(area))
        entries.setdefault(name, row.id)
    poll_id = await polls.create_poll(
        council_id=council.id, item_id=first, title=POLL_TITLE, method="yesno", options=[],
        rule_id="civil_code_278", visibility="named",
        electorate={"kind": "roster", "unit_id": council.unit, "per": "person", "weight": "area"},
        closes_at=datetime.now(UTC) + timedelta(days=1), actor=ACTOR)
    await polls.open_poll(poll_id, actor=ACTOR)
    for name, choice in (("王建国", "赞成"), ("李秀英", "反对"), ("赵磊", "赞成")):
        await polls.cast(poll_id, f"entry:{entries[name]}", [choice], actor=ACTOR)
    await polls.close_poll(poll_id, actor=ACTOR)
    unit = await Department.objects().create(council=council.id, name="恒信物业", kind="物业")
    topic = await Topic.objects().create(council=council.id, title="充电棚选址公示", category="停车",
                                         state="assigned", agenda_item=first)
    await Task.objects().create(topic=topic.id, department=unit.id, requirement="12月15日前完成选址公示并施工",
                                deadline=date(2026, 12, 15), state="assigned")
    return meeting.id


async def produce(plugins: PluginSystem, settings: Settings, meeting_id: int, fmt: str,
                  doc: str = "minutes") -> bytes:
    built = await build_document(plugins, settings, environment_for(plugins, settings), doc, meeting_id, fmt,
                                 base_url=str(settings.data_dir))
    return built.data


def pdf_text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode()


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def save(name: str, data: bytes) -> None:
    """Keep what was produced for a person to look at (test-artifacts/, PNG pages via pdftoppm)."""
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_bytes(data)


RECORD_FACTS = [
    "锦绣苑小区三方联席会议", "2026年11月三方联席会议", "社区会议室", "张国庆", "黄丽娟",
    "应到3人，实到3人", "（含委托1人）", "吴海涛委托陈志强", "符合法定人数",
    NOTE, POLL_TITLE, "民法典", "第二百七十八条", "414.75m²", "人数", "面积", "通过",
    "赞成2人，反对1人，弃权0人", "会议决定", "交办事项", "恒信物业", "2026-12-15", "12月15日前完成选址公示并施工",
    "主持人（签字）", "记录员（签字）",
]


async def test_minutes_in_three_formats_state_the_whole_record(engine, plugins: PluginSystem,
                                                               settings: Settings) -> None:
    meeting_id = await make_record()
    pdf = await produce(plugins, settings, meeting_id, "pdf")
    docx = await produce(plugins, settings, meeting_id, "docx")
    html = (await produce(plugins, settings, meeting_id, "html")).decode()
    save("documents-minutes.pdf", pdf)
    save("documents-minutes.docx", docx)
    texts = {"pdf": squash(pdf_text(pdf)), "docx": squash(docx_text(docx)),
             "html": squash(re.sub(r"<[^>]+>", "", html))}
    for fmt, text in texts.items():
        missing = [fact for fact in RECORD_FACTS if squash(fact) not in text]
        assert not missing, f"{fmt} lacks {missing}"
        assert "草稿" not in text, fmt
    pages = PdfReader(io.BytesIO(pdf)).pages
    for n, page in enumerate(pages, start=1):  # the running header and footer on every page
        assert f"锦绣苑小区三方联席会议·2026年11月20日第{n}页共{len(pages)}页" in squash(page.extract_text())
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    rows = fonts.splitlines()[2:]
    assert rows and all(" yes " in row for row in rows), fonts  # every font embedded
    assert any("WenQuanYi" in row or "Noto" in row or "Han" in row for row in rows), fonts
    word = Document(io.BytesIO(docx))
    assert word.sections[0].page_width.mm == pytest.approx(210, abs=1)
    assert "锦绣苑小区三方联席会议" in word.sections[0].header.paragraphs[0].text
    assert "第" in word.sections[0].footer.paragraphs[0].text  # PAGE / NUMPAGES fields inside


async def test_published_documents_verify_until_the_record_changes(engine, plugins: PluginSystem,
                                                                   settings: Settings) -> None:
    meeting_id = await make_record()
    files = {fmt: await produce(plugins, settings, meeting_id, fmt) for fmt in ("pdf", "docx", "html")}
    files["gongshi.pdf"] = await produce(plugins, settings, meeting_id, "pdf", doc="gongshi")
    for name, data in files.items():
        verdict = await verify_document(data)
        assert verdict.ok, (name, verdict.message)
        assert verdict.meeting_id == meeting_id and "2026年11月三方联席会议" in verdict.message
        assert verdict.document_sha256 == verdict.record_sha256 and len(verdict.record_sha256) == 64
    assert files["html"].decode().count(verdict.record_sha256) >= 1  # printed in the document, not only hidden

    # approved → published again changes no hash: the state is not part of the record
    await Meeting.update({Meeting.state: "approved"}).where(Meeting.id == meeting_id)
    await Meeting.update({Meeting.state: "published"}).where(Meeting.id == meeting_id)
    assert (await verify_document(files["pdf"])).ok

    import core.documents.verify as verify

    with pytest.MonkeyPatch.context() as patch:  # no poppler on the server: the raw PDF is read instead
        patch.setattr(verify.shutil, "which", lambda _name: None)
        assert (await verify_document(files["pdf"])).ok

    await Meeting.update({Meeting.state: "closed"}).where(Meeting.id == meeting_id)  # 纠错: back to 已结束
    reopened = await verify_document(files["pdf"])
    assert not reopened.ok and "不是已公布状态" in reopened.message and "2026年11月" not in reopened.message
    await Meeting.update({Meeting.state: "published"}).where(Meeting.id == meeting_id)

    await ItemNote.update({ItemNote.body: NOTE.replace("40", "60")}).where(ItemNote.body == NOTE)
    for name, data in files.items():
        verdict = await verify_document(data)
        assert not verdict.ok, name
        assert "不一致" in verdict.message and f"会议 {meeting_id}" in verdict.message
        assert verdict.document_sha256 != verdict.record_sha256


async def test_only_published_documents_carry_a_hash(engine, plugins: PluginSystem, settings: Settings) -> None:
    meeting_id = await make_record(state="approved")
    html = await produce(plugins, settings, meeting_id, "html")
    verdict = await verify_document(html)
    assert not verdict.ok and "没有记录校验码" in verdict.message
    assert not (await verify_document(b"")).ok
    assert "没有记录校验码" in (await verify_document(b"%PDF-1.7 not really")).message


async def test_draft_minutes_say_so_and_refuse_formats_that_need_approval(engine, plugins: PluginSystem,
                                                                          settings: Settings,
                                                                          tmp_path: Path) -> None:
    meeting_id = await make_record(state="closed")
    html = (await produce(plugins, settings, meeting_id, "html")).decode()
    assert "草稿：纪要尚未审定" in html and 'id="record-hash"' not in html
    out = tmp_path / "export" / "m.docx"
    with pytest.raises(DocumentError) as refused:
        await export_document(plugins, settings, "minutes", meeting_id, "docx", out)
    assert f"会议 {meeting_id}“2026年11月三方联席会议”的纪要尚未审定" in str(refused.value)
    with pytest.raises(DocumentError, match="尚未审定"):
        await export_document(plugins, settings, "gongshi", meeting_id, "pdf", out)
    assert not out.parent.exists()  # nothing written, not even the folder
    with pytest.raises(DocumentNotFound, match="会议 424242 不存在"):
        await export_document(plugins, settings, "minutes", 424242, "pdf", out)
    with pytest.raises(DocumentNotFound, match="没有名为 nosuch 的文档"):
        await export_document(plugins, settings, "nosuch", meeting_id, "pdf", out)


async def test_gongshi_is_an_a4_notice_of_the_decisions(engine, plugins: PluginSystem, settings: Settings) -> None:
    meeting_id = await make_record()
    pdf = await produce(plugins, settings, meeting_id, "pdf", doc="gongshi")
    save("documents-gongshi.pdf", pdf)
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)  # A4 in pt
    text = squash(pdf_text(pdf))
    for fact in ("公示", "应到3人，实到3人", POLL_TITLE, "通过", "恒信物业", "2026-12-15", "公示期", "7天",
                 "如有异议"):
        assert squash(fact) in text, fact


# -------------------------------------------------------------------------------------------------
# A plugin's own document through the hook
# -------------------------------------------------------------------------------------------------


async def receipt_context(meeting_id: int, plugins: PluginSystem, settings: Settings) -> dict:
    meeting = await Meeting.select(Meeting.title, Meeting.place).where(Meeting.id == meeting_id).first()
    return {"m": meeting, "copies": 3}


def receipt_plugin(template_dir: Path, template: str = "tiny_docs/huizhi.html") -> types.ModuleType:
    module = types.ModuleType("tiny_docs")
    module.meta = PluginMeta(id="tiny_docs", name="回执插件", version="0.1.0", core=">=0.1,<0.2")  # type: ignore[attr-defined]
    module.yishi_template_dirs = hookimpl(lambda: [template_dir])  # type: ignore[attr-defined]
    module.yishi_documents = hookimpl(lambda: [DocumentSpec(  # type: ignore[attr-defined]
        id="tiny_docs_huizhi", title="议事回执", template=template, context=receipt_context,
        formats=("html", "pdf", "docx"), needs_approval=("docx",))])
    return module


RECEIPT = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>议事回执</title></head>
<body><h1>议事回执</h1><p>会议：{{ m.title }}，地点：{{ m.place }}，一式 {{ copies }} 份。</p>
<table><tr><th>签收单位</th><th>签收人</th></tr><tr><td>恒信物业</td><td></td></tr></table></body></html>"""


async def test_a_plugin_adds_its_own_document(engine, settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    (folder / "tiny_docs").mkdir(parents=True)
    (folder / "tiny_docs" / "huizhi.html").write_text(RECEIPT, encoding="utf-8")
    plugins = load_plugins(settings.plugin_registry, extra_modules=[receipt_plugin(folder)])
    specs = document_specs(plugins)
    assert list(specs)[:2] == ["minutes", "gongshi"] and specs["tiny_docs_huizhi"].plugin == "tiny_docs"
    meeting_id = await make_record()
    expected = "会议：2026年11月三方联席会议，地点：社区会议室，一式3份。"
    pdf = await produce(plugins, settings, meeting_id, "pdf", doc="tiny_docs_huizhi")
    docx = await produce(plugins, settings, meeting_id, "docx", doc="tiny_docs_huizhi")
    assert squash(expected) in squash(pdf_text(pdf))
    assert squash(expected) in squash(docx_text(docx)) and "签收单位" in docx_text(docx)
    assert (await verify_document(docx)).ok  # core stamps a plugin's document of a published meeting too


async def test_a_broken_plugin_template_is_named_and_nothing_is_written(engine, settings: Settings,
                                                                        tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    (folder / "tiny_docs").mkdir(parents=True)
    template = folder / "tiny_docs" / "huizhi.html"
    meeting_id = await make_record()
    out = tmp_path / "out" / "huizhi.pdf"
    template.write_text("<p>{{ m.title }</p>", encoding="utf-8")  # a syntax error
    try:  # refused when the plugin loads, or else when the document is made: either way, named
        plugins = load_plugins(settings.plugin_registry, extra_modules=[receipt_plugin(folder)])
    except PluginError as exc:
        assert "tiny_docs" in str(exc) and "huizhi.html" in str(exc)
    else:
        with pytest.raises(DocumentError) as broken:
            await export_document(plugins, settings, "tiny_docs_huizhi", meeting_id, "pdf", out)
        assert "插件 tiny_docs 的模板 tiny_docs/huizhi.html 有错误" in str(broken.value)
        assert "huizhi.html:1" in str(broken.value)
    template.write_text("<p>{{ m.title }}：{{ copies.nosuch.deeper }}</p>", encoding="utf-8")  # fails when rendered
    plugins = load_plugins(settings.plugin_registry, extra_modules=[receipt_plugin(folder)])
    for fmt in ("pdf", "docx", "html"):
        with pytest.raises(DocumentError) as broken:
            await export_document(plugins, settings, "tiny_docs_huizhi", meeting_id, fmt, out.with_suffix(f".{fmt}"))
        assert "插件 tiny_docs 的模板 tiny_docs/huizhi.html 有错误" in str(broken.value)
        assert "nosuch" in str(broken.value)
    missing = load_plugins(settings.plugin_registry, extra_modules=[receipt_plugin(folder, "tiny_docs/nope.html")])
    with pytest.raises(DocumentError, match=r"插件 tiny_docs 的模板 tiny_docs/nope\.html"):
        await export_document(missing, settings, "tiny_docs_huizhi", meeting_id, "pdf", out)
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_two_plugins_cannot_declare_one_document_id(settings: Settings, tmp_path: Path) -> None:
    first = receipt_plugin(tmp_path)
    second = receipt_plugin(tmp_path)
    second.__name__ = "tiny_docs2"
    second.meta = PluginMeta(id="tiny_docs2", name="回执插件二", version="0.1.0", core=">=0.1,<0.2")  # type: ignore[attr-defined]
    plugins = load_plugins(settings.plugin_registry, extra_modules=[first, second])
    with pytest.raises(DocumentError, match="文档编号 tiny_docs_huizhi 被插件 tiny_docs 和 tiny_docs2 重复声明"):
        document_specs(plugins)


# -------------------------------------------------------------------------------------------------
# The command line
# -------------------------------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("YISHI_DATABASE_URL", database_url)
    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path / "data"))
    return database_url


def run_seed(database_url: str, state: str = "published") -> int:
    import asyncio

    from core import db

    async def work() -> int:
        eng = await db.connect(database_url)
        try:
            return await make_record(state)
        finally:
            await db.disconnect(eng)

    return asyncio.run(work())


def change_note(database_url: str) -> None:
    import asyncio

    from core import db

    async def work() -> None:
        eng = await db.connect(database_url)
        try:
            await ItemNote.update({ItemNote.body: "改过的记录"}).where(ItemNote.body == NOTE)
        finally:
            await db.disconnect(eng)

    asyncio.run(work())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_exports_every_format_and_verifies(cli_env: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    meeting_id = run_seed(cli_env)
    for fmt in ("pdf", "docx", "html"):
        out = tmp_path / f"minutes.{fmt}"
        assert main(["minutes", "export", "--meeting", str(meeting_id), "--format", fmt, "--out", str(out)]) == 0
        assert out.stat().st_size > 1000
        assert "记录校验码" in capsys.readouterr().out
        assert main(["minutes", "verify", str(out)]) == 0
        assert f"一致：文件与会议 {meeting_id}" in capsys.readouterr().out
    gongshi = tmp_path / "gongshi.pdf"
    assert main(["documents", "export", "gongshi", "--meeting", str(meeting_id), "--out", str(gongshi)]) == 0
    change_note(cli_env)
    capsys.readouterr()
    assert main(["minutes", "verify", str(tmp_path / "minutes.docx")]) == 1
    assert f"不一致：会议 {meeting_id}" in capsys.readouterr().out
    assert main(["documents", "list"]) == 0
    listed = capsys.readouterr().out
    assert "minutes\t会议纪要" in listed and "gongshi\t公示" in listed


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_refusals_name_the_meeting_or_font_and_write_nothing(
        cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    meeting_id = run_seed(cli_env, state="closed")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert main(["minutes", "export", "--meeting", "424242", "--format", "pdf", "--out", str(out_dir / "a.pdf")]) == 2
    assert "会议 424242 不存在" in capsys.readouterr().err
    assert main(["minutes", "export", "--meeting", str(meeting_id), "--format", "docx",
                 "--out", str(out_dir / "b.docx")]) == 2
    assert f"会议 {meeting_id}“2026年11月三方联席会议”的纪要尚未审定" in capsys.readouterr().err
    import core.minutes.render as render

    monkeypatch.setattr(render, "cjk_font_families", lambda: ())
    assert main(["minutes", "export", "--meeting", str(meeting_id), "--format", "pdf",
                 "--out", str(out_dir / "c.pdf")]) == 2
    assert "没有找到中文字体" in capsys.readouterr().err
    assert list(out_dir.iterdir()) == []
    missing = tmp_path / "nope.pdf"
    assert main(["minutes", "verify", str(missing)]) == 2
    assert "无法读取文件" in capsys.readouterr().err


async def test_a_practice_extends_the_minutes_template(engine, settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "minutes"
    folder.mkdir(parents=True)
    (folder / "minutes.html").write_text(
        '{% extends "core:minutes/minutes.html" %}{% block signatures %}<div class="signatures">'
        "<div>巷导（签字）</div><div>街道联络员（签字）</div></div>{% endblock %}", encoding="utf-8")
    module = types.ModuleType("tiny_minutes")
    module.meta = PluginMeta(id="tiny_minutes", name="纪要样式", version="0.1.0", core=">=0.1,<0.2")  # type: ignore[attr-defined]
    module.yishi_template_dirs = hookimpl(lambda: [tmp_path / "templates"])  # type: ignore[attr-defined]
    plugins = load_plugins(settings.plugin_registry, extra_modules=[module])
    meeting_id = await make_record()
    text = docx_text(await produce(plugins, settings, meeting_id, "docx"))
    assert "巷导（签字）" in text and "街道联络员（签字）" in text and "主持人（签字）" not in text
    assert POLL_TITLE in text and "恒信物业" in text  # core's blocks are kept


def test_word_copy_starts_each_sheet_on_a_new_page() -> None:
    """A document printed one sheet per page (a 交办单 per department) keeps its pages in Word."""
    import io
    import zipfile

    from core.documents.docx import html_to_docx

    html = ("<html><body><section class='sheet'><h1>交办单</h1><p>城管中队</p></section>"
            "<section class='sheet'><h1>交办单</h1><p>社区居委会</p></section>"
            "<p class='page-break'>附件</p><p>同一页</p></body></html>")
    data = html_to_docx(html, title="交办单")
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode("utf-8")
    assert xml.count('w:type="page"') == 2
    assert xml.index("城管中队") < xml.index('w:type="page"') < xml.index("社区居委会")
