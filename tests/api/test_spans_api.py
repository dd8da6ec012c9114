"""A spans project through the API: answers checked against the item's text, stored
with their key, refused with the field named, and voted into a consensus."""

from __future__ import annotations

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Item
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.projects.store import create_project, set_member
from tests.conftest import bearer, user

TEXTS = [
    "Call 08452810075 before 10am for £1.50 \U0001f44d\U0001f3fd",
    "Zoe\u0301 says\r\nsee www.dbuk.net \u05e9\u05dc\u05d5\u05dd\u200f",
]
LABELS = [
    {"name": "PHONE", "hotkey": "p"},
    {"name": "TIME", "hotkey": "t"},
    {"name": "PRICE", "hotkey": "r"},
    {"name": "URL", "hotkey": "u"},
]


def _spans_project(k: int = 1) -> int:
    project = create_project(
        "Entities", LABELS, "Mark phones, times, prices and URLs.",
        annotations_per_item=k, test_fraction=0.0, task_kind="spans",
    )  # fmt: skip
    rows = [(i + 1, {"id": f"t{i}", "text": text}) for i, text in enumerate(TEXTS)]
    import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
    for member in ("alice", "bob"):
        set_member(project, user(member), "annotator")
    db.session.commit()
    return project.id


def _item(client, project_id, token, external_id):
    items = client.get(f"/api/v1/projects/{project_id}/next?n=2", headers=bearer(token)).json
    return next(i for i in items["items"] if i["external_id"] == external_id)


def test_spans_are_snapped_to_the_text_stored_and_read_back(client, app, tokens):
    with app.app_context():
        project_id = _spans_project()
    item = _item(client, project_id, tokens["alice"], "t0")
    url = f"/api/v1/projects/{project_id}/items/{item['id']}/annotation"
    sent = [{"start": 7, "end": 10, "label": "PHONE"}, {"start": 24, "end": 26, "label": "TIME"}]
    response = client.post(url, json={"value": sent}, headers=bearer(tokens["alice"]))
    assert response.status_code == 201, response.json
    stored = [{"start": 5, "end": 16, "label": "PHONE"}, {"start": 24, "end": 28, "label": "TIME"}]
    assert response.json["value"] == stored
    assert TEXTS[0][5:16] == "08452810075" and TEXTS[0][24:28] == "10am"
    mine = client.get(
        f"/api/v1/projects/{project_id}/items/{item['id']}", headers=bearer(tokens["alice"])
    ).json
    assert mine["my_value"] == stored
    with app.app_context():
        annotation = db.session.scalar(select(Annotation))
        assert annotation.value == stored and annotation.label.startswith('[{"end":16')
        assert db.session.get(Item, item["id"]).final_value == stored


def test_bad_spans_are_refused_with_the_field_and_change_nothing(client, app, tokens):
    with app.app_context():
        project_id = _spans_project()
    item = _item(client, project_id, tokens["alice"], "t1")
    url = f"/api/v1/projects/{project_id}/items/{item['id']}/annotation"
    for value, field in [
        ([{"start": 0, "end": 500, "label": "URL"}], "spans[0].end"),
        ([{"start": 0, "end": 3, "label": "PERSON"}], "spans[0].label"),
        ([{"start": 3, "end": 1, "label": "URL"}], "spans[0]"),
        ("www.dbuk.net", "spans"),
    ]:
        refused = client.post(url, json={"value": value}, headers=bearer(tokens["alice"]))
        assert refused.status_code == 422 and refused.json["detail"]["field"] == field
    with app.app_context():
        assert db.session.scalar(select(func.count(Annotation.id))) == 0


def test_no_entities_is_an_answer_and_two_annotators_vote(client, app, tokens):
    with app.app_context():
        project_id = _spans_project(k=2)
    url_spans = [{"start": 15, "end": 27, "label": "URL"}]
    for name, value in (("alice", url_spans), ("bob", [])):
        item = _item(client, project_id, tokens[name], "t1")
        url = f"/api/v1/projects/{project_id}/items/{item['id']}/annotation"
        response = client.post(url, json={"value": value}, headers=bearer(tokens[name]))
        assert response.status_code == 201, response.json
    assert TEXTS[1][15:27] == "www.dbuk.net"
    with app.app_context():
        stored = db.session.scalar(select(Item).where(Item.external_id == "t1"))
        # one of two marked the URL: a tie with "not marked", so the vote keeps no span and
        # a dispute for the reviewer
        assert stored.disputed and stored.final_label is None
        assert stored.consensus_value == [] and stored.consensus_label == "[]"
        empty = db.session.scalar(select(Annotation).where(Annotation.label == "[]"))
        assert empty is not None and empty.value == []
