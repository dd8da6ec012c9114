"""The delivery job: send due webhook deliveries, retry with exponential back-off.

Each attempt POSTs the JSON body to the registered URL (redirects are not followed:
deliveries go to that URL only), signed as :mod:`labeler.core.webhook_signature`
says. A 2xx answer delivers; anything else waits ``WEBHOOK_BACKOFF_SECONDS * 2**(n-1)``
(at most ``WEBHOOK_BACKOFF_MAX_SECONDS``) before attempt n+1. One job keeps retrying
what falls due within ``WEBHOOK_JOB_SECONDS``; later retries are sent by the project's
next delivery job, or by one the job worker queues itself when they fall due
(:func:`schedule_due_retries`, every ``WEBHOOK_RETRY_CHECK_SECONDS``; without a
worker, ``labeler retry-webhooks`` from cron does it). A URL failing for
``WEBHOOK_DISABLE_AFTER_SECONDS`` (a day) is disabled and an alert tells the admins.

The HTTP call happens outside any database transaction, so a slow receiver never
holds SQLite's write lock.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from labeler import jobs
from labeler.core.webhook_signature import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signature,
)
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import Alert, Job, Webhook, WebhookDelivery, utcnow
from labeler.services.projects.webhooks import JOB_KIND

BATCH = 100


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx: a failed attempt


_OPENER = urllib.request.build_opener(_NoRedirects)


def body_of(delivery: WebhookDelivery) -> bytes:
    """The exact bytes sent (and signed): the payload with the delivery's id."""
    document = {"id": delivery.id, **delivery.payload}
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int | None, str | None]:
    """(HTTP status or None, error text or None) of one POST."""
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, None
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"


def attempt(delivery_id: int) -> bool:
    """Send one delivery now and record the outcome; True when delivered."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    hook = db.session.get(Webhook, delivery.webhook_id)
    url, secret, body = hook.url, hook.secret, body_of(delivery)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "labeler-webhooks",
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: str(delivery.id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
    db.session.rollback()  # no transaction stays open while the receiver thinks
    started = time.perf_counter()
    status, error = post(url, body, headers, current_app.config["WEBHOOK_TIMEOUT_SECONDS"])
    latency_ms = (time.perf_counter() - started) * 1000
    ok = status is not None and 200 <= status < 300
    begin_write()
    delivery = db.session.get(WebhookDelivery, delivery_id)
    hook = db.session.get(Webhook, delivery.webhook_id)
    now = utcnow()
    delivery.attempts += 1
    delivery.response_status, delivery.latency_ms, delivery.last_attempt_at = (
        status,
        latency_ms,
        now,
    )
    delivery.error = None if ok else error or f"HTTP {status}"
    if ok:
        delivery.status, delivery.next_attempt_at = "delivered", None
        hook.failing_since = None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=_backoff(delivery.attempts))
        hook.failing_since = hook.failing_since or now
        if (now - hook.failing_since).total_seconds() >= current_app.config[
            "WEBHOOK_DISABLE_AFTER_SECONDS"
        ]:
            _disable(hook, delivery.error, now)
    db.session.commit()
    return ok


def _backoff(attempts: int) -> float:
    config = current_app.config
    return min(
        config["WEBHOOK_BACKOFF_SECONDS"] * 2 ** (attempts - 1),
        config["WEBHOOK_BACKOFF_MAX_SECONDS"],
    )


def _disable(hook: Webhook, error: str | None, now: datetime) -> None:
    """Stop sending to a URL that has failed for a day; tell the admins on the project page."""
    since = hook.failing_since.isoformat(timespec="minutes") if hook.failing_since else "?"
    hook.active = False
    hook.disabled_reason = f"failing since {since} UTC (last: {error})"
    db.session.execute(
        WebhookDelivery.__table__.update()
        .where(WebhookDelivery.webhook_id == hook.id, WebhookDelivery.status == "pending")
        .values(status="failed", next_attempt_at=None)
    )
    db.session.add(
        Alert(
            project_id=hook.project_id,
            kind="webhook_disabled",
            # members of every role see alerts: the message names no URL
            message=f"Webhook #{hook.id} was disabled: it has been failing since {since} UTC. "
            "An admin can fix the receiver, then enable it on the Webhooks page.",
            detail={"webhook_id": hook.id, "error": error},
            created_at=now,
        )
    )


def _due(project_id: int | None, now: datetime) -> list[int]:
    stmt = (
        select(WebhookDelivery.id)
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.id)
        .limit(BATCH)
    )
    if project_id is not None:
        stmt = stmt.where(Webhook.project_id == project_id)
    return list(db.session.scalars(stmt))


def _next_due(project_id: int | None) -> datetime | None:
    stmt = (
        select(func.min(WebhookDelivery.next_attempt_at))
        .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.status == "pending")
    )
    if project_id is not None:
        stmt = stmt.where(Webhook.project_id == project_id)
    return db.session.scalar(stmt)


def deliver_due(project_id: int | None, budget_seconds: float) -> dict[str, int]:
    """Send what is due, waiting up to ``budget_seconds`` for retries that fall due."""
    deadline = time.monotonic() + budget_seconds
    delivered = failed = 0
    while True:
        due = _due(project_id, utcnow())
        if due:
            for delivery_id in due:
                if attempt(delivery_id):
                    delivered += 1
                else:
                    failed += 1
            continue
        soonest = _next_due(project_id)
        db.session.rollback()
        if soonest is None:
            break
        wait = (soonest - utcnow()).total_seconds()
        if wait > deadline - time.monotonic():
            break
        time.sleep(max(wait, 0.0))
    return {"delivered": delivered, "failed_attempts": failed}


@jobs.periodic("webhook retries", "WEBHOOK_RETRY_CHECK_SECONDS")
def schedule_due_retries() -> list[int]:
    """Queue a delivery job for each project with retries due and no delivery job queued
    or running (that one sends them); return the new jobs' ids. The job worker runs
    this while idle, so retries need no cron."""
    now = utcnow()
    due = (
        select(Webhook.project_id)
        .join(WebhookDelivery, WebhookDelivery.webhook_id == Webhook.id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
    )
    busy = select(Job.project_id).where(Job.kind == JOB_KIND, Job.status.in_(("queued", "running")))
    projects = set(db.session.scalars(due.distinct())) - set(db.session.scalars(busy))
    db.session.rollback()
    if not projects:
        return []
    begin_write()
    started = []
    for project_id in sorted(projects):
        job = Job(kind=JOB_KIND, project_id=project_id, params={"reason": "retries due"})
        db.session.add(job)
        db.session.flush()
        started.append(job.id)
    db.session.commit()
    executor = current_app.extensions["labeler.jobs"]
    for job_id in started:
        executor.dispatch(job_id)
    return started


@jobs.runner(JOB_KIND)
def _run(job: Job, progress: jobs.Progress) -> dict[str, Any]:
    return deliver_due(job.project_id, current_app.config["WEBHOOK_JOB_SECONDS"])
