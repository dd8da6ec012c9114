"""Who may do what: roles, project membership, API tokens.

Global roles: an admin manages everything; reviewers and annotators work only
on projects they are members of, with a per-project role (reviewer | annotator).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache, wraps
from typing import Any, TypeVar

from flask import Flask, abort, session
from flask_login import current_user, login_required
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

from labeler.extensions import db, login_manager
from labeler.models import ApiToken, Membership, Project, User, utcnow

F = TypeVar("F", bound=Callable[..., Any])

# The lowest project role that sees model internals (versions, errors, human level per
# annotator, monitoring) and job results: they follow from other people's labels, which
# annotators labeling blind must not learn.
MODEL_INTERNALS_ROLE = "reviewer"


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.session_protection = "strong"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user of a live session: active, and the session not ended on the server
    (logged out, or ended by a password reset or a deactivation)."""
    from labeler.services import accounts

    return accounts.live_session_user(int(user_id), session.get("sid"))


def project_role(user: Any, project: Project) -> str | None:
    """The user's role on ``project``: admin, reviewer, annotator, or None (no access)."""
    if not getattr(user, "is_authenticated", False):
        return None
    if user.is_admin:
        return "admin"
    member = db.session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.project_id == project.id)
    )
    if member is None:
        return None
    return "reviewer" if member.role == "reviewer" else "annotator"


@cache
def _project_and_role_statement() -> Select[Any]:
    """Built once: every API request runs it, and building it cost more than running it."""
    return (
        select(Project, Membership.role)
        .outerjoin(
            Membership,
            (Membership.project_id == Project.id) & (Membership.user_id == bindparam("user_id")),
        )
        .where(Project.id == bindparam("project_id"))
    )


def project_and_role(user: Any, project_id: int) -> tuple[Project | None, str | None]:
    """The project and the user's role on it (as :func:`project_role`), in one query:
    every API request asks both first."""
    if not getattr(user, "is_authenticated", False):
        return db.session.get(Project, project_id), None
    if user.is_admin:
        project = db.session.get(Project, project_id)
        return project, "admin" if project is not None else None
    row = db.session.execute(
        _project_and_role_statement(), {"user_id": user.id, "project_id": project_id}
    ).first()
    if row is None:
        return None, None
    return _role_of(user, *row)


def _role_of(
    user: User, project: Project | None, member_role: str | None
) -> tuple[Project | None, str | None]:
    if project is None:
        return None, None
    if user.is_admin:
        return project, "admin"
    if member_role is None:
        return project, None
    return project, "reviewer" if member_role == "reviewer" else "annotator"


def can_view(user: Any, project: Project) -> bool:
    return project_role(user, project) is not None


def can_review(user: Any, project: Project) -> bool:
    return project_role(user, project) in ("admin", "reviewer")


def visible_projects(user: Any) -> list[Project]:
    stmt = select(Project).order_by(Project.name)
    if not user.is_admin:
        stmt = stmt.join(Membership).where(Membership.user_id == user.id)
    return list(db.session.scalars(stmt))


def admin_required(view: F) -> F:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


# --- API tokens ------------------------------------------------------------------------

TOKEN_PREFIX = "lbl_"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(user: User, name: str = "", days: int | None = 90) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the secret (shown once, stored hashed)."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + timedelta(days=days) if days else None
    row = ApiToken(
        user_id=user.id, name=name[:80], token_hash=hash_token(secret), expires_at=expires
    )
    db.session.add(row)
    db.session.flush()
    return row, secret


TOKEN_USE_RESOLUTION = timedelta(minutes=1)


@cache
def _token_statement() -> Select[tuple[ApiToken]]:
    """Built once (see :func:`_project_and_role_statement`)."""
    return (
        select(ApiToken)
        .options(joinedload(ApiToken.user))
        .where(ApiToken.token_hash == bindparam("token_hash"))
    )


@cache
def _token_and_project_statement() -> Select[Any]:
    """The token and its user, the project a route names and the user's membership role
    on it: what every API request on a project reads first, in one statement."""
    return (
        select(ApiToken, Project, Membership.role)
        .select_from(ApiToken)
        .options(joinedload(ApiToken.user))
        .outerjoin(Project, Project.id == bindparam("project_id"))
        .outerjoin(
            Membership,
            (Membership.project_id == Project.id) & (Membership.user_id == ApiToken.user_id),
        )
        .where(ApiToken.token_hash == bindparam("token_hash"))
    )


def user_and_project_for_token(
    secret: str, project_id: int, now: datetime | None = None
) -> tuple[User | None, tuple[Project | None, str | None]]:
    """:func:`user_for_token` and :func:`project_and_role` for that user, in one query."""
    row = db.session.execute(
        _token_and_project_statement(),
        {"token_hash": hash_token(secret), "project_id": project_id},
    ).first()
    if row is None:
        return None, (None, None)
    token, project, member_role = row
    user = _live_token_user(token, now or utcnow())
    return user, (None, None) if user is None else _role_of(user, project, member_role)


def user_for_token(secret: str, now: datetime | None = None) -> User | None:
    """The active user a live token belongs to, or None (unknown, revoked or expired).

    Token and user come in one query. ``last_used_at`` is updated at most once a
    minute: a write on every API call would serialise all of them on SQLite, for a
    figure nobody reads to the second. The caller commits when ``token_touched``.
    """
    row = db.session.scalar(_token_statement(), {"token_hash": hash_token(secret)})
    return _live_token_user(row, now or utcnow())


def _live_token_user(row: ApiToken | None, now: datetime) -> User | None:
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if not row.user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RESOLUTION:
        row.last_used_at = now
    return row.user


def token_touched() -> bool:
    """Whether :func:`user_for_token` left a ``last_used_at`` change to commit."""
    return any(isinstance(obj, ApiToken) for obj in db.session.dirty)
