"""The meeting notice (会议通知), on SQLite and PostgreSQL: what a member pins up or adds to a calendar
must say who meets, when, where and about what.

A draft meeting on Friday 4 December 2026 at 19:30 Beijing time (11:30 UTC) with three agenda items
is built through the ORM. The PDF is read back with pypdf (text and embedded fonts); the calendar
file is unfolded and unescaped by a small parser written here, independently of core.meetings.ics.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import httpx
from pypdf import PdfReader

from core.meetings.notice import OPEN_FLAG, is_open, notice_context, render_html, render_pdf
from core.meetings.tables import AgendaItem, Meeting
from core.minutes.export import environment_for
from core.org.tables import Person
from core.plugins import PluginSystem
from core.settings import PROJECT_ROOT, Settings
from tests.conftest import login
from tests.factories import make_council, make_user
from tests.test_minutes_pdf import all_fonts

COUNCIL = "锦绣苑小区三方联席会议"
TITLE = "2026年12月三方联席会议"
PLACE = "锦绣苑社区党群服务中心（二楼, 东侧会议室）"
#: 19:30 in Beijing (UTC+8, no summer time).
STARTS = datetime(2026, 12, 4, 11, 30, tzinfo=UTC)
ITEMS = [  # (title, proposer, minutes)
    ("电动自行车集中充电棚选址及收费，治理楼道“飞线充电”", "第二网格", 30),
    ("物业费由1.2元调整为1.5元/㎡·月及服务标准", "恒信物业", 25),
    ("楼道杂物清理；消防通道畅通专项行动", "锦绣苑社区居委会", 15),
]
CHAIR_PHONE = "13807310021"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


async def make_notice_meeting(title: str = TITLE) -> int:
    council = await make_council()
    await Person.update({Person.phone: CHAIR_PHONE}).where(Person.name == "张国庆")
    meeting = await Meeting.objects().create(council=council.id, kind="联席会议", title=title, place=PLACE,
                                             starts_at=STARTS, state="draft")
    for position, (item_title, proposer, minutes) in enumerate(ITEMS, start=1):
        await AgendaItem.objects().create(meeting=meeting.id, position=position, title=item_title,
                                          proposer=proposer, duration_minutes=minutes)
    return meeting.id


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(pdf: bytes) -> tuple[int, str]:
    pages = PdfReader(io.BytesIO(pdf)).pages
    return len(pages), "\n".join(page.extract_text() or "" for page in pages)


def unfold_ics(body: bytes) -> dict[str, list[tuple[str, str]]]:
    """Content lines by component (VCALENDAR / VEVENT) as (name;params, unescaped value).

    RFC 5545 as a reader applies it: CRLF-separated lines, a line starting with a space or tab continues
    the one before it, TEXT values unescape \\\\ \\; \\, \\n.
    """
    text = body.decode("utf-8")
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    assert all("\r" not in line and "\n" not in line for line in physical), "a bare CR or LF"
    logical: list[str] = []
    for line in physical:
        if line[:1] in (" ", "\t"):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    out: dict[str, list[tuple[str, str]]] = {}
    stack: list[str] = []
    for line in logical:
        name, _, value = line.partition(":")
        if name == "BEGIN":
            stack.append(value)
            out.setdefault(value, [])
        elif name == "END":
            assert stack.pop() == value
        else:
            value = re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)
            out[stack[-1]].append((name, value))
    assert not stack
    return out


def prop(component: list[tuple[str, str]], name: str) -> str:
    values = [v for n, v in component if n.split(";")[0] == name]
    assert len(values) == 1, (name, values)
    return values[0]


# --- the document ---------------------------------------------------------------------------------


async def test_notice_pdf_says_who_meets_when_where_and_about_what(
        engine, plugins: PluginSystem, settings: Settings, database_url: str, tmp_path: Path) -> None:
    meeting_id = await make_notice_meeting()
    context = await notice_context(meeting_id, plugins, settings.site_name,
                                   meeting_url=f"http://yishi.example/meetings/{meeting_id}")
    pdf = render_pdf(render_html(environment_for(plugins, settings), context, for_print=True), str(tmp_path))
    assert pdf.startswith(b"%PDF")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"notice-{database_url.split(':')[0]}.pdf").write_bytes(pdf)

    pages, text = pdf_text(pdf)
    flat = squash(text)
    assert pages == 1, "three items and the facts fit on one A4 page"
    assert COUNCIL in text and "会议通知" in text
    assert "2026年12月4日（星期五）19:30" in flat, "the time as a Chinese notice writes it, in Beijing time"
    assert "19:30—20:40" in flat and "预计70分钟" in flat  # 30 + 25 + 15 minutes
    assert squash(PLACE) in flat
    assert f"召开{TITLE}" in flat
    assert "各位成员：" in flat
    for name in ("张国庆（锦绣苑小区党支部）", "黄丽娟（锦绣苑社区居委会）", "吴海涛（恒信物业）"):
        assert name in flat
    starts = []
    for n, (title, proposer, minutes) in enumerate(ITEMS, start=1):
        row = f"{n}{squash(title)}{proposer}约{minutes}分钟"
        assert row in flat, f"agenda row {n} not found as {row!r}"
        starts.append(flat.index(row))
    assert starts == sorted(starts)
    assert "请携带：" in flat and "请提前向联系人请假" in flat
    assert f"联系人：张国庆{CHAIR_PHONE}。" in flat
    assert re.fullmatch(r"20\d\d年\d{1,2}月\d{1,2}日", context["issued_on"])
    assert f"{COUNCIL}{context['issued_on']}" in flat  # the issuing body over the date
    assert "扫码打开会议页面" in flat
    assert "下载PDF" not in flat and "更新通知" not in flat  # the screen's toolbar is not printed

    fonts = all_fonts(pdf)
    assert fonts
    for font in fonts:
        if font.get("/Subtype") == "/Type0":
            assert font.get("/DescendantFonts")
            continue
        descriptor = font["/FontDescriptor"].get_object()
        embedded = descriptor.get("/FontFile2") or descriptor.get("/FontFile3")
        assert embedded is not None, f"font {font.get('/BaseFont')} is not embedded"
        assert len(embedded.get_object().get_data()) > 1000
    assert any("WenQuanYi" in str(f.get("/BaseFont", "")) for f in fonts)


# --- over HTTP ------------------------------------------------------------------------------------


async def test_chair_gets_the_notice_as_page_pdf_and_calendar(client: httpx.AsyncClient) -> None:
    meeting_id = await make_notice_meeting()
    await login(client, "chair")
    base = f"/meetings/{meeting_id}/notice"

    page = await client.get(base)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert COUNCIL in html and "会议通知" in html and "2026年12月4日（星期五）19:30" in html
    for title, _proposer, _minutes in ITEMS:
        assert title in html
    assert f'href="{base}.pdf"' in html and f'href="{base}.ics"' in html
    nonce = re.search(r'<style nonce="([^"]+)"', html).group(1)
    assert f"'nonce-{nonce}'" in page.headers["content-security-policy"]  # its stylesheet may apply
    assert ' style="' not in html  # inline style attributes would be blocked by the CSP

    pdf = await client.get(f"{base}.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    disposition = pdf.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="meeting-notice-{meeting_id}.pdf"' in disposition  # the ASCII fallback
    star = re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1)
    assert star.isascii() and unquote(star) == f"会议通知-{TITLE}.pdf"
    assert COUNCIL in pdf_text(pdf.content)[1]

    cal = await client.get(f"{base}.ics")
    assert cal.status_code == 200 and cal.headers["content-type"].startswith("text/calendar")
    star = re.search(r"filename\*=UTF-8''(\S+)", cal.headers["content-disposition"]).group(1)
    assert unquote(star) == f"会议通知-{TITLE}.ics"
    parsed = unfold_ics(cal.content)
    assert prop(parsed["VCALENDAR"], "VERSION") == "2.0"
    assert prop(parsed["VCALENDAR"], "PRODID")
    event = parsed["VEVENT"]
    assert prop(event, "DTSTART") == "20261204T113000Z"  # 19:30 Beijing time
    assert prop(event, "DTEND") == "20261204T124000Z"  # + 70 minutes of agenda
    assert re.fullmatch(r"\d{8}T\d{6}Z", prop(event, "DTSTAMP"))
    assert prop(event, "SUMMARY") == f"{TITLE}（{COUNCIL}）"
    assert prop(event, "LOCATION") == PLACE  # its comma came through escaped and back
    description = prop(event, "DESCRIPTION")
    for n, (title, proposer, minutes) in enumerate(ITEMS, start=1):
        assert f"{n}. {title}（提出：{proposer}，约 {minutes} 分钟）" in description.splitlines()
    assert f"联系人：张国庆 {CHAIR_PHONE}" in description
    assert prop(event, "URL") == f"http://testserver/meetings/{meeting_id}"
    uid = prop(event, "UID")
    assert uid.startswith(f"meeting-{meeting_id}-") and uid.endswith("@yishi")

    again = unfold_ics((await client.get(f"{base}.ics")).content)
    assert prop(again["VEVENT"], "UID") == uid, "a second download must update the same calendar event"
    other = await make_notice_meeting_on_same_council(meeting_id)
    assert prop(unfold_ics((await client.get(f"/meetings/{other}/notice.ics")).content)["VEVENT"], "UID") != uid


async def make_notice_meeting_on_same_council(meeting_id: int) -> int:
    council = (await Meeting.select(Meeting.council).where(Meeting.id == meeting_id).first())["council"]
    meeting = await Meeting.objects().create(council=council, kind="临时联席会议", title="临时会议", place="",
                                             starts_at=STARTS, state="draft")
    return meeting.id


async def test_a_meeting_without_agenda_or_place_still_gets_a_calendar_hour(client: httpx.AsyncClient) -> None:
    meeting_id = await make_notice_meeting()
    other = await make_notice_meeting_on_same_council(meeting_id)
    await login(client, "chair")
    event = unfold_ics((await client.get(f"/meetings/{other}/notice.ics")).content)["VEVENT"]
    assert prop(event, "DTSTART") == "20261204T113000Z" and prop(event, "DTEND") == "20261204T123000Z"
    assert not [n for n, _v in event if n == "LOCATION"]
    assert "议程待定" in prop(event, "DESCRIPTION")
    page = (await client.get(f"/meetings/{other}/notice")).text
    assert "议程待定" in page and "地点另行通知" in page


async def test_chair_rewords_what_to_bring_and_the_contact(client: httpx.AsyncClient) -> None:
    meeting_id = await make_notice_meeting()
    await login(client, "chair")
    query = {"bring": "身份证、房产证复印件", "contact": "黄丽娟 0731-88886666"}
    page = await client.get(f"/meetings/{meeting_id}/notice", params=query)
    assert page.status_code == 200
    assert "请携带：身份证、房产证复印件。" in page.text and "黄丽娟 0731-88886666" in page.text
    assert CHAIR_PHONE not in page.text.split("</nav>")[1]  # the default contact is replaced in the notice
    # The links carry the wording, so the PDF and the calendar say the same.
    pdf_link = re.search(r'href="(/meetings/\d+/notice\.pdf[^"]*)"', page.text).group(1).replace("&amp;", "&")
    flat = squash(pdf_text((await client.get(pdf_link)).content)[1])
    assert "请携带：身份证、房产证复印件。" in flat and "联系人：黄丽娟0731-88886666。" in flat
    ics_link = re.search(r'href="(/meetings/\d+/notice\.ics[^"]*)"', page.text).group(1).replace("&amp;", "&")
    description = prop(unfold_ics((await client.get(ics_link)).content)["VEVENT"], "DESCRIPTION")
    assert "请携带：身份证、房产证复印件" in description and "联系人：黄丽娟 0731-88886666" in description


async def test_bad_wording_is_shown_beside_its_field(client: httpx.AsyncClient) -> None:
    meeting_id = await make_notice_meeting()
    await login(client, "chair")
    for suffix in ("", ".pdf", ".ics"):
        r = await client.get(f"/meetings/{meeting_id}/notice{suffix}",
                             params={"bring": "材料" * 60, "contact": "张三\n13800000000"})
        assert r.status_code == 422, suffix
        assert r.headers["content-type"].startswith("text/html")
        html = r.text
        assert re.search(r'id="notice-bring-error">请携带不能超过 100 字（现为 120 字）<', html), suffix
        assert re.search(r'id="notice-contact-error">联系人中含有换行', html), suffix
        assert 'value="' + "材料" * 60 + '"' in html  # what was typed stays in the field
        notice = html.split("</nav>")[1]
        assert "材料材料" not in notice and "张三" not in notice  # the notice keeps the defaults
        assert f"张国庆 {CHAIR_PHONE}" in notice


# --- who may see it -------------------------------------------------------------------------------


async def test_anonymous_and_outsiders_are_refused(client: httpx.AsyncClient) -> None:
    meeting_id = await make_notice_meeting()
    urls = [f"/meetings/{meeting_id}/notice{s}" for s in ("", ".pdf", ".ics")]
    for url in urls:
        r = await client.get(url)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), url
        assert COUNCIL not in r.text and not r.content.startswith(b"%PDF") and b"VCALENDAR" not in r.content
    await make_user("outsider")
    await login(client, "outsider")
    for url in urls:
        r = await client.get(url)
        assert r.status_code == 403, url
        assert COUNCIL not in r.text and b"VCALENDAR" not in r.content


async def test_a_member_who_does_not_run_meetings_may_read_it(client: httpx.AsyncClient) -> None:
    meeting_id = await make_notice_meeting()
    rep = await Person.select(Person.id).where(Person.name == "吴海涛").first()  # 物业代表
    await make_user("wuht", person=rep["id"])
    await login(client, "wuht")
    for suffix in ("", ".pdf", ".ics"):
        assert (await client.get(f"/meetings/{meeting_id}/notice{suffix}")).status_code == 200, suffix


async def test_unknown_meeting_is_not_found(client: httpx.AsyncClient) -> None:
    await make_notice_meeting()
    await login(client, "chair")
    r = await client.get("/meetings/424242/notice.pdf")
    assert r.status_code == 404


async def test_a_title_with_markup_and_slashes_is_escaped_and_named_safely(client: httpx.AsyncClient) -> None:
    meeting_id = await make_notice_meeting(title='<img src=x>关于"3/5栋"加装电梯')
    await login(client, "chair")
    page = (await client.get(f"/meetings/{meeting_id}/notice")).text
    assert "<img src=x>" not in page and "&lt;img src=x&gt;" in page
    disposition = (await client.get(f"/meetings/{meeting_id}/notice.pdf")).headers["content-disposition"]
    star = re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1)
    assert unquote(star) == "会议通知-_img src=x_关于_3_5栋_加装电梯.pdf"
    assert f'filename="meeting-notice-{meeting_id}.pdf"' in disposition


async def test_an_open_meeting_is_addressed_to_residents_too(engine, plugins: PluginSystem,
                                                             settings: Settings) -> None:
    meeting_id = await make_notice_meeting()
    context = await notice_context(meeting_id, plugins, settings.site_name)
    env = environment_for(plugins, settings)
    members_only = render_html(env, context)
    assert "各位成员：" in members_only and "欢迎居民参加" not in members_only
    view = context["view"]
    assert not is_open(view)
    view.meeting[OPEN_FLAG] = True  # the column a meeting open to residents will carry
    assert is_open(view)
    html = render_html(env, {**context, "open_meeting": is_open(view)})
    assert "各位成员、各位居民朋友：" in html and "本机构全体成员；欢迎居民参加。" in html
    assert "扫码打开会议页面" not in html  # no address given, no QR code
