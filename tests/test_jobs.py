"""The job executor: rows record status, progress, results and errors."""

from __future__ import annotations

import time

import pytest

from labeler import jobs
from labeler.extensions import db
from labeler.models import Job, utcnow


@pytest.fixture
def kinds():
    @jobs.runner("test-ok")
    def ok(job, progress):
        progress(0.5, "half way")
        return {"echo": job.params["value"]}

    @jobs.runner("test-fail")
    def fail(job, progress):
        raise ValueError("bad input in row 3")

    yield
    jobs.RUNNERS.pop("test-ok")
    jobs.RUNNERS.pop("test-fail")


def test_inline_jobs_record_their_result(app, kinds):
    with app.app_context():
        job = jobs.start("test-ok", params={"value": 7})
        db.session.refresh(job)
        assert (job.status, job.progress, job.result) == ("done", 1.0, {"echo": 7})
        assert job.message == "half way" and job.finished_at is not None


def test_a_failing_job_keeps_its_error(app, kinds):
    with app.app_context():
        job = jobs.start("test-fail")
        db.session.refresh(job)
        assert job.status == "failed" and job.error == "ValueError: bad input in row 3"


def test_one_active_job_per_kind_and_project_unless_it_stalled(app, kinds):
    with app.app_context():
        waiting = Job(kind="test-ok", project_id=None, params={"value": 1})
        db.session.add(waiting)
        db.session.commit()
        assert jobs.start("test-ok", params={"value": 2}).id == waiting.id
        waiting.created_at = utcnow().replace(year=2020)
        db.session.commit()
        fresh = jobs.start("test-ok", params={"value": 3})
        assert fresh.id != waiting.id and db.session.get(Job, waiting.id).status == "failed"


def test_the_thread_executor_runs_jobs_in_the_background(tmp_path, migrated_db, kinds):
    import shutil

    from tests.conftest import make_app

    shutil.copy(migrated_db, tmp_path / "labeler.sqlite")
    app = make_app(tmp_path, JOB_EXECUTOR="thread")
    with app.app_context():
        job_id = jobs.start("test-ok", params={"value": 5}).id
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with app.app_context():
            job = db.session.get(Job, job_id)
            if job.status == "done":
                assert job.result == {"echo": 5}
                break
        time.sleep(0.05)
    else:
        pytest.fail("the background job did not finish")
    app.extensions["labeler.jobs"].pool.shutdown(wait=True)
    with app.app_context():
        db.engine.dispose()
