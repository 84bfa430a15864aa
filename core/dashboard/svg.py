"""Charts drawn on the server as SVG markup (no JavaScript): pure functions from numbers to text.

Every chart has a <title> and role="img" with an aria-label, and the page puts the same numbers in
a table beside it, so nothing is only in a picture.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

COLOURS = ("#2563EB", "#16A34A", "#D97706", "#B91C1C", "#7C3AED", "#0891B2")


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, width: int = 400,
              unit: str = "") -> Markup:
    """Horizontal bars, one per label, with the value at the end of each bar."""
    row, label_w, pad = 26, 120, 8
    height = max(1, len(labels)) * row + 2 * pad
    top = max([*values, 1])
    bar_w = width - label_w - 60
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
             f"<title>{escape(title)}</title>"]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = pad + i * row
        w = 0 if not value else max(2.0, bar_w * value / top)
        short = label if len(label) <= 9 else label[:8] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" font-size="13">{escape(short)}</text>'
                     f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" '
                     f'fill="{COLOURS[0]}"><title>{escape(label)}: {_fmt(value)}{escape(unit)}</title></rect>'
                     f'<text x="{label_w + w + 4:.1f}" y="{y + 17}" font-size="12">{_fmt(value)}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
                 width: int = 640, height: int = 220) -> Markup:
    """Grouped columns by label (e.g. month), one colour per series, with a legend."""
    left, bottom, top_pad = 36, 34, 24
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    top = max([v for _n, vals in series for v in vals] + [1])
    groups = max(1, len(labels))
    group_w = plot_w / groups
    col_w = max(1.0, (group_w - 2) / max(1, len(series)))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
             f"<title>{escape(title)}</title>"
             f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 8}" y2="{top_pad + plot_h}" stroke="#999"/>'
             f'<text x="{left - 4}" y="{top_pad + 4}" text-anchor="end" font-size="11">{_fmt(top)}</text>'
             f'<text x="{left - 4}" y="{top_pad + plot_h}" text-anchor="end" font-size="11">0</text>']
    for s, (name, _vals) in enumerate(series):
        x = left + s * 90
        parts.append(f'<rect x="{x}" y="4" width="12" height="12" fill="{COLOURS[s % len(COLOURS)]}"/>'
                     f'<text x="{x + 16}" y="15" font-size="12">{escape(name)}</text>')
    step = max(1, groups // 12)
    for g, label in enumerate(labels):
        gx = left + g * group_w + 1
        for s, (name, vals) in enumerate(series):
            value = vals[g]
            h = plot_h * value / top
            parts.append(f'<rect x="{gx + s * col_w:.1f}" y="{top_pad + plot_h - h:.1f}" width="{col_w:.1f}" '
                         f'height="{h:.1f}" fill="{COLOURS[s % len(COLOURS)]}">'
                         f"<title>{escape(label)} {escape(name)}: {_fmt(value)}</title></rect>")
        if g % step == 0:
            parts.append(f'<text x="{gx + group_w / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                         f'font-size="11">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
