"""Writers queue on SQLite: under concurrent writes nobody gets a 503 "database is locked".

16 annotators label over HTTP against a live server while an admin creates users,
tokens and memberships over the API and an import with labels runs as a job. On
SQLite a transaction that read first cannot start writing once another connection
has committed: it fails at once, whatever the busy timeout. Every write request
therefore starts as a write (labeler.db_engine), and waits its turn instead.
"""

from __future__ import annotations

import csv
import secrets
import sqlite3
import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from labeler import jobs
from labeler.auth import create_token
from labeler.extensions import db
from labeler.models import Annotation, Item, Job, User
from labeler.services.data.import_job import job_params, upload_path
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.projects.store import create_project, set_member
from tests.conftest import make_project, serving, user
from tests.scale import pgdb

ANNOTATORS, CYCLES, ADMIN_ROUNDS, IMPORT_ROWS = 16, 12, 10, 3000


def _setup(app) -> tuple[int, int, list[str], str]:
    with app.app_context():
        project = make_project(n_items=300, k=2)
        target = create_project("Imported", [{"name": "ham"}, {"name": "spam"}])
        tokens = []
        for n in range(ANNOTATORS):
            annotator = User(username=f"worker{n}", role="annotator")
            db.session.add(annotator)
            db.session.flush()
            set_member(project, annotator, "annotator")
            tokens.append(create_token(annotator, "load")[1])
        admin_token = create_token(user("admin"), "admin")[1]
        db.session.commit()
        return project.id, target.id, tokens, admin_token


def _annotate(url, project_id, token, outcomes, errors):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for n in range(CYCLES):
        got = session.get(f"{url}/api/v1/projects/{project_id}/next")
        if got.status_code != 200:
            errors.append(("next", got.status_code, got.text[:200]))
            continue
        items = got.json()["items"]
        if not items:
            break
        sent = session.post(
            f"{url}/api/v1/projects/{project_id}/items/{items[0]['id']}/annotation",
            json={"label": ("ham", "spam")[n % 2]},
        )
        if sent.status_code in (200, 201):
            outcomes.append(items[0]["id"])
        elif sent.status_code != 409:
            errors.append(("submit", sent.status_code, sent.text[:200]))


def _administer(url, project_id, token, errors):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for n in range(ADMIN_ROUNDS):
        name = f"new{n}-{secrets.token_hex(3)}"
        made = session.post(f"{url}/api/v1/users", json={"username": name, "role": "annotator"})
        if made.status_code != 201:
            errors.append(("user", made.status_code, made.text[:200]))
            continue
        user_id = made.json()["id"]
        for path, body in (
            (f"/api/v1/users/{user_id}/tokens", {"name": "t", "days": 1}),
            (f"/api/v1/projects/{project_id}/members", {"user_id": user_id, "role": "annotator"}),
        ):
            answer = session.post(url + path, json=body)
            if answer.status_code != 201:
                errors.append((path, answer.status_code, answer.text[:200]))


def _import(app, project_id, tmp_path, errors):
    with app.app_context():
        token = secrets.token_hex(16)
        with upload_path(token).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["id", "text", "label", "annotator"])
            for i in range(IMPORT_ROWS):
                writer.writerow([f"r{i}", f"row {i}", ("ham", "spam")[i % 2], f"old{i % 5}"])
        mapping = ColumnMapping(
            id="id", text=("text",), label="label", annotator="annotator", add_annotators=True
        )
        job = jobs.start("import", project_id, job_params(token, "l.csv", "csv", mapping))
        job = db.session.get(Job, job.id)
        if job.status != "done":
            errors.append(("import", job.status, job.error))


def test_writers_wait_their_turn_instead_of_failing(app, tmp_path):
    project_id, target_id, tokens, admin_token = _setup(app)
    outcomes: list[int] = []
    errors: list[tuple] = []
    with serving(app) as url:
        threads = [
            threading.Thread(target=_annotate, args=(url, project_id, t, outcomes, errors))
            for t in tokens
        ]
        threads.append(
            threading.Thread(target=_administer, args=(url, project_id, admin_token, errors))
        )
        threads.append(threading.Thread(target=_import, args=(app, target_id, tmp_path, errors)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(240)
    assert not errors, errors[:5]
    with app.app_context():
        stored = db.session.scalar(
            select(func.count(Annotation.id)).where(Annotation.project_id == project_id)
        )
        assert stored == len(outcomes) > ANNOTATORS * CYCLES // 2
        top = db.session.scalar(
            select(func.max(Item.n_annotations)).where(Item.project_id == project_id)
        )
        assert top <= 2
        imported = db.session.scalar(
            select(func.count(Annotation.id)).where(Annotation.project_id == target_id)
        )
        assert imported == IMPORT_ROWS
        made = db.session.scalar(select(func.count(User.id)).where(User.username.like("new%")))
        assert made == ADMIN_ROUNDS


@pytest.fixture(autouse=True)
def _no_training(monkeypatch):
    """Training is not what this test is about (inline jobs would train in the request)."""
    from labeler.services.learning import modeling

    monkeypatch.setattr(modeling, "maybe_start_training", lambda project: None)


@pytest.mark.skipif(
    bool(pgdb.SERVER_URL), reason="holds SQLite's write lock (PostgreSQL has row locks)"
)
def test_a_write_waits_for_the_lock_and_a_prediction_does_not(tmp_path, migrated_db, tokens_for):
    """A writer holding the lock past the busy timeout: the write request gets the 503 of
    a database away; a prediction, which writes nothing, is not held up by it."""
    app, project_id, token = tokens_for
    holder = sqlite3.connect(tmp_path / "labeler.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        started = time.monotonic()
        write = client.post(
            "/api/v1/users", json={"username": "x", "role": "annotator"}, headers=headers
        )
        waited = time.monotonic() - started
        predicted = client.post(
            f"/api/v1/projects/{project_id}/predict", json={"item": {"text": "hi"}}, headers=headers
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert write.status_code == 503 and "database" in write.get_json()["detail"].lower()
    assert waited >= 0.4  # it queued for the busy timeout before giving up
    assert predicted.status_code != 503 or "database" not in predicted.get_json()["detail"]
    again = app.test_client().post(
        "/api/v1/users", json={"username": "x", "role": "annotator"}, headers=headers
    )
    assert again.status_code == 201  # the lock gone, the same write goes through


@pytest.fixture
def tokens_for(tmp_path, migrated_db):
    import shutil

    from tests.conftest import _users, make_app

    shutil.copy(migrated_db, tmp_path / "labeler.sqlite")
    app = make_app(tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"timeout": 0.5}})
    with app.app_context():
        _users()
        project = make_project(n_items=3)
        token = create_token(user("admin"), "t")[1]
        db.session.commit()
        project_id = project.id
    yield app, project_id, token
    with app.app_context():
        db.engine.dispose()
