"""Data quality pages: the report, gold items, the label-set editor, annotators over
time, and guideline versions. Reviewers read; admins change."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from labeler import jobs
from labeler.auth import project_role
from labeler.extensions import db
from labeler.models import Item
from labeler.services import ServiceError
from labeler.services.data import guidelines, labelset
from labeler.services.data import quality as quality_service
from labeler.services.labeling import annotator_stats, gold
from labeler.services.labeling.queue import get_item
from labeler.views.common import load_project

bp = Blueprint("quality", __name__)


@bp.before_request
def _require_login():
    """Every page here needs a signed-in user (strangers then get 404 per project)."""
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


def _page(template: str, project, **context):
    return render_template(
        f"quality/{template}", project=project, role=project_role(current_user, project), **context
    )


@bp.get("/projects/<int:project_id>/quality")
def report(project_id: int):
    project = load_project(project_id, "reviewer")
    result = quality_service.page_report(project)
    return _page(
        "report.html",
        project,
        figures=result.figures,
        job=result.job,
        running=quality_service.running_job(project),
        inline_limit=quality_service.INLINE_LIMIT,
    )


@bp.post("/projects/<int:project_id>/quality/run")
def run(project_id: int):
    project = load_project(project_id, "reviewer")
    jobs.start(quality_service.KIND, project.id, {}, current_user.id)
    flash("The quality report is being computed in the background.", "info")
    return redirect(url_for("quality.report", project_id=project_id))


@bp.get("/projects/<int:project_id>/gold")
def gold_page(project_id: int):
    project = load_project(project_id, "reviewer")
    return _page(
        "gold.html",
        project,
        items=gold.gold_items(project),
        n_gold=gold.count_gold(project),
        figures=gold.accuracy(project),
    )


@bp.post("/projects/<int:project_id>/gold/mark")
def mark_gold(project_id: int):
    project = load_project(project_id, "admin")
    external_id = request.form.get("external_id", "").strip()
    item = db.session.scalar(
        select(Item).where(Item.project_id == project.id, Item.external_id == external_id)
    )
    try:
        if item is None:
            raise ServiceError(f"no item with id {external_id!r} in this project")
        gold.mark(project, item, request.form.get("label", ""))
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(f"Item {external_id} is gold now.", "info")
    return redirect(url_for("quality.gold_page", project_id=project_id))


@bp.post("/projects/<int:project_id>/gold/unmark")
def unmark_gold(project_id: int):
    project = load_project(project_id, "admin")
    try:
        gold.unmark(project, get_item(project, int(request.form.get("item_id") or 0)))
    except (ServiceError, ValueError):
        db.session.rollback()
        flash("Choose a gold item.", "error")
    else:
        db.session.commit()
        flash("The item is an ordinary item again.", "info")
    return redirect(url_for("quality.gold_page", project_id=project_id))


@bp.post("/projects/<int:project_id>/gold/settings")
def gold_settings(project_id: int):
    project = load_project(project_id, "admin")
    try:
        rate = float(request.form.get("gold_rate", ""))
        threshold = float(request.form.get("gold_alert_threshold", ""))
        if not (0 <= rate <= 1 and 0 <= threshold <= 1):
            raise ValueError
    except ValueError:
        flash("The gold rate and the threshold are shares between 0 and 1.", "error")
    else:
        project.gold_rate, project.gold_alert_threshold = rate, threshold
        db.session.commit()
        flash("Gold settings saved.", "info")
    return redirect(url_for("quality.gold_page", project_id=project_id))


@bp.route("/projects/<int:project_id>/labels", methods=["GET", "POST"])
def labelset_page(project_id: int):
    """Pick a change, see what it would move, confirm: nothing changes before the confirm."""
    project = load_project(project_id, "admin")
    usage = labelset.usage(project)
    if request.method == "GET":
        return _page("labelset.html", project, usage=usage, pending=None)
    action, body = _labelset_body()
    if action not in labelset.ACTIONS:
        flash("Choose rename, merge, split or delete.", "error")
        return redirect(url_for("quality.labelset_page", project_id=project_id))
    if request.form.get("confirm") != "yes":
        return _page(
            "labelset.html",
            project,
            usage=usage,
            pending={"action": action, "body": body, "affected": _affected(action, body, usage)},
        )
    try:
        detail = labelset.change(
            project, current_user, action, body, reason=request.form.get("reason", "")
        )
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("quality.labelset_page", project_id=project_id))
    db.session.commit()
    started = labelset.after_change(project, current_user.id)
    flash(
        f"Label set changed ({action}); {detail.get('annotations_moved', 0)} annotations "
        f"moved{', ' + str(detail['discarded']) + ' deleted' if detail.get('discarded') else ''}"
        f". Started: {', '.join(started) or 'nothing'}.",
        "info",
    )
    return redirect(url_for("quality.labelset_page", project_id=project_id))


def _labelset_body() -> tuple[str, dict]:
    form = request.form
    action = form.get("action", "")
    names = [n.strip() for n in form.get("labels", "").split(",") if n.strip()]
    into = [n.strip() for n in form.get("into", "").split(",") if n.strip()]
    body = {
        "label": form.get("label", ""),
        "to": form.get("to", ""),
        "annotations_to": form.get("annotations_to", "") or None,
    }
    if action == "merge":
        body = {"labels": names, "into": form.get("into", "")}
    elif action == "split":
        body["into"] = into
    return action, body


def _affected(action: str, body: dict, usage: dict[str, int]) -> int:
    names = body.get("labels") if action == "merge" else [body.get("label")]
    return sum(usage.get(str(name), 0) for name in names or [])


@bp.get("/projects/<int:project_id>/annotators")
def annotators(project_id: int):
    project = load_project(project_id, "reviewer")
    return _page("annotators.html", project, rows=annotator_stats.weekly(project))


@bp.get("/projects/<int:project_id>/guidelines/versions")
def guideline_versions(project_id: int):
    project = load_project(project_id, "reviewer")
    return _page(
        "guidelines.html",
        project,
        versions=guidelines.versions(project),
        rows=guidelines.agreement_by_version(project),
    )
