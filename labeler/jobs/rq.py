"""The Redis Queue backend: jobs run in ``labeler worker`` processes on any machine.

``LABELER_JOB_EXECUTOR=rq`` and ``LABELER_REDIS_URL=redis://host:6379/0``. The web
process only pushes a job id onto a queue; a worker builds its own app with the factory
``labeler worker`` hands it (:data:`APP_FACTORY`, the same configuration from
``LABELER_*``) and runs
:func:`labeler.jobs.run` there, so the :class:`~labeler.models.Job` row stays the
one record of what happened.

A worker can die in the middle of a job (OOM killer, SIGKILL, a lost machine). Two
paths turn the row ``failed`` so the UI shows it and the champion keeps serving:

- the process running the job (RQ's "work horse") dies: its parent worker sees it at
  once and calls :meth:`LabelerWorker.handle_work_horse_killed`;
- the whole worker dies: its heartbeat stops, and the next maintenance pass of any
  worker moves the job to RQ's failed registry and calls :func:`on_failure`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.cli import ScriptInfo
from redis import Redis
from redis.exceptions import RedisError
from rq import Callback, Queue, Worker
from rq.job import Job as RQJob
from sqlalchemy import update

from labeler import jobs
from labeler.extensions import db
from labeler.models import Job, ModelVersion, utcnow

log = logging.getLogger(__name__)

# Set by ``labeler worker`` before it starts working: builds the app a job runs in. The
# factory is handed in, or found by name as Flask's CLI finds it, not imported: the
# factory itself imports the commands, and so this module.
APP_FACTORY: Callable[[], Flask] | None = None

QUEUE_NAME = "labeler"
JOB_TIMEOUT = 6 * 3600  # a grid search on a big project may take hours; stalls are caught apart


def connect(url: str | None) -> Redis:
    if not url:
        raise RuntimeError("LABELER_JOB_EXECUTOR=rq needs LABELER_REDIS_URL=redis://host:6379/0")
    return Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)


def rq_job_id(job_id: int) -> str:
    """The RQ id of labeler job ``job_id``: predictable, so the row can find its queue entry."""
    return f"labeler-job-{job_id}"


class RQExecutor:
    """Pushes each committed job id onto the ``labeler`` queue of the configured Redis."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.connection = connect(app.config.get("REDIS_URL"))
        self.queue = Queue(QUEUE_NAME, connection=self.connection)

    def dispatch(self, job_id: int) -> None:
        try:
            self.queue.enqueue_call(
                perform,
                args=(job_id,),
                job_id=rq_job_id(job_id),
                timeout=JOB_TIMEOUT,
                result_ttl=24 * 3600,
                failure_ttl=7 * 24 * 3600,
                description=f"labeler job {job_id}",
                on_failure=Callback(on_failure),
            )
        except RedisError as exc:
            # The row is committed but no worker will ever see it: fail it now, so a retry
            # is not blocked by a "queued" job that cannot run (labeler.errors sends 503).
            mark_failed(job_id, f"could not queue the job: Redis is unreachable ({exc})", self.app)
            raise


def perform(job_id: int) -> None:
    """Run labeler job ``job_id`` in a fresh app (what a worker executes)."""
    app = _new_app()
    with app.app_context():
        try:
            jobs.run(job_id)
        finally:
            db.session.remove()
            db.engine.dispose()


def mark_failed(job_id: int, error: str, app: Flask | None = None) -> bool:
    """Mark labeler job ``job_id`` failed with ``error`` unless it already ended.

    Returns whether the row changed. Used when the process that ran it died, so the
    runner could not record anything itself. Without ``app`` (a worker's parent
    process) it builds one and disposes its engine after: the worker forks a work
    horse per job, which must not inherit pooled connections.
    """
    own_app = app is None
    app = app or _new_app()
    with app.app_context():
        try:
            job = db.session.get(Job, job_id)
            if job is None or job.status not in jobs.ACTIVE:
                return False
            job.status, job.finished_at, job.error = "failed", utcnow(), error
            # A model version this job was training will never finish either.
            db.session.execute(
                update(ModelVersion)
                .where(
                    ModelVersion.job_id == job_id,
                    ModelVersion.status == "training",
                )
                .values(status="failed", error=error)
            )
            db.session.commit()
            log.warning("job %s marked failed: %s", job_id, error)
            return True
        finally:
            db.session.remove()
            if own_app:
                db.engine.dispose()


def _new_app() -> Flask:
    if APP_FACTORY is not None:
        return APP_FACTORY()
    # Any other process that runs RQ's maintenance (a bare `rq worker`, a script): find the
    # app as `flask --app labeler` does, from the LABELER_* environment.
    return ScriptInfo(app_import_path="labeler").load_app()


def labeler_job_id(rq_job: RQJob) -> int | None:
    args = rq_job.args or ()
    return int(args[0]) if args and rq_job.func_name.endswith(".perform") else None


def on_failure(
    rq_job: RQJob, connection: Redis, exc_type: Any = None, exc: Any = None, traceback: Any = None
) -> None:
    """RQ failure callback: an exception escaped :func:`perform`, or the job was abandoned."""
    job_id = labeler_job_id(rq_job)
    if job_id is not None:
        reason = exc_type.__name__ if isinstance(exc_type, type) else "worker lost"
        mark_failed(
            job_id,
            f"the worker running this job stopped ({reason}); the previous model keeps serving",
        )


class LabelerWorker(Worker):
    """An RQ worker that also records a killed work horse on the job's row, and runs
    labeler's chores (:data:`labeler.jobs.PERIODIC`: webhook retries that fell due) with
    RQ's maintenance, so an RQ deployment needs no cron job either."""

    _chore_app: Flask | None = None
    _chores_last: dict[str, float] | None = None

    @property
    def dequeue_timeout(self) -> int:
        # Wake at least once per maintenance interval while idle (RQ's own wait is about
        # 7 minutes), so the chores run about when they fall due.
        return max(1, min(super().dequeue_timeout, int(self.maintenance_interval)))

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        from labeler.jobs.database import run_chores

        if self._chore_app is None:
            self._chore_app, self._chores_last = _new_app(), {}
        run_chores(self._chore_app, self._chores_last or {})
        with self._chore_app.app_context():
            db.engine.dispose()  # no connection of this process is inherited by a work horse

    def handle_work_horse_killed(self, job: RQJob, retpid: int, ret_val: int, rusage: Any) -> None:
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        job_id = labeler_job_id(job)
        if job_id is None:
            return
        signal = ret_val & 0x7F if ret_val else 0
        how = f"killed by signal {signal}" if signal else f"exited with status {ret_val >> 8}"
        mark_failed(
            job_id,
            f"the worker process running this job was {how}; the previous model keeps serving",
        )


jobs.BACKENDS["rq"] = RQExecutor
