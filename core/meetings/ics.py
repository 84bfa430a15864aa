"""iCalendar (RFC 5545) files: one VEVENT per meeting, for a phone's or a PC's calendar.

Pure text, no I/O and no dependency: what a calendar file needs is small, and the three rules that
break imports when got wrong are kept here in one place —

- every line ends in CRLF (section 3.1);
- a line longer than 75 octets is folded: CRLF and one space, the space counting towards the next
  line's 75 octets; a UTF-8 character is never split between two lines (Chinese takes 3 octets, so
  a naive cut at 75 bytes would corrupt it);
- TEXT values escape ``\\``, ``;``, ``,`` and newlines (section 3.3.11), and carry no control
  characters (TSAFE-CHAR allows a tab, nothing else below U+0020).

Times are written in UTC (``…Z``), which needs no VTIMEZONE block and reads the same everywhere.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from core.text import BIDI_CONTROLS

CRLF = "\r\n"
#: The longest line, in octets, excluding the CRLF (RFC 5545 section 3.1).
LINE_OCTETS = 75


@dataclass(frozen=True)
class Event:
    """A VEVENT. ``start``, ``end`` and ``stamp`` must be timezone-aware."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    stamp: datetime
    location: str = ""
    description: str = ""
    url: str = ""


def escape_text(value: str) -> str:
    """A TEXT property value: ``\\ ; ,`` and newlines escaped, control characters dropped.

    Lone surrogates (which cannot be UTF-8) become U+FFFD rather than failing the whole file.
    """
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    out = []
    for ch in value:
        if ch == "\\":
            out.append("\\\\")
        elif ch in ";,":
            out.append("\\" + ch)
        elif ch == "\n" or unicodedata.category(ch) in ("Zl", "Zp"):  # U+2028/U+2029 end lines too
            out.append("\\n")
        elif ch == "\t":
            out.append(ch)
        elif unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS:
            continue
        elif unicodedata.category(ch) == "Cs":
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def fold(line: str) -> str:
    """Fold one content line into physical lines of at most 75 octets, each ending in CRLF."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    limit = LINE_OCTETS
    for ch in line:
        octets = len(ch.encode("utf-8"))
        if size + octets > limit:
            parts.append("".join(current))
            current, size, limit = [" "], 1, LINE_OCTETS  # the leading space is part of the line
        current.append(ch)
        size += octets
    parts.append("".join(current))
    return "".join(part + CRLF for part in parts)


def utc_stamp(value: datetime) -> str:
    """A DATE-TIME in UTC form: ``20261204T113000Z``. A naive time is refused: whose 19:30?"""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: a calendar time needs a timezone")
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _uri(value: str) -> str:
    """A URI value is not TEXT (no escaping); only characters that would break the line go."""
    return "".join(ch for ch in value if ch.isprintable() and not ch.isspace())


def event_lines(event: Event) -> list[str]:
    """The content lines of one VEVENT, unfolded."""
    if event.end < event.start:
        raise ValueError(f"event {event.uid!r} ends before it starts")
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(event.uid)}",
        f"DTSTAMP:{utc_stamp(event.stamp)}",
        f"DTSTART:{utc_stamp(event.start)}",
        f"DTEND:{utc_stamp(event.end)}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if url := _uri(event.url):
        lines.append(f"URL:{url}")
    lines += ["STATUS:CONFIRMED", "TRANSP:OPAQUE", "END:VEVENT"]
    return lines


def calendar(events: Sequence[Event], prodid: str) -> str:
    """A whole VCALENDAR (METHOD:PUBLISH: an announcement, not an invitation to answer)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{escape_text(prodid)}", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH"]
    for event in events:
        lines += event_lines(event)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) for line in lines)
