"""Administration over the API: a project's labeling and model settings, users, members.

Model settings (strategy, cadence, estimator, ...) are validated by
:mod:`labeler.services.learning.model_settings`; this module adds the consensus settings
(k, consensus method, dispute threshold), whose change re-derives every labeled
item's consensus and final label, so the dataset always follows the rules in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import ROLES, AuditEvent, Project, User
from labeler.services import Conflict, ServiceError, accounts
from labeler.services.items import suggestions
from labeler.services.labeling.consensus_job import JOB_METHODS
from labeler.services.labeling.labels import refresh_project
from labeler.services.learning import model_settings
from labeler.services.projects import kinds
from labeler.services.projects.store import recount, slug_ok

CONSENSUS_METHODS = ("majority", "dawid_skene", "model_aware")
CONSENSUS_FIELDS = ("annotations_per_item", "consensus_method", "dispute_threshold", "label_scale")
LABEL_SCALES = ("nominal", "ordinal", "interval")
SETTINGS = (
    *CONSENSUS_FIELDS,
    "sampling_strategy",
    "retrain_every",
    "estimator",
    "estimator_params",
    "random_share",
    "min_labels_per_class",
    "relabel_or_new",
    "suggestions",
)


def settings_payload(project: Project) -> dict[str, Any]:
    return {name: getattr(project, name) for name in SETTINGS}


def _consensus_changes(project: Project, body: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if "annotations_per_item" in body:
        k = body["annotations_per_item"]
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 50:
            raise ServiceError(
                "annotations per item must be a whole number from 1 to 50",
                {"field": "annotations_per_item"},
            )
        changes["annotations_per_item"] = k
    if "consensus_method" in body:
        offered = kinds.kind_of(project).consensus_methods()
        if body["consensus_method"] not in offered:
            raise ServiceError(
                f"consensus method must be one of {list(offered)} for this task kind",
                {"field": "consensus_method"},
            )
        changes["consensus_method"] = body["consensus_method"]
    if "dispute_threshold" in body:
        value = body["dispute_threshold"]
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ServiceError(
                "dispute threshold must be a number from 0 to 1", {"field": "dispute_threshold"}
            )
        changes["dispute_threshold"] = float(value)
    if "label_scale" in body:
        # How agreement treats the label order; a rating's consensus is its median
        # (ordinal) or mean (interval).
        if body["label_scale"] not in LABEL_SCALES:
            raise ServiceError(
                f"label_scale must be one of {list(LABEL_SCALES)}", {"field": "label_scale"}
            )
        changes["label_scale"] = body["label_scale"]
    return {name: value for name, value in changes.items() if getattr(project, name) != value}


def update_project_settings(
    project: Project, body: Mapping[str, Any], user_id: int | None
) -> tuple[list[str], bool]:
    """Apply the settings in ``body``; return (fields changed, whether the consensus job
    must run: Dawid-Skene or model-aware). Nothing changes unless every field is valid.

    A new k, threshold or method re-derives consensus and final labels: majority at
    once, item by item; Dawid-Skene by its job (the caller starts it after commit).
    """
    unknown = sorted(set(body) - set(SETTINGS))
    if unknown:
        raise ServiceError(f"unknown setting {unknown[0]!r}", {"field": unknown[0]})
    consensus = _consensus_changes(project, body)
    model_form = {name: body[name] for name in model_settings.FIELDS if name in body}
    model_settings.parse(project, model_form)  # validates before anything is written
    if "suggestions" in body:
        suggestions.check_mode(body["suggestions"])
    changed = model_settings.update_settings(project, model_form, user_id)
    if "suggestions" in body and suggestions.set_mode(project, body["suggestions"]):
        changed.append("suggestions")
    for name, value in consensus.items():
        setattr(project, name, value)
    if consensus:
        db.session.add(
            AuditEvent(
                project_id=project.id,
                user_id=user_id,
                action="consensus_settings",
                detail=consensus,
            )
        )
        db.session.flush()
        recount(project)
        refresh_project(project)  # majority now; Dawid-Skene or model-aware in its job
    ds_job = bool(consensus) and project.consensus_method in JOB_METHODS
    return sorted([*changed, *consensus]), ds_job


def create_user(username: str, role: str, password: str | None = None) -> User:
    """A new active user; without a password the user signs in with API tokens only."""
    # taken as sent: " bob" or "bob\n" is refused, not quietly made into "bob"
    if not slug_ok(username):
        raise ServiceError("username: 1-80 letters, digits or . @ + - _", {"field": "username"})
    if role not in ROLES:
        raise ServiceError(f"role must be one of {list(ROLES)}", {"field": "role"})
    if password is not None:
        accounts.check_password(password, username)
    if db.session.scalar(select(User).where(User.username == username)):
        raise Conflict(f"the username {username!r} is taken", {"field": "username"})
    user = User(username=username, role=role)
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user
