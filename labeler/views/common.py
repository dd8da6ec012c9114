"""Helpers shared by page handlers."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from labeler.auth import project_role
from labeler.extensions import db
from labeler.models import Project

_RANK = {"annotator": 1, "reviewer": 2, "admin": 3}


def load_project(project_id: int, need: str = "annotator") -> Project:
    """The project, if the current user's role on it is at least ``need``; else 404/403.

    A user who is not a member gets 404, so project names do not leak.
    """
    project = db.session.get(Project, project_id)
    if project is None:
        abort(404)
    role = project_role(current_user, project)
    if role is None:
        abort(404)
    if _RANK[role] < _RANK[need]:
        abort(403)
    return project
