"""`labeler serve` is the embedded production set-up: gunicorn web processes, and jobs
queued in the database for a job worker process it supervises (never a web process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from labeler.auth import create_token
from labeler.cli.instance import apply_migrations
from labeler.extensions import db
from labeler.models import Job, ModelVersion, User
from labeler.services.projects.store import create_project
from tests.conftest import make_app
from tests.scale.servers import CLI, REPO, free_port

pytest.importorskip("gunicorn")


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {seconds} s")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.fixture
def served(tmp_path):
    app = make_app(tmp_path, JOB_EXECUTOR="database")
    with app.app_context():
        apply_migrations()
        admin = User(username="admin", role="admin")
        admin.set_password("admin-pass")
        db.session.add(admin)
        db.session.flush()
        token = create_token(admin, "t")[1]
        project_id = create_project("P", [{"name": "a"}, {"name": "b"}]).id
        db.session.commit()
    app.config["TEST_PROJECT_ID"] = project_id
    port = free_port()
    env = {
        **os.environ,
        "LABELER_INSTANCE_PATH": str(tmp_path),
        "LABELER_SECRET_KEY": "serve-test",
        "LABELER_WORKER_IMPORTS": "tests.scale.slow_jobs",
        "PYTHONPATH": str(REPO),
    }
    command = [*CLI, "serve", "--port", str(port), "--workers", "2", "--threads", "2"]
    process = subprocess.Popen(command, env=env, cwd=REPO, start_new_session=True)

    def answers():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as r:
                return r.status == 200
        except OSError:
            assert process.poll() is None, "labeler serve exited"
            return False

    try:
        _wait(answers, 120, "labeler serve did not answer")
        yield app, port, token, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        with app.app_context():
            db.engine.dispose()


def _queue(app, kind: str, params: dict) -> int:
    with app.app_context():
        job = Job(kind=kind, project_id=app.config["TEST_PROJECT_ID"], params=params)
        db.session.add(job)
        db.session.commit()
        return job.id


def _finished(app, job_id: int) -> Job | None:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job if job.status in ("done", "failed") else None


def test_jobs_run_in_the_supervised_worker_which_comes_back_after_a_crash(served):
    app, port, token, process = served
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/users",
        data=json.dumps({"username": "ann", "role": "annotator"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        assert answer.status == 201  # the web processes serve the API

    job_id = _queue(app, "test-echo", {"value": 2})
    job = _wait(lambda: _finished(app, job_id), 60, "the job worker did not run the job")
    first_worker = job.result["pid"]
    assert job.status == "done" and job.result["echo"] == 2
    assert first_worker != process.pid
    assert "worker --database" in _cmdline(first_worker)  # not a web process
    # requests come first: the job worker yields the CPU to the web processes (niceness
    # 10 more than theirs, which is this test's own, whatever the runner started it at)
    own = os.getpriority(os.PRIO_PROCESS, 0)
    assert os.getpriority(os.PRIO_PROCESS, process.pid) == own
    assert os.getpriority(os.PRIO_PROCESS, first_worker) == min(own + 10, 19)

    slow = _queue(app, "test-slow-train", {"seconds": 120})
    _wait(lambda: _running(app, slow), 60, "the slow job did not start")
    os.kill(first_worker, signal.SIGKILL)
    failed = _wait(lambda: _finished(app, slow), 60, "the interrupted job was not failed")
    assert failed.status == "failed" and "worker stopped" in failed.error
    with app.app_context():
        version = db.session.scalar(select(ModelVersion).where(ModelVersion.job_id == slow))
        assert version.status == "failed"
    job_id = _queue(app, "test-echo", {"value": 3})
    job = _wait(lambda: _finished(app, job_id), 60, "the restarted worker did not run a job")
    assert job.status == "done" and job.result["pid"] != first_worker
    assert "worker --database" in _cmdline(job.result["pid"])
    assert os.getpriority(os.PRIO_PROCESS, job.result["pid"]) == min(own + 10, 19)


def _running(app, job_id: int) -> bool:
    with app.app_context():
        job = db.session.get(Job, job_id)  # its model version is committed before this message
        return job.status == "running" and job.message.startswith("pid=")


@pytest.mark.parametrize("value", [25, -1, "ten", 2.5, True])
def test_a_bad_job_worker_niceness_stops_serve_before_it_starts(tmp_path, value):
    """Else every job worker would exit at its start and be restarted once a second,
    with the site up and no job ever running."""
    import click

    from labeler.cli.server import job_worker_nice

    app = make_app(tmp_path, JOB_WORKER_NICE=value)
    with pytest.raises(click.ClickException, match="JOB_WORKER_NICE .* from 0 to 19"):
        job_worker_nice(app)
    for good, niceness in ((0, 0), (19, 19), ("7", 7)):
        app.config["JOB_WORKER_NICE"] = good
        assert job_worker_nice(app) == niceness


def test_serve_says_what_is_wrong_with_the_job_worker_niceness(tmp_path):
    env = {
        **os.environ,
        "LABELER_INSTANCE_PATH": str(tmp_path),
        "LABELER_SECRET_KEY": "serve-test",
        "LABELER_JOB_WORKER_NICE": "25",
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run(
        [*CLI, "serve", "--port", str(free_port())],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "LABELER_JOB_WORKER_NICE) must be a whole number from 0 to 19, got 25" in done.stderr
    assert "is serving" not in done.stdout


def test_a_web_worker_holding_a_connection_per_thread_lets_the_others_accept_first(monkeypatch):
    """Clients that connect at once could all land on one web process (one core, one
    GIL) while the other idled: past a connection per thread, a worker pauses before it
    accepts, longer the more it holds, up to a cap, so the other workers take them."""
    from types import SimpleNamespace

    from gunicorn.workers.gthread import ThreadWorker

    from labeler.cli import server

    accepted, pauses = [], []
    monkeypatch.setattr(ThreadWorker, "accept", lambda self, listener: accepted.append(listener))
    monkeypatch.setattr(server.time, "sleep", pauses.append)
    worker = object.__new__(server.balanced_thread_worker())
    worker.cfg = SimpleNamespace(threads=4)
    for held in (0, 3, 4, 5, 7, 40):
        worker.nr_conns = held
        worker.accept("listener")
    assert accepted == ["listener"] * 6  # every connection is accepted in the end
    step, cap = server.ACCEPT_DEFER_SECONDS, server.ACCEPT_DEFER_MAX_SECONDS
    assert pauses == [step, 2 * step, 4 * step, cap]  # none below a connection per thread
