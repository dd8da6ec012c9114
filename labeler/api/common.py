"""Loading and authorizing in API handlers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request
from marshmallow import Schema, ValidationError

from labeler.auth import project_and_role
from labeler.db_engine import in_write_request
from labeler.extensions import db
from labeler.models import Project
from labeler.services import Forbidden, NotFound, ServiceError

_RANK = {"annotator": 1, "reviewer": 2, "admin": 3}
V = TypeVar("V", bound=Callable[..., Any])


def project_read_first(view: V) -> V:
    """Mark a write handler that may work on a project read before its write turn (with
    the caller's token, in one statement): it changes no project column from that copy
    (its counters move in the database), so another writer's change meanwhile is kept.
    Other write handlers read the project inside their turn, as they always did."""
    view.labeler_project_first = True  # type: ignore[attr-defined]
    return view


def early_project_id() -> int | None:
    """The project a route names (``project_id``), when it may be read before the
    request's write turn: on a read, where writes begin otherwise (PostgreSQL), or for
    a handler marked :func:`project_read_first`. None otherwise."""
    project_id = (request.view_args or {}).get("project_id")
    if not isinstance(project_id, int):
        return None
    if in_write_request():
        view = current_app.view_functions.get(request.endpoint or "")
        if not getattr(view, "labeler_project_first", False):
            return None
    return project_id


def read_route_project() -> None:
    """Read the project a route names and the caller's role on it, for :func:`api_project`
    to find: the request hook calls this in the same reads as the caller's token, before
    any write turn, so the handler's first ask costs no query (a token's own read may
    have brought them already)."""
    project_id = early_project_id()
    if project_id is not None and project_id not in g.api_projects:
        g.api_projects[project_id] = project_and_role(g.api_user, project_id)


def api_project(project_id: int, need: str = "annotator") -> tuple[Project, str]:
    """The project and the caller's role on it; 404 for strangers, 403 for too low a role.

    Both are read once per request (a handler may ask again after ``begin_write``); the
    project is held here so the session's identity map keeps it for the second ask."""
    known = g.setdefault("api_projects", {})  # emptied by each API request's authenticate
    if project_id in known:
        role = known[project_id][1]
        project = db.session.get(Project, project_id)  # from the identity map (or reloaded)
    else:
        project, role = project_and_role(g.api_user, project_id)
    known[project_id] = (project, role)
    if project is None or role is None:
        raise NotFound(f"project {project_id} not found")
    if _RANK[role] < _RANK[need]:
        raise Forbidden(f"this needs the {need} role on the project; you are {role}")
    return project, role


MAX_JSON_DEPTH = 32  # the deepest body labeler reads is 3 levels; a parser's stack is not


def json_body() -> dict[str, Any]:
    """The request's JSON object, checked before any handler reads it.

    Refused with a 422 that says where: malformed JSON, anything but an object, nesting
    deeper than :data:`MAX_JSON_DEPTH` (the parser would overflow its stack), and strings
    with lone surrogates (``"\\ud800"`` parses, but no database can store it).
    """
    if not request.is_json:
        raise ServiceError("send a JSON object (Content-Type: application/json)")
    try:
        body = json.loads(request.get_data(cache=True))
    except RecursionError:
        raise ServiceError(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:
        raise ServiceError(f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ServiceError(f"send a JSON object, not a {_json_type(body)}")
    bad = _lone_surrogate(body)
    if bad == _TOO_DEEP:
        raise ServiceError(f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels")
    if bad is not None:
        raise ServiceError(
            f"{bad or 'the body'} holds a lone surrogate (\\ud800-\\udfff), which is not "
            "text; send valid UTF-16 pairs or the character itself",
            {"field": bad},
        )
    return body


_TOO_DEEP = "\x00too deep"


def _lone_surrogate(value: Any) -> str | None:
    """The path of the first string (key or value) holding a lone surrogate, else None
    (or ``_TOO_DEEP`` for nesting past the limit). One pass, without recursion."""
    stack: list[tuple[str, Any, int]] = [("", value, 0)]
    while stack:
        where, item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return _TOO_DEEP
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return where
        elif isinstance(item, dict):
            for key, inner in item.items():
                inner_path = f"{where}.{key}" if where else str(key)
                if _SURROGATE.search(key):
                    return inner_path
                stack.append((inner_path, inner, depth + 1))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", inner, depth + 1) for i, inner in enumerate(item))
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_type(value: Any) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


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
