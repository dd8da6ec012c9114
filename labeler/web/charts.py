"""Small charts as inline SVG, rendered on the server.

Pages work with no network and under a strict CSP (no inline script, no ``style=``
attributes), so charts are plain SVG markup using presentation attributes
(``fill=``, ``font-size=``). Every label is escaped: annotator and label names come
from users. NaN values draw as a grey cell or an empty bar marked "n/a".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

_LOW = (247, 249, 252)  # near white
_HIGH = (40, 87, 197)  # the page's accent blue
_NAN = "#e3e6ec"
_INK = "#1d2330"
_FONT = 'font-family="system-ui, sans-serif"'


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number


def _share(value: float, vmin: float, vmax: float) -> float:
    if vmax <= vmin:
        return 1.0
    return min(max((value - vmin) / (vmax - vmin), 0.0), 1.0)


def _colour(share: float) -> str:
    red, green, blue = (round(lo + (hi - lo) * share) for lo, hi in zip(_LOW, _HIGH, strict=True))
    return f"#{red:02x}{green:02x}{blue:02x}"


def _text(value: float, value_format: str) -> str:
    return "n/a" if math.isnan(value) else value_format.format(value)


def _clip(label: object, width: int) -> str:
    text = str(label)
    return text if len(text) <= width else text[: width - 1] + "…"


def heatmap_svg(
    matrix: Sequence[Sequence[float | None]],
    row_labels: Sequence[object],
    col_labels: Sequence[object],
    value_format: str = "{:.2f}",
    vmin: float = 0.0,
    vmax: float = 1.0,
    title: str = "",
) -> Markup:
    """A rows x columns grid of coloured cells, each with its value printed.

    Colour runs from white at ``vmin`` to blue at ``vmax`` (values outside are
    clipped); missing values (None or NaN) are grey and read "n/a". Each cell
    carries a tooltip "row × column: value". Labels longer than 18 characters are
    shortened on screen; the tooltip keeps them whole.
    """
    n_rows, n_cols = len(row_labels), len(col_labels)
    cell, left, top = 46, 130, 96 + (18 if title else 0)
    width, height = left + n_cols * cell + 8, top + n_rows * cell + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title or "heatmap")}" {_FONT} font-size="12">'
    ]
    if title:
        parts.append(f'<text x="4" y="16" font-weight="600" fill="{_INK}">{escape(title)}</text>')
    for j, label in enumerate(col_labels):
        x, y = left + j * cell + cell / 2, top - 6
        parts.append(
            f'<text x="{x}" y="{y}" transform="rotate(-45 {x} {y})" fill="{_INK}">'
            f"<title>{escape(label)}</title>{escape(_clip(label, 14))}</text>"
        )
    for i, row_label in enumerate(row_labels):
        y = top + i * cell
        parts.append(
            f'<text x="{left - 6}" y="{y + cell / 2 + 4}" text-anchor="end" '
            f'fill="{_INK}"><title>{escape(row_label)}</title>'
            f"{escape(_clip(row_label, 18))}</text>"
        )
        for j, col_label in enumerate(col_labels):
            value = _number(matrix[i][j])
            share = math.nan if math.isnan(value) else _share(value, vmin, vmax)
            fill = _NAN if math.isnan(share) else _colour(share)
            ink = "#ffffff" if not math.isnan(share) and share > 0.55 else _INK
            text = _text(value, value_format)
            x = left + j * cell
            parts.append(
                f"<g><title>{escape(row_label)} × {escape(col_label)}: {escape(text)}</title>"
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" rx="3" '
                f'fill="{fill}"/><text x="{x + (cell - 2) / 2}" y="{y + cell / 2 + 3}" '
                f'text-anchor="middle" fill="{ink}">{escape(text)}</text></g>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped


def bars_svg(
    values: Sequence[float | None],
    labels: Sequence[object],
    value_format: str = "{:.2f}",
    vmin: float = 0.0,
    vmax: float = 1.0,
    title: str = "",
    marks: dict[str, float] | None = None,
    intervals: Sequence[tuple[float, float] | None] | None = None,
) -> Markup:
    """Horizontal bars, one per label, from ``vmin`` (or 0 when in range) to the value.

    ``marks`` draws dashed reference lines, e.g. ``{"reliable": 0.8}``; ``intervals``
    draws a whisker per bar (a confidence interval). Missing values read "n/a".
    """
    row, left, plot = 26, 140, 300
    top = 22 + (18 if title else 0)
    width, height = left + plot + 70, top + len(labels) * row + 10

    def x_of(value: float) -> float:
        return left + plot * _share(value, vmin, vmax)

    base = x_of(0.0 if vmin <= 0.0 <= vmax else vmin)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bars" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(title or "bar chart")}" {_FONT} font-size="12">'
    ]
    if title:
        parts.append(f'<text x="4" y="16" font-weight="600" fill="{_INK}">{escape(title)}</text>')
    for name, at in (marks or {}).items():
        x = x_of(at)
        parts.append(
            f'<line x1="{x}" y1="{top - 6}" x2="{x}" y2="{height - 6}" stroke="#8a93a6" '
            f'stroke-dasharray="4 3"/><text x="{x}" y="{top - 9}" text-anchor="middle" '
            f'fill="#5c6475" font-size="10">{escape(name)}</text>'
        )
    for i, label in enumerate(labels):
        y = top + i * row
        value = _number(values[i])
        text = _text(value, value_format)
        parts.append(
            f"<g><title>{escape(label)}: {escape(text)}</title>"
            f'<text x="{left - 6}" y="{y + 16}" text-anchor="end" fill="{_INK}">'
            f"{escape(_clip(label, 18))}</text>"
        )
        if not math.isnan(value):
            x = x_of(value)
            parts.append(
                f'<rect x="{min(x, base)}" y="{y + 4}" width="{abs(x - base)}" '
                f'height="{row - 8}" fill="{_colour(0.8)}"/>'
            )
        interval = intervals[i] if intervals else None
        if interval and not any(math.isnan(_number(v)) for v in interval):
            low, high = x_of(interval[0]), x_of(interval[1])
            parts.append(
                f'<line x1="{low}" y1="{y + row / 2}" x2="{high}" y2="{y + row / 2}" '
                f'stroke="{_INK}" stroke-width="1.5"/>'
            )
        parts.append(
            f'<text x="{left + plot + 6}" y="{y + 16}" fill="{_INK}">{escape(text)}</text></g>'
        )
    parts.append(
        f'<line x1="{base}" y1="{top - 4}" x2="{base}" y2="{height - 6}" stroke="{_INK}"/></svg>'
    )
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped
