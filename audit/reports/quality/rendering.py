"""Render a quality report: HTML from a Django template (tables and the interval charts of
:mod:`.presentation`, plus time-series charts drawn here with matplotlib as inline
SVG), and PDF from that HTML with WeasyPrint, which fetches nothing: only ``data:`` URLs are
allowed, so a report can never reach the network or the file system.
"""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")

from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from matplotlib.figure import Figure

INK = "#1d2329"
PALETTE = ["#1f6feb", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#0a7f8c", "#6e7781"]
_SVG_START = re.compile(r"<svg\b")


_ID = re.compile(r'id="([^"]+)"')


def _svg(fig: Figure, title: str, prefix: str) -> SafeString:
    """The figure as an inline ``<svg>`` (no XML prologue), text kept as ``<text>`` (small; the
    SVG writer escapes it; the page's DejaVu font draws it), with an accessible title. Every id
    gets ``prefix``, so two charts in a page never share one (matplotlib numbers from 1)."""
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = out.getvalue()
    match = _SVG_START.search(text)
    svg = text[match.start() :] if match else ""
    for name in sorted(set(_ID.findall(svg)), key=len, reverse=True):
        new = f"{prefix}-{name}"
        svg = svg.replace(f'id="{name}"', f'id="{new}"')
        svg = svg.replace(f'href="#{name}"', f'href="#{new}"')
        svg = svg.replace(f"url(#{name})", f"url(#{new})")
    svg = svg.replace(
        "<svg ", f'<svg role="img" aria-label="{escape(title)}" class="mpl-chart" ', 1
    )
    return mark_safe(svg)  # noqa: S308 - matplotlib's SVG; our only text is escaped above


def _figure(width: float = 7.0, height: float = 2.8) -> Figure:
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "quality-report"}):
        fig = Figure(figsize=(width, height), dpi=72)
    return fig


def throughput_chart(daily: dict[str, dict[str, int]]) -> SafeString | str:
    """Stacked bars: ratings submitted per day, one colour per method."""
    days = sorted({d for per in daily.values() for d in per})
    if not days:
        return ""
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "quality-report"}):
        fig = _figure()
        ax = fig.subplots()
        bottom = [0] * len(days)
        for i, (method, per) in enumerate(sorted(daily.items())):
            values = [per.get(d, 0) for d in days]
            ax.bar(range(len(days)), values, bottom=bottom, label=method,
                   color=PALETTE[i % len(PALETTE)])  # fmt: skip
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        step = max(1, len(days) // 10)
        ax.set_xticks(range(0, len(days), step), [d[5:] for d in days[::step]], fontsize=8)
        ax.set_ylabel("ratings", fontsize=9)
        ax.set_title("Ratings submitted per day", fontsize=10, color=INK)
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig, "Ratings submitted per day, per method", "throughput")


def drift_chart(drift: dict) -> SafeString | str:
    """One line per expert: severity (score minus the other experts' mean) per time bin."""
    bins = drift.get("bins", [])
    if not bins or not drift.get("experts"):
        return ""
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "quality-report"}):
        fig = _figure()
        ax = fig.subplots()
        ax.axhline(0, color="#8c959f", linewidth=1, linestyle="--")
        for i, (expert, values) in enumerate(sorted(drift["experts"].items())):
            xs = [k for k, v in enumerate(values) if v is not None]
            ys = [v for v in values if v is not None]
            ax.plot(xs, ys, marker="o", markersize=4, label=expert,
                    color=PALETTE[i % len(PALETTE)])  # fmt: skip
        step = max(1, len(bins) // 10)
        ax.set_xticks(range(0, len(bins), step), [b[5:] for b in bins[::step]], fontsize=8)
        ax.set_ylabel("score minus others' mean", fontsize=9)
        unit = "day" if drift.get("bin_days", 1) == 1 else "week"
        ax.set_title(f"Rater severity per {unit} (negative = stricter)", fontsize=10, color=INK)
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(fig, f"Rater severity per {unit}, per expert", "drift")


def render_html(context: dict) -> str:
    return render_to_string("reports/quality_report.html", context)


class PdfUnavailable(RuntimeError):
    """WeasyPrint or its system libraries (Pango) are missing."""


def render_pdf(html: str) -> bytes:
    """The HTML as PDF. Only ``data:`` URLs may be fetched (the report inlines everything)."""
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango or HarfBuzz not installed
        raise PdfUnavailable(f"WeasyPrint cannot run here: {exc}") from exc
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"}, timeout=1)
    return weasyprint.HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf()
