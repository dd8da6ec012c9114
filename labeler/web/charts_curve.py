"""The learning curve as inline SVG: one line per series on shared axes.

Rendered on the server with presentation attributes only (no ``style=``, no
script), so it draws offline and under a strict CSP. Every name is escaped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from markupsafe import Markup, escape

_INK, _GRID, _MUTED = "#1d2330", "#e3e6ec", "#5c6475"
_FONT = 'font-family="system-ui, sans-serif"'
# model solid blue; baselines grey and dashed; human level green and dotted
_LOOK = {
    "model": ("#2857c5", ""),
    "majority": ("#8a93a6", ' stroke-dasharray="6 4"'),
    "stratified": ("#b58a2a", ' stroke-dasharray="2 4"'),
    "human level": ("#1e7a3c", ' stroke-dasharray="1 3"'),
}
_EXTRA = ("#b3261e", "#7b3fb0", "#0e7c86")


def _ticks(low: float, high: float, n: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / (n - 1)
    return [low + i * step for i in range(n)]


def line_chart_svg(
    series: Mapping[str, Sequence[tuple[float, float]]],
    title: str = "",
    x_label: str = "training labels",
    y_label: str = "",
    y_range: tuple[float, float] = (0.0, 1.0),
    width: int = 560,
    height: int = 300,
    empty: str = "no evaluated versions yet",
) -> Markup:
    """Lines with markers for each named series of (x, y) points, and a legend.

    ``y_range`` fixes the vertical axis (metrics in 0..1 keep their scale between
    versions); x runs from 0 to the largest x. Series with no points are left out;
    with no points at all the chart says why, in the words of ``empty``.
    """
    drawn = {name: sorted(points) for name, points in series.items() if points}
    left, right, top, bottom = 48, 150, 26 if title else 10, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    x_max = max((x for points in drawn.values() for x, _ in points), default=1.0) or 1.0
    y_low, y_high = y_range

    def px(x: float) -> float:
        return left + plot_w * x / x_max

    def py(y: float) -> float:
        share = (min(max(y, y_low), y_high) - y_low) / ((y_high - y_low) or 1.0)
        return top + plot_h * (1 - share)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart curve" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title or "line chart")}" {_FONT} font-size="11">'
    ]
    if title:
        parts.append(
            f'<text x="4" y="15" font-weight="600" fill="{_INK}" font-size="12">'
            f"{escape(title)}</text>"
        )
    for y in _ticks(y_low, y_high):
        parts.append(
            f'<line x1="{left}" y1="{py(y):.1f}" x2="{left + plot_w}" y2="{py(y):.1f}" '
            f'stroke="{_GRID}"/><text x="{left - 5}" y="{py(y) + 4:.1f}" '
            f'text-anchor="end" fill="{_MUTED}">{y:.2f}</text>'
        )
    for x in _ticks(0.0, x_max):
        parts.append(
            f'<text x="{px(x):.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
            f'fill="{_MUTED}">{x:,.0f}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" '
        f'y2="{top + plot_h}" stroke="{_INK}"/>'
        f'<text x="{left + plot_w / 2}" y="{height - 6}" text-anchor="middle" '
        f'fill="{_MUTED}">{escape(x_label)}</text>'
    )
    if y_label:
        parts.append(
            f'<text x="12" y="{top + plot_h / 2}" transform="rotate(-90 12 '
            f'{top + plot_h / 2})" text-anchor="middle" fill="{_MUTED}">'
            f"{escape(y_label)}</text>"
        )
    if not drawn:
        parts.append(
            f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" '
            f'text-anchor="middle" fill="{_MUTED}">{escape(empty)}</text>'
        )
    for index, (name, points) in enumerate(drawn.items()):
        colour, dash = _LOOK.get(name, (_EXTRA[index % len(_EXTRA)], ""))
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points if not math.isnan(y))
        parts.append(
            f'<g><title>{escape(name)}</title><polyline points="{path}" fill="none" '
            f'stroke="{colour}" stroke-width="2"{dash}/>'
        )
        for x, y in points:
            parts.append(
                f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)}: {y:.3f} at {x:,.0f} labels</title></circle>"
            )
        legend_y = top + 14 + index * 18
        parts.append(
            f'<line x1="{width - right + 12}" y1="{legend_y - 4}" '
            f'x2="{width - right + 36}" y2="{legend_y - 4}" stroke="{colour}" '
            f'stroke-width="2"{dash}/><text x="{width - right + 42}" y="{legend_y}" '
            f'fill="{_INK}">{escape(name)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped
