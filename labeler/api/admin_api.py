"""API for administrators: project settings, users, memberships and their tokens.

What the admin pages do, for scripts (``labeler simulate`` sets up its simulated
annotators with these). Every route needs the global admin role.
"""

from __future__ import annotations

from flask import g
from marshmallow import Schema, ValidationError, fields, validate

from labeler import jobs
from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project, load_body
from labeler.api.schemas import JobOut
from labeler.api.schemas import Project as ProjectOut
from labeler.api.serialize import project_payload
from labeler.auth import create_token
from labeler.core import sampling
from labeler.core.estimators import ESTIMATORS
from labeler.core.kinds import KINDS
from labeler.extensions import db
from labeler.models import MAX_ROW_ID, PROJECT_ROLES, ROLES, Job, User
from labeler.services import Forbidden, NotFound, accounts  # job runners: jobs.RUNNER_MODULES
from labeler.services.learning.model_reports import job_payload
from labeler.services.projects import admin
from labeler.services.projects.store import SLUG_PATTERN, set_member, slug_ok

#: Every kind's queue strategies (the service checks the project's kind offers one).
STRATEGIES = list(
    dict.fromkeys([*sampling.STRATEGIES, *(s for k in KINDS.values() for s in k.strategies())])
)


class SettingsIn(Schema):
    annotations_per_item = fields.Integer(strict=True, validate=validate.Range(1, 50))
    consensus_method = fields.String(validate=validate.OneOf(admin.CONSENSUS_METHODS))
    dispute_threshold = fields.Float(validate=validate.Range(0, 1))
    label_scale = fields.String(
        validate=validate.OneOf(admin.LABEL_SCALES),
        metadata={"description": "how agreement (and a rating's consensus) reads the labels"},
    )
    # The limits labeler.services.learning.model_settings checks, said in the document.
    sampling_strategy = fields.String(validate=validate.OneOf(STRATEGIES))
    retrain_every = fields.Integer(strict=True, validate=validate.Range(1, 1_000_000))
    estimator = fields.String(validate=validate.OneOf(sorted(ESTIMATORS)))
    estimator_params = fields.Dict(keys=fields.String())
    random_share = fields.Float(validate=validate.Range(0.0, 1.0))
    min_labels_per_class = fields.Integer(strict=True, validate=validate.Range(1, 10_000))
    relabel_or_new = fields.Boolean(
        metadata={"description": "with model_aware consensus: ask another label when it helps more"}
    )
    suggestions = fields.String(
        validate=validate.OneOf(("off", "model", "imported", "any")),
        metadata={
            "description": "pre-annotation in the form: the champion's prediction (model), "
            "the import's suggestion column (imported), imported else model (any), or off"
        },
    )


class Settings(SettingsIn):
    estimator_params = fields.Dict()


class SettingsOut(ProjectOut):
    settings = fields.Nested(Settings)
    changed = fields.List(fields.String())
    jobs = fields.List(
        fields.Nested(JobOut),
        metadata={"description": "the Dawid-Skene consensus job, when the consensus must be refit"},
    )


def _username(value: str) -> None:
    if not slug_ok(value):  # the whole string: Regexp's "$" would let "bob\n" through
        raise ValidationError("username: 1-80 ASCII letters, digits or . @ + - _")


class UserIn(Schema):
    username = fields.String(
        required=True,
        validate=_username,
        metadata={"pattern": SLUG_PATTERN, "description": "1-80 ASCII letters, digits, . @ + - _"},
    )
    role = fields.String(load_default="annotator", validate=validate.OneOf(ROLES))
    password = fields.String(
        validate=validate.Length(accounts.PASSWORD_MIN, accounts.PASSWORD_MAX),
        metadata={
            "description": "optional: without one the user signs in with tokens only; "
            "not one of the most common passwords (in any case), at least three "
            "different characters, and not the username",
            "pattern": accounts.PASSWORD_PATTERN,
        },
    )


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    active = fields.Boolean()


class MemberIn(Schema):
    user_id = fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_ROW_ID))
    role = fields.String(load_default="annotator", validate=validate.OneOf(PROJECT_ROLES))


class MemberOut(Schema):
    project = fields.Integer()
    user_id = fields.Integer()
    username = fields.String()
    role = fields.String()


class TokenIn(Schema):
    name = fields.String(load_default="api", validate=validate.Length(0, 80))
    days = fields.Integer(
        load_default=90,
        strict=True,
        validate=validate.Range(0, 3650),
        metadata={"description": "days until it expires; 0: never"},
    )


class TokenOut(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String()
    token = fields.String(metadata={"description": "the secret, shown only this once"})
    expires_at = fields.String(allow_none=True)


def _require_admin() -> None:
    if not g.api_user.is_admin:
        raise Forbidden("only an admin can do this")


@bp.patch("/projects/<int:project_id>")
@documented(schema=SettingsOut, body=SettingsIn, errors=(401, 403, 404, 422))
def update_project(project_id: int):
    """Change a project's settings (admin): k, consensus, sampling, retraining, estimator.

    A new k, consensus method or dispute threshold re-derives the final labels;
    Dawid-Skene does so in a job, listed in ``jobs``."""
    project, _ = api_project(project_id, "admin")
    body = load_body(SettingsIn)
    changed, refit = admin.update_project_settings(project, body, g.api_user.id)
    db.session.commit()
    started = [jobs.start("consensus", project.id, user_id=g.api_user.id)] if refit else []
    project = api_project(project_id, "admin")[0]
    return {
        **project_payload(project, "admin"),
        "settings": admin.settings_payload(project),
        "changed": changed,
        "jobs": [job_payload(db.session.get(Job, j.id)) for j in started],
    }


@bp.post("/users")
@documented(201, UserOut, body=UserIn, errors=(401, 403, 409, 422))
def create_user():
    """Create a user with a global role (admin)."""
    _require_admin()
    body = load_body(UserIn)
    user = admin.create_user(body["username"], body["role"], body.get("password"))
    db.session.commit()
    return {"id": user.id, "username": user.username, "role": user.role, "active": user.active}, 201


@bp.post("/projects/<int:project_id>/members")
@documented(201, MemberOut, body=MemberIn, errors=(401, 403, 404, 422))
def add_member(project_id: int):
    """Add a user to a project with a project role, or change their role (admin)."""
    _require_admin()
    project, _ = api_project(project_id, "admin")
    body = load_body(MemberIn)
    user = db.session.get(User, body["user_id"])
    if user is None:
        raise NotFound(f"user {body['user_id']} not found")
    set_member(project, user, body["role"])
    db.session.commit()
    return {
        "project": project.id,
        "user_id": user.id,
        "username": user.username,
        "role": body["role"],
    }, 201


@bp.post("/users/<int:user_id>/tokens")
@documented(201, TokenOut, body=TokenIn, errors=(401, 403, 404, 422))
def create_user_token(user_id: int):
    """Create an API token for a user (admin); the secret is returned only this once."""
    _require_admin()
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    body = load_body(TokenIn)
    row, secret = create_token(user, body["name"], body["days"] or None)
    payload = {
        "id": row.id,
        "user_id": user.id,
        "name": row.name,
        "token": secret,
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
    }
    db.session.commit()
    return payload, 201
