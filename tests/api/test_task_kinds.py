"""A project's task kind: chosen at creation (API, web form, CLI), shown, and asked."""

from __future__ import annotations

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, AnnotationRevision, Item, Project
from tests.conftest import bearer


def test_the_api_creates_a_project_of_a_kind_and_refuses_an_unknown_one(client, tokens, app):
    headers = bearer(tokens["admin"])
    plain = client.post(
        "/api/v1/projects", json={"name": "Plain", "labels": [{"name": "a"}]}, headers=headers
    )
    assert plain.status_code == 201 and plain.json["task_kind"] == "single_label"
    assert plain.json["task_settings"] == {}
    shown = client.get(f"/api/v1/projects/{plain.json['id']}", headers=headers).json
    assert shown["task_kind"] == "single_label"
    bad = client.post(
        "/api/v1/projects",
        json={"name": "Essays", "labels": [{"name": "a"}], "task_kind": "essay"},
        headers=headers,
    )
    assert bad.status_code == 422 and "task_kind" in str(bad.json["detail"])
    settings = client.post(
        "/api/v1/projects",
        json={
            "name": "Odd",
            "labels": [{"name": "a"}],
            "task_kind": "single_label",
            "task_settings": {"allow_empty": True},
        },
        headers=headers,
    )
    assert settings.status_code == 422 and settings.json["detail"]["field"] == "task_settings"
    with app.app_context():
        assert db.session.scalar(select(func.count(Project.id))) == 1  # nothing else was made


def test_the_web_form_sets_the_kind_and_the_project_page_shows_it(client, auth, app):
    auth.login("admin")
    page = client.get("/admin/projects/new").get_data(as_text=True)
    assert 'name="task_kind"' in page and 'value="single_label"' in page
    response = auth.post(
        "/admin/projects/new",
        {
            "name": "Tweets",
            "labels": "pos\nneg",
            "annotations_per_item": "1",
            "test_fraction": "0.1",
            "task_kind": "single_label",
            "task_settings": "",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        project = db.session.scalar(select(Project).where(Project.name == "Tweets"))
        assert project.task_kind == "single_label"
        project_id = project.id
    shown = client.get(f"/projects/{project_id}").get_data(as_text=True)
    assert 'data-kind="single_label"' in shown and "Single label" in shown
    bad = auth.post(
        "/admin/projects/new",
        {"name": "Bad", "labels": "a", "annotations_per_item": "1", "test_fraction": "0.1",
         "task_settings": "[1, 2]"},
    )  # fmt: skip
    assert bad.status_code == 200 and "task settings must be a JSON object" in bad.get_data(
        as_text=True
    )


def test_the_cli_creates_a_project_of_a_kind(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "project",
            "create",
            "Mail",
            "--labels",
            "spam, ham",
            "--kind",
            "single_label",
            "--k",
            "3",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Created project 'Mail'" in result.output and "single_label" in result.output
    with app.app_context():
        project = db.session.scalar(select(Project).where(Project.name == "Mail"))
        assert (project.task_kind, project.label_names, project.annotations_per_item) == (
            "single_label",
            ["spam", "ham"],
            3,
        )
    bad = runner.invoke(args=["project", "create", "X", "--labels", "a", "--settings", "{nope"])
    assert bad.exit_code != 0 and "--settings" in bad.output
    refused = runner.invoke(
        args=["project", "create", "Y", "--labels", "a", "--settings", '{"allow_empty": true}']
    )
    assert refused.exit_code == 1 and "take no task settings" in refused.output


def test_an_answer_may_be_sent_as_value_and_keeps_its_history(client, project, tokens, app):
    headers = bearer(tokens["alice"])
    item = client.get(f"/api/v1/projects/{project}/next", headers=headers).json["items"][0]
    url = f"/api/v1/projects/{project}/items/{item['id']}/annotation"
    first = client.post(url, json={"value": "spam"}, headers=headers)
    assert first.status_code == 201 and (first.json["label"], first.json["value"]) == (
        "spam",
        "spam",
    )
    changed = client.post(url, json={"value": "ham"}, headers=headers)
    assert changed.json["outcome"] == "changed"
    mine = client.get(f"/api/v1/projects/{project}/items/{item['id']}", headers=headers).json
    assert (mine["my_label"], mine["my_value"]) == ("ham", "ham")
    refused = client.post(url, json={"value": ["ham"]}, headers=headers)
    assert refused.status_code == 422 and refused.json["detail"]["field"] == "label"
    with app.app_context():
        annotation = db.session.scalar(select(Annotation))
        # A single label's value is its key: the JSON column stays NULL, rows read as before.
        assert (annotation.label, annotation.value) == ("ham", None)
        revision = db.session.scalar(select(AnnotationRevision))
        assert (revision.label, revision.value) == ("spam", None)
        stored = db.session.execute(
            select(func.count()).select_from(Annotation).where(Annotation.value.is_(None))
        ).scalar()
        assert stored == 1
        assert db.session.get(Item, item["id"]).final_label == "ham"


def test_the_cli_makes_a_rating_project_and_changes_its_scale(app):
    runner = app.test_cli_runner()
    made = runner.invoke(
        args=["project", "create", "Stars", "--labels", "1,2,3,4,5", "--kind", "rating",
              "--scale", "ordinal", "--settings", '{"max_spread": 0.5}']
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    changed = runner.invoke(args=["project", "set", "Stars", "--scale", "interval"])
    assert changed.exit_code == 0 and "changed label_scale" in changed.output
    with app.app_context():
        project = db.session.scalar(select(Project).where(Project.name == "Stars"))
        assert (project.task_kind, project.label_scale, project.task_settings) == (
            "rating",
            "interval",
            {"max_spread": 0.5},
        )
    refused = runner.invoke(
        args=["project", "create", "Words", "--labels", "low,high", "--kind", "rating"]
    )
    assert refused.exit_code == 1 and "numbers low to high" in refused.output
    assert runner.invoke(args=["project", "set", "Nope", "--scale", "ordinal"]).exit_code == 1
