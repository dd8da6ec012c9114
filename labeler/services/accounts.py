"""Accounts: the password policy, browser sessions the server can end, account changes.

A session is a row (:class:`labeler.models.UserSession`); the signed cookie carries its
secret. Logging out ends the row, so a copied cookie stops working at once. A password
reset or a deactivation ends every session and revokes every API token of the user. A
role change needs neither: each request reads the role from the database.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from sqlalchemy import select, update

from labeler.extensions import db
from labeler.models import ROLES, ApiToken, User, UserSession, utcnow
from labeler.services import ServiceError

PASSWORD_MIN, PASSWORD_MAX = 8, 256  # the same on the web forms, the API and the CLI

# The most used passwords of public breach lists (top of SecLists' 10k most common, the
# ones of 8 or more characters). A list rather than a strength estimator (zxcvbn): the
# policy refuses the common passwords, which a set answers exactly, without loading
# megabytes of dictionaries into every web process.
COMMON_PASSWORDS = frozenset(
    """
    password 12345678 123456789 1234567890 qwertyuiop password1 password123 iloveyou
    sunshine princess football baseball welcome1 welcome123 abc12345 qwerty123 1q2w3e4r
    1qaz2wsx zaq12wsx superman trustno1 whatever michelle jennifer starwars computer
    corvette mercedes passw0rd p@ssw0rd p@ssword letmein1 11111111 00000000 88888888
    12341234 123123123 987654321 87654321 qwertyui asdfghjk zxcvbnm1 asdfasdf qazwsxedc
    changeme changeme1 admin123 administrator adminadmin rootroot liverpool chelsea1
    arsenal1 iloveyou1 baseball1 football1 jordan23 michael1 charlie1 maverick hunter22
    q1w2e3r4 q1w2e3r4t5 1q2w3e4r5t 123qweasd qwe123qwe 12qwaszx secret123 master123
    dragon12 monkey123 shadow12 freedom1 whatever1 trustno11 sunshine1 princess1
    blink182 mustang1 midnight internet samantha thunder1 tigger12 cheese12 access14
    summer2024 winter2024 spring2024 autumn2024 summer2025 winter2025 password2024
    password2025 password2026 welcome2024 welcome2025 letmein123 loveyou1 lovely12
    """.split()  # noqa: SIM905  (one word list reads better than 100 lines)
)


def password_problem(password: str, username: str = "") -> str | None:
    """Why ``password`` is refused, or None when it may be used."""
    if len(password) < PASSWORD_MIN:
        return f"the password needs at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"the password may have at most {PASSWORD_MAX} characters"
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 3:
        return "this password is among the most common ones; choose another"
    if username and username.lower() == lowered:
        return "the password may not be the username"
    return None


# Characters whose lower case is one ASCII letter: A-Z and the Kelvin sign (K -> k);
# password_problem compares lowered text, so the pattern below must match them too.
_FOLDS = {"k": "\u212a"}


def _any_case(word: str) -> str:
    return "".join(
        f"[{ch}{ch.upper()}{_FOLDS.get(ch, '')}]" if ch.isalpha() else re.escape(ch) for ch in word
    )


_ANY = r"[\s\S]"  # any character, newlines included ("." stops at one)
# password_problem's rules that do not depend on the username, as one regular expression
# (the same in ECMA-262 and Python), for the OpenAPI document: not one of
# COMMON_PASSWORDS in any case, and at least three different characters. The end is
# "(?![\s\S])", not "$", which also matches before a final newline.
PASSWORD_PATTERN = (
    f"^(?!(?:{'|'.join(_any_case(w) for w in sorted(COMMON_PASSWORDS))})(?!{_ANY}))"
    f"(?={_ANY}*?({_ANY}){_ANY}*?(?!\\1)({_ANY}){_ANY}*?(?!\\1|\\2){_ANY})"
)


def check_password(password: str, username: str = "") -> None:
    problem = password_problem(password, username)
    if problem:
        raise ServiceError(problem, {"field": "password"})


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(user: User) -> str:
    """A new live session for ``user``; returns the secret the cookie keeps."""
    secret = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, secret_hash=_hash(secret)))
    return secret


def live_session_user(user_id: int, secret: str | None) -> User | None:
    """The active user of a live session, in one query (what every request asks first)."""
    if not secret:
        return None
    return db.session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            User.id == user_id,
            User.active.is_(True),
            UserSession.secret_hash == _hash(secret),
            UserSession.ended_at.is_(None),
        )
    )


def end_session(secret: str | None) -> None:
    if secret:
        db.session.execute(
            update(UserSession)
            .where(UserSession.secret_hash == _hash(secret), UserSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_everything(user: User) -> None:
    """End every session and revoke every live token of ``user`` (the caller commits)."""
    now = utcnow()
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def change_account(
    user: User, role: str | None = None, active: bool | None = None, password: str | None = None
) -> None:
    """Apply an admin's change; a new password or a deactivation ends the user's
    sessions and tokens at once (a role change is read on every request)."""
    if role is not None and role not in ROLES:
        raise ServiceError(f"role must be one of {list(ROLES)}", {"field": "role"})
    if password:
        check_password(password, user.username)
    if role is not None:
        user.role = role
    if password:
        user.set_password(password)
    if active is not None:
        user.active = active
    if password or active is False:
        end_everything(user)
