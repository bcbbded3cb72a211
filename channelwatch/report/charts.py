"""Inline SVG charts for the report: no script, no external file, readable without colour.

Each function returns `markupsafe.Markup` whose every piece of text is escaped here, so
the template can insert it as is. Bars and points carry a <title> (a native tooltip).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

FONT = "font-family:Arial,Helvetica,sans-serif"


def _ticks(value: float, integer: bool = False) -> tuple[float, int]:
    """A round tick step (1, 2 or 5 × 10^k; whole numbers for counts) and how many ticks
    reach `value`: about four."""
    if value <= 0:
        return 1.0, 4
    rough = value / 4
    exp = 10 ** math.floor(math.log10(rough))
    step = next(m * exp for m in (1, 2, 5, 10) if rough <= m * exp)
    if integer:
        step = max(step, 1)
    return step, max(math.ceil(value / step - 1e-9), 1)


def _fmt(value: float) -> str:
    return f"{value:g}" if value < 100 else f"{value:,.0f}"


def _day_label(day: date) -> str:
    return f"{day.day} {day.strftime('%b')}"


def _frame(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        f'style="max-width:100%;height:auto;{FONT}">'
        f"<title>{escape(title)}</title>"
    )
    return Markup(head + "".join(body) + "</svg>")


def _axes(
    body: list[str],
    days: Sequence[date],
    left: int,
    top: int,
    plot_w: float,
    plot_h: float,
    step: float,
    n: int,
    unit: str = "",
) -> float:
    """Grid lines, y ticks and every fifth day label; returns the slot width per day."""
    for i in range(n + 1):
        value = step * i
        y = top + plot_h - plot_h * i / n
        body.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" '
            f'stroke="#e5e7eb" stroke-width="1"/>'
        )
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" fill="#4b5563" '
            f'text-anchor="end">{escape(_fmt(value))}{escape(unit)}</text>'
        )
    slot = plot_w / max(len(days), 1)
    for i, day in enumerate(days):
        if (len(days) - 1 - i) % 5 == 0:
            x = left + slot * (i + 0.5)
            body.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 16:.1f}" font-size="11" '
                f'fill="#4b5563" text-anchor="middle">{escape(_day_label(day))}</text>'
            )
    body.append(
        f'<line x1="{left}" y1="{top + plot_h:.1f}" x2="{left + plot_w:.1f}" '
        f'y2="{top + plot_h:.1f}" stroke="#9ca3af" stroke-width="1"/>'
    )
    return slot


def _legend(
    body: list[str], entries: Sequence[tuple[str, str, str]], x: int, y: int, width: int
) -> None:
    """Legend entries (label, colour, dash) wrapped across lines."""
    cx, cy = x, y
    for label, colour, dash in entries:
        w = 26 + 7 * len(label)
        if cx + w > x + width:
            cx, cy = x, cy + 18
        if dash is None:
            body.append(f'<rect x="{cx}" y="{cy - 9}" width="12" height="12" fill="{colour}"/>')
        else:
            body.append(
                f'<line x1="{cx}" y1="{cy - 3}" x2="{cx + 14}" y2="{cy - 3}" '
                f'stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
            )
        body.append(
            f'<text x="{cx + 18}" y="{cy + 1}" font-size="12" fill="#111827">{escape(label)}</text>'
        )
        cx += w


def stacked_bars(
    days: Sequence[date],
    series: dict[str, Sequence[int]],
    labels: dict[str, str],
    colours: dict[str, str],
    title: str,
    width: int = 880,
    height: int = 260,
) -> Markup:
    """One bar per day, stacked by series (e.g. findings per category per day)."""
    left, top, right, legend_h = 44, 12, 8, 40
    plot_w, plot_h = width - left - right, height - top - 30 - legend_h
    totals = [sum(s[i] for s in series.values()) for i in range(len(days))]
    step, n = _ticks(max(totals, default=0), integer=True)
    y_max = step * n
    body: list[str] = []
    slot = _axes(body, days, left, top, plot_w, plot_h, step, n)
    bar_w = max(slot * 0.7, 1)
    for i, day in enumerate(days):
        x = left + slot * i + (slot - bar_w) / 2
        y = top + plot_h
        for key, values in series.items():
            n = values[i]
            if not n:
                continue
            h = plot_h * n / y_max
            y -= h
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{colours.get(key, "#6b7280")}"><title>{escape(_day_label(day))}: '
                f"{n} {escape(labels.get(key, key))}</title></rect>"
            )
    _legend(
        body,
        [(labels.get(k, k), colours.get(k, "#6b7280"), None) for k in series],
        left,
        height - legend_h + 16,
        plot_w,
    )
    return _frame(width, height, title, body)


def lines(
    days: Sequence[date],
    series: dict[str, Sequence[float | None]],
    labels: dict[str, str],
    colours: dict[str, str],
    title: str,
    target: float | None = None,
    unit: str = "h",
    width: int = 880,
    height: int = 260,
) -> Markup:
    """One line per series with a point per day (gaps where None) and a dashed target."""
    left, top, right, legend_h = 44, 12, 8, 40
    plot_w, plot_h = width - left - right, height - top - 30 - legend_h
    values = [v for s in series.values() for v in s if v is not None]
    step, n = _ticks(max(values + ([target * 1.1] if target else []), default=0))
    y_max = step * n
    body: list[str] = []
    slot = _axes(body, days, left, top, plot_w, plot_h, step, n, unit)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + slot * (i + 0.5), top + plot_h - plot_h * min(v, y_max) / y_max

    if target:
        _, ty = xy(0, target)
        body.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{left + plot_w:.1f}" y2="{ty:.1f}" '
            f'stroke="#b91c1c" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
    for key, points in series.items():
        colour = colours.get(key, "#6b7280")
        run: list[str] = []
        for i, v in enumerate(list(points) + [None]):
            if v is None:
                if len(run) > 1:
                    body.append(
                        f'<polyline points="{" ".join(run)}" fill="none" '
                        f'stroke="{colour}" stroke-width="2"/>'
                    )
                run = []
                continue
            x, y = xy(i, v)
            run.append(f"{x:.1f},{y:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(labels.get(key, key))}, {escape(_day_label(days[i]))}: "
                f"{v:.1f}{escape(unit)}</title></circle>"
            )
    legend = [(labels.get(k, k), colours.get(k, "#6b7280"), None) for k in series]
    if target:
        legend.append((f"target {target:g}{unit}", "#b91c1c", "6 4"))
    _legend(body, legend, left, height - legend_h + 16, plot_w)
    return _frame(width, height, title, body)
