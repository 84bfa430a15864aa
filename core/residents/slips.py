"""QR codes (segno) and the printable slips (WeasyPrint): one sheet per building, eight slips an A4.

The QR code holds the absolute personal link, so the base URL comes from the request the staff
member printed from (what residents' phones can reach: put the server behind its public name
before printing). A slip carries the code, the name, 楼栋/单元/房号 and one line saying what to do.
"""

from __future__ import annotations

import io
from itertools import groupby
from typing import Any

import segno
from jinja2 import Environment

from core.fonts import MissingFontError, cjk_font_families

TEMPLATE = "residents/slips.html"
#: Error correction M (15 %): survives a crease or a smudge on a slip in a mailbox.
QR_ERROR = "m"


def personal_link(base_url: str, token: str) -> str:
    """The absolute link a QR code holds: ``https://host/r/<token>``."""
    return f"{base_url.rstrip('/')}/r/{token}"


def qr_code(link: str) -> segno.QRCode:
    return segno.make(link, error=QR_ERROR, micro=False)


def qr_svg(link: str, scale: int = 8) -> str:
    """The QR code as a standalone SVG document (dark modules as one path, 4-module quiet zone)."""
    out = io.BytesIO()
    qr_code(link).save(out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True,
                       title="QR", nl=False)
    return out.getvalue().decode("utf-8")


def qr_data_uri(link: str) -> str:
    """The QR code as an ``data:image/svg+xml`` URI, for an ``<img>`` in the printed slips."""
    return qr_code(link).svg_data_uri(scale=4, border=2)


def slip_context(entries: list[dict[str, Any]], base_url: str, token_of: Any) -> list[dict[str, Any]]:
    """Sheets (one per building) of slips with their QR codes."""
    sheets = []
    for building, group in groupby(entries, key=lambda e: e["building"]):
        slips = []
        for entry in group:
            token = token_of(entry)
            link = personal_link(base_url, token)
            slips.append({"entry": entry, "link": link, "token": token, "qr": qr_data_uri(link),
                          "link_base": link.removesuffix(token)})
        sheets.append({"building": building, "slips": slips})
    return sheets


def render_slips_html(env: Environment, context: dict[str, Any]) -> str:
    return env.get_template(TEMPLATE).render(**context)


def render_slips_pdf(html: str, base_url: str) -> bytes:
    """Print the slips; refuse rather than print boxes when no CJK font exists."""
    if not cjk_font_families():
        raise MissingFontError()
    from weasyprint import HTML  # imported late: it loads pango and fonts

    return HTML(string=html, base_url=base_url).write_pdf()
