"""The agreement page: how far annotators agree, per label and per annotator.

Reviewers and admins only. The page names annotators and compares their labels,
so an annotator (who must never see other people's labels) gets 403: showing
them even their own agreement figure would reveal how the others voted.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from labeler import jobs
from labeler.auth import project_role
from labeler.models import utcnow
from labeler.services.items import suggestions
from labeler.services.labeling import agreement_report, consensus_job, span_errors
from labeler.views.common import load_project
from labeler.web.charts import bars_svg, heatmap_svg

bp = Blueprint("agreement", __name__)


def charts(figures: dict[str, Any]) -> dict[str, Markup]:
    """The page's pictures as inline SVG (no network, no script)."""
    per_label = figures["per_label"]
    alphas = [row["alpha"] for row in per_label]
    low = min([0.0, *[a for a in alphas if a is not None]])
    pairwise, confusion = figures["pairwise"], figures["confusion"]
    people = figures["annotators"][:40]
    return {
        "per_label": bars_svg(
            alphas,
            [row["label"] for row in per_label],
            vmin=low,
            vmax=1.0,
            title="alpha per label (one vs rest)",
            marks={"0.667": 0.667, "0.8": 0.8},
        ),
        "pairwise": heatmap_svg(
            pairwise["matrix"],
            pairwise["annotators"],
            pairwise["annotators"],
            vmin=0.0,
            vmax=1.0,
            title="Cohen's kappa per annotator pair",
        ),
        "confusion": heatmap_svg(
            confusion["matrix"],
            confusion["labels"],
            confusion["labels"],
            value_format="{:.0%}",
            title="when one says (row), another says",
        ),
        "annotators": bars_svg(
            [p["dawid_skene"] for p in people],
            [p["annotator"] for p in people],
            title="estimated accuracy (Dawid-Skene)",
            value_format="{:.0%}",
        ),
    }


@bp.route("/projects/<int:project_id>/agreement")
@login_required
def page(project_id: int):
    project = load_project(project_id, need="reviewer")
    report = agreement_report.page_report(project)
    running = agreement_report.running_job(project)
    age = None
    if report.job is not None and report.job.finished_at is not None:
        age = int((utcnow() - report.job.finished_at).total_seconds())
    return render_template(
        "agreement/page.html",
        project=project,
        role=project_role(current_user, project),
        report=report,
        figures=report.figures,
        running=running,
        age=age,
        charts=charts(report.figures) if report.figures else None,
        inline_limit=agreement_report.INLINE_LIMIT,
        # labels given with a suggestion against labels given without (anchoring)
        suggestion_report=suggestions.report(project),
    )


@bp.post("/projects/<int:project_id>/agreement/recompute")
@login_required
def recompute(project_id: int):
    """Queue the agreement job (and, for Dawid-Skene projects, the consensus job)."""
    project = load_project(project_id, need="reviewer")
    project_id, method, user_id = project.id, project.consensus_method, current_user.id
    jobs.start("agreement", project_id, user_id=user_id)
    if method in consensus_job.JOB_METHODS:
        jobs.start("consensus", project_id, user_id=user_id)
    named = {"dawid_skene": "Dawid–Skene", "model_aware": "model-aware"}
    also = f" and {named[method]} consensus" if method in named else ""
    flash(f"Recomputing agreement{also}.", "info")
    return redirect(url_for("agreement.page", project_id=project_id))


@bp.route("/projects/<int:project_id>/agreement/errors")
@login_required
def errors(project_id: int):
    """Annotators' errors against the final (or gold) answers, for kinds that offer it:
    per error kind, the label confusion, and example items one click from review."""
    project = load_project(project_id, need="reviewer")
    reference = request.args.get("reference") or "final"
    if reference not in span_errors.REFERENCES:
        reference = "final"
    report = span_errors.annotation_errors(project, reference)
    if report is None:
        return render_template(
            "agreement/errors.html", project=project, role=project_role(current_user, project)
        )
    confusion = report["overall"]["confusion"]
    rows = sorted({c["reference"] for c in confusion})
    cols = sorted({c["predicted"] for c in confusion})
    cells = {(c["reference"], c["predicted"]): c["count"] for c in confusion}
    top = max([1, *cells.values()])
    chart = heatmap_svg(
        [[cells.get((r, p), 0) for p in cols] for r in rows],
        rows,
        cols,
        value_format="{:.0f}",
        vmax=top,
        title="reference label (rows) x annotators' label (columns)",
    )
    return render_template(
        "agreement/errors.html",
        project=project,
        role=project_role(current_user, project),
        report=report,
        chart=chart if confusion else None,
    )
