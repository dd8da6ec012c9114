"""The embedded job queue: jobs wait in the job table; a claim is atomic; one training
job per project at most; a worker that died leaves no job "running" forever."""

from __future__ import annotations

import shutil
import threading

import pytest
from sqlalchemy import select

from labeler import jobs
from labeler.extensions import db
from labeler.jobs import database
from labeler.models import Job, ModelVersion
from labeler.services.labeling import queue
from labeler.services.learning import modeling
from tests.conftest import make_app, make_project, user


@pytest.fixture
def queued_app(tmp_path, migrated_db):
    shutil.copy(migrated_db, tmp_path / "labeler.sqlite")
    app = make_app(tmp_path, JOB_EXECUTOR="database")
    from tests.conftest import _users

    with app.app_context():
        _users()
        db.session.commit()

    @jobs.runner("test-queued")
    def echo(job, progress):
        progress(0.5, "half way")
        return {"value": job.params["value"], "thread": threading.get_ident()}

    yield app
    jobs.RUNNERS.pop("test-queued")
    with app.app_context():
        db.engine.dispose()


def _statuses(app) -> list[tuple[int, str]]:
    with app.app_context():
        return [
            tuple(row) for row in db.session.execute(select(Job.id, Job.status).order_by(Job.id))
        ]


def test_a_started_job_waits_in_the_table_until_a_worker_claims_it(queued_app):
    with queued_app.app_context():
        first = jobs.start("test-queued", params={"value": 1}, unique=False).id
        second = jobs.start("test-queued", params={"value": 2}, unique=False).id
    assert _statuses(queued_app) == [(first, "queued"), (second, "queued")]
    with queued_app.app_context():
        assert database.claim_next() == first  # oldest first
    assert _statuses(queued_app) == [(first, "running"), (second, "queued")]
    with queued_app.app_context():
        jobs.run(first)  # not claimed by this caller: it does not run it twice
        assert db.session.get(Job, first).status == "running"
        jobs.run(first, claimed=True)
        job = db.session.get(Job, first)
        assert (job.status, job.result["value"], job.progress) == ("done", 1, 1.0)


def test_work_runs_every_queued_job_once_in_order(queued_app):
    with queued_app.app_context():
        ids = [jobs.start("test-queued", params={"value": n}, unique=False).id for n in range(3)]
    assert database.work(queued_app, threading.Event(), burst=True) == 3
    with queued_app.app_context():
        done = db.session.scalars(select(Job).where(Job.id.in_(ids)).order_by(Job.finished_at))
        assert [j.result["value"] for j in done] == [0, 1, 2]
    assert database.work(queued_app, threading.Event(), burst=True) == 0


def test_two_claimants_never_take_the_same_job(queued_app):
    with queued_app.app_context():
        ids = {jobs.start("test-queued", params={"value": n}, unique=False).id for n in range(40)}
    claimed: list[int] = []
    lock = threading.Lock()

    def claimant():
        while True:
            with queued_app.app_context():
                job_id = database.claim_next()
                db.session.remove()
            if job_id is None:
                with queued_app.app_context():
                    if not db.session.scalar(select(Job.id).where(Job.status == "queued")):
                        return
                continue
            with lock:
                claimed.append(job_id)

    threads = [threading.Thread(target=claimant) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(claimed) == sorted(ids)  # each exactly once


def test_jobs_a_worker_left_running_are_failed_with_their_model_version(queued_app):
    with queued_app.app_context():
        project = make_project(n_items=3)
        db.session.commit()
        job_id = jobs.start("test-queued", project.id, {"value": 1}).id
        assert database.claim_next() == job_id
        db.session.add(ModelVersion(project_id=project.id, job_id=job_id, status="training"))
        db.session.commit()
        assert database.fail_interrupted("the job worker stopped") == 1
        job = db.session.get(Job, job_id)
        assert (job.status, job.error) == ("failed", "the job worker stopped")
        version = db.session.scalar(select(ModelVersion).where(ModelVersion.job_id == job_id))
        assert version.status == "failed"
        assert database.fail_interrupted("again") == 0


def test_one_training_job_per_project_and_later_labels_go_into_the_next(queued_app):
    with queued_app.app_context():
        project = make_project(n_items=40, k=1)
        project.retrain_every = 4
        db.session.commit()
        started = []
        for n in range(16):
            annotator = user(("alice", "bob", "dave")[n % 3])
            item = queue.next_items(project, annotator)[0]
            queue.submit(project, annotator, item, ("ham", "spam")[n % 2])
            db.session.commit()
            job_id = modeling.maybe_start_training(project)
            if job_id is not None:
                started.append(job_id)
        trains = db.session.scalars(select(Job).where(Job.kind == "train")).all()
        assert len(trains) == 1 and set(started) == {trains[0].id}
        assert trains[0].status == "queued"
        # Labels that arrived after it was queued wait for the next one.
        assert db.session.get(type(project), project.id).labels_since_training >= 4


def test_a_label_past_retrain_every_while_a_training_job_waits_takes_no_write_turn(
    queued_app, monkeypatch
):
    from labeler import db_engine

    with queued_app.app_context():
        project = make_project(n_items=40, k=1)
        project.retrain_every, project.min_labels_per_class = 4, 2
        db.session.commit()
        annotator = user("alice")
        for label in ("ham", "spam", "ham", "spam"):
            queue.submit(project, annotator, queue.next_items(project, annotator)[0], label)
            db.session.commit()
        queued_id = modeling.maybe_start_training(project)
        assert queued_id is not None  # a job was started
        queued = db.session.get(Job, queued_id)
        assert queued.status == "queued"
        for label in ("ham", "spam", "ham", "spam"):
            queue.submit(project, annotator, queue.next_items(project, annotator)[0], label)
            db.session.commit()
        assert db.session.get(type(project), project.id).labels_since_training >= 4
        turns = []
        take = db_engine._take_writer_turn
        monkeypatch.setattr(
            db_engine, "_take_writer_turn", lambda *a, **kw: turns.append(1) or take(*a, **kw)
        )
        assert modeling.maybe_start_training(project) == queued.id
        assert turns == []  # the waiting job answered it from a read
        db.session.rollback()
        db.session.get(Job, queued.id).status = "done"
        db.session.commit()
        turns.clear()
        # Once it is over, the labels that waited start the next job (in a write turn).
        following = modeling.maybe_start_training(project)
        assert following is not None and following != queued.id and turns


def test_the_database_keeps_one_active_training_job_per_project_whatever_the_race(queued_app):
    from sqlalchemy.exc import IntegrityError

    with queued_app.app_context():
        project = make_project(n_items=3)
        other = make_project("Other", n_items=3, members=(), reviewers=())
        db.session.commit()
        first = jobs.start("train", project.id, {"reason": "a"})
        # A second process that checked before the first committed: its insert loses.
        second = jobs.start("train", project.id, {"reason": "b"}, unique=False)
        assert second.id == first.id
        db.session.add(Job(kind="train", project_id=project.id, status="running"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()
        # Other projects, finished jobs and other kinds are not held back.
        assert jobs.start("train", other.id).id != first.id
        db.session.get(Job, first.id).status = "done"
        db.session.commit()
        assert jobs.start("train", project.id).id != first.id
        assert jobs.start("score", project.id, unique=False).id
        assert jobs.start("score", project.id, unique=False).id
