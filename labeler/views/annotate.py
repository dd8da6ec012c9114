"""The annotation form. The page is a shell; static/annotate.js drives it through the
JSON API (session-authenticated, CSRF-checked), prefetches the next item, and loads the
project's task-kind widget (an ES module under static/kinds/) for the answer itself."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from labeler.services.projects import kinds
from labeler.views.common import load_project

bp = Blueprint("annotate", __name__)


@bp.route("/projects/<int:project_id>/annotate")
@login_required
def form(project_id: int):
    project = load_project(project_id)
    return render_template("annotate.html", project=project, kind=kinds.kind_of(project))
