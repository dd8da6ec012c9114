"""Admin pages: users, creating and configuring projects, members, deletion."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import delete, select

from labeler.auth import admin_required
from labeler.core.kinds import DEFAULT_KIND, KINDS
from labeler.extensions import db
from labeler.models import (
    ROLES,
    Annotation,
    AnnotationRevision,
    Assignment,
    Item,
    ItemComment,
    Membership,
    User,
    row_id,
)
from labeler.services import ServiceError, accounts
from labeler.services.data import guidelines
from labeler.services.projects import label_colours, webhooks
from labeler.services.projects.store import create_project, parse_labels, set_member, slug_ok
from labeler.views.common import load_project

bp = Blueprint("admin", __name__)


@bp.route("/admin/users", methods=["GET", "POST"])
@admin_required
def users():
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        role = request.form.get("role", "annotator")
        error = _check_new_user(username, password, role)
        if error:
            flash(error, "error")
        else:
            user = User(username=username, role=role)
            user.set_password(password)
            db.session.add(user)
            db.session.commit()
            flash(f"User {username} created.", "info")
            return redirect(url_for("admin.users"))
    rows = db.session.scalars(select(User).order_by(User.username))
    return render_template("admin/users.html", users=list(rows), roles=ROLES)


def _check_new_user(username: str, password: str, role: str) -> str | None:
    if not slug_ok(username):
        return "Username: 1-80 letters, digits or . @ + - _"
    if db.session.scalar(select(User).where(User.username == username)):
        return f"The username {username!r} is taken."
    problem = accounts.password_problem(password, username)
    if problem:
        return problem[0].upper() + problem[1:] + "."
    if role not in ROLES:
        return f"Unknown role {role!r}."
    return None


@bp.route("/admin/users/<int:user_id>", methods=["POST"])
@admin_required
def update_user(user_id: int):
    user = db.session.get(User, user_id)
    if user is None:
        return render_template("error.html", code=404, title="Not found"), 404
    role = request.form.get("role", user.role)
    active = request.form.get("active") == "on"
    if user.id == current_user.id and (role != "admin" or not active):
        flash("You cannot remove your own admin role or deactivate yourself.", "error")
        return redirect(url_for("admin.users"))
    if role not in ROLES:
        flash(f"Unknown role {role!r}.", "error")
        return redirect(url_for("admin.users"))
    try:
        accounts.change_account(user, role, active, request.form.get("password") or None)
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.users"))
    db.session.commit()
    flash(f"User {user.username} updated.", "info")
    return redirect(url_for("admin.users"))


@bp.route("/admin/projects/new", methods=["GET", "POST"])
@admin_required
def new_project():
    form = request.form
    if request.method == "POST":
        try:
            project = create_project(
                form.get("name", ""),
                parse_labels(form.get("labels", ""), _labels_required(form.get("task_kind"))),
                guidelines=form.get("guidelines", ""),
                annotations_per_item=_int(form.get("annotations_per_item"), "annotations per item"),
                test_fraction=_float(form.get("test_fraction"), "test fraction"),
                task_kind=form.get("task_kind") or DEFAULT_KIND,
                task_settings=_json_object(form.get("task_settings"), "task settings"),
                label_scale=form.get("label_scale") or "nominal",
            )
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"Project {project.name} created. Import items next.", "info")
            return redirect(url_for("importing.upload", project_id=project.id))
    return render_template("admin/project_form.html", form=form, kinds=KINDS.values())


def _labels_required(task_kind: str | None) -> bool:
    """Whether the chosen kind needs a label set (an unknown kind is refused later)."""
    kind = KINDS.get(task_kind or DEFAULT_KIND)
    return kind is None or kind.uses_labels


def _json_object(value: str | None, name: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value or "{}")
    except json.JSONDecodeError as exc:
        raise ServiceError(f"{name} must be a JSON object: {exc}") from None
    if not isinstance(parsed, dict):
        raise ServiceError(f"{name} must be a JSON object")
    return parsed


def _int(value: str | None, name: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise ServiceError(f"{name} must be a whole number") from None


def _float(value: str | None, name: str) -> float:
    try:
        return float(value or "")
    except ValueError:
        raise ServiceError(f"{name} must be a number") from None


@bp.route("/projects/<int:project_id>/settings", methods=["GET", "POST"])
@admin_required
def settings(project_id: int):
    project = load_project(project_id, "admin")
    if request.method == "POST":
        guidelines.update(project, request.form.get("guidelines", ""), current_user)
        db.session.commit()
        flash("Guidelines saved.", "info")
        return redirect(url_for("admin.settings", project_id=project.id))
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.username))
    members = {m.user_id: m.role for m in project.memberships}
    return render_template(
        "admin/settings.html",
        project=project,
        users=list(users),
        members=members,
        colours=label_colours.colour_of(project) if label_colours.has_colours(project) else None,
    )


@bp.route("/projects/<int:project_id>/settings/colours", methods=["POST"])
@admin_required
def colours(project_id: int):
    """Per-label colours (``colour:<label>`` fields, palette 0..7) for kinds that keep them."""
    project = load_project(project_id, "admin")
    prefix = "colour:"
    chosen = {k[len(prefix) :]: v for k, v in request.form.items() if k.startswith(prefix)}
    try:
        label_colours.set_colours(project, chosen)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("admin.settings", project_id=project.id))
    db.session.commit()
    flash("Label colours saved.", "info")
    return redirect(url_for("admin.settings", project_id=project.id))


@bp.route("/projects/<int:project_id>/members", methods=["POST"])
@admin_required
def members(project_id: int):
    project = load_project(project_id, "admin")
    user_id = row_id(request.form.get("user_id"))
    user = db.session.get(User, user_id) if user_id is not None else None
    if user is None:
        flash("Choose a user.", "error")
    else:
        role = request.form.get("role") or None
        try:
            set_member(project, user, role)
        except ServiceError as exc:
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"{user.username}: {role or 'removed from the project'}.", "info")
    return redirect(url_for("admin.settings", project_id=project.id))


@bp.route("/projects/<int:project_id>/delete", methods=["POST"])
@admin_required
def delete_project(project_id: int):
    project = load_project(project_id, "admin")
    if request.form.get("confirm_name") != project.name:
        flash("Type the project's name to confirm deletion.", "error")
        return redirect(url_for("admin.settings", project_id=project.id))
    name = project.name
    item_ids = select(Item.id).where(Item.project_id == project.id)
    annotation_ids = select(Annotation.id).where(Annotation.project_id == project.id)
    db.session.execute(
        delete(AnnotationRevision).where(AnnotationRevision.annotation_id.in_(annotation_ids))
    )
    db.session.execute(delete(Annotation).where(Annotation.project_id == project.id))
    db.session.execute(delete(Assignment).where(Assignment.item_id.in_(item_ids)))
    db.session.execute(delete(ItemComment).where(ItemComment.project_id == project.id))
    db.session.execute(delete(Item).where(Item.project_id == project.id))
    db.session.execute(delete(Membership).where(Membership.project_id == project.id))
    for hook in webhooks.webhooks(project):
        webhooks.delete(hook)
    db.session.delete(project)
    db.session.commit()
    flash(f"Project {name} deleted.", "info")
    return redirect(url_for("projects.index"))
