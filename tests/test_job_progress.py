"""A whole-transaction job reports progress without committing its work."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labeler import jobs
from labeler.extensions import db
from labeler.jobs import progress as job_progress
from labeler.models import Job, Project
from labeler.services.learning.model_reports import job_payload
from labeler.services.projects.store import create_project

SEEN: list[tuple[float, str]] = []


@pytest.fixture
def kinds():
    def half_then_fail(job, progress):
        create_project(job.params["name"], [{"name": "a"}, {"name": "b"}])
        db.session.flush()
        progress(0.5, "half way")
        SEEN.append((job_payload(job)["progress"], job_payload(job)["message"]))
        raise ValueError("bad row")

    jobs.runner("test-whole", whole_transaction=True)(half_then_fail)
    jobs.runner("test-committing")(half_then_fail)
    SEEN.clear()
    yield
    for kind in ("test-whole", "test-committing"):
        jobs.RUNNERS.pop(kind)
    jobs.WHOLE_TRANSACTION.discard("test-whole")


def _project(name: str) -> Project | None:
    return db.session.scalar(select(Project).where(Project.name == name))


def test_progress_of_a_whole_transaction_job_commits_nothing(app, kinds):
    with app.app_context():
        job = jobs.start("test-whole", params={"name": "Whole"})
        assert SEEN == [(0.5, "half way")]  # the status endpoint's figures, while it ran
        db.session.refresh(job)
        assert job.status == "failed" and job.error == "ValueError: bad row"
        assert _project("Whole") is None
        assert not job_progress._path(job.id).exists()
        assert job_payload(job)["progress"] == job.progress


def test_progress_of_other_jobs_still_commits_their_work(app, kinds):
    with app.app_context():
        jobs.start("test-committing", params={"name": "Committed"})
        assert _project("Committed") is not None  # what the whole-transaction mode prevents


def test_a_finished_job_shows_the_figures_of_its_row(app):
    with app.app_context():
        job = Job(kind="export", status="done", progress=1.0, message="")
        db.session.add(job)
        db.session.commit()
        job_progress.write(job.id, 0.3, "left over by a killed worker")
        assert job_progress.current(job) == (1.0, "")
