"""The projects list, a project's page, and item images."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template, send_file, send_from_directory
from flask_login import current_user, login_required
from sqlalchemy import func, select

from labeler.auth import project_role, visible_projects
from labeler.extensions import db
from labeler.models import Annotation, Item, Membership, User
from labeler.services.items import comments
from labeler.services.projects import kinds
from labeler.views.common import load_project
from labeler.web.images import pixel_grid_png

bp = Blueprint("projects", __name__)


@bp.route("/")
@login_required
def index():
    return render_template("projects/index.html", projects=visible_projects(current_user))


@bp.route("/projects/<int:project_id>")
@login_required
def show(project_id: int):
    project = load_project(project_id)
    role = project_role(current_user, project)
    mine = (
        db.session.scalar(
            select(func.count(Annotation.id)).where(
                Annotation.project_id == project.id, Annotation.user_id == current_user.id
            )
        )
        or 0
    )
    members = []
    if role in ("admin", "reviewer"):
        members = db.session.execute(
            select(
                User.username,
                Membership.role,
                select(func.count(Annotation.id))
                .where(Annotation.project_id == project.id, Annotation.user_id == User.id)
                .scalar_subquery(),
            )
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.project_id == project.id)
            .order_by(User.username)
        ).all()
    questions = comments.open_questions(project) if role in ("admin", "reviewer") else []
    return render_template(
        "projects/show.html",
        project=project,
        kind=kinds.kind_of(project),
        role=role,
        mine=mine,
        members=members,
        questions=questions,
        n_questions=comments.count_open(project) if questions else 0,
    )


@bp.route("/projects/<int:project_id>/items/<int:item_id>/image")
@login_required
def image(project_id: int, item_id: int):
    """The item's picture: a pixel grid rendered here, or a file from the media folder."""
    project = load_project(project_id)
    item = db.session.get(Item, item_id)
    if item is None or item.project_id != project.id:
        abort(404)
    grid = (project.display or {}).get("pixel_grid")
    if grid:
        png = pixel_grid_png(
            [item.data.get(f) for f in grid["fields"]],
            grid["width"],
            grid["height"],
            grid.get("max", 255.0),
        )
        response = send_file(io.BytesIO(png), mimetype="image/png", max_age=3600)
        return response
    field = (project.display or {}).get("image")
    path = item.data.get(field) if field else None
    if not path or "://" in str(path):
        abort(404)
    media = Path(current_app.config["MEDIA_FOLDER"])
    # send_from_directory refuses paths that leave the media folder.
    return send_from_directory(media, str(path))
