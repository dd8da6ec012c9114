"""Background jobs: one narrow executor interface, several backends (DESIGN.md, "Jobs").

- ``inline``: runs at once, in the caller's thread (tests, CLI);
- ``thread``: a single background thread in the server process;
- ``database``: the job table is the queue, run by a worker process that ``labeler serve``
  supervises (the embedded default; :mod:`labeler.jobs.database`);
- further backends (Redis Queue) plug in through :data:`BACKENDS`.

A job is a :class:`~labeler.models.Job` row. :func:`start` commits that row *before*
handing its id to the executor, so a worker never looks for a row that is not
there yet. A runner is a function ``runner(job, progress) -> dict`` registered with
:func:`runner`; it may commit its own work; its return value becomes ``job.result``.
A runner that raises leaves the job ``failed`` with the error, and nothing else.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.jobs import progress as job_progress
from labeler.models import Job, utcnow

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
Runner = Callable[[Job, Progress], dict[str, Any]]
RUNNERS: dict[str, Runner] = {}
ACTIVE = ("queued", "running")


# Kinds whose runner keeps one transaction open to its end (an all-or-nothing import):
# committing their progress would commit their work. See labeler.jobs.progress.
WHOLE_TRANSACTION: set[str] = set()


# The lowest project role that may read a kind's result (``GET /api/v1/jobs/<id>``).
RESULT_ROLE: dict[str, str] = {}


def runner(
    kind: str, whole_transaction: bool = False, result_role: str = "reviewer"
) -> Callable[[Runner], Runner]:
    """Register the function that runs jobs of ``kind``; with ``whole_transaction`` its
    progress never commits (it goes to :mod:`labeler.jobs.progress`).

    ``result_role`` is the lowest project role that may read its result: results hold
    agreement figures, model scores or counts that follow from other people's labels,
    so by default annotators see only a job's status and progress.
    """

    def register(function: Runner) -> Runner:
        RUNNERS[kind] = function
        RESULT_ROLE[kind] = result_role
        if whole_transaction:
            WHOLE_TRANSACTION.add(kind)
        return function

    return register


# Chores a job worker runs while it waits for work: name -> (config key of the interval
# in seconds, 0 = never; the function, called in an app context).
PERIODIC: dict[str, tuple[str, Callable[[], Any]]] = {}


def periodic(name: str, interval_key: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register a chore the job worker runs every ``config[interval_key]`` seconds when idle
    (e.g. scheduling webhook retries that fell due), so no cron job is needed."""

    def register(function: Callable[[], Any]) -> Callable[[], Any]:
        PERIODIC[name] = (interval_key, function)
        return function

    return register


# Modules whose import registers job runners (a worker process needs them all).
RUNNER_MODULES = [
    "labeler.services.data.export_job",
    "labeler.services.data.import_job",
    "labeler.services.learning.modeling",
    "labeler.services.labeling.agreement_report",
    "labeler.services.labeling.consensus_job",
    "labeler.services.serving.monitoring",
    "labeler.services.data.quality",
    "labeler.services.learning.scoring_job",
    "labeler.services.projects.webhook_delivery",
    "labeler.services.items.similar",
]


def init_app(app: Flask) -> None:
    import importlib

    for module in RUNNER_MODULES:
        importlib.import_module(module)
    name = app.config.get("JOB_EXECUTOR", "thread")
    if name not in BACKENDS:
        raise RuntimeError(
            f"LABELER_JOB_EXECUTOR={name!r}: choose one of {sorted({*BACKENDS, 'rq'})}"
        )
    app.extensions["labeler.jobs"] = BACKENDS[name](app)


def start(
    kind: str,
    project_id: int | None = None,
    params: dict[str, Any] | None = None,
    user_id: int | None = None,
    unique: bool = True,
) -> Job:
    """Create, commit and dispatch a job; with ``unique``, an active job of the same kind
    and project is returned instead of a second one. Commits: call it from a request
    handler, a CLI command or a job, never from a service."""
    if kind not in RUNNERS:
        raise KeyError(f"no runner for job kind {kind!r}")
    if not db.session().in_transaction():
        begin_write()  # SQLite: the check below must not read in a transaction that then writes
    if unique:
        active = db.session.scalar(
            select(Job).where(
                Job.kind == kind, Job.project_id == project_id, Job.status.in_(ACTIVE)
            )
        )
        if active is not None and not _stalled(active):
            return active
        if active is not None:  # its process died (a restart): free the slot
            active.status, active.finished_at = "failed", utcnow()
            active.error = "stalled: no progress for too long; the process running it stopped"
    job = Job(kind=kind, project_id=project_id, params=params or {}, created_by=user_id)
    db.session.add(job)
    try:
        db.session.flush()
    except IntegrityError:
        # Another process queued the same training job between our check and our insert
        # (PostgreSQL, several web workers): the database keeps one (uq_job_active_train).
        db.session.rollback()
        winner = db.session.scalar(
            select(Job).where(
                Job.kind == kind, Job.project_id == project_id, Job.status.in_(ACTIVE)
            )
        )
        if winner is None:
            raise
        return winner
    job_id = job.id  # read before commit: reading after would open a stale snapshot
    db.session.commit()
    current_app.extensions["labeler.jobs"].dispatch(job_id)
    return job


def _stalled(job: Job) -> bool:
    since = job.started_at or job.created_at
    limit = current_app.config.get("JOB_STALE_SECONDS", 3600)
    return (utcnow() - since).total_seconds() > limit


def run(job_id: int, claimed: bool = False) -> None:
    """Run one job in the current app context; record its outcome on the row.

    ``claimed``: the caller has already marked the job running (the database queue's
    atomic claim, :func:`labeler.jobs.database.claim_next`)."""
    # Write transactions from the start: on SQLite a read transaction cannot turn into a
    # write once another process has committed (an immediate "database is locked").
    begin_write()
    job = db.session.get(Job, job_id)
    if job is None or job.status != ("running" if claimed else "queued"):
        return
    whole_transaction = job.kind in WHOLE_TRANSACTION
    job.status, job.started_at = "running", job.started_at if claimed else utcnow()
    db.session.commit()

    def progress(fraction: float, message: str = "") -> None:
        if whole_transaction:
            job_progress.write(job_id, fraction, message)
            return
        # Commit what the runner wrote so far (progress always did), then write the
        # figure in a write transaction of its own: after the runner's reads, SQLite
        # could not turn the open read transaction into a write once others committed.
        db.session.commit()
        begin_write()
        job.progress, job.message = max(0.0, min(1.0, fraction)), message
        db.session.commit()

    try:
        result = RUNNERS[job.kind](job, progress)
    except Exception as exc:  # a job's failure is data for the UI, not a crash
        # Nothing the runner wrote may land (an import is all or nothing): roll back
        # first, as begin_write keeps a transaction that is already a write.
        db.session.rollback()
        begin_write()
        log.warning("job %s (%s) failed: %s", job_id, job.kind, exc)
        job = db.session.get(Job, job_id)
        job.status, job.finished_at = "failed", utcnow()
        job.error = f"{type(exc).__name__}: {exc}"
        job.result = {"traceback": traceback.format_exc(limit=8)}
        db.session.commit()
        job_progress.clear(job_id)
        return
    db.session.commit()  # the runner's writes; the outcome then goes in a write transaction
    begin_write()
    job.status, job.progress, job.finished_at = "done", 1.0, utcnow()
    job.result = result or {}
    db.session.commit()
    job_progress.clear(job_id)


class InlineExecutor:
    """Runs the job at once, in a fresh app context (so its session is its own)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def dispatch(self, job_id: int) -> None:
        with self.app.app_context():
            run(job_id)


class ThreadExecutor:
    """One background thread per server process: jobs run one at a time, in order."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="labeler-job")

    def dispatch(self, job_id: int) -> None:
        self.pool.submit(self._run, job_id)

    def _run(self, job_id: int) -> None:
        with self.app.app_context():
            try:
                run(job_id)
            except Exception:  # never let the worker thread die silently
                log.exception("job %s crashed the runner", job_id)


class DatabaseExecutor:
    """The committed ``queued`` row is the message: the worker process that ``labeler
    serve`` supervises claims it (:mod:`labeler.jobs.database`)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def dispatch(self, job_id: int) -> None:
        return None


BACKENDS: dict[str, Callable[[Flask], Any]] = {
    "inline": InlineExecutor,
    "thread": ThreadExecutor,
    "database": DatabaseExecutor,
}
# A backend with dependencies of its own (redis, rq) adds itself to BACKENDS when its module
# is imported (the app factory imports labeler.jobs.rq when it is configured), so this
# module never imports it and the core install needs none of them.
