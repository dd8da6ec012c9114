"""Loading and authorizing in API handlers."""

from __future__ import annotations

from typing import Any

from flask import g, request
from marshmallow import Schema, ValidationError

from labeler.auth import project_role
from labeler.extensions import db
from labeler.models import Project
from labeler.services import Forbidden, NotFound, ServiceError

_RANK = {"annotator": 1, "reviewer": 2, "admin": 3}


def api_project(project_id: int, need: str = "annotator") -> tuple[Project, str]:
    """The project and the caller's role on it; 404 for strangers, 403 for too low a role."""
    project = db.session.get(Project, project_id)
    role = project_role(g.api_user, project) if project is not None else None
    if project is None or role is None:
        raise NotFound(f"project {project_id} not found")
    if _RANK[role] < _RANK[need]:
        raise Forbidden(f"this needs the {need} role on the project; you are {role}")
    return project, role


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ServiceError("send a JSON object (Content-Type: application/json)")
    return body


def load_body(schema: type[Schema]) -> dict[str, Any]:
    """The JSON body checked against ``schema``; a mismatch is a 422 naming the fields."""
    try:
        return schema().load(json_body())
    except ValidationError as exc:
        raise ServiceError(
            "the request body does not match the schema", exc.normalized_messages()
        ) from None


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ServiceError(f"{name} must be a whole number", {"field": name}) from None
    if not low <= value <= high:
        raise ServiceError(f"{name} must be between {low} and {high}", {"field": name})
    return value
