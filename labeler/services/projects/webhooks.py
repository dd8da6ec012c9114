"""Webhooks: admins register URLs per project; events become signed deliveries.

:func:`emit` is called where an event happens, inside that unit of work: it adds one
:class:`WebhookDelivery` per subscribed webhook and one delivery job row, all in the
caller's transaction. When that transaction commits, the job is dispatched (a listener
on the session), so a job never looks for deliveries that are not there, and an event
of a transaction rolled back is never sent.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from labeler.extensions import db
from labeler.models import Job, Project, Webhook, WebhookDelivery, utcnow
from labeler.services import NotFound, ServiceError

EVENTS = {
    "item.final_label": "an item got its final label",
    "item.disputed": "an item became disputed",
    "model.trained": "a model version was trained",
    "model.promoted": "a model version was promoted",
    "model.rolled_back": "a model version was rolled back",
    "drift.alert": "a drift alert was raised",
    "export.finished": "an export finished",
}
TEST_EVENT = "test"
#: What the API documents a webhook address as (the check below is the rule itself).
URL_PATTERN = r"^https?://[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]*)?(\?[A-Za-z0-9._~%&=+-]*)?$"
JOB_KIND = "webhooks"
_SUBSCRIBERS, _JOBS = "labeler.webhook_subscribers", "labeler.webhook_jobs"


def check_url_shape(url: str) -> bool:
    """Whether ``url`` has the documented shape (:data:`URL_PATTERN`, the whole string)."""
    return isinstance(url, str) and re.fullmatch(URL_PATTERN, url) is not None


def register(
    project: Project, url: str, events: list[str], user_id: int | None, exact: bool = False
) -> Webhook:
    """A new active webhook with a fresh secret; ServiceError naming a bad field.
    ``exact``: take ``url`` as given (the API); else surrounding spaces are dropped."""
    if not isinstance(url, str):
        raise ServiceError("url must be an http:// or https:// address", {"field": "url"})
    url = url if exact else url.strip()
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or len(url) > 2000
        or not check_url_shape(url)
    ):
        raise ServiceError(
            "url must be an http:// or https:// address with a host (letters, digits, "
            "dots and dashes), an optional port and path",
            {"field": "url"},
        )
    if not isinstance(events, list) or not events:
        raise ServiceError("choose at least one event", {"field": "events"})
    if not all(isinstance(e, str) for e in events):
        raise ServiceError("events are names of events", {"field": "events"})
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise ServiceError(
            f"unknown events: {', '.join(map(str, unknown))} (known: {', '.join(EVENTS)})",
            {"field": "events"},
        )
    hook = Webhook(
        project_id=project.id,
        url=url,
        events=list(dict.fromkeys(events)),
        secret="whsec_" + secrets.token_urlsafe(32),
        created_by=user_id,
    )
    db.session.add(hook)
    db.session.flush()
    db.session.info.pop(_SUBSCRIBERS, None)
    return hook


def get(project: Project, webhook_id: int) -> Webhook:
    hook = db.session.get(Webhook, webhook_id)
    if hook is None or hook.project_id != project.id:
        raise NotFound(f"no webhook {webhook_id} in this project")
    return hook


def webhooks(project: Project) -> list[Webhook]:
    return list(
        db.session.scalars(
            select(Webhook).where(Webhook.project_id == project.id).order_by(Webhook.id)
        )
    )


def recent_deliveries(project: Project, limit: int = 50) -> list[WebhookDelivery]:
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(Webhook.project_id == project.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def enable(hook: Webhook) -> None:
    """Switch a (disabled) webhook back on; its failure clock starts afresh."""
    hook.active, hook.failing_since, hook.disabled_reason = True, None, None
    db.session.info.pop(_SUBSCRIBERS, None)


def delete(hook: Webhook) -> None:
    db.session.execute(
        WebhookDelivery.__table__.delete().where(WebhookDelivery.webhook_id == hook.id)
    )
    db.session.delete(hook)
    db.session.info.pop(_SUBSCRIBERS, None)


def send_test(project: Project, hook: Webhook) -> WebhookDelivery:
    """Queue a ``test`` event to ``hook`` alone (even a disabled one: to see it work)."""
    delivery = _deliver(project, hook, TEST_EVENT, {"message": "a test event from labeler"})
    db.session.flush()  # the caller shows its id
    return delivery


def emit(project: Project, event_name: str, data: dict[str, Any]) -> None:
    """Queue ``event_name`` to every active webhook of ``project`` that subscribed to it."""
    subscribers = db.session.info.setdefault(_SUBSCRIBERS, {})
    if project.id not in subscribers:
        # two columns, not entities: this runs once per labeling transaction
        hooks = db.session.execute(
            select(Webhook.id, Webhook.events).where(
                Webhook.project_id == project.id, Webhook.active.is_(True)
            )
        )
        subscribers[project.id] = [(webhook_id, tuple(events)) for webhook_id, events in hooks]
    for webhook_id, events in subscribers[project.id]:
        if event_name in events:
            _deliver(project, db.session.get(Webhook, webhook_id), event_name, data)


def _deliver(
    project: Project, hook: Webhook, event_name: str, data: dict[str, Any]
) -> WebhookDelivery:
    now = utcnow()
    payload = {
        "event": event_name,
        "project": {"id": project.id, "name": project.name},
        "created_at": now.isoformat(timespec="seconds") + "Z",
        "data": data,
    }
    delivery = WebhookDelivery(
        webhook_id=hook.id, event=event_name, payload=payload, next_attempt_at=now
    )
    db.session.add(delivery)
    jobs = db.session.info.setdefault(_JOBS, {})
    if project.id not in jobs:
        job = Job(kind=JOB_KIND, project_id=project.id, params={})
        db.session.add(job)
        db.session.flush()
        jobs[project.id] = job.id
    return delivery


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    """The deliveries and their job are committed: now the executor may see the job."""
    job_ids = session.info.pop(_JOBS, {})
    session.info.pop(_SUBSCRIBERS, None)
    for job_id in job_ids.values():
        current_app.extensions["labeler.jobs"].dispatch(job_id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_JOBS, None)
    session.info.pop(_SUBSCRIBERS, None)
