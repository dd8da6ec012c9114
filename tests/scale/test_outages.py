"""PostgreSQL or Redis away for a few seconds: a clear 503 with Retry-After, then recovery.

Each test stops a server of its own (a throwaway PostgreSQL cluster, a redis-server)
while the app keeps its connection pool, then starts it again and expects the same
app object to serve normally without any restart.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from labeler.auth import create_token
from labeler.cli.instance import apply_migrations
from labeler.extensions import db
from labeler.models import Job, User
from tests.conftest import PASSWORDS, bearer, make_app, make_project
from tests.scale.servers import Postgres, RedisServer


def _eventually_ok(request, attempts: int = 20):
    """The first request after a restart may still meet a dead pooled connection (503);
    the pool then reconnects, so one of the next few must succeed."""
    for _ in range(attempts):
        response = request()
        if response.status_code != 503:
            return response
        time.sleep(0.25)
    return response


def _assert_503(response, json: bool) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.headers["Retry-After"].isdigit()
    if json:
        assert response.json["error"] == "service unavailable"
        assert "try again" in response.json["detail"].lower()
    else:
        assert "Try again in a few seconds" in response.get_data(as_text=True)


@pytest.fixture
def postgres():
    pytest.importorskip("psycopg")
    server = Postgres()
    yield server
    server.remove()


def test_postgres_restarting_gives_503_then_recovers(postgres, tmp_path):
    app = make_app(tmp_path, DATABASE_URL=postgres.create_database("outage"))
    with app.app_context():
        apply_migrations()
        admin = User(username="admin", role="admin")
        admin.set_password(PASSWORDS["admin"])
        db.session.add(admin)
        make_project(members=(), reviewers=())
        db.session.flush()
        token = create_token(admin, "outage")[1]
        db.session.commit()
    client = app.test_client()
    projects = lambda: client.get("/api/v1/projects", headers=bearer(token))  # noqa: E731
    login_page = client.get("/login").get_data(as_text=True)
    csrf = login_page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert projects().status_code == 200

    postgres.stop()
    _assert_503(projects(), json=True)
    _assert_503(
        client.post(
            "/login", data={"username": "admin", "csrf_token": csrf, "password": PASSWORDS["admin"]}
        ),
        json=False,
    )

    postgres.start()
    response = _eventually_ok(projects)
    assert response.status_code == 200 and response.json["projects"][0]["name"] == "SMS"
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def redis_server(tmp_path):
    pytest.importorskip("rq")
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


def test_redis_away_gives_503_and_no_stuck_job_then_recovers(
    app, project, tokens, tmp_path, redis_server
):
    rq_app = make_app(tmp_path, JOB_EXECUTOR="rq", REDIS_URL=redis_server.url)
    client = rq_app.test_client()
    url = f"/api/v1/projects/{project}/export/jobs?format=csv"
    start = lambda: client.post(url, headers=bearer(tokens["rita"]))  # noqa: E731
    assert start().status_code == 202

    redis_server.stop()
    _assert_503(start(), json=True)
    with rq_app.app_context():
        latest = db.session.scalar(select(Job).order_by(Job.id.desc()))
        assert latest.status == "failed" and "Redis is unreachable" in latest.error

    redis_server.start()
    response = _eventually_ok(start)
    assert response.status_code == 202 and response.json["status"] == "queued"
    rq_app.extensions["labeler.jobs"].connection.close()
    with rq_app.app_context():
        db.engine.dispose()
