"""A simulation's report: report.html (inline SVG, opens offline) plus the numbers
as summary.json, checkpoints.csv and annotators.csv."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from labeler.web.charts import bars_svg
from labeler.web.charts_curve import line_chart_svg

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title}</title><style>
body{{font:14px system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#1d2330}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #d5d9e0;padding:3px 8px;
text-align:right}}th{{background:#f3f5f8}}td:first-child,th:first-child{{text-align:left}}
.charts{{display:flex;flex-wrap:wrap;gap:1em}}.note{{color:#5c6475}}</style></head>
<body><h1>{title}</h1>{body}</body></html>"""


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> Markup:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(fmt(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in rows
    )
    return Markup(f"<table><tr>{head}</tr>{body}</table>")  # noqa: S704 - escaped above


def write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        if not rows:
            return
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _points(rows: Sequence[dict[str, Any]], x: str, y: str) -> list[tuple[float, float]]:
    return [(float(r[x]), float(r[y])) for r in rows if r.get(y) is not None]


def _charts(result: dict[str, Any]) -> list[Markup]:
    points = result["checkpoints"]
    charts = [
        line_chart_svg(
            {
                "accuracy": _points(points, "training_labels", "accuracy"),
                "macro-F1": _points(points, "training_labels", "macro_f1"),
            },
            title="Learning curve (test split)",
            y_label="score",
        ),
        line_chart_svg(
            {"majority": _points(points, "annotations", "majority_accuracy")},
            title="Consensus accuracy vs the truth",
            x_label="annotations",
            y_label="accuracy",
        ),
    ]
    if any(r.get("alpha") is not None for r in points):
        charts.append(
            line_chart_svg(
                {
                    "Krippendorff alpha": _points(points, "training_labels", "alpha"),
                    "Fleiss kappa": _points(points, "training_labels", "fleiss_kappa"),
                    "percent agreement": _points(points, "training_labels", "percent_agreement"),
                },
                title="Agreement",
                y_range=(-0.2, 1.0),
            )
        )
    people = result["annotators"]
    names = [r["annotator"] for r in people]
    charts.append(
        bars_svg(
            [r["observed_accuracy"] for r in people],
            names,
            title="Annotators: true (observed) accuracy",
        )
    )
    if any(r.get("dawid_skene") is not None for r in people):
        charts.append(
            bars_svg(
                [r["dawid_skene"] for r in people], names, title="Annotators: Dawid-Skene estimate"
            )
        )
    return charts


def _consensus_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"method": method, **{k: v for k, v in figures.items() if k != "by"}}
        for method, figures in result["consensus"].items()
    ]


def html(result: dict[str, Any]) -> str:
    settings = result["settings"]
    parts = [
        f"<p>Project #{result['project_id']} <b>{escape(result['name'])}</b> on "
        f"<b>{escape(result['dataset'])}</b>: {result['train_annotations']} annotations in "
        f"the loop plus {result['test_annotations']} on the test split, "
        f"{result['requests']} API requests, {result['wall_seconds']:.1f} s wall time.</p>",
        table([settings], list(settings)),
        f'<div class="charts">{"".join(_charts(result))}</div>',
        "<h2>Consensus against the truth</h2>",
        '<p class="note">accuracy: over items with a final label; accuracy_of_labeled: '
        "undecided (disputed) items count as misses.</p>",
        table(
            _consensus_rows(result),
            ["method", "accuracy", "accuracy_of_labeled", "n_final", "n_disputed"],
        ),
        "<h2>Annotators: true vs estimated accuracy</h2>",
        table(
            result["annotators"],
            [
                "annotator",
                "labels",
                "configured_accuracy",
                "observed_accuracy",
                "dawid_skene",
                "leave_one_out",
            ],
        ),
        "<h2>After each model version</h2>",
        table(
            result["checkpoints"], list(result["checkpoints"][0]) if result["checkpoints"] else []
        ),
        '<p class="note">Test metrics are the server\'s: each version scored on the '
        "final (consensus) labels of the test split.</p>",
    ]
    parts += [f'<p class="note">{escape(note)}</p>' for note in result["notes"]]
    return PAGE.format(
        title=escape(f"labeler simulate: {result['dataset']}"),
        body="\n".join(str(p) for p in parts),
    )


def write_report(result: dict[str, Any], out: Path) -> Path:
    """Write report.html, summary.json, checkpoints.csv, annotators.csv into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(result, indent=2))
    write_csv(out / "checkpoints.csv", result["checkpoints"])
    write_csv(out / "annotators.csv", result["annotators"])
    (out / "report.html").write_text(html(result))
    return out / "report.html"
