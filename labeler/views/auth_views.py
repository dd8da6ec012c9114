"""Log in and out; manage one's own API tokens."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from labeler.auth import create_token
from labeler.extensions import db
from labeler.models import ApiToken, User, utcnow
from labeler.services import accounts, login_guard
from labeler.web.redirects import safe_target

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=80)])
    password = PasswordField(
        "Password", validators=[DataRequired(), Length(max=accounts.PASSWORD_MAX)]
    )


class TokenForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=80)])
    days = IntegerField(
        "Valid for (days)", default=90, validators=[Optional(), NumberRange(min=1, max=3650)]
    )


def _safe_next(target: str | None) -> str:
    return safe_target(target, url_for("projects.index"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        address = request.remote_addr or "unknown"
        wait = login_guard.blocked_for(form.username.data, address)
        if wait is not None:
            minutes = max(1, round(wait.total_seconds() / 60))
            flash(
                f"Too many failed logins for this account from this address. Try again in "
                f"{minutes} minute{'s' if minutes != 1 else ''}.",
                "error",
            )
            return render_template("login.html", form=form), 429
        user = db.session.scalar(select(User).where(User.username == form.username.data))
        if not login_guard.password_matches(user, form.password.data) or not user.active:
            login_guard.record_failure(form.username.data, address)
            db.session.commit()
            flash("Unknown username or wrong password.", "error")
        else:
            session.clear()  # nothing from before the login survives it
            login_user(user)
            session["sid"] = accounts.start_session(user)
            session["started_at"] = utcnow().isoformat()
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    accounts.end_session(session.get("sid"))  # a copy of the cookie stops working too
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    form = TokenForm()
    secret = None
    if form.validate_on_submit():
        _, secret = create_token(current_user, form.name.data or "", form.days.data)
        db.session.commit()
    rows = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == current_user.id)
        .order_by(ApiToken.created_at.desc())
    )
    return render_template("tokens.html", form=form, tokens=list(rows), secret=secret, now=utcnow())


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != current_user.id:
        return render_template("error.html", code=404, title="Not found"), 404
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()
        flash(f"Token {row.name or row.id} revoked.", "info")
    return redirect(url_for("auth.tokens"))
