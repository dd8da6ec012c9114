"""Server-rendered SVG charts: labels are escaped, missing values show as n/a."""

from __future__ import annotations

import math
import xml.dom.minidom

from labeler.web.charts import bars_svg, heatmap_svg


def test_heatmap_escapes_labels_and_marks_missing_cells():
    evil = '<script>alert("x")</script>'
    svg = heatmap_svg(
        [[1.0, math.nan], [0.25, None]],
        [evil, "bob"],
        ["alice", "bob & co"],
        title="kappa <per pair>",
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "bob &amp; co" in svg and "n/a" in svg and "0.25" in svg
    assert "style=" not in svg
    xml.dom.minidom.parseString(str(svg))  # well-formed


def test_heatmap_clips_values_outside_the_range():
    svg = heatmap_svg([[-0.5, 2.0]], ["a"], ["x", "y"], vmin=0.0, vmax=1.0)
    assert "#f7f9fc" in svg and "#2857c5" in svg


def test_bars_draw_negative_values_marks_and_intervals():
    svg = bars_svg(
        [0.9, -0.2, None],
        ["ham", "spam", "<b>"],
        vmin=-1.0,
        vmax=1.0,
        marks={"reliable": 0.8},
        intervals=[(0.85, 0.95), None, None],
    )
    assert "reliable" in svg and "&lt;b&gt;" in svg and "n/a" in svg
    assert svg.count("<rect") == 2
    xml.dom.minidom.parseString(str(svg))


def test_an_empty_chart_says_why():
    from labeler.web.charts_curve import line_chart_svg

    assert "no predictions served" in line_chart_svg({}, empty="no predictions served yet")
    assert "no evaluated versions yet" in line_chart_svg({"model": []})
