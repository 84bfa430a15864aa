"""The minutes PDF, on SQLite and PostgreSQL: what a council files away must say what was decided.

A meeting with ten agenda items, hand counts, notes, outcomes, speakers and a sign-in sheet is built
through the ORM, printed with the same template layers as the app, and read back with pypdf: the text
(council, titles, counts, outcomes, speakers, 应到/实到 and the quorum, page footers) and the fonts
(embedded, the CJK font really used). Minutes are final only once approved: before that every page
says 草稿. The CLI export is checked end to end on SQLite.
"""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from core import db
from core.cli import main
from core.meetings.tables import AgendaItem, Attendance, HandCount, ItemNote, Meeting, Speaker
from core.minutes.export import environment_for
from core.minutes.render import minutes_context, render_html, render_pdf
from core.org.tables import Person
from core.plugins import PluginSystem
from core.settings import PROJECT_ROOT, Settings
from tests.factories import TOPICS, make_council

COUNCIL = "锦绣苑小区三方联席会议"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"

#: (赞成, 反对, 弃权) per agenda item, None for an item not put to a vote. Chosen around the edge of
#: 过半数: exactly half fails, abstentions count among the hands, yes > no is not enough.
COUNTS: list[tuple[int, int, int] | None] = [
    (7, 1, 1),    # passes
    (4, 4, 1),    # fails: 4 of 8 valid votes (弃权 left out), exactly half
    (5, 5, 0),    # fails: exactly half
    (6, 5, 0),    # passes: 6 of 11
    None,         # not voted
    (9, 0, 0),    # passes
    (3, 2, 4),    # fails: more yes than no, but 3 of 9
    (12, 3, 2),   # passes
    (0, 5, 1),    # fails
    (5, 4, 0),    # passes: 5 of 9
]
NOTES = {
    1: ["物业同意在6栋北侧先建40个充电位，收费0.8元/度。", "业委会要求施工前公示选址图。"],
    2: ["多数代表认为调价幅度过大，要求物业先公开近两年收支。"],
    5: ["派出所民警建议先做入户宣传，再定监控点位。"],
    10: ["街道城管科答复：门槛问题纳入明年道路维修计划。"],
}


#: What the meeting did with some items (AgendaItem.outcome), and who spoke (name, affiliation, state).
OUTCOMES = {2: ("deferred", "暂缓", "待物业公开收支后再议"), 4: ("followup", "会后交办", "")}
SPEAKERS = {1: [("周建华", "6栋业主", "done"), ("吴海涛", "恒信物业", "done"), ("李秀英", "", "waiting")]}
#: The sign-in sheet: 应到 3 (chair, recorder, property representative), 实到 2, 请假 1.
SIGN_IN = {"张国庆": "present", "黄丽娟": "present", "吴海涛": "excused"}


def expected_outcome(yes: int, no: int, abstain: int) -> str:
    """简单多数 computed here, independently of core.meetings.handcount: 赞成 more than half of the
    valid votes (赞成 + 反对); abstentions are left out (forms/rules/simple_majority.toml)."""
    return "通过" if 2 * yes > yes + no else "未通过"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


async def make_closed_meeting(state: str = "approved", sign_in: dict[str, str] | None = None) -> int:
    """The meeting after it was held: ``approved`` (final minutes) unless ``state`` says otherwise."""
    council = await make_council()
    meeting = await Meeting.objects().create(
        council=council.id, kind="联席会议", title="2026年11月三方联席会议", place="锦绣苑社区会议室",
        starts_at=datetime(2026, 11, 20, 11, 0, tzinfo=UTC), state=state,
        current_position=None, opened_at=datetime(2026, 11, 20, 11, 3, tzinfo=UTC),
        closed_at=datetime(2026, 11, 20, 13, 10, tzinfo=UTC))
    for position, (title, counts) in enumerate(zip(TOPICS, COUNTS, strict=True), start=1):
        item = await AgendaItem.objects().create(meeting=meeting.id, position=position, title=title,
                                                 proposer="第二网格", description="")
        if counts:
            yes, no, abstain = counts
            await HandCount.objects().create(item=item.id, yes=yes, no=no, abstain=abstain)
        for body in NOTES.get(position, []):
            await ItemNote.objects().create(item=item.id, body=body)
        if position in OUTCOMES:
            outcome, _label, note = OUTCOMES[position]
            await AgendaItem.update({AgendaItem.outcome: outcome, AgendaItem.outcome_note: note}).where(
                AgendaItem.id == item.id)
        for n, (name, affiliation, speaker_state) in enumerate(SPEAKERS.get(position, []), start=1):
            await Speaker.objects().create(item=item.id, name=name, affiliation=affiliation, position=n,
                                           state=speaker_state)
    for name, status in (SIGN_IN if sign_in is None else sign_in).items():
        person = await Person.select(Person.id).where(Person.name == name).first()
        await Attendance.objects().create(meeting=meeting.id, person=person["id"], name=name, status=status)
    return meeting.id


async def print_minutes(meeting_id: int, plugins: PluginSystem, settings: Settings, base: Path) -> bytes:
    context = await minutes_context(meeting_id, plugins, settings.site_name)
    html = render_html(environment_for(plugins, settings), context, for_print=True)
    return render_pdf(html, base_url=str(base))


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]


def all_fonts(pdf: bytes) -> list[DictionaryObject]:
    """Every font the pages use: /Resources /Font of each page and of the form XObjects in it,
    with the descendant CIDFont of each Type0 font in place of the Type0 wrapper's descriptor."""
    fonts: dict[int, DictionaryObject] = {}

    def walk(resources) -> None:
        resources = resources.get_object() if resources is not None else None
        if not resources:
            return
        for ref in (resources.get("/Font") or {}).values():
            font = ref.get_object()
            fonts[id(font)] = font
            for descendant in font.get("/DescendantFonts") or []:
                d = descendant.get_object()
                fonts[id(d)] = d
        for ref in (resources.get("/XObject") or {}).values():
            xobject = ref.get_object()
            if xobject.get("/Subtype") == "/Form":
                walk(xobject.get("/Resources"))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        walk(page.get("/Resources"))
    return list(fonts.values())


async def test_minutes_pdf_says_what_was_decided(engine, plugins: PluginSystem, settings: Settings,
                                                 database_url: str, tmp_path: Path) -> None:
    meeting_id = await make_closed_meeting()
    pdf = await print_minutes(meeting_id, plugins, settings, tmp_path)
    assert pdf.startswith(b"%PDF")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"minutes-{database_url.split(':')[0]}.pdf").write_bytes(pdf)

    pages = page_texts(pdf)
    text = "\n".join(pages)
    flat = squash(text)
    assert COUNCIL in text
    assert "会议纪要" in text and "2026年11月三方联席会议" in text
    assert "草稿" not in text  # approved: the final minutes
    assert "主持人张国庆" in flat and "记录员黄丽娟" in flat
    assert "出席情况应到3人，实到2人，请假1人，缺席0人。请假：吴海涛。" in flat
    assert re.search(r"法定人数超过半数[^：]{0,10}：符合法定人数", flat), flat[:600]  # council rule "1/2"

    # Every agenda item, in order, with its own counts and outcome (line breaks squashed away).
    starts = []
    for n, title in enumerate(TOPICS, start=1):
        heading = f"{n}.{squash(title)}"
        assert flat.count(heading) == 1, f"item {n} heading {heading!r} not found once in the PDF"
        starts.append(flat.index(heading))
    assert starts == sorted(starts), "agenda items are out of order"
    for n, counts in enumerate(COUNTS, start=1):
        section = flat[starts[n - 1]:starts[n] if n < len(starts) else len(flat)]
        if counts is None:
            assert "未表决" in section and "举手表决：" not in section, section
            continue
        yes, no, abstain = counts
        assert f"举手表决：赞成{yes}人，反对{no}人，弃权{abstain}人；" in section, section
        outcome = expected_outcome(*counts)
        other = "未通过" if outcome == "通过" else "通过"
        assert f"结果：{outcome}" in section and f"结果：{other}" not in section, (n, counts, section)
        for body in NOTES.get(n, []):
            assert squash(body) in section, (n, body)
    for n, (_outcome, label, note) in OUTCOMES.items():
        section = flat[starts[n - 1]:starts[n]]
        assert f"议题结果：{label}" + (f"（{note}）" if note else "") in section, section
    assert "发言：周建华（6栋业主）、吴海涛（恒信物业）、李秀英（登记未发言）" in flat[starts[0]:starts[1]]
    assert "议题结果" not in flat[starts[0]:starts[1]]
    assert "赞成 7 人，反对 1 人，弃权 1 人" in text  # as printed, with its spaces

    # Page footers: 第 i 页 共 N 页 on every page, with the real page count.
    n_pages = len(pages)
    assert n_pages >= 2, "ten items with notes should not fit on one A4 page"
    for i, page in enumerate(pages, start=1):
        assert f"第 {i} 页 共 {n_pages} 页" in page, f"page {i}: {page[-200:]!r}"
        assert f"{COUNCIL} · 2026年11月20日" in page  # the running header

    # Fonts: all embedded (a reader without the font must still show Chinese), WenQuanYi used.
    fonts = all_fonts(pdf)
    assert fonts, "no fonts found in the PDF"
    for font in fonts:
        name = font.get("/BaseFont")
        if font.get("/Subtype") == "/Type0":
            assert font.get("/DescendantFonts"), f"Type0 font {name} has no descendant"
            continue
        descriptor = font.get("/FontDescriptor")
        assert descriptor is not None, f"font {name} ({font.get('/Subtype')}) has no FontDescriptor"
        descriptor = descriptor.get_object()
        embedded = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
        assert embedded is not None, f"font {name} is not embedded (no FontFile2/FontFile3)"
        assert len(embedded.get_object().get_data()) > 1000, f"font {name}: embedded file is empty"
    assert any("WenQuanYi" in str(f.get("/BaseFont", "")) for f in fonts), \
        [str(f.get("/BaseFont")) for f in fonts]


async def test_open_meeting_prints_as_draft(engine, plugins: PluginSystem, settings: Settings,
                                            tmp_path: Path) -> None:
    meeting_id = await make_closed_meeting()
    await Meeting.update({Meeting.state: "in_session", Meeting.current_position: 1}).where(
        Meeting.id == meeting_id)
    text = "\n".join(page_texts(await print_minutes(meeting_id, plugins, settings, tmp_path)))
    assert "草稿：会议尚未结束" in text


@pytest.mark.parametrize("state", ["closed", "approved", "published"])
async def test_minutes_are_draft_on_every_page_until_approved(engine, plugins: PluginSystem, settings: Settings,
                                                              tmp_path: Path, state: str) -> None:
    pages = page_texts(await print_minutes(await make_closed_meeting(state), plugins, settings, tmp_path))
    text = "\n".join(pages)
    if state == "closed":
        assert "草稿：纪要尚未审定" in text
        assert all("草稿" in page for page in pages), "the 草稿 mark must be on every page"
    else:
        assert "草稿" not in text


async def test_minutes_say_when_the_quorum_was_not_met(engine, plugins: PluginSystem, settings: Settings,
                                                       tmp_path: Path) -> None:
    meeting_id = await make_closed_meeting(sign_in={"张国庆": "present", "吴海涛": "absent"})
    flat = squash("\n".join(page_texts(await print_minutes(meeting_id, plugins, settings, tmp_path))))
    assert "应到3人，实到1人，请假0人，缺席2人" in flat  # the recorder was never marked: counted absent
    assert "未达到法定人数" in flat and "符合法定人数" not in flat


# --- yishi minutes export -------------------------------------------------------------------------


def _seed(url: str) -> int:
    async def work() -> int:
        eng = await db.connect(url)
        try:
            return await make_closed_meeting()
        finally:
            await db.disconnect(eng)

    return asyncio.run(work())


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path) -> str:
    monkeypatch.setenv("YISHI_DATABASE_URL", database_url)
    monkeypatch.setenv("YISHI_DATA_DIR", str(tmp_path / "data"))
    return database_url


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_exports_pdf_and_html(cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    meeting_id = _seed(cli_env)
    out = tmp_path / "export" / "minutes.pdf"
    assert main(["minutes", "export", "--meeting", str(meeting_id), "--format", "pdf",
                 "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    flat = squash("\n".join(page_texts(data)))
    assert COUNCIL in flat and squash(TOPICS[0]) in flat and squash(TOPICS[-1]) in flat
    assert sorted(p.name for p in out.parent.iterdir()) == ["minutes.pdf"]  # no .part left over

    html_out = tmp_path / "export" / "minutes.html"
    assert main(["minutes", "export", "--meeting", str(meeting_id), "--format", "html",
                 "--out", str(html_out)]) == 0
    html = html_out.read_text(encoding="utf-8")
    assert html.lstrip().startswith("<!doctype html>") and TOPICS[0] in html


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_cli_export_of_unknown_meeting(cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(cli_env)
    out_dir = tmp_path / "export"
    out_dir.mkdir()
    out = out_dir / "minutes.pdf"
    assert main(["minutes", "export", "--meeting", "424242", "--format", "pdf", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "424242" in err and "不存在" in err, err
    assert "Traceback" not in err
    assert not out.exists()
    assert list(out_dir.iterdir()) == []
