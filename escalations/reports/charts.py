"""Server-rendered SVG charts drawn from a report table (no JavaScript, no CDN).

A chart only ever shows a table's own cells, so the table under it is its exact legend.
"""

from __future__ import annotations

import math
from datetime import date

from django.utils.html import escape

from escalations.reports.base import Table

WIDTH, HEIGHT = 760, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 30, 70
COLOURS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#e53e3e", "#319795", "#d69e2e", "#718096"]
MAX_BARS = 30


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * step:
            return m * step
    return 10 * step


def _label(value) -> str:
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _num(value) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def render(table: Table) -> str:
    """The table's chart as an ``<svg>`` element, or "" when it has none or nothing to draw."""
    chart = table.chart
    if chart is None or not table.rows:
        return ""
    x_idx = table.column(chart.x)
    series = [(table.column(k), table.columns[table.column(k)].label) for k in chart.series]
    rows = table.rows if chart.kind == "line" else table.rows[:MAX_BARS]
    if chart.kind == "bar" and chart.stacked:
        peak = max((sum(_num(r[i]) for i, _ in series) for r in rows), default=0)
    else:
        peak = max((_num(r[i]) for r in rows for i, _ in series), default=0)
    if peak <= 0:
        return ""
    top = _nice_max(peak)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    y = lambda v: TOP + plot_h - plot_h * _num(v) / top  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="report-chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(table.title)}" font-family="sans-serif">'
    ]
    for k in range(5):  # gridlines and y labels
        v = top * k / 4
        yy = y(v)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end" font-size="10" fill="#555">{v:g}</text>')
    n = len(rows)
    slot = plot_w / n
    every = max(1, math.ceil(n / 24))  # at most ~24 x labels
    for j, r in enumerate(rows):
        cx = LEFT + slot * (j + 0.5)
        if j % every == 0:
            text = escape(_label(r[x_idx])[:18])
            parts.append(
                f'<text transform="translate({cx:.1f},{TOP + plot_h + 10}) rotate(45)" '
                f'font-size="10" fill="#555">{text}</text>'
            )
        if chart.kind == "bar":
            parts.extend(_bars(r, series, cx, slot, y, chart.stacked))
    if chart.kind == "line":
        for s, (i, _label_text) in enumerate(series):
            points = " ".join(f"{LEFT + slot * (j + 0.5):.1f},{y(r[i]):.1f}" for j, r in enumerate(rows))
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{COLOURS[s % len(COLOURS)]}" stroke-width="2"/>'
            )
    for s, (_i, text) in enumerate(series):  # legend
        lx = LEFT + s * 150
        parts.append(f'<rect x="{lx}" y="8" width="12" height="12" fill="{COLOURS[s % len(COLOURS)]}"/>')
        parts.append(f'<text x="{lx + 16}" y="18" font-size="11" fill="#333">{escape(text[:20])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _bars(row, series, cx, slot, y, stacked: bool) -> list[str]:
    out = []
    width = slot * 0.8
    base = y(0)
    if stacked:
        acc = 0.0
        for s, (i, label) in enumerate(series):
            v = _num(row[i])
            if v > 0:
                y_top, y_bottom = y(acc + v), y(acc)
                out.append(_rect(cx - width / 2, y_top, width, y_bottom - y_top, s, f"{label}: {row[i]}"))
            acc += v
        return out
    each = width / len(series)
    for s, (i, label) in enumerate(series):
        v = _num(row[i])
        if v > 0:
            yy = y(v)
            out.append(_rect(cx - width / 2 + s * each, yy, each, base - yy, s, f"{label}: {row[i]}"))
    return out


def _rect(x, y, w, h, s, title) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{max(h, 0):.1f}" '
        f'fill="{COLOURS[s % len(COLOURS)]}"><title>{escape(title)}</title></rect>'
    )
