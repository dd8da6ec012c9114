"""Jobs on Redis Queue: ``labeler worker`` processes run them; a killed worker fails its job.

Each test runs a real redis-server and real ``labeler worker`` processes against the
test database (SQLite, or PostgreSQL with ``LABELER_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from sqlalchemy import select

from labeler import jobs
from labeler.extensions import db
from labeler.models import Job, ModelVersion, Project
from tests.conftest import make_app, make_project
from tests.scale import slow_jobs  # noqa: F401  (registers the test job kinds here too)
from tests.scale.servers import (
    RedisServer,
    labeler_env,
    start_worker,
    stop_group,
    wait_until,
)

pytest.importorskip("rq")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def rq_app(app, tmp_path, redis_server):
    """The test app, dispatching to Redis instead of running jobs inline."""
    from redis import Redis

    with Redis.from_url(redis_server.url) as redis:
        redis.flushall()
    rq_app = make_app(tmp_path, JOB_EXECUTOR="rq", REDIS_URL=redis_server.url)
    yield rq_app
    rq_app.extensions["labeler.jobs"].connection.close()
    with rq_app.app_context():
        db.engine.dispose()


@pytest.fixture
def worker_env(rq_app, redis_server):
    return labeler_env(
        rq_app,
        LABELER_JOB_EXECUTOR="rq",
        LABELER_REDIS_URL=redis_server.url,
        LABELER_WORKER_IMPORTS="tests.scale.slow_jobs",
    )


def job_row(app, job_id: int) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def test_a_worker_process_runs_queued_jobs(rq_app, worker_env, tmp_path):
    with rq_app.app_context():
        job_ids = [jobs.start("test-echo", params={"value": n}, unique=False).id for n in range(3)]
    worker = start_worker(worker_env, "--burst", log=tmp_path / "worker.log")
    assert worker.wait(60) == 0, (tmp_path / "worker.log").read_text()
    for n, job_id in enumerate(job_ids):
        job = job_row(rq_app, job_id)
        assert (job.status, job.result["echo"]) == ("done", n)
        assert job.result["pid"] not in (os.getpid(), worker.pid)  # ran in a work horse


def test_an_idle_worker_runs_the_chores_again_and_again(rq_app, worker_env, tmp_path):
    """The chores (webhook retries that fell due) need no cron job on RQ either: the
    worker runs them with its maintenance, also while no job comes."""
    notes = tmp_path / "chores.txt"
    env = {
        **worker_env,
        "LABELER_TEST_CHORE_FILE": str(notes),
        "LABELER_WEBHOOK_RETRY_CHECK_SECONDS": "1",
    }
    worker = start_worker(env, "--maintenance-interval", "1", log=tmp_path / "worker.log")
    try:
        wait_until(
            lambda: notes.exists() and len(notes.read_text().split()) >= 3,
            timeout=60,
            what="three chore runs",
        )
    finally:
        stop_group(worker)
    pids = set(notes.read_text().split())
    assert pids == {str(worker.pid)}, "the worker itself runs them, not a work horse"


def test_several_workers_share_the_queue(rq_app, worker_env, tmp_path):
    worker = start_worker(worker_env, "--count", "2", log=tmp_path / "workers.log")
    try:
        with rq_app.app_context():
            job_ids = [
                jobs.start("test-echo", params={"value": n}, unique=False).id for n in range(6)
            ]
        wait_until(
            lambda: all(job_row(rq_app, i).status == "done" for i in job_ids),
            timeout=90,
            what="six jobs done by two workers",
        )
    finally:
        stop_group(worker)
    log = (tmp_path / "workers.log").read_text()
    assert "labeler worker: 2 processes" in log


def _champion_project(app) -> tuple[int, int]:
    with app.app_context():
        project = make_project("Trained", n_items=5)
        db.session.flush()
        champion = ModelVersion(project_id=project.id, status="champion", strategy="test")
        db.session.add(champion)
        db.session.flush()
        project.champion_id = champion.id
        db.session.commit()
        return project.id, champion.id


def _start_slow_training(app, project_id: int) -> tuple[int, int]:
    """Start the slow job; return its id and the pid of the process running it."""
    with app.app_context():
        job_id = jobs.start("test-slow-train", project_id=project_id, params={"seconds": 120}).id
    message = wait_until(
        lambda: job_row(app, job_id).message, timeout=60, what="the job to start in a worker"
    )
    return job_id, int(re.fullmatch(r"pid=(\d+)", message).group(1))


def _assert_champion_kept(app, project_id: int, champion_id: int, job_id: int) -> None:
    with app.app_context():
        project = db.session.get(Project, project_id)
        assert project.champion_id == champion_id
        assert db.session.get(ModelVersion, champion_id).status == "champion"
        trained = db.session.scalar(select(ModelVersion).where(ModelVersion.job_id == job_id))
        assert trained.status == "failed"  # not left "training" for ever


def test_a_work_horse_killed_mid_training_fails_the_job_and_the_champion_stays(
    rq_app, worker_env, tmp_path
):
    project_id, champion_id = _champion_project(rq_app)
    worker = start_worker(worker_env, log=tmp_path / "worker.log")
    try:
        job_id, horse = _start_slow_training(rq_app, project_id)
        os.kill(horse, signal.SIGKILL)
        job = wait_until(
            lambda: (j := job_row(rq_app, job_id)).status == "failed" and j,
            timeout=30,
            what="the job to be marked failed",
        )
        assert "killed by signal 9" in job.error and job.finished_at is not None
        _assert_champion_kept(rq_app, project_id, champion_id, job_id)
        # The worker itself survived and takes the next job.
        with rq_app.app_context():
            next_id = jobs.start("test-echo", params={"value": "after"}).id
        wait_until(
            lambda: job_row(rq_app, next_id).status == "done",
            timeout=30,
            what="the worker to run the next job",
        )
    finally:
        stop_group(worker)


def test_a_whole_worker_killed_mid_training_is_failed_by_maintenance(
    rq_app, worker_env, tmp_path, monkeypatch
):
    from redis import Redis
    from rq.registry import StartedJobRegistry

    from labeler.jobs.rq import QUEUE_NAME

    project_id, champion_id = _champion_project(rq_app)
    worker = start_worker(worker_env, log=tmp_path / "worker.log")
    job_id, horse = _start_slow_training(rq_app, project_id)
    # The machine is lost: the worker and its work horse (in a group of its own) die at once.
    os.kill(horse, signal.SIGKILL)
    stop_group(worker, signal.SIGKILL)
    time.sleep(0.5)
    assert job_row(rq_app, job_id).status == "running"
    # Any worker's maintenance runs this once the dead worker's heartbeat has expired
    # (about 70 s); jump past that instead of waiting. It calls labeler's failure
    # callback, which builds the app from the environment as a worker would.
    for key, value in worker_env.items():
        if key.startswith("LABELER_"):
            monkeypatch.setenv(key, value)
    with Redis.from_url(worker_env["LABELER_REDIS_URL"]) as redis:
        StartedJobRegistry(QUEUE_NAME, connection=redis).cleanup(timestamp=time.time() + 3600)
    job = job_row(rq_app, job_id)
    assert job.status == "failed" and "worker" in job.error
    _assert_champion_kept(rq_app, project_id, champion_id, job_id)
