"""Slow down password guessing: after a few failed logins for one account (or from one
address) within a window, further attempts are refused until the window passes.

Failures are AuditEvent rows (action ``login_failed``), so every web process and
machine sees the same count: the web tier keeps no state of its own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import AuditEvent, utcnow

MAX_FAILURES = 5  # per account
MAX_FAILURES_PER_ADDRESS = 20  # colleagues behind one NAT share an address
WINDOW = timedelta(minutes=15)


def blocked_for(username: str, address: str, now: datetime | None = None) -> timedelta | None:
    """How long this account or address must wait, or None when it may try."""
    now = now or utcnow()
    limits = {f"user:{username.lower()}": MAX_FAILURES, f"ip:{address}": MAX_FAILURES_PER_ADDRESS}
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
    for key in (f"user:{username.lower()}", f"ip:{address}"):
        db.session.add(
            AuditEvent(
                action="login_failed",
                reason=key,
                detail={"username": username[:80], "address": address},
            )
        )
