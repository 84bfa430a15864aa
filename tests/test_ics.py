"""core.meetings.ics against the rules of RFC 5545 that break a calendar import when got wrong:
CRLF line ends, folding at 75 octets without splitting a UTF-8 character, and TEXT escaping.

The checks read the output as a calendar application would (split on CRLF, unfold, unescape), with
code written here rather than borrowed from the module, and run on arbitrary titles with hypothesis
— mostly Chinese, with the characters that must be escaped and a few that must not get through.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.meetings.ics import Event, calendar, escape_text, fold

SHANGHAI = ZoneInfo("Asia/Shanghai")
STAMP = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

#: Titles as chairs type them: CJK, full-width punctuation, ASCII, what RFC 5545 escapes (\ ; , and
#: line breaks), emoji (4 octets), and some control characters that must not reach the file.
chinese = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
specials = st.sampled_from([*"\\;,:\"\n\r\t ，；：、（）“”《》—…·㎡", "\r\n", "😀", "𠀋", "\x00", "\x1b", "\x7f",
                            "\u0085", "\u2028", "\u202e"])
ascii_text = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
titles = st.lists(st.one_of(chinese, chinese, chinese, specials, ascii_text), max_size=120).map("".join)


def event(summary: str = "三方联席会议", **kw) -> Event:
    start = kw.pop("start", datetime(2026, 12, 4, 19, 30, tzinfo=SHANGHAI))
    return Event(uid=kw.pop("uid", "meeting-7-abc@yishi"), start=start, end=kw.pop("end", start + timedelta(hours=1)),
                 summary=summary, stamp=kw.pop("stamp", STAMP), **kw)


def physical_lines(text: str) -> list[str]:
    assert text.endswith("\r\n")
    lines = text[:-2].split("\r\n")
    for line in lines:
        assert "\r" not in line and "\n" not in line, f"bare CR or LF in {line!r}"
    return lines


def unfold(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line.startswith((" ", "\t")):
            assert out, "a continuation line cannot come first"
            out[-1] += line[1:]
        else:
            out.append(line)
    return out


def unescape(value: str) -> str:
    """RFC 5545 3.3.11 read back; a backslash before anything else is malformed, so it fails here."""
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            nxt = value[i + 1]
            assert nxt in "\\;,nN", f"bad escape \\{nxt} in {value!r}"
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            assert ch not in ",;", f"unescaped {ch!r} in a TEXT value: {value!r}"
            out.append(ch)
            i += 1
    return "".join(out)


def expected_text(raw: str) -> str:
    """What a reader should get back: line breaks as \\n, control characters gone, surrogates replaced."""
    raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    dropped = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"}
    return "".join(ch for ch in raw
                   if ch in "\n\t" or not (unicodedata.category(ch) == "Cc" or ch in dropped))


def property_value(text: str, name: str) -> str:
    lines = [line for line in unfold(physical_lines(text)) if line.split(":", 1)[0].split(";")[0] == name]
    assert len(lines) == 1, (name, lines)
    return lines[0].split(":", 1)[1]


@given(titles, titles)
def test_any_title_survives_folding_and_escaping(title: str, place: str) -> None:
    text = calendar([event(title, location=place, description=f"议程：\n1. {title}")], prodid="-//Yishi//ZH")
    raw = text.encode("utf-8")  # must encode: no lone surrogate got through
    assert b"\r\n" in raw
    for line in physical_lines(text):
        octets = line.encode("utf-8")
        assert len(octets) <= 75, f"{len(octets)} octets: {line!r}"
        octets.decode("utf-8")  # a line is valid UTF-8 on its own: no character split across a fold
        assert not any(unicodedata.category(ch) == "Cc" and ch != "\t" for ch in line), repr(line)
        assert not line.startswith("  "), "a fold adds exactly one space"
    assert unescape(property_value(text, "SUMMARY")) == expected_text(title)
    if expected_text(place):
        assert unescape(property_value(text, "LOCATION")) == expected_text(place)
    assert unescape(property_value(text, "DESCRIPTION")) == f"议程：\n1. {expected_text(title)}"


@given(titles)
def test_fold_only_inserts_crlf_space(line: str) -> None:
    line = escape_text(line)
    folded = fold(line)
    assert folded.endswith("\r\n")
    assert folded.replace("\r\n ", "")[:-2] == line
    for part in folded[:-2].split("\r\n"):
        assert 0 < len(part.encode("utf-8")) <= 75 or (line == "" and part == "")


def test_folding_at_the_octet_boundary() -> None:
    # "SUMMARY:" is 8 octets; 22 CJK characters (66 octets) make 74: one line. A 23rd makes 77: fold
    # before it, and the continuation (space + 3 octets) is a line of its own.
    fits = "SUMMARY:" + "议" * 22 + "a"
    assert fold(fits) == fits + "\r\n"
    over = "SUMMARY:" + "议" * 23
    assert fold(over) == "SUMMARY:" + "议" * 22 + "\r\n 议\r\n"
    # A 4-octet character that would end at octet 76 moves whole to the next line.
    emoji = "SUMMARY:" + "a" * 64 + "议" + "😀"
    assert fold(emoji) == "SUMMARY:" + "a" * 64 + "议\r\n 😀\r\n"
    # Continuation lines hold 74 octets after their space.
    long = "X" * 75 + "y" * 74 + "z"
    assert fold(long) == "X" * 75 + "\r\n " + "y" * 74 + "\r\n z\r\n"


def test_text_escaping() -> None:
    assert escape_text("a,b;c\\d\ne\r\nf\rg") == "a\\,b\\;c\\\\d\\ne\\nf\\ng"
    assert escape_text("关于3栋、5栋：加装电梯") == "关于3栋、5栋：加装电梯"  # colon and full-width pass
    assert escape_text("警\x1b[31m告\x00") == "警[31m告"
    assert escape_text("\ud800") == "\ufffd"


def test_times_are_utc_and_naive_times_are_refused() -> None:
    start = datetime(2026, 12, 4, 19, 30, tzinfo=SHANGHAI)
    text = calendar([event(start=start, end=start + timedelta(minutes=70))], prodid="-//Yishi//ZH")
    assert property_value(text, "DTSTART") == "20261204T113000Z"
    assert property_value(text, "DTEND") == "20261204T124000Z"
    assert property_value(text, "DTSTAMP") == "20261123T020000Z"
    # The same instant written with another offset gives the same line.
    same = datetime(2026, 12, 4, 6, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert property_value(calendar([event(start=same)], prodid="p"), "DTSTART") == "20261204T113000Z"
    with pytest.raises(ValueError, match="naive"):
        calendar([event(start=datetime(2026, 12, 4, 19, 30))], prodid="p")
    with pytest.raises(ValueError, match="ends before"):
        calendar([event(start=start, end=start - timedelta(minutes=1))], prodid="p")


def test_calendar_structure() -> None:
    text = calendar([event(url="https://yishi.example/meetings/7")], prodid="-//Yishi//Yishi 0.1//ZH")
    lines = unfold(physical_lines(text))
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"] and lines[-1] == "END:VCALENDAR"
    assert lines.count("BEGIN:VEVENT") == 1 and lines.count("END:VEVENT") == 1
    names = [line.split(":", 1)[0] for line in lines]
    for required in ("PRODID", "UID", "DTSTAMP", "DTSTART", "SUMMARY"):  # RFC 5545 3.6.1 / 3.7.3
        assert names.count(required) == 1, required
    assert property_value(text, "URL") == "https://yishi.example/meetings/7"
    assert not any(re.match(r"(LOCATION|DESCRIPTION):", line) for line in lines)  # empty ones are left out
