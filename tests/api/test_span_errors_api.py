"""Span error analysis through the API and on its page: annotators against the final
spans, reviewers only, examples linking to review; other kinds get 404."""

from __future__ import annotations

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.labeling import queue, review
from labeler.services.projects.store import create_project, set_member
from tests.conftest import bearer, make_project, user

TEXT = "Ann met Bob at Acme today"
LABELS = [{"name": "PER"}, {"name": "ORG"}]


def _project(app) -> tuple[int, int]:
    with app.app_context():
        project = create_project(
            "Entities", LABELS, "", annotations_per_item=2, test_fraction=0.0, task_kind="spans"
        )
        import_rows(
            project, [(1, {"id": "a", "text": TEXT})], ColumnMapping(id="id", text=("text",))
        )
        for name in ("alice", "bob"):
            set_member(project, user(name), "annotator")
        set_member(project, user("rita"), "reviewer")
        item = db.session.scalar(select(Item))
        ann, bob, acme = (0, 3, "PER"), (8, 11, "PER"), (15, 19, "ORG")
        spans = lambda *t: [{"start": a, "end": b, "label": c} for a, b, c in t]  # noqa: E731
        queue.submit(project, user("alice"), item, spans(ann, bob, acme))
        queue.submit(project, user("bob"), item, spans(ann, (15, 19, "PER")))
        review.decide(project, item, user("rita"), "resolve", spans(ann, bob, acme))
        db.session.commit()
        return project.id, item.id


def test_errors_against_the_final_spans(app, client, tokens, auth):
    project_id, item_id = _project(app)
    url = f"/api/v1/projects/{project_id}/annotation-errors"
    assert client.get(url, headers=bearer(tokens["alice"])).status_code == 403
    report = client.get(url, headers=bearer(tokens["rita"])).json
    assert report["available"] and report["reference"] == "final"
    assert report["n_annotations"] == 2
    assert report["annotators"]["alice"]["f1"] == 1.0
    bob = report["annotators"]["bob"]
    assert bob["counts"]["exact"] == 1 and bob["counts"]["label"] == 1
    assert bob["counts"]["missed"] == 1
    assert {"reference": "ORG", "predicted": "PER", "count": 1} in bob["confusion"]
    assert report["overall"]["examples"]["missed"] == [item_id]
    assert report["external_ids"] == {str(item_id): "a"}
    gold = client.get(url + "?reference=gold", headers=bearer(tokens["rita"])).json
    assert gold["n_annotations"] == 0
    bad = client.get(url + "?reference=nope", headers=bearer(tokens["rita"]))
    assert bad.status_code == 422

    auth.login("rita")
    page = client.get(f"/projects/{project_id}/agreement/errors").get_data(as_text=True)
    assert 'id="span-error-table"' in page and "<svg" in page
    assert f'href="/projects/{project_id}/review/{item_id}"' in page


def test_kinds_without_error_analysis_say_so(app, client, tokens, auth):
    with app.app_context():
        project_id = make_project("Plain", n_items=1).id
        db.session.commit()
    url = f"/api/v1/projects/{project_id}/annotation-errors"
    response = client.get(url, headers=bearer(tokens["rita"]))
    assert response.status_code == 200 and response.json["available"] is False
    auth.login("rita")
    page = client.get(f"/projects/{project_id}/agreement/errors").get_data(as_text=True)
    assert 'id="no-error-analysis"' in page
