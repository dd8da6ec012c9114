"""The embedded job queue: the job table itself, served by one ``labeler worker --database``.

No Redis: a handler commits a ``queued`` row (:func:`labeler.jobs.start`) and the
executor (:class:`labeler.jobs.DatabaseExecutor`) does nothing more. The worker
process that ``labeler serve`` starts and supervises polls the table with a plain
indexed read, and claims the oldest queued row with one conditional UPDATE
(``... WHERE id = ? AND status = 'queued'``) in a write transaction, so two claimants
never both run a job (PostgreSQL also skips rows another claimant holds). Jobs run
one at a time in the order they were queued, in the worker's own interpreter:
training never competes with requests for a GIL.
RQ + Redis stays the choice at scale (:mod:`labeler.jobs.rq`).
"""

from __future__ import annotations

import logging
import math
import threading
import time

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from labeler import jobs
from labeler.db_engine import begin_write, is_postgres
from labeler.extensions import db
from labeler.models import Job, ModelVersion, utcnow

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5  # how long a queued job may wait for the worker to notice it


def claim_next() -> int | None:
    """Claim the oldest queued job (mark it running); its id, or None if none is queued."""
    waiting = select(Job.id).where(Job.status == "queued").order_by(Job.id).limit(1)
    if db.session.scalar(waiting) is None:  # the poll: a read, no write lock taken
        db.session.rollback()
        return None
    begin_write()
    if is_postgres():
        waiting = waiting.with_for_update(skip_locked=True)
    job_id = db.session.scalar(waiting)
    claimed = (
        job_id is not None
        and db.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "queued")
            .values(status="running", started_at=utcnow())
        ).rowcount
        == 1
    )
    db.session.commit()
    return job_id if claimed else None


def fail_interrupted(reason: str) -> int:
    """Mark jobs left ``running`` by a worker that stopped as failed (and the model
    version each was training); returns how many. Only the supervisor of the one
    database worker calls it, before (re)starting that worker."""
    begin_write()
    running = list(db.session.scalars(select(Job.id).where(Job.status == "running")))
    if running:
        db.session.execute(
            update(Job)
            .where(Job.id.in_(running))
            .values(status="failed", finished_at=utcnow(), error=reason)
        )
        db.session.execute(
            update(ModelVersion)
            .where(ModelVersion.job_id.in_(running), ModelVersion.status == "training")
            .values(status="failed", error=reason)
        )
    db.session.commit()
    return len(running)


def run_chores(app: Flask, last: dict[str, float]) -> list[str]:
    """Run the registered chores (:data:`labeler.jobs.PERIODIC`) whose interval has passed
    since ``last`` (updated); returns their names. A failing chore is logged, not fatal."""
    ran = []
    now = time.monotonic()
    for name, (interval_key, chore) in jobs.PERIODIC.items():
        interval = float(app.config.get(interval_key, 0) or 0)
        if interval <= 0 or now - last.get(name, -math.inf) < interval:
            continue
        last[name] = now
        try:
            with app.app_context():
                chore()
        except Exception:  # a chore must not stop the worker
            log.exception("job worker: chore %s failed", name)
        ran.append(name)
    return ran


def work(app: Flask, stop: threading.Event, burst: bool = False) -> int:
    """Run queued jobs until ``stop`` is set (or, with ``burst``, the queue is empty);
    returns how many ran. Each job runs in a fresh app context (a session of its own).
    While idle it runs the registered chores (webhook retries that fell due)."""
    ran = 0
    chores: dict[str, float] = {}
    while not stop.is_set():
        try:
            run_chores(app, chores)
            with app.app_context():
                job_id = claim_next()
                if job_id is not None:
                    jobs.run(job_id, claimed=True)
                    ran += 1
                    continue
        except OperationalError as exc:  # the database is away: wait and poll again
            log.warning("job worker: database unavailable (%s); retrying", exc)
        if burst:
            return ran
        stop.wait(POLL_SECONDS)
    return ran
