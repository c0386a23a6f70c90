"""Small inline SVG charts made on the server: no JavaScript, no library, nothing from a CDN.

:func:`interval_chart` draws one row per label: a dot at the estimate and a bar with caps from
the interval's low to high end, on a common axis, with optional reference lines (e.g. alpha's
.667 and .800). Every text is escaped; the result is a safe string for templates.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_ids = itertools.count(1)

INK = "#1d2329"
MUTED = "#5b6670"
GRID = "#dde2e7"
ACCENT = "#1f6feb"


@dataclass(frozen=True)
class Row:
    label: str
    estimate: float | None
    low: float | None = None
    high: float | None = None
    note: str = ""  # shown right of the plot, e.g. "3.41 [3.10, 3.72]"


@dataclass(frozen=True)
class Reference:
    value: float
    label: str
    colour: str = MUTED


def _fmt(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".") if abs(v - round(v)) > 1e-9 else str(round(v))


def interval_chart(
    rows: Sequence[Row],
    *,
    domain: tuple[float, float],
    ticks: Sequence[float],
    title: str,
    description: str = "",
    references: Sequence[Reference] = (),
    label_width: int = 170,
    note_width: int = 150,
    plot_width: int = 380,
    row_height: int = 30,
) -> SafeString:
    """An accessible dot-and-interval chart (``role="img"`` with a title and a description)."""
    lo, hi = domain
    if not hi > lo:
        hi = lo + 1.0
    top, bottom = 12, 30
    height = top + row_height * max(len(rows), 1) + bottom
    width = label_width + plot_width + note_width
    uid = next(_ids)

    def x(v: float) -> float:
        v = min(max(v, lo), hi)
        return round(label_width + (v - lo) / (hi - lo) * plot_width, 2)

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="chart-title-{uid} chart-desc-{uid}">',
        f'<title id="chart-title-{uid}">{escape(title)}</title>',
        f'<desc id="chart-desc-{uid}">{escape(description or title)}</desc>',
    ]
    axis_y = top + row_height * max(len(rows), 1)
    for t in ticks:
        parts.append(
            f'<line x1="{x(t)}" y1="{top}" x2="{x(t)}" y2="{axis_y}" stroke="{GRID}" '
            f'stroke-width="1"/>'
            f'<text x="{x(t)}" y="{axis_y + 16}" font-size="11" text-anchor="middle" '
            f'fill="{MUTED}">{escape(_fmt(t))}</text>'
        )
    for ref in references:
        parts.append(
            f'<line x1="{x(ref.value)}" y1="{top - 4}" x2="{x(ref.value)}" y2="{axis_y}" '
            f'stroke="{escape(ref.colour)}" stroke-width="1.5" stroke-dasharray="4 3"/>'
            f'<text x="{x(ref.value) + 3}" y="{top + 2}" font-size="10" '
            f'fill="{escape(ref.colour)}">{escape(ref.label)}</text>'
        )
    for i, row in enumerate(rows):
        cy = top + row_height * i + row_height / 2
        parts.append(
            f'<text x="{label_width - 8}" y="{cy + 4}" font-size="12" text-anchor="end" '
            f'fill="{INK}">{escape(row.label)}</text>'
        )
        if row.low is not None and row.high is not None:
            x1, x2 = x(row.low), x(row.high)
            parts.append(
                f'<line x1="{x1}" y1="{cy}" x2="{x2}" y2="{cy}" stroke="{ACCENT}" '
                f'stroke-width="2"/>'
                f'<line x1="{x1}" y1="{cy - 6}" x2="{x1}" y2="{cy + 6}" stroke="{ACCENT}" '
                f'stroke-width="2"/>'
                f'<line x1="{x2}" y1="{cy - 6}" x2="{x2}" y2="{cy + 6}" stroke="{ACCENT}" '
                f'stroke-width="2"/>'
            )
        if row.estimate is not None:
            parts.append(
                f'<circle cx="{x(row.estimate)}" cy="{cy}" r="4.5" fill="{INK}">'
                f"<title>{escape(row.label)}: {escape(row.note or _fmt(row.estimate))}</title>"
                f"</circle>"
            )
        parts.append(
            f'<text x="{label_width + plot_width + 10}" y="{cy + 4}" font-size="11" '
            f'fill="{MUTED}">{escape(row.note or "no estimate")}</text>'
        )
    parts.append(
        f'<line x1="{label_width}" y1="{axis_y}" x2="{label_width + plot_width}" y2="{axis_y}" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every text above is escaped
