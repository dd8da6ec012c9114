"""API: a project's webhooks (admins): register, list, send a test event, the log."""

from __future__ import annotations

from flask import g
from marshmallow import Schema, fields, validate

from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project, json_body
from labeler.extensions import db
from labeler.models import Webhook, WebhookDelivery
from labeler.services.projects import webhooks


class WebhookIn(Schema):
    url = fields.String(
        required=True,
        validate=[validate.Length(1, 2000), webhooks.check_url_shape],
        metadata={
            "description": "an http or https address with a host",
            "pattern": webhooks.URL_PATTERN,
        },
    )
    events = fields.List(
        fields.String(validate=validate.OneOf(list(webhooks.EVENTS))),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": ", ".join(webhooks.EVENTS)},
    )


class WebhookOut(Schema):
    id = fields.Integer()
    url = fields.String()
    events = fields.List(fields.String())
    active = fields.Boolean()
    failing_since = fields.String(allow_none=True)
    disabled_reason = fields.String(allow_none=True)
    secret = fields.String(metadata={"description": "the signing secret (on creation only)"})


class WebhookList(Schema):
    webhooks = fields.List(fields.Nested(WebhookOut))


class DeliveryOut(Schema):
    id = fields.Integer()
    webhook_id = fields.Integer()
    event = fields.String()
    status = fields.String(metadata={"description": "pending | delivered | failed"})
    attempts = fields.Integer()
    response_status = fields.Integer(allow_none=True)
    latency_ms = fields.Float(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.String()
    last_attempt_at = fields.String(allow_none=True)
    next_attempt_at = fields.String(allow_none=True)


class DeliveryList(Schema):
    deliveries = fields.List(fields.Nested(DeliveryOut))


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _hook(hook: Webhook, secret: bool = False) -> dict:
    out = {
        "id": hook.id,
        "url": hook.url,
        "events": hook.events,
        "active": hook.active,
        "failing_since": _iso(hook.failing_since),
        "disabled_reason": hook.disabled_reason,
    }
    return {**out, "secret": hook.secret} if secret else out


def _delivery(d: WebhookDelivery) -> dict:
    return {
        "id": d.id,
        "webhook_id": d.webhook_id,
        "event": d.event,
        "status": d.status,
        "attempts": d.attempts,
        "response_status": d.response_status,
        "latency_ms": d.latency_ms,
        "error": d.error,
        "created_at": d.created_at.isoformat(),
        "last_attempt_at": _iso(d.last_attempt_at),
        "next_attempt_at": _iso(d.next_attempt_at),
    }


@bp.get("/projects/<int:project_id>/webhooks")
@documented(schema=WebhookList, errors=(401, 403, 404))
def list_webhooks(project_id: int):
    """The project's webhooks (admin)."""
    project, _ = api_project(project_id, "admin")
    return {"webhooks": [_hook(h) for h in webhooks.webhooks(project)]}


@bp.post("/projects/<int:project_id>/webhooks")
@documented(201, WebhookOut, body=WebhookIn, errors=(401, 403, 404, 422))
def create_webhook(project_id: int):
    """Register a URL for some events (admin); the answer holds the signing secret."""
    project, _ = api_project(project_id, "admin")
    body = json_body()
    # exact: the API takes the address as sent (the form forgives surrounding spaces)
    hook = webhooks.register(project, body.get("url"), body.get("events"), g.api_user.id, True)
    db.session.commit()
    return _hook(hook, secret=True), 201


@bp.post("/projects/<int:project_id>/webhooks/<int:webhook_id>/test")
@documented(202, DeliveryOut, errors=(401, 403, 404))
def test_webhook(project_id: int, webhook_id: int):
    """Send a ``test`` event to one webhook; poll its deliveries for the outcome."""
    project, _ = api_project(project_id, "admin")
    delivery = webhooks.send_test(project, webhooks.get(project, webhook_id))
    delivery_id = delivery.id
    db.session.commit()  # the delivery job starts once this commits
    return _delivery(db.session.get(WebhookDelivery, delivery_id)), 202


@bp.get("/projects/<int:project_id>/webhooks/<int:webhook_id>/deliveries")
@documented(schema=DeliveryList, errors=(401, 403, 404))
def webhook_deliveries(project_id: int, webhook_id: int):
    """The latest 50 deliveries to one webhook, newest first (admin)."""
    project, _ = api_project(project_id, "admin")
    hook = webhooks.get(project, webhook_id)
    recent = [d for d in webhooks.recent_deliveries(project, 500) if d.webhook_id == hook.id]
    return {"deliveries": [_delivery(d) for d in recent[:50]]}
