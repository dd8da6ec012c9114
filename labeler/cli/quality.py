"""``labeler quality PROJECT``: print the data quality report of a project."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from flask.cli import with_appcontext

from labeler.cli.common import project_named
from labeler.extensions import db


@click.command("quality")
@click.argument("project_name")
@click.option(
    "--threshold",
    default=0.8,
    show_default=True,
    help="Near-duplicate similarity (Jaccard of character 5-grams, 0..1).",
)
@click.option("--as-json", is_flag=True, help="Print the whole report as JSON.")
@click.option(
    "--save",
    is_flag=True,
    help="Also store it as a finished quality job, so the "
    "page, the API and the dataset card show it.",
)
@with_appcontext
def quality_command(project_name: str, threshold: float, as_json: bool, save: bool) -> None:
    """Check PROJECT_NAME's items: missing and empty fields, length outliers, unparseable
    numbers, exact and near duplicates, class balance and gold accuracy."""
    from labeler.models import Job, utcnow
    from labeler.services.data import quality

    project = project_named(project_name)
    started = time.perf_counter()
    report = quality.compute(project, threshold=threshold)
    seconds = time.perf_counter() - started
    if save:
        now = utcnow()
        db.session.add(
            Job(
                kind=quality.KIND,
                project_id=project.id,
                status="done",
                progress=1.0,
                params={"threshold": threshold},
                result=report,
                started_at=now,
                finished_at=now,
                message="from the CLI",
            )
        )
        db.session.commit()
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    click.echo("\n".join(summary_lines(project.name, report)))
    click.echo(f"(computed in {seconds:.1f} s)")


def summary_lines(name: str, report: dict[str, Any]) -> list[str]:
    """The report as short plain-text lines, for people."""
    lines = [f"Data quality of {name}: {report['n_items']:,} items", "", "Fields:"]
    for field, f in report["fields"].items():
        parts = [f"{f['missing']:,} missing", f"{f['empty']:,} empty"]
        if "length_outliers" in f:
            parts.append(f"{f['length_outliers']:,} length outliers")
        if "unparseable" in f:
            parts.append(
                f"{f['unparseable']:,} unparseable "
                f"(e.g. {', '.join(f['unparseable_examples'][:3])})"
                if f["unparseable"]
                else "0 unparseable"
            )
        lines.append(f"  {field} ({f['kind']}): " + ", ".join(parts))
    exact = report.get("exact_duplicates") or {}
    if exact:
        lines += [
            "",
            f"Exact duplicates: {exact['copies']:,} copies of {exact['groups']:,} "
            f"texts; {exact['linked']:,} linked",
        ]
        lines += [f"  x{g['size']}: {g['text']}" for g in exact["largest"][:5]]
    near = report.get("near_duplicates")
    if near:
        lines += [
            "",
            f"Near-duplicates (similarity >= {near['threshold']}): {near['groups']:,} "
            f"groups, {near['n_texts']:,} texts",
        ]
        lines += [f"  {' | '.join(g['texts'][:2])}" for g in near["largest"][:5]]
    for title, key in (("Labels given", "annotation_labels"), ("Final labels", "final_labels")):
        balance = report[key]
        if balance["n"]:
            counts = ", ".join(f"{k} {v:,}" for k, v in balance["counts"].items())
            ratio = f" (imbalance {balance['imbalance']:.1f})" if balance["imbalance"] else ""
            lines += ["", f"{title}: {counts}{ratio}"]
    gold = report["gold"]
    lines += ["", f"Gold items: {gold['n_items']:,}"]
    lines += [
        f"  {a['annotator']}: {a['correct']}/{a['n']} "
        f"(95% interval {a['ci_low']:.0%}-{a['ci_high']:.0%})"
        for a in gold["annotators"]
    ]
    return lines
