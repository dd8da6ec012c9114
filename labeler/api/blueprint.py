"""The API blueprint, its authentication and its error shapes.

The JSON API under /api/v1: bearer tokens for scripts, the session for the web form.

Errors are ``{"error": short, "detail": ...}`` with 401 (no or bad token), 403
(wrong role), 404, 409 (conflict) or 422 (bad input).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify, request
from flask_login import current_user
from flask_smorest import Api, Blueprint
from flask_wtf.csrf import CSRFError
from marshmallow import Schema
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from labeler.api.common import early_project_id, read_route_project
from labeler.api.schemas import ERROR_TEXT, SCHEMA_RULES, Error, json_body, query
from labeler.auth import token_touched, user_and_project_for_token, user_for_token
from labeler.db_engine import reads_before_writing
from labeler.extensions import csrf, db
from labeler.services import ServiceError

bp = Blueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="Projects, items, the annotation queue, review, models and export.",
)
csrf.exempt(bp)  # token requests carry no cookie; session requests are checked below


class OpenApi(Api):
    """flask-smorest builds the OpenAPI document from the routes; errors stay ours
    (``{"error", "detail"}``), and its browsable UIs (loaded from CDNs) stay off:
    /api/docs renders the document on the server instead."""

    ERROR_SCHEMA = Error

    def _register_error_handlers(self) -> None:
        pass

    def describe_bare_routes(self) -> None:
        """Routes without a documented success response answer a JSON object: say so,
        rather than let clients read the error schema as their 200."""
        for operations in self.spec._paths.values():
            for method, operation in operations.items():
                if method == "parameters":
                    continue
                responses = operation.setdefault("responses", {})
                if not any(str(code).startswith("2") for code in responses):
                    responses["200"] = {
                        "description": "OK",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }

    def state_schema_rules(self) -> None:
        """Merge :data:`labeler.api.schemas.SCHEMA_RULES` into the components."""
        components = self.spec.components.schemas
        for name, keywords in SCHEMA_RULES.items():
            components[name].update(keywords)  # a KeyError: a rule for no route's schema


SPEC = {
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "info": {
        "description": "Send `Authorization: Bearer <token>`; create tokens on the "
        "API tokens page or with `labeler token USERNAME`."
    },
}

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def error(status: int, message: str, detail: Any = None):
    response = jsonify({"error": message, "detail": detail})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="labeler"'
    return response


MAX_ID = 2**63 - 1  # larger ids cannot exist, and some databases refuse to compare them


@bp.before_request
def authenticate():
    # api_project's projects and roles of this request (g outlives a request when a
    # test client runs inside an app context)
    g.api_projects = {}
    with reads_before_writing():  # a write request takes its write turn after this
        refused = _identify()
        if refused is None:
            read_route_project()
        return refused


def _identify():
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        user = _token_user(secret.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            return error(401, "invalid token", "the bearer token is unknown, revoked or expired")
        if token_touched():
            try:
                db.session.commit()  # records last_used_at (at most once a minute)
            except OperationalError:
                # SQLite: a read transaction cannot become a write once another request
                # has committed ("database is locked" at once); it can wait. (A write
                # request reads here in autocommit: its UPDATE waits in SQLite's busy
                # handler, once a minute per token.)
                db.session.rollback()
        g.api_user = user
        return _check_ids()
    if current_user.is_authenticated:
        if request.method in UNSAFE and current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()  # the form sends X-CSRFToken
        g.api_user = current_user._get_current_object()
        return _check_ids()
    return error(401, "authentication required", "send 'Authorization: Bearer <token>'")


def _token_user(secret: str):
    """The token's user; on a project's route also the project and the user's role on
    it, read in the same statement for ``api_project`` to find."""
    project_id = early_project_id()
    if project_id is None:
        return user_for_token(secret)
    user, project_and_role = user_and_project_for_token(secret, project_id)
    if user is not None:
        g.api_projects[project_id] = project_and_role
    return user


def _check_ids():
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int) and not 0 < value <= MAX_ID:
            return error(404, "not found", f"no {name.removesuffix('_id')} {value}")
    return None


@bp.errorhandler(ServiceError)
def service_error(exc: ServiceError):
    db.session.rollback()
    return error(exc.status, exc.message, exc.detail)


@bp.errorhandler(CSRFError)
def csrf_error(exc: CSRFError):
    return error(400, "CSRF check failed", exc.description)


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    messages = (getattr(exc, "data", None) or {}).get("messages")
    return error(exc.code or 500, (exc.name or "error").lower(), messages or exc.description)


def documented(
    status: int = 200,
    schema: type[Schema] | None = None,
    body: type[Schema] | None = None,
    params: tuple[tuple[str, Any, str], ...] = (),
    errors: tuple[int, ...] = (401, 404),
    files: tuple[str, ...] = (),
    free_json: bool = False,
):
    """Describe an operation for OpenAPI without changing what the handler does.

    ``files``: media types of a file download; ``free_json``: a JSON object whose
    keys are not fixed (e.g. the dataset card)."""

    def wrap(function):
        doc: dict[str, Any] = {}
        if body is not None:
            doc["requestBody"] = json_body(body)
        if params:
            doc["parameters"] = query(*params)
        if files or free_json:
            content = {kind: {"schema": {"type": "string", "format": "binary"}} for kind in files}
            if free_json:
                content["application/json"] = {"schema": {"type": "object"}}
            doc["responses"] = {str(status): {"description": "OK", "content": content}}
        if doc:
            function = bp.doc(**doc)(function)
        for code in errors:
            function = bp.alt_response(code, schema=Error, description=ERROR_TEXT[code])(function)
        if schema is not None:
            function = bp.alt_response(status, schema=schema, success=True)(function)
        return function

    return wrap
