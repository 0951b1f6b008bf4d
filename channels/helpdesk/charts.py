"""Charts drawn on the server as inline SVG: no script, no CDN, readable on a phone.

The page's Content-Security-Policy allows no script at all, so the charts are plain SVG
elements with presentation attributes; ``viewBox`` lets them scale to the screen's width.
Every text that reaches the SVG is escaped here; callers pass labels, never markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

# Colour-blind-safe (Okabe–Ito) palette; series beyond it reuse it with dashes.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000")
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 44


def _nice_max(value: int) -> int:
    if value <= 4:
        return 4
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    magnitude = int(10 ** (len(str(value)) - 1))
    return (value // magnitude + 1) * magnitude


def _frame(title: str, body: list[str], legend: list[str]) -> Markup:
    label = escape(title)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 24 * len(legend)}" '
             f'width="100%" role="img" aria-label="{label}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{label}</title>', *body, *legend,
             "</svg>"]
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()


def _axes(top: int, labels: Sequence[str]) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    body = []
    for tick in range(5):
        value = top * tick // 4
        y = HEIGHT - BOTTOM - plot_h * tick / 4
        body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="#ddd" stroke-width="1"/>')
        body.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="15" text-anchor="end" '
                    f'fill="#333">{value}</text>')
    step = max(1, len(labels) // 6)
    for index in range(0, len(labels), step):
        x = _x(index, len(labels))
        body.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" font-size="15" '
                    f'text-anchor="middle" fill="#333">{escape(labels[index][5:])}</text>')
    return body


def _x(index: int, count: int) -> float:
    plot_w = WIDTH - LEFT - RIGHT
    return LEFT + (plot_w * (index + 0.5) / count if count else 0)


def _y(value: int, top: int) -> float:
    plot_h = HEIGHT - TOP - BOTTOM
    return HEIGHT - BOTTOM - plot_h * value / top


def _legend(names: Sequence[str]) -> list[str]:
    items = []
    for index, name in enumerate(names):
        y = HEIGHT + 6 + 24 * index
        colour = PALETTE[index % len(PALETTE)]
        items.append(f'<rect x="{LEFT}" y="{y - 13}" width="18" height="14" fill="{colour}"/>'
                     f'<text x="{LEFT + 26}" y="{y}" font-size="16" fill="#222">'
                     f'{escape(name)}</text>')
    return items


def line_chart(title: str, days: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]
               ) -> Markup:
    """One line per series over the days (``YYYY-MM-DD``; the axis shows ``MM-DD``)."""
    top = _nice_max(max((max(values, default=0) for _, values in series), default=0))
    body = _axes(top, days)
    for index, (_, values) in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        dash = ' stroke-dasharray="6 3"' if index >= len(PALETTE) else ""
        points = " ".join(f"{_x(i, len(days)):.1f},{_y(v, top):.1f}"
                          for i, v in enumerate(values))
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" '
                    f'stroke-width="2"{dash}/>')
    return _frame(title, body, _legend([name for name, _ in series]))


def bar_chart(title: str, bars: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per label, the value written at the bar's end."""
    top = _nice_max(max((value for _, value in bars), default=0))
    row, label_w = 30, 200
    height = TOP + row * max(1, len(bars)) + 8
    plot_w = WIDTH - label_w - RIGHT - 40
    body = []
    for index, (label, value) in enumerate(bars):
        y = TOP + row * index
        width = plot_w * value / top if top else 0
        colour = PALETTE[index % len(PALETTE)]
        body.append(f'<text x="{label_w - 8}" y="{y + 15}" font-size="16" text-anchor="end" '
                    f'fill="#222">{escape(label)}</text>'
                    f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="16" '
                    f'fill="{colour}"/>'
                    f'<text x="{label_w + width + 6:.1f}" y="{y + 15}" font-size="16" '
                    f'fill="#222">{value}</text>')
    label = escape(title)
    return Markup(  # noqa: S704 - every text went through escape()
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
        f'aria-label="{label}" xmlns="http://www.w3.org/2000/svg"><title>{label}</title>'
        + "".join(body) + "</svg>")
