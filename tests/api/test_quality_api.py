"""The quality API and pages: report, gold, label set, annotators over time, guidelines."""

from __future__ import annotations

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, AuditEvent, Item, Job, Project
from labeler.services.labeling import queue
from tests.conftest import bearer, user


def _vote(app, project_id, votes):
    with app.app_context():
        project = db.session.get(Project, project_id)
        items = list(db.session.scalars(select(Item).order_by(Item.id)))
        for n, (name, label) in enumerate(votes):
            queue.submit(project, user(name), items[n % len(items)], label, seconds=4.0)
        db.session.commit()
        return [i.id for i in items]


def test_report_and_report_job(client, project, tokens):
    url = f"/api/v1/projects/{project}/quality"
    assert client.get(url, headers=bearer(tokens["alice"])).status_code == 403
    body = client.get(url, headers=bearer(tokens["rita"])).json
    assert body["computed_by_job"] is None and body["figures"]["n_items"] == 20
    assert body["figures"]["exact_duplicates"]["copies"] == 0
    started = client.post(f"{url}/jobs", headers=bearer(tokens["rita"]))
    assert started.status_code == 202 and started.json["status"] == "done"
    assert started.json["result"]["fields"]["text"]["missing"] == 0


def test_gold_marking_and_figures(app, client, project, tokens):
    ids = _vote(app, project, [])
    url = f"/api/v1/projects/{project}/gold"
    change = {"mark": [{"item": ids[0], "label": "spam"}], "gold_rate": 0.1}
    assert client.post(url, json=change, headers=bearer(tokens["rita"])).status_code == 403
    response = client.post(url, json=change, headers=bearer(tokens["admin"]))
    assert response.status_code == 200, response.json
    assert response.json["items"][0]["gold_label"] == "spam"
    assert response.json["gold_rate"] == 0.1
    bad = client.post(
        url, json={"mark": [{"item": ids[0], "label": "eggs"}]}, headers=bearer(tokens["admin"])
    )
    assert bad.status_code == 422 and bad.json["detail"]["field"] == "label"
    response = client.post(url, json={"unmark": [ids[0]]}, headers=bearer(tokens["admin"]))
    assert response.json["items"] == []
    assert client.get(url, headers=bearer(tokens["rita"])).json["annotators"] == []


def test_label_merge_over_the_api_keeps_every_annotation(app, client, project, tokens):
    _vote(app, project, [("alice", "ham"), ("bob", "spam"), ("dave", "ham")])
    url = f"/api/v1/projects/{project}/labelset"
    refused = client.post(
        url, json={"action": "delete", "label": "spam"}, headers=bearer(tokens["admin"])
    )
    assert refused.status_code == 409 and refused.json["detail"]["annotations"] == 1
    response = client.post(
        url,
        json={
            "action": "merge",
            "labels": ["ham", "spam"],
            "into": "message",
            "reason": "one class",
        },
        headers=bearer(tokens["admin"]),
    )
    assert response.status_code == 200, response.json
    assert response.json["labels"] == ["message"]
    assert response.json["detail"]["annotations_moved"] == 3
    with app.app_context():
        assert set(db.session.scalars(select(Annotation.label))) == {"message"}
        assert db.session.scalars(select(AuditEvent.reason)).one() == "one class"
        assert "agreement" in {j.kind for j in db.session.scalars(select(Job))}


def test_weekly_annotators_and_guideline_versions(app, client, project, tokens, auth):
    _vote(app, project, [("alice", "ham"), ("bob", "ham")])
    rows = client.get(
        f"/api/v1/projects/{project}/annotators/weekly", headers=bearer(tokens["rita"])
    ).json["rows"]
    assert {r["annotator"] for r in rows} == {"alice", "bob"}
    assert all(r["median_seconds"] == 4.0 and r["flags"] == [] for r in rows)
    auth.login("admin")
    auth.post(f"/projects/{project}/settings", {"guidelines": "Spam: v2."})
    body = client.get(
        f"/api/v1/projects/{project}/guidelines/versions", headers=bearer(tokens["rita"])
    ).json
    assert body["current"] == 2 and [v["version"] for v in body["versions"]] == [2, 1]
    assert body["agreement"][0]["version"] == 1


def test_pages_render_and_the_label_editor_asks_before_changing(app, client, project, auth):
    _vote(app, project, [("alice", "ham"), ("bob", "spam")])
    auth.login("admin")
    for page in ("quality", "gold", "annotators", "guidelines/versions", "labels"):
        response = client.get(f"/projects/{project}/{page}")
        assert response.status_code == 200, page
        assert "style=" not in response.get_data(as_text=True)
    form = {"action": "rename", "label": "spam", "to": "junk"}
    preview = auth.post(f"/projects/{project}/labels", form)
    assert "Confirm: rename" in preview.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Project, project).label_names == ["ham", "spam"]
    done = auth.post(f"/projects/{project}/labels", {**form, "confirm": "yes"})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Project, project).label_names == ["ham", "junk"]
    marked = auth.post(f"/projects/{project}/gold/mark", {"external_id": "m3", "label": "ham"})
    assert marked.status_code == 302
    assert "m3" in client.get(f"/projects/{project}/gold").get_data(as_text=True)
