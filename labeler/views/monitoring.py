"""The monitoring page (serving figures, drift, rollout actions) and project alerts.

Members see the figures (as they see the model pages); admins change which version
serves; reviewers and admins resolve alerts and start a check.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from sqlalchemy import select

from labeler import jobs
from labeler.auth import MODEL_INTERNALS_ROLE, project_role
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import Alert, Project, User
from labeler.services import ServiceError
from labeler.services.learning import model_reports as reports
from labeler.services.learning.scoring_job import start_rescore
from labeler.services.serving import monitoring, prediction_log, rollout
from labeler.views.common import load_project
from labeler.web.charts_curve import line_chart_svg
from labeler.web.redirects import safe_target

bp = Blueprint("monitoring", __name__)


@bp.app_template_global("open_alerts")
def open_alerts(project: Project) -> list[Alert]:
    """Open alerts of ``project``, for the project page's include."""
    return monitoring.open_alerts(project)


def _charts(found: dict[str, Any]) -> dict[str, Markup]:
    series = found["series"]
    start = min((row["window"] for row in series), default=None)

    def hours(row: dict[str, Any]) -> float:
        from datetime import datetime

        delta = datetime.fromisoformat(row["window"]) - datetime.fromisoformat(start)
        return delta.total_seconds() / 3600.0

    latency: dict[str, list[tuple[float, float]]] = {}
    confidence: dict[str, list[tuple[float, float]]] = {}
    throughput: dict[str, list[tuple[float, float]]] = {}
    for row in series:
        name = f"#{row['model_version_id']}"
        if row["p50_ms"] is not None:  # None: no request's latency in this window
            latency.setdefault(f"{name} p50", []).append((hours(row), row["p50_ms"]))
            latency.setdefault(f"{name} p95", []).append((hours(row), row["p95_ms"]))
        confidence.setdefault(name, []).append((hours(row), row["mean_confidence"] or 0.0))
        throughput.setdefault(name, []).append((hours(row), row["per_minute"]))
    top = max((row["p95_ms"] or 0 for row in series), default=1.0) * 1.1 or 1.0
    busiest = max((row["per_minute"] for row in series), default=1.0) * 1.1 or 1.0
    x_label = "hours since the window started"
    none = "no predictions served in this window yet"
    return {
        "latency": line_chart_svg(
            latency,
            "Latency (ms) per version",
            x_label,
            "ms",
            (0.0, top),
            empty=none if not series else "no request in this window recorded its latency",
        ),
        "throughput": line_chart_svg(
            throughput, "Predictions a minute", x_label, "per minute", (0.0, busiest), empty=none
        ),
        "confidence": line_chart_svg(
            confidence, "Mean confidence", x_label, "confidence", empty=none
        ),
    }


@bp.route("/projects/<int:project_id>/monitoring")
@login_required
def page(project_id: int):
    prediction_log.flush_for_reading()
    project = load_project(project_id, MODEL_INTERNALS_ROLE)
    hours = request.args.get("hours", 24, type=int) or 24
    found = monitoring.figures(project, min(max(hours, 1), 720))
    history = rollout.history(project, 20)
    ids = {event.user_id for event in history if event.user_id}
    names = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    return render_template(
        "monitoring/page.html",
        project=project,
        role=project_role(current_user, project),
        found=found,
        charts=_charts(found),
        versions=reports.versions(project),
        history=history,
        names=names,
        alerts=monitoring.open_alerts(project),
    )


def _act(project_id: int, version_id: int, action: str):
    load_project(project_id, "admin")
    reason = (request.form.get("reason") or "").strip()
    begin_write()  # one write transaction: the switch is atomic
    project = load_project(project_id, "admin")
    champion_before = project.champion_id
    try:
        version = reports.get_version(project, version_id)
        share = float(request.form.get("share") or 0.1) if action == "challenger" else 0.1
        rollout.act(project, version, action, current_user.id, reason, share)
    except (ServiceError, ValueError) as exc:
        db.session.rollback()
        flash(getattr(exc, "message", None) or f"bad value: {exc}", "error")
    else:
        db.session.commit()
        flash(f"Model #{version_id}: {action} done.", "info")
        if project.champion_id != champion_before:  # the queue follows the new champion
            start_rescore(project, current_user.id, f"{action} of model #{version_id}")
    return redirect(url_for("monitoring.page", project_id=project_id))


@bp.route(
    "/projects/<int:project_id>/monitoring/models/<int:version_id>/challenger", methods=["POST"]
)
@login_required
def challenger(project_id: int, version_id: int):
    return _act(project_id, version_id, "challenger")


@bp.route("/projects/<int:project_id>/monitoring/models/<int:version_id>/promote", methods=["POST"])
@login_required
def promote(project_id: int, version_id: int):
    return _act(project_id, version_id, "promote")


@bp.route(
    "/projects/<int:project_id>/monitoring/models/<int:version_id>/rollback", methods=["POST"]
)
@login_required
def rollback(project_id: int, version_id: int):
    return _act(project_id, version_id, "rollback")


@bp.route("/projects/<int:project_id>/monitoring/models/<int:version_id>/retire", methods=["POST"])
@login_required
def retire(project_id: int, version_id: int):
    return _act(project_id, version_id, "retire")


@bp.route("/projects/<int:project_id>/monitoring/check", methods=["POST"])
@login_required
def check(project_id: int):
    project = load_project(project_id, "reviewer")
    job = jobs.start(monitoring.KIND, project.id, {"reason": "manual"}, current_user.id)
    flash(f"Monitoring check #{job.id} started.", "info")
    return redirect(url_for("monitoring.page", project_id=project_id))


@bp.route("/projects/<int:project_id>/alerts/resolve", methods=["POST"])
@login_required
def resolve_alert(project_id: int):
    project = load_project(project_id, "reviewer")
    try:
        alert = monitoring.resolve_alert(
            project, request.form.get("alert_id", 0, type=int), current_user.id
        )
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"Alert resolved: {alert.message}", "info")
    return redirect(
        safe_target(request.form.get("next"), url_for("projects.show", project_id=project_id))
    )
