"""The JSON API: tokens, status codes, the annotation flow, imports."""

from __future__ import annotations

import io
import json
from datetime import timedelta

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, ApiToken, Item, utcnow
from tests.conftest import bearer


def test_requests_without_a_valid_token_get_401(client, project, tokens, app):
    assert client.get("/api/v1/projects").status_code == 401
    response = client.get("/api/v1/projects", headers=bearer("lbl_nonsense"))
    assert response.status_code == 401 and response.json["error"] == "invalid token"
    with app.app_context():
        row = db.session.scalars(select(ApiToken)).first()
        row.revoked_at = utcnow()
        owner = row.user.username
        db.session.commit()
    assert client.get("/api/v1/projects", headers=bearer(tokens[owner])).status_code == 401


def test_expired_tokens_are_refused(client, app, tokens):
    with app.app_context():
        for row in db.session.scalars(select(ApiToken)):
            row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/api/v1/projects", headers=bearer(tokens["alice"])).status_code == 401


def test_a_token_records_its_last_use_at_most_once_a_minute(client, app, tokens, monkeypatch):
    statements = []

    def used() -> object:
        with app.app_context():
            row = db.session.scalar(
                select(ApiToken).join(ApiToken.user).filter_by(username="alice")
            )
            return row.last_used_at

    assert used() is None
    assert client.get("/api/v1/projects", headers=bearer(tokens["alice"])).status_code == 200
    first = used()
    assert first is not None
    with app.app_context():
        from sqlalchemy import event

        engine = db.engine
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert (
                client.get("/api/v1/projects", headers=bearer(tokens["alice"])).status_code == 200
            )
        finally:
            event.remove(engine, "before_cursor_execute", listener)
    assert used() == first, "a second call within the minute writes nothing"
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    with app.app_context():
        for row in db.session.scalars(select(ApiToken)):
            row.last_used_at = utcnow() - timedelta(minutes=2)
        db.session.commit()
    client.get("/api/v1/projects", headers=bearer(tokens["alice"]))
    assert used() > first


def test_projects_are_listed_by_membership(client, project, tokens):
    def names(who):
        response = client.get("/api/v1/projects", headers=bearer(tokens[who]))
        return [p["name"] for p in response.json["projects"]]

    assert names("alice") == ["SMS"] and names("admin") == ["SMS"] and names("carol") == []
    assert (
        client.get(f"/api/v1/projects/{project}", headers=bearer(tokens["carol"])).status_code
        == 404
    )


def test_roles_are_enforced(client, project, tokens):
    response = client.post(
        "/api/v1/projects",
        json={"name": "x", "labels": [{"name": "a"}]},
        headers=bearer(tokens["alice"]),
    )
    assert response.status_code == 403 and "admin" in response.json["error"]
    response = client.get(f"/api/v1/projects/{project}/items", headers=bearer(tokens["alice"]))
    assert response.status_code == 403
    assert (
        client.get(f"/api/v1/projects/{project}/items", headers=bearer(tokens["rita"])).status_code
        == 200
    )


def test_next_then_annotate_then_retry(client, project, tokens, app):
    headers = bearer(tokens["alice"])
    items = client.get(f"/api/v1/projects/{project}/next?n=2", headers=headers).json["items"]
    assert len(items) == 2 and items[0]["fields"][0] == {
        "name": "text",
        "kind": "text",
        "value": items[0]["fields"][0]["value"],
    }
    url = f"/api/v1/projects/{project}/items/{items[0]['id']}/annotation"
    first = client.post(url, json={"label": "spam", "seconds": 2.5}, headers=headers)
    again = client.post(url, json={"label": "spam", "seconds": 2.5}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json["outcome"] == "unchanged"
    with app.app_context():
        assert db.session.scalar(select(func.count(Annotation.id))) == 1


def test_bad_input_gets_422_with_the_field(client, project, tokens):
    headers = bearer(tokens["alice"])
    item = client.get(f"/api/v1/projects/{project}/next", headers=headers).json["items"][0]
    url = f"/api/v1/projects/{project}/items/{item['id']}/annotation"
    response = client.post(url, json={"label": "eggs"}, headers=headers)
    assert response.status_code == 422 and response.json["detail"]["field"] == "label"
    response = client.post(url, json={"label": "ham", "seconds": "long"}, headers=headers)
    assert response.status_code == 422 and response.json["detail"]["field"] == "seconds"
    assert client.post(url, data="not json", headers=headers).status_code == 422
    response = client.get(f"/api/v1/projects/{project}/next?n=99", headers=headers)
    assert response.status_code == 422 and response.json["detail"]["field"] == "n"
    assert (
        client.get(f"/api/v1/projects/{project}/items/999999", headers=headers).status_code == 404
    )


def test_blind_annotators_cannot_read_items_they_do_not_hold(client, project, tokens):
    alice, bob = bearer(tokens["alice"]), bearer(tokens["bob"])
    item = client.get(f"/api/v1/projects/{project}/next", headers=alice).json["items"][0]
    client.post(
        f"/api/v1/projects/{project}/items/{item['id']}/annotation",
        json={"label": "spam"},
        headers=alice,
    )
    mine = client.get(f"/api/v1/projects/{project}/items/{item['id']}", headers=alice).json
    assert mine["my_label"] == "spam"
    assert (
        client.get(f"/api/v1/projects/{project}/items/{item['id']}", headers=bob).status_code == 404
    )
    body = json.dumps(client.get(f"/api/v1/projects/{project}/next", headers=bob).json)
    assert "spam" not in body


def test_import_through_the_api_json_and_file(client, tokens, app):
    headers = bearer(tokens["admin"])
    created = client.post(
        "/api/v1/projects",
        headers=headers,
        json={"name": "News", "labels": [{"name": "pos"}, {"name": "neg"}]},
    )
    assert created.status_code == 201
    pid = created.json["id"]
    body = {
        "mapping": {"id": "id", "text": ["text"]},
        "items": [{"id": "a", "text": "good"}, {"id": "b", "text": "bad"}],
    }
    report = client.post(f"/api/v1/projects/{pid}/items", json=body, headers=headers)
    assert report.status_code == 201 and report.json["added"] == 2
    bad = {"mapping": {"id": "id", "text": ["text"]}, "items": [{"id": "c", "text": 5}]}
    response = client.post(f"/api/v1/projects/{pid}/items", json=bad, headers=headers)
    assert response.status_code == 422 and response.json["detail"] == {"line": 1, "column": "text"}
    upload = {
        "file": (io.BytesIO(b"id,text\nc,meh\na,good\n"), "more.csv"),
        "mapping": json.dumps({"id": "id", "text": ["text"]}),
    }
    report = client.post(
        f"/api/v1/projects/{pid}/items",
        data=upload,
        headers=headers,
        content_type="multipart/form-data",
    )
    assert report.status_code == 201 and (report.json["added"], report.json["skipped"]) == (1, 1)
    with app.app_context():
        assert db.session.scalar(select(func.count(Item.id))) == 3


def test_the_session_api_needs_the_csrf_token(client, project, auth):
    auth.login("alice")
    item = client.get(f"/api/v1/projects/{project}/next").json["items"][0]
    url = f"/api/v1/projects/{project}/items/{item['id']}/annotation"
    assert client.post(url, json={"label": "ham"}).status_code == 400
    response = client.post(url, json={"label": "ham"}, headers={"X-CSRFToken": auth.csrf()})
    assert response.status_code == 201
