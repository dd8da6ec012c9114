"""Slow down password guessing: after a few failed logins for one account from one
address (or many from one address) within a window, further attempts from that address
are refused until the window passes.

The account limit counts per address, so a stranger guessing from elsewhere cannot lock
the account's owner out: the right password from another address still works. Checking
a password costs the same whether or not the user exists (a dummy hash is checked), so
the answer's timing does not tell which usernames exist.

Failures are AuditEvent rows (action ``login_failed``), so every web process and
machine sees the same count: the web tier keeps no state of its own.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from labeler.extensions import db
from labeler.models import AuditEvent, User, accounts, utcnow

MAX_FAILURES = 5  # per account
MAX_FAILURES_PER_ADDRESS = 20  # colleagues behind one NAT share an address
WINDOW = timedelta(minutes=15)


def blocked_for(username: str, address: str, now: datetime | None = None) -> timedelta | None:
    """How long this account or address must wait, or None when it may try."""
    now = now or utcnow()
    limits = {
        _account_key(username, address): MAX_FAILURES,
        f"ip:{address}": MAX_FAILURES_PER_ADDRESS,
    }
    rows = db.session.execute(
        select(AuditEvent.reason, func.count(AuditEvent.id), func.min(AuditEvent.created_at))
        .where(
            AuditEvent.action == "login_failed",
            AuditEvent.created_at >= now - WINDOW,
            AuditEvent.reason.in_(list(limits)),
        )
        .group_by(AuditEvent.reason)
    ).all()
    waits = [oldest + WINDOW - now for key, count, oldest in rows if count >= limits[key]]
    return max(max(waits), timedelta(seconds=1)) if waits else None


def record_failure(username: str, address: str) -> None:
    """One failed attempt, counted against the account and against the address."""
    for key in (_account_key(username, address), f"ip:{address}"):
        db.session.add(
            AuditEvent(
                action="login_failed",
                reason=key,
                detail={"username": username[:80], "address": address},
            )
        )


def _account_key(username: str, address: str) -> str:
    return f"user:{username.lower()[:80]}@{address}"[:255]


_dummy_hash: list[str] = []  # made on first use, with the method real hashes use


def password_matches(user: User | None, password: str) -> bool:
    """Whether ``password`` is ``user``'s; as slow for an unknown user as for a known one."""
    if user is None or user.password_hash is None:
        if not _dummy_hash:
            _dummy_hash.append(
                generate_password_hash(secrets.token_hex(16), method=accounts.PASSWORD_METHOD)
            )
        check_password_hash(_dummy_hash[0], password)  # the same work: timing tells nothing
        return False
    return user.check_password(password)
