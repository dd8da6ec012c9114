"""Model pages: progress (curve, versions, jobs), error analysis, model settings."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from labeler.auth import MODEL_INTERNALS_ROLE, admin_required, project_role
from labeler.core import sampling
from labeler.core.estimators import ESTIMATORS
from labeler.extensions import db
from labeler.models import ModelVersion, Project
from labeler.services import ServiceError
from labeler.services.items.preview import has_picture
from labeler.services.learning import label_quality, model_settings, modeling, relabel
from labeler.services.learning import model_reports as reports
from labeler.views.common import load_project
from labeler.web.charts import heatmap_svg
from labeler.web.charts_curve import line_chart_svg
from labeler.web.redirects import safe_target

bp = Blueprint("models", __name__)


def _latest_evaluated(history: list[ModelVersion]) -> ModelVersion | None:
    """The version to show in detail: the champion, else the newest that finished."""
    finished = [v for v in history if v.status != "failed" and v.metrics]
    champions = [v for v in finished if v.status == "champion"]
    return (champions or finished or [None])[-1]


def _confusion(version: ModelVersion | None) -> Markup | None:
    metrics = (version.metrics or {}) if version else {}
    matrix, labels = metrics.get("confusion_matrix"), metrics.get("labels")
    if not matrix or not labels:
        return None
    biggest = max((max(row) for row in matrix), default=1) or 1
    return heatmap_svg(
        matrix,
        labels,
        labels,
        "{:.0f}",
        0,
        biggest,
        "Confusion matrix (rows: final label, columns: predicted)",
    )


def _why_no_curve(history: list[ModelVersion]) -> str:
    """What an empty learning curve says: no version, or versions with no test score."""
    if not history:
        return "no model trained yet"
    if all(v.status in ("training", "failed") for v in history):
        return "no version has finished training"
    return "no version scored on test items yet (no final-labeled test items)"


def _charts(history: list[ModelVersion]) -> dict[str, Markup]:
    return {
        metric: line_chart_svg(
            reports.curve_series(history, metric),
            title=title,
            y_label=title,
            empty=_why_no_curve(history),
        )
        for metric, title in (("accuracy", "Accuracy"), ("macro_f1", "Macro-F1"))
    }


@bp.route("/projects/<int:project_id>/model")
@login_required
def progress(project_id: int):
    project = load_project(project_id, MODEL_INTERNALS_ROLE)
    history = reports.versions(project)
    shown = _latest_evaluated(history)
    return render_template(
        "models/progress.html",
        project=project,
        role=project_role(current_user, project),
        history=history,
        shown=shown,
        charts=_charts(history),
        confusion=_confusion(shown),
        jobs=reports.recent_jobs(project),
        distribution=reports.label_distribution(project),
        champion=db.session.get(ModelVersion, project.champion_id) if project.champion_id else None,
        stopping=label_quality.stopping_sentence(history),
        relabel=relabel.relabel_figures(project),
    )


@bp.route("/projects/<int:project_id>/model/errors")
@login_required
def errors(project_id: int):
    project = load_project(project_id, MODEL_INTERNALS_ROLE)
    history = reports.versions(project)
    version = _latest_evaluated(history)
    found: dict[str, Any] = ((version.metrics or {}).get("errors") or {}) if version else {}
    issues: dict[str, Any] = ((version.metrics or {}).get("label_issues") or {}) if version else {}
    role = project_role(current_user, project)
    reviewing = role in ("admin", "reviewer")  # final labels are not for annotators
    return render_template(
        "models/errors.html",
        project=project,
        role=role,
        version=version,
        misclassified=reports.error_items(project, found.get("misclassified", [])),
        likely=reports.error_items(project, found.get("likely_label_errors", [])),
        picture=has_picture(project),
        issues=issues if reviewing else {},
        issue_rows=reports.error_items(project, issues.get("issues", [])[:100])
        if reviewing
        else [],
    )


@bp.route("/projects/<int:project_id>/model/errors/review-top", methods=["POST"])
@login_required
def review_top_issues(project_id: int):
    project = load_project(project_id, "reviewer")
    version = _latest_evaluated(reports.versions(project))
    try:
        n = int(request.form.get("n", ""))
    except ValueError:
        flash("n: give a whole number of label issues to send to review.", "error")
        return redirect(url_for("models.errors", project_id=project_id))
    try:
        if version is None:
            raise ServiceError("no trained model yet")
        items = label_quality.send_top_issues_to_review(project, version, n)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"{sum(item.disputed for item in items)} items are in the review queue.", "info")
    return redirect(url_for("models.errors", project_id=project_id))


@bp.route("/projects/<int:project_id>/model/train", methods=["POST"])
@login_required
def train(project_id: int):
    project = load_project(project_id, "reviewer")
    try:
        job = modeling.start_training(project, current_user.id)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Training job #{job.id} started.", "info")
    return redirect(url_for("models.progress", project_id=project_id))


@bp.route("/projects/<int:project_id>/items/<int:item_id>/send-to-review", methods=["POST"])
@login_required
def send_to_review(project_id: int, item_id: int):
    project = load_project(project_id, "reviewer")
    try:
        item = reports.send_to_review(project, item_id)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"Item {item.external_id} is in the review queue.", "info")
    return redirect(
        safe_target(request.form.get("next"), url_for("models.errors", project_id=project_id))
    )


@bp.route("/projects/<int:project_id>/model/settings", methods=["GET", "POST"])
@admin_required
def settings(project_id: int):
    project = load_project(project_id, "admin")
    if request.method == "POST":
        try:
            changed = model_settings.update_settings(project, request.form, current_user.id)
        except ServiceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            return _settings_page(project, request.form), 422
        db.session.commit()
        flash(f"Saved: {', '.join(changed)}." if changed else "Nothing changed.", "info")
        return redirect(url_for("models.settings", project_id=project.id))
    return _settings_page(project, {})


def _settings_page(project: Project, form: Any) -> str:
    return render_template(
        "models/settings.html",
        project=project,
        role="admin",
        form=form,
        strategies=sampling.STRATEGIES,
        estimators=ESTIMATORS,
        locked=model_settings.labeling_started(project),
    )
