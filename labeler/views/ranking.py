"""The ranking page of projects whose items pit two systems against each other: the
systems by Bradley-Terry strength with intervals, the win-rate matrix, and each
annotator's share of "left" votes. Reviewers and admins only: it compares annotators."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from labeler.auth import project_role
from labeler.services import ServiceError
from labeler.services.labeling import preferences
from labeler.views.common import load_project

bp = Blueprint("ranking", __name__)


@bp.route("/projects/<int:project_id>/ranking")
@login_required
def page(project_id: int):
    project = load_project(project_id, need="reviewer")
    role = project_role(current_user, project)
    try:
        result = preferences.ranking(project)
    except ServiceError as error:  # the project's kind ranks no systems
        return render_template("ranking/page.html", project=project, role=role, missing=error)
    return render_template(
        "ranking/page.html",
        project=project,
        role=role,
        ranking=result,
        order_effects=preferences.order_effects(project),
        length=preferences.length_agreement(project),
        length_only=preferences.LENGTH_ONLY,
    )
