"""The Webhooks page (admins): register URLs, send a test event, read the delivery log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from labeler.extensions import db
from labeler.models import Project, Webhook
from labeler.services import NotFound, ServiceError
from labeler.services.projects import webhooks
from labeler.views.common import load_project

bp = Blueprint("webhooks", __name__)


def _hook(project: Project, webhook_id: int) -> Webhook:
    try:
        return webhooks.get(project, webhook_id)
    except NotFound:
        abort(404)


@bp.route("/projects/<int:project_id>/webhooks")
@login_required
def page(project_id: int):
    project = load_project(project_id, "admin")
    return render_template(
        "webhooks/page.html",
        project=project,
        role="admin",
        hooks=webhooks.webhooks(project),
        deliveries=webhooks.recent_deliveries(project),
        events=webhooks.EVENTS,
    )


@bp.route("/projects/<int:project_id>/webhooks", methods=["POST"])
@login_required
def create(project_id: int):
    project = load_project(project_id, "admin")
    try:
        hook = webhooks.register(
            project, request.form.get("url", ""), request.form.getlist("events"), current_user.id
        )
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("webhooks.page", project_id=project.id))
    db.session.commit()
    flash(f"Webhook #{hook.id} added. Its signing secret is {hook.secret}", "info")
    return redirect(url_for("webhooks.page", project_id=project.id))


@bp.route("/projects/<int:project_id>/webhooks/<int:webhook_id>/test", methods=["POST"])
@login_required
def send_test(project_id: int, webhook_id: int):
    project = load_project(project_id, "admin")
    hook = _hook(project, webhook_id)
    webhooks.send_test(project, hook)
    db.session.commit()  # the delivery job starts once this commits
    flash(f"A test event was sent to webhook #{hook.id}; its delivery is in the log.", "info")
    return redirect(url_for("webhooks.page", project_id=project.id))


@bp.route("/projects/<int:project_id>/webhooks/<int:webhook_id>/enable", methods=["POST"])
@login_required
def enable(project_id: int, webhook_id: int):
    project = load_project(project_id, "admin")
    webhooks.enable(_hook(project, webhook_id))
    db.session.commit()
    return redirect(url_for("webhooks.page", project_id=project.id))


@bp.route("/projects/<int:project_id>/webhooks/<int:webhook_id>/delete", methods=["POST"])
@login_required
def delete(project_id: int, webhook_id: int):
    project = load_project(project_id, "admin")
    webhooks.delete(_hook(project, webhook_id))
    db.session.commit()
    flash(f"Webhook #{webhook_id} deleted.", "info")
    return redirect(url_for("webhooks.page", project_id=project.id))
