"""A submit that also leases the next items (``"next": n`` in its body): the form labels
with one request per item instead of a submit and a GET /next, and half the write turns.

What it leases is what ``GET /next?n=`` would have leased right after the submit: the
items the caller already holds first, never the item just labeled, never past k.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Assignment, Item, User
from tests.api.test_request_statements import SUBMIT_WITH_TOKEN, counted
from tests.conftest import bearer


def _next(client, project: int, token: str, n: int = 1) -> list[int]:
    response = client.get(f"/api/v1/projects/{project}/next?n={n}", headers=bearer(token))
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def _submit(client, project: int, item_id: int, token: str, body: dict):
    return client.post(
        f"/api/v1/projects/{project}/items/{item_id}/annotation",
        json=body,
        headers=bearer(token),
    )


def _leases(app, username: str) -> list[int]:
    with app.app_context():
        return sorted(
            db.session.scalars(
                select(Assignment.item_id).join(User).where(User.username == username)
            )
        )


def test_a_submit_with_next_records_the_label_and_leases_the_next_item(
    app, client, project, tokens
):
    (first,) = _next(client, project, tokens["alice"])
    response = _submit(client, project, first, tokens["alice"], {"label": "spam", "next": 1})
    assert response.status_code == 201, response.json
    assert (response.json["outcome"], response.json["item"]) == ("created", first)
    nxt = response.json["next"]
    assert len(nxt["items"]) == 1
    second = nxt["items"][0]["id"]
    assert second != first
    assert nxt["items"][0]["fields"][0]["value"].startswith("message number")
    assert nxt["items"][0]["suggestion"] is None  # no model yet
    assert nxt["progress"] == response.json["progress"]
    assert _leases(app, "alice") == [second]  # the labeled item's lease ended
    # the next submit needs no GET /next: the lease is live
    response = _submit(client, project, second, tokens["alice"], {"label": "ham", "next": 2})
    assert response.status_code == 201, response.json
    third, fourth = (item["id"] for item in response.json["next"]["items"])
    assert len({first, second, third, fourth}) == 4
    with app.app_context():
        labels = dict(db.session.execute(select(Annotation.item_id, Annotation.label)).all())
    assert labels == {first: "spam", second: "ham"}


def test_it_leases_what_get_next_would_have_held_items_first(app, client, project, tokens):
    held = _next(client, project, tokens["alice"], n=3)  # the form's current + prefetched
    response = _submit(client, project, held[0], tokens["alice"], {"label": "spam", "next": 2})
    assert [item["id"] for item in response.json["next"]["items"]] == held[1:]
    assert _leases(app, "alice") == sorted(held[1:])


def test_without_next_the_answer_has_no_next_and_leases_nothing_new(app, client, project, tokens):
    (first,) = _next(client, project, tokens["alice"])
    for body in ({"label": "spam"}, {"label": "spam", "next": 0}):
        response = _submit(client, project, first, tokens["alice"], body)
        assert response.status_code in (200, 201), response.json
        assert "next" not in response.json
    assert _leases(app, "alice") == []


@pytest.mark.parametrize("bad", [True, -1, 6, "2", 1.5, None])
def test_a_bad_next_is_refused_naming_the_field_and_records_nothing(
    app, client, project, tokens, bad
):
    (first,) = _next(client, project, tokens["alice"])
    response = _submit(client, project, first, tokens["alice"], {"label": "spam", "next": bad})
    assert response.status_code == 422
    assert "next" in response.json["error"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Annotation.id))) == 0
    assert _leases(app, "alice") == [first]  # the lease is as it was


def test_a_refused_submit_leases_nothing(app, client, project, tokens):
    with app.app_context():  # an item never served to alice: 409, nothing stored or leased
        item_id = db.session.scalars(select(Item.id).order_by(Item.id.desc())).first()
    response = _submit(client, project, item_id, tokens["alice"], {"label": "spam", "next": 2})
    assert response.status_code == 409
    assert _leases(app, "alice") == []


def test_next_never_pushes_an_item_past_k(app, client, project, tokens):
    """k = 1: items bob holds are not leased to alice by her submit."""
    bobs = set(_next(client, project, tokens["bob"], n=5))
    (first,) = _next(client, project, tokens["alice"])
    seen = {first}
    item_id = first
    for _ in range(8):
        response = _submit(client, project, item_id, tokens["alice"], {"label": "ham", "next": 1})
        assert response.status_code == 201, response.json
        (item_id,) = (item["id"] for item in response.json["next"]["items"])
        assert item_id not in bobs and item_id not in seen
        seen.add(item_id)


def test_the_last_item_answers_an_empty_next(app, client, tokens):
    from tests.conftest import make_project

    with app.app_context():
        project = make_project("Two", n_items=2).id
        db.session.commit()
    (first,) = _next(client, project, tokens["alice"])
    second = _submit(client, project, first, tokens["alice"], {"label": "ham", "next": 1})
    (second_id,) = (item["id"] for item in second.json["next"]["items"])
    last = _submit(client, project, second_id, tokens["alice"], {"label": "ham", "next": 1})
    assert last.status_code == 201
    assert last.json["next"]["items"] == []
    assert last.json["next"]["progress"]["coverage"] == 1.0


@pytest.mark.skipif(
    bool(os.environ.get("LABELER_TEST_DATABASE_URL")),
    reason="counts SQLite's statements; PostgreSQL's transactions begin otherwise",
)
def test_one_request_a_label_costs_fewer_statements_than_two(app, client, project, tokens):
    """A submit with next adds the lease's statements to the submit's, and saves the
    GET's own (token, BEGIN): one write turn a label instead of two."""
    headers = bearer(tokens["alice"])
    client.get(f"/api/v1/projects/{project}/progress", headers=headers)  # last_used_at
    (first,) = _next(client, project, tokens["alice"])
    with counted(app) as statements:
        response = _submit(client, project, first, tokens["alice"], {"label": "ham", "next": 1})
        assert response.status_code == 201, response.json
    begins = [s for s in statements if s.startswith("BEGIN")]
    assert begins == ["BEGIN IMMEDIATE"]  # one write turn
    # k = 1 here, so the label settles the item (the final-label extras); the lease adds
    # the held read, the pick and the lease upsert in the turn, and the leased items'
    # load after it (NEXT_WITH_TOKEN less the token read and the BEGIN)
    assert len(statements) <= SUBMIT_WITH_TOKEN + 2 + 4
