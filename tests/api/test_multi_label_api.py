"""A multi-label project through the API: create, import, label, agree, review, gold."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, Item
from labeler.services.projects.store import set_member
from tests.conftest import bearer, user

LABELS = [{"name": "sports"}, {"name": "politics"}, {"name": "tech"}]


@pytest.fixture
def topics(client, tokens, app):
    admin = bearer(tokens["admin"])
    created = client.post(
        "/api/v1/projects",
        json={
            "name": "Topics",
            "labels": LABELS,
            "task_kind": "multi_label",
            "annotations_per_item": 2,
            "test_fraction": 0,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.json
    project = created.json
    assert project["task_kind"] == "multi_label"
    assert project["task_settings"] == {"allow_empty": False}
    items = [{"id": f"n{i}", "text": f"news story {i}"} for i in range(6)]
    imported = client.post(
        f"/api/v1/projects/{project['id']}/items",
        json={"mapping": {"id": "id", "text": ["text"]}, "items": items},
        headers=admin,
    )
    assert imported.status_code == 201
    with app.app_context():
        from labeler.models import Project

        row = db.session.get(Project, project["id"])
        for name in ("alice", "bob"):
            set_member(row, user(name), "annotator")
        set_member(row, user("rita"), "reviewer")
        db.session.commit()
    return project["id"]


def _answer(client, token, project, value):
    headers = bearer(token)
    item = client.get(f"/api/v1/projects/{project}/next", headers=headers).json["items"][0]
    url = f"/api/v1/projects/{project}/items/{item['id']}/annotation"
    return item, client.post(url, json={"value": value}, headers=headers)


def test_sets_are_checked_stored_and_agreed_on(client, tokens, topics, app):
    item, first = _answer(client, tokens["alice"], topics, ["tech", "sports"])
    assert first.status_code == 201
    assert first.json["value"] == ["sports", "tech"]  # the label set's order
    assert first.json["label"] == '["sports","tech"]'
    url = f"/api/v1/projects/{topics}/items/{item['id']}/annotation"
    alice = bearer(tokens["alice"])
    for bad, message in (
        (["weather"], "not in the label set"),
        ([], "does not allow an empty answer"),
        ("sports", "list of label names"),
    ):
        refused = client.post(url, json={"value": bad}, headers=alice)
        assert refused.status_code == 422 and message in refused.json["error"]
        assert refused.json["detail"]["field"] == "value"
    bob = bearer(tokens["bob"])
    # a label needs the item served (a lease): the queue gives bob the item alice started
    served = client.get(f"/api/v1/projects/{topics}/next", headers=bob).json["items"][0]
    assert served["id"] == item["id"]
    agreed = client.post(url, json={"value": ["sports", "tech"]}, headers=bob)
    assert agreed.status_code == 201
    mine = client.get(f"/api/v1/projects/{topics}/items/{item['id']}", headers=bob).json
    assert mine["my_value"] == ["sports", "tech"]
    with app.app_context():
        row = db.session.get(Item, item["id"])
        assert row.final_value == ["sports", "tech"] and row.final_source == "unanimous"
        values = db.session.scalars(select(Annotation.value).where(Annotation.item_id == row.id))
        assert sorted(map(tuple, values)) == [("sports", "tech"), ("sports", "tech")]


def test_a_split_label_goes_to_review_and_the_reviewer_picks_the_set(client, tokens, topics, app):
    item, _ = _answer(client, tokens["alice"], topics, ["sports"])
    url = f"/api/v1/projects/{topics}/items/{item['id']}/annotation"
    bob = bearer(tokens["bob"])
    served = client.get(f"/api/v1/projects/{topics}/next", headers=bob).json["items"][0]
    assert served["id"] == item["id"]  # bob is served the item alice started
    assert client.post(url, json={"value": ["sports", "politics"]}, headers=bob).status_code == 201
    with app.app_context():
        row = db.session.get(Item, item["id"])
        assert row.disputed and row.final_label is None  # politics: one vote of two
    rita = bearer(tokens["rita"])
    queue = client.get(f"/api/v1/projects/{topics}/review", headers=rita).json
    assert [i["id"] for i in queue["items"]] == [item["id"]]
    review = f"/api/v1/projects/{topics}/items/{item['id']}/review"
    bad = client.post(review, json={"action": "resolve", "value": ["golf"]}, headers=rita)
    assert bad.status_code == 422 and bad.json["detail"]["field"] == "label"
    decided = client.post(
        review, json={"action": "resolve", "value": ["politics", "sports"]}, headers=rita
    )
    assert decided.status_code == 201
    assert decided.json["final_value"] == ["sports", "politics"]
    with app.app_context():
        row = db.session.get(Item, item["id"])
        assert (row.final_value, row.final_source, row.disputed) == (
            ["sports", "politics"],
            "adjudicated",
            False,
        )


def test_gold_answers_are_sets_and_agreement_shows_the_kinds_figures(
    client, tokens, topics, app, auth
):
    admin = bearer(tokens["admin"])
    with app.app_context():
        ids = list(db.session.scalars(select(Item.id).order_by(Item.id)))
    marked = client.post(
        f"/api/v1/projects/{topics}/gold",
        json={"mark": [{"item": ids[0], "label": ["tech"]}]},
        headers=admin,
    )
    assert marked.status_code in (200, 201), marked.json
    refused = client.post(
        f"/api/v1/projects/{topics}/gold",
        json={"mark": [{"item": ids[1], "label": ["nope"]}]},
        headers=admin,
    )
    assert refused.status_code == 422
    with app.app_context():
        gold = db.session.get(Item, ids[0])
        assert (gold.gold_label, gold.gold_value) == ('["tech"]', ["tech"])
        assert not db.session.get(Item, ids[1]).is_gold
    for token, value in ((tokens["alice"], ["tech"]), (tokens["bob"], ["tech", "sports"])):
        headers = bearer(token)
        for _ in range(3):
            item = client.get(f"/api/v1/projects/{topics}/next", headers=headers).json["items"]
            url = f"/api/v1/projects/{topics}/items/{item[0]['id']}/annotation"
            client.post(url, json={"value": value}, headers=headers)
    figures = client.get(f"/api/v1/projects/{topics}/agreement", headers=admin).json
    kind = figures["figures"]["kind"]
    assert kind["name"] == "multi_label"
    names = [f["name"] for f in kind["figures"]]
    assert names[:2] == [
        "Krippendorff's alpha (MASI distance)",
        "Krippendorff's alpha (Jaccard distance)",
    ]
    assert "sports: alpha / kappa" in names
    assert all(f["how_to_read"] for f in kind["figures"])
    auth.login("rita")
    page = client.get(f"/projects/{topics}/agreement").get_data(as_text=True)
    assert 'id="kind-figures" data-kind="multi_label"' in page
    assert "Krippendorff&#39;s alpha (MASI distance)" in page
