"""Fixtures: a fresh app and database per test, users of every role, a small project.

The database of each test is a copy of one built by the real migrations, so the
schema under test is the one ``labeler init`` creates.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

import labeler.models
from labeler import create_app
from labeler.auth import create_token
from labeler.extensions import db
from labeler.models import Project, User
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.projects.store import create_project, set_member
from labeler.services.serving import prediction_log
from tests.scale import pgdb

DATA = Path(__file__).resolve().parent / "data"  # real data sets; tests/data/README.md
PASSWORDS = {
    "admin": "admin-pass",
    "rita": "reviewer-pass",
    "alice": "alice-pass",
    "bob": "bob-pass",
    "carol": "carol-pass",
    "dave": "dave-pass",
}


# Hashing with scrypt costs ~0.1 s a user; the suite does not test its strength.
labeler.models.accounts.PASSWORD_METHOD = "pbkdf2:sha256:1000"


# Tests that read SQLite's EXPLAIN QUERY PLAN; on PostgreSQL the plan reads otherwise.
sqlite_only = pytest.mark.skipif(
    bool(os.environ.get("LABELER_TEST_DATABASE_URL")), reason="inspects SQLite's query plan"
)


def make_app(tmp: Path, **extra: object) -> Flask:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(tmp),
        "DATABASE_URL": pgdb.database_url() or f"sqlite:///{tmp / 'labeler.sqlite'}",
        "JOB_EXECUTOR": "inline",
    }
    config.update(extra)
    return create_app(config)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from labeler.cli.instance import apply_migrations

    folder = tmp_path_factory.mktemp("template")
    app = make_app(folder, DATABASE_URL=f"sqlite:///{folder / 'labeler.sqlite'}")
    with app.app_context():
        apply_migrations()
        db.engine.dispose()
    return folder / "labeler.sqlite"


@pytest.fixture
def app(tmp_path: Path, migrated_db: Path) -> Iterator[Flask]:
    shutil.copy(migrated_db, tmp_path / "labeler.sqlite")
    pgdb.reset()  # with LABELER_TEST_DATABASE_URL: empty the PostgreSQL tables instead
    app = make_app(tmp_path)
    with app.app_context():
        _users()
        db.session.commit()
    yield app
    # On PostgreSQL the next test reuses the database: this app's log writer must not
    # write its last rows into it a second later.
    prediction_log.close(app)
    with app.app_context():
        db.engine.dispose()


def _users() -> None:
    roles = {
        "admin": "admin",
        "rita": "reviewer",
        "alice": "annotator",
        "bob": "annotator",
        "carol": "annotator",
        "dave": "annotator",
    }
    for name, role in roles.items():
        user = User(username=name, role=role)
        user.set_password(PASSWORDS[name])
        db.session.add(user)


def user(name: str) -> User:
    return db.session.scalar(db.select(User).where(User.username == name))


def make_project(
    name: str = "SMS",
    n_items: int = 20,
    k: int = 1,
    members=("alice", "bob", "dave"),
    reviewers=("rita",),
    test_fraction: float = 0.0,
) -> Project:
    """A text project with ``n_items`` items; call inside an app context, then commit."""
    project = create_project(
        name,
        [{"name": "ham", "hotkey": "1"}, {"name": "spam", "hotkey": "2"}],
        "Spam is **unwanted** advertising.",
        annotations_per_item=k,
        test_fraction=test_fraction,
    )
    rows = [(i + 1, {"id": f"m{i}", "text": f"message number {i}"}) for i in range(n_items)]
    import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
    for member in members:
        set_member(project, user(member), "annotator")
    for reviewer in reviewers:
        set_member(project, user(reviewer), "reviewer")
    return project


@pytest.fixture
def project(app: Flask) -> int:
    with app.app_context():
        project = make_project()
        db.session.commit()
        return project.id


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class Auth:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, username: str) -> None:
        token = self.csrf("/login")
        response = self.client.post(
            "/login",
            data={"username": username, "csrf_token": token, "password": PASSWORDS[username]},
        )
        assert response.status_code == 302, response.data

    def csrf(self, page: str = "/account/tokens") -> str:
        """The CSRF token a page carries (as the form's script reads it)."""
        html = self.client.get(page).get_data(as_text=True)
        return html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]

    def post(self, url: str, data: dict | None = None, **kwargs):
        """POST a page form with its CSRF token, like a browser would."""
        return self.client.post(url, data={**(data or {}), "csrf_token": self.csrf()}, **kwargs)


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture
def tokens(app: Flask) -> dict[str, str]:
    """A bearer token per user name."""
    with app.app_context():
        secrets = {name: create_token(user(name), "test")[1] for name in PASSWORDS}
        db.session.commit()
    return secrets


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """A real server for the test's app: browser tests, schemathesis, HTTP clients."""
    with serving(app) as url:
        yield url
