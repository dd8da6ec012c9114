"""How many SQL statements one next and one submit cost, so the request path cannot
quietly grow again (issue 21: one cycle issued 32 statements before, 16 now).

Counted on SQLite, BEGIN included (every statement is a round trip to the database
under the writer lock). On PostgreSQL the path differs (``begin_write`` starts a fresh
transaction there, and the driver sends no BEGIN), so these bounds are SQLite's.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select

from labeler.extensions import db
from labeler.models import Annotation, Assignment, Item
from tests.conftest import bearer, make_project, user

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("LABELER_TEST_DATABASE_URL")),
    reason="counts SQLite's statements; PostgreSQL's transactions begin otherwise",
)

# What one request may cost now (BEGIN IMMEDIATE; token or session; project and role;
# then the queue's own work). A change that adds a statement must raise these on purpose.
NEXT_WITH_TOKEN = 6  # token+project+role, begin, held leases, pick, lease upsert; then,
#                    after the turn, the leased items' load (rows in the turn, not objects)
SUBMIT_WITH_TOKEN = 8  # token+project+role, begin, item+votes+lease, insert,
#                        counters (returning), project slots, lease delete, consensus
FINAL_EXTRA = 2  # a vote that settles the item: the training counter, webhook subscribers
SESSION_EXTRA = 2  # the browser form's "labeled this session" count, and its project +
#                    role read apart from the session's user (a token reads them at once)


@contextmanager
def counted(app) -> Iterator[list[str]]:
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _cycle(app, client, project_id: int, label: str, headers: dict) -> tuple[int, int, int]:
    """One next + submit; returns the item and the statements of each request."""
    with counted(app) as statements:
        response = client.get(f"/api/v1/projects/{project_id}/next", headers=headers)
        assert response.status_code == 200, response.json
        n_next = len(statements)
        item_id = response.json["items"][0]["id"]
        response = client.post(
            f"/api/v1/projects/{project_id}/items/{item_id}/annotation",
            json={"label": label, "seconds": 2.0},
            headers=headers,
        )
        assert response.status_code == 201, response.json
    return item_id, n_next, len(statements) - n_next


@pytest.fixture
def k2_project(app) -> int:
    with app.app_context():
        project = make_project("Counted", n_items=10, k=2)
        db.session.commit()
        return project.id


def test_next_and_submit_with_a_token_stay_within_their_statements(app, client, k2_project, tokens):
    alice, bob = bearer(tokens["alice"]), bearer(tokens["bob"])
    for headers in (alice, bob):  # first use records last_used_at (once a minute)
        client.get(f"/api/v1/projects/{k2_project}/progress", headers=headers)

    item_id, n_next, n_submit = _cycle(app, client, k2_project, "spam", alice)
    assert n_next <= NEXT_WITH_TOKEN
    assert n_submit <= SUBMIT_WITH_TOKEN
    # bob is given the started item (finish what is started) and settles it
    second, n_next, n_submit = _cycle(app, client, k2_project, "spam", bob)
    assert second == item_id
    assert n_next <= NEXT_WITH_TOKEN
    assert n_submit <= SUBMIT_WITH_TOKEN + FINAL_EXTRA

    with app.app_context():  # nothing was skipped to get there
        item = db.session.get(Item, item_id)
        assert (item.n_annotations, item.final_label, item.final_source) == (2, "spam", "unanimous")
        assert item.queue_tier == 0  # done
        labels = db.session.scalars(select(Annotation.label).where(Annotation.item_id == item_id))
        assert sorted(labels) == ["spam", "spam"]
        assert db.session.scalar(select(Assignment.id).where(Assignment.item_id == item_id)) is None
        assert item.project.filled_slots == 2
        assert item.project.labels_since_training == 1


def test_next_and_submit_from_the_form_stay_within_their_statements(app, client, auth, k2_project):
    auth.login("alice")  # the login starts the session's count
    headers = {"X-CSRFToken": auth.csrf()}
    item_id, n_next, n_submit = _cycle(app, client, k2_project, "ham", headers)
    assert n_next <= NEXT_WITH_TOKEN + SESSION_EXTRA
    assert n_submit <= SUBMIT_WITH_TOKEN + SESSION_EXTRA
    response = client.get(f"/api/v1/projects/{k2_project}/progress", headers=headers)
    assert response.json["session_labeled"] == 1
    with app.app_context():
        assert db.session.get(Item, item_id).n_annotations == 1


def test_the_role_read_once_per_request_is_read_again_by_the_next_request(
    app, client, k2_project, tokens
):
    from labeler.models import Membership

    headers = bearer(tokens["alice"])
    with app.app_context():  # requests inside one app context share its ``g``
        assert client.get(f"/api/v1/projects/{k2_project}/next", headers=headers).status_code == 200
        db.session.execute(db.delete(Membership).where(Membership.user_id == user("alice").id))
        db.session.commit()
        response = client.get(f"/api/v1/projects/{k2_project}/next", headers=headers)
        assert response.status_code == 404


def _before_the_turn(statements: list[str]) -> list[str]:
    begin = next(i for i, s in enumerate(statements) if s.startswith("BEGIN"))
    assert statements[begin] == "BEGIN IMMEDIATE"
    return statements[:begin]  # no BEGIN among them: each ran on its own (autocommit)


def test_who_is_asking_is_read_before_the_write_turn(app, client, auth, k2_project, tokens):
    """The token (or the browser session) and its user, and the project and the caller's
    role on it, are read before BEGIN IMMEDIATE: while one request holds the write turn
    every other writer waits, and neither needs a lock (``db_engine.reads_before_writing``).
    A token brings the project and role in its own statement."""
    headers = bearer(tokens["alice"])
    client.get(f"/api/v1/projects/{k2_project}/progress", headers=headers)  # last_used_at
    with counted(app) as statements:
        response = client.get(f"/api/v1/projects/{k2_project}/next", headers=headers)
        assert response.status_code == 200, response.json
    first = _before_the_turn(statements)
    assert len(first) == 1 and "api_token" in first[0] and "membership" in first[0]
    item_id = response.json["items"][0]["id"]
    with counted(app) as statements:
        response = client.post(
            f"/api/v1/projects/{k2_project}/items/{item_id}/annotation",
            json={"label": "spam"},
            headers=headers,
        )
        assert response.status_code == 201, response.json
    first = _before_the_turn(statements)
    assert len(first) == 1 and "api_token" in first[0] and "membership" in first[0]
    assert not any("membership" in s for s in statements[1:])  # read once

    auth.login("bob")
    with counted(app) as statements:
        response = client.get(f"/api/v1/projects/{k2_project}/next")
        assert response.status_code == 200, response.json
    first = _before_the_turn(statements)
    assert len(first) == 2 and "user_session" in first[0] and "membership" in first[1]


def test_the_training_counter_is_counted_in_the_database_not_from_the_request_copy(
    app, client, k2_project, tokens
):
    """The project is read before the write turn, so another request may count final
    labels between that read and this one's turn; the counter moves in the database
    (``labels_since_training + 1``), so theirs are kept, not overwritten by this copy."""
    item_id, _, _ = _cycle(app, client, k2_project, "spam", bearer(tokens["alice"]))
    with app.app_context():
        from labeler.models import Project
        from labeler.services.labeling import queue

        session = db.session()
        project = session.get(Project, k2_project)  # the request's copy, read first
        item = session.get(Item, item_id)
        before = project.labels_since_training
        session.expire_on_commit = False
        session.commit()  # its read ends; the copy stays loaded, as outside the turn
        with db.engine.begin() as other:  # another request counts 5 final labels meanwhile
            other.execute(
                db.update(Project)
                .where(Project.id == k2_project)
                .values(labels_since_training=Project.labels_since_training + 5)
            )
        assert project.labels_since_training == before  # still the copy
        queue.submit(project, user("bob"), item, "spam")  # settles the item: one more
        session.commit()
        session.expire_all()
        assert item.final_label == "spam"
        assert project.labels_since_training == before + 5 + 1


def test_a_write_request_records_a_tokens_first_use_and_still_leases(
    app, client, k2_project, tokens
):
    from labeler.models import ApiToken

    response = client.get(f"/api/v1/projects/{k2_project}/next", headers=bearer(tokens["alice"]))
    assert response.status_code == 200, response.json
    with app.app_context():
        alice = user("alice")
        row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == alice.id))
        assert row.last_used_at is not None  # written before the write turn, in autocommit
        lease = db.session.scalar(select(Assignment).where(Assignment.user_id == alice.id))
        assert lease.item_id == response.json["items"][0]["id"]


def test_the_token_read_that_brings_the_project_keeps_every_refusal(
    app, client, k2_project, tokens
):
    """Token, project and role in one statement: an admin is admin on any project, a
    non-member and a missing project get 404, a revoked token 401, before anything else."""
    from labeler.models import ApiToken, Membership, Project

    with app.app_context():
        db.session.execute(db.delete(Membership).where(Membership.user_id == user("carol").id))
        db.session.execute(
            db.update(ApiToken)
            .where(ApiToken.user_id == user("dave").id)
            .values(revoked_at=db.func.current_timestamp())
        )
        db.session.commit()
        missing = db.session.scalar(db.select(db.func.max(Project.id))) + 1
    url = f"/api/v1/projects/{k2_project}/next"
    assert client.get(url, headers=bearer(tokens["admin"])).status_code == 200
    assert client.get(url, headers=bearer(tokens["alice"])).status_code == 200
    assert client.get(url, headers=bearer(tokens["carol"])).status_code == 404
    assert client.get(url, headers=bearer(tokens["dave"])).status_code == 401
    other = f"/api/v1/projects/{missing}/next"
    assert client.get(other, headers=bearer(tokens["admin"])).status_code == 404
    assert client.get(other, headers=bearer(tokens["alice"])).status_code == 404
    with app.app_context():  # carol was refused before she could hold anything
        carol = user("carol")
        assert (
            db.session.scalar(db.select(Assignment.id).where(Assignment.user_id == carol.id))
            is None
        )


def test_a_write_handler_not_marked_reads_its_project_inside_the_turn(
    app, client, k2_project, tokens
):
    """Only handlers marked ``project_read_first`` (next, submit: their project counters
    move in the database) work on a project read before the turn; any other write
    handler reads it in its turn, so a counter it changes from the copy is not stale."""
    headers = bearer(tokens["alice"])
    response = client.get(f"/api/v1/projects/{k2_project}/next", headers=headers)
    item_id = response.json["items"][0]["id"]
    with counted(app) as statements:
        response = client.post(
            f"/api/v1/projects/{k2_project}/items/{item_id}/skip", headers=headers
        )
        assert response.status_code == 200, response.json
    first = _before_the_turn(statements)
    assert len(first) == 1 and "api_token" in first[0] and "project" not in first[0]
    assert any("membership" in s for s in statements[len(first) :])
