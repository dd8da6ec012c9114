"""The audit log and webhooks with their deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labeler.extensions import db
from labeler.models.base import utcnow


class AuditEvent(db.Model):
    """Who did what, when and why, for actions that change shared state
    (label-set edits, promotions and rollbacks, settings)."""

    # The login guard counts recent failures by action and time.
    __table_args__ = (Index("ix_audit_event_action_time", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Webhook(db.Model):
    """A URL an admin registered for some of a project's events; deliveries are signed
    with ``secret``. ``failing_since``: the first failure after the last success."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True, server_default="1")
    failing_since: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(db.Model):
    """One event sent (or to be sent) to one webhook.

    status: pending (due at ``next_attempt_at``) | delivered | failed (given up);
    ``latency_ms`` and ``response_status`` are those of the last attempt."""

    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    response_status: Mapped[int | None]
    latency_ms: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
