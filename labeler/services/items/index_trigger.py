"""Keep the items index current without anyone asking: after an import that adds or
changes items, and after the serving champion (so the features "find similar" and the
browser's model filters read) changes.

:func:`request` runs inside the unit of work that causes the change and adds an
``items_index`` job row to it; when that transaction commits, a session listener hands
the job to the executor (as webhook deliveries do), so the job is never seen before its
row is committed, and a rolled-back import queues nothing. Debounced: while a job of the
project is still queued, no second one is added (the queued one reads everything when it
starts); a job that is already running gets one successor, since it may have read the
old state. The runner skips itself when a newer one is queued
(:func:`newer_queued`), which holds the rule even if two processes raced.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from labeler.extensions import db
from labeler.models import Job, Project
from labeler.services.projects.kinds import kind_of

KIND = "items_index"
_PENDING = "labeler.items_index_jobs"


def request(project: Project, reason: str) -> int | None:
    """Queue the project's items index job in the caller's transaction (id), or None
    when there is nothing to index with (no champion, or a kind whose model is not a
    label classifier) or a job is already queued. Never commits."""
    if project.champion_id is None or not kind_of(project).label_classifier:
        return None
    pending: dict[int, int] = db.session.info.setdefault(_PENDING, {})
    if project.id in pending:
        return pending[project.id]
    queued = db.session.scalar(
        select(Job.id).where(Job.kind == KIND, Job.project_id == project.id, Job.status == "queued")
    )
    if queued is not None:
        return None
    job = Job(kind=KIND, project_id=project.id, params={"reason": reason})
    db.session.add(job)
    db.session.flush()
    pending[project.id] = job.id
    return job.id


def newer_queued(job: Job) -> int | None:
    """The id of a later queued items index job of the same project, if any."""
    return db.session.scalar(
        select(Job.id).where(
            Job.kind == KIND,
            Job.project_id == job.project_id,
            Job.status == "queued",
            Job.id > job.id,
        )
    )


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    for job_id in session.info.pop(_PENDING, {}).values():
        current_app.extensions["labeler.jobs"].dispatch(job_id)


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_rollback(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)
