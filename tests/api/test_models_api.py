"""API and pages of the model: train on demand, versions, jobs, errors, settings."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import AuditEvent, Item, Job, ModelVersion, Project
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.labeling import queue
from labeler.services.projects.store import create_project, set_member
from tests.conftest import bearer, user

SPAM = [
    "win a free prize now",
    "cheap loans click here",
    "claim your free cash reward",
    "urgent you won a holiday call now",
]
HAM = [
    "see you at lunch tomorrow",
    "can you pick up the kids",
    "meeting moved to three",
    "thanks for dinner last night",
]


def text_project(n_items: int = 80, **settings) -> Project:
    """Spam/ham texts that a bag of words separates; every 4th item is a test item."""
    project = create_project(
        "Texts", [{"name": "ham"}, {"name": "spam"}], test_fraction=0.3, **settings
    )
    rows = []
    for i in range(n_items):
        source = SPAM if i % 3 == 0 else HAM
        rows.append((i + 1, {"id": f"t{i}", "text": f"{source[i % 4]} {i}"}))
    import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
    set_member(project, user("alice"), "annotator")
    set_member(project, user("rita"), "reviewer")
    db.session.flush()
    return project


def label_all(project: Project, n: int, wrong: set[str] = frozenset()) -> None:
    """alice labels ``n`` items truthfully, except the external ids in ``wrong``."""
    for _ in range(n):
        items = queue.next_items(project, user("alice"))
        if not items:
            break
        item = items[0]
        spam = any(item.data["text"].startswith(text) for text in SPAM)
        if item.external_id in wrong:
            spam = not spam
        queue.submit(project, user("alice"), item, "spam" if spam else "ham")
    db.session.commit()


@pytest.fixture
def trained(app) -> int:
    with app.app_context():
        project = text_project(sampling_strategy="margin", min_labels_per_class=2)
        label_all(project, 60)
        db.session.commit()
        return project.id


def test_train_models_and_job_over_the_api(app, client, tokens, trained):
    response = client.post(f"/api/v1/projects/{trained}/train", headers=bearer(tokens["rita"]))
    assert response.status_code == 202, response.json
    job = response.json
    assert job["status"] == "done" and job["result"]["status"] == "champion"
    status = client.get(f"/api/v1/jobs/{job['id']}", headers=bearer(tokens["rita"])).json
    assert status["progress"] == 1.0 and "traceback" not in status["result"]
    blind = client.get(f"/api/v1/jobs/{job['id']}", headers=bearer(tokens["alice"])).json
    assert blind["progress"] == 1.0 and blind["result"] is None  # annotators: status only

    listing = client.get(f"/api/v1/projects/{trained}/models", headers=bearer(tokens["rita"])).json
    (version,) = listing["models"]
    assert listing["champion_id"] == version["id"] and version["status"] == "champion"
    assert version["accuracy"] > version["baselines"]["majority"]["accuracy"]
    detail = client.get(
        f"/api/v1/projects/{trained}/models/{version['id']}", headers=bearer(tokens["rita"])
    ).json
    metrics = detail["metrics"]
    assert len(metrics["confusion_matrix"]) == 2 and set(metrics["per_class"]) == {"ham", "spam"}
    assert metrics["learning_curve"]["n_train_labels"] == version["n_labels"]
    assert metrics["top_features"]["spam"]
    assert detail["train_label_counts"]["spam"] > 0


def test_train_api_refuses_annotators_strangers_and_too_few_labels(app, client, tokens):
    with app.app_context():
        project_id = text_project().id
        db.session.commit()
    url = f"/api/v1/projects/{project_id}/train"
    assert client.post(url, headers=bearer(tokens["alice"])).status_code == 403
    assert client.post(url, headers=bearer(tokens["carol"])).status_code == 404
    response = client.post(url, headers=bearer(tokens["rita"]))
    assert response.status_code == 409 and "at least 2 different labels" in response.json["error"]
    assert client.get("/api/v1/jobs/999", headers=bearer(tokens["admin"])).status_code == 404


def test_job_of_another_project_is_hidden(app, client, tokens, trained):
    job = client.post(f"/api/v1/projects/{trained}/train", headers=bearer(tokens["rita"])).json
    assert (
        client.get(f"/api/v1/jobs/{job['id']}", headers=bearer(tokens["carol"])).status_code == 404
    )


def test_committee_strategy_trains_with_a_real_model(app, client, tokens):
    with app.app_context():
        project = text_project(sampling_strategy="committee", min_labels_per_class=2)
        label_all(project, 40)
        project_id = project.id
    job = client.post(f"/api/v1/projects/{project_id}/train", headers=bearer(tokens["rita"])).json
    assert job["status"] == "done", job["error"]
    assert job["result"]["ranked_by_model"] is True


def test_model_page_shows_curve_versions_and_confusion(app, client, auth, tokens, trained):
    client.post(f"/api/v1/projects/{trained}/train", headers=bearer(tokens["rita"]))
    auth.login("alice")
    assert client.get(f"/projects/{trained}/model").status_code == 403  # no model internals
    auth.login("rita")
    html = client.get(f"/projects/{trained}/model").get_data(as_text=True)
    assert html.count("<svg") >= 3  # two learning curves and the confusion matrix
    assert "champion" in html and "majority" in html and 'id="train-now"' in html
    assert 'style="' not in html and "<script>" not in html


def test_train_button_starts_a_job_or_says_why_not(app, client, auth, trained):
    auth.login("rita")
    response = auth.post(f"/projects/{trained}/model/train", follow_redirects=True)
    assert "Training job #" in response.get_data(as_text=True)
    with app.app_context():
        # one training job; the items index job of a new champion may follow it
        assert (
            db.session.scalars(select(Job).where(Job.kind != "items_index")).one().status == "done"
        )


def test_error_analysis_lists_mislabeled_items_and_sends_them_to_review(app, client, auth):
    with app.app_context():
        project = text_project(n_items=120, min_labels_per_class=2)
        wrong = {f"t{i}" for i in range(0, 120, 9)}
        label_all(project, 120, wrong)
        project_id = project.id
    auth.login("rita")
    auth.post(f"/projects/{project_id}/model/train")
    html = client.get(f"/projects/{project_id}/model/errors").get_data(as_text=True)
    assert "Likely label errors" in html and "Send to review" in html
    with app.app_context():
        version = db.session.scalars(select(ModelVersion)).one()
        likely = version.metrics["errors"]["likely_label_errors"]
        assert likely, "the deliberately wrong labels are contradicted"
        flagged = {db.session.get(Item, e["item"]).external_id for e in likely}
        assert flagged & wrong
        target = likely[0]["item"]
    response = auth.post(
        f"/projects/{project_id}/items/{target}/send-to-review",
        {"next": f"/projects/{project_id}/model/errors"},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Item, target).disputed is True


def test_model_settings_validate_and_lock_the_test_fraction(app, client, auth):
    with app.app_context():
        project_id = text_project().id
        db.session.commit()
    auth.login("admin")
    url = f"/projects/{project_id}/model/settings"
    good = {
        "sampling_strategy": "entropy",
        "retrain_every": "25",
        "estimator": "sgd",
        "estimator_params": '{"alpha": 0.001}',
        "random_share": "0.2",
        "min_labels_per_class": "3",
        "test_fraction": "0.5",
    }
    assert auth.post(url, good).status_code == 302
    with app.app_context():
        project = db.session.get(Project, project_id)
        assert (project.sampling_strategy, project.retrain_every, project.estimator) == (
            "entropy",
            25,
            "sgd",
        )
        assert project.estimator_params == {"alpha": 0.001}
        n_test = db.session.scalar(select(db.func.count(Item.id)).where(Item.split == "test"))
        assert 25 <= n_test <= 55  # items moved to the new split share
        assert db.session.scalars(select(AuditEvent)).one().action == "model_settings"
    bad = auth.post(url, {**good, "estimator_params": '{"alpha": -1}'})
    assert bad.status_code == 422 and "alpha" in bad.get_data(as_text=True)
    bad = auth.post(url, {**good, "sampling_strategy": "psychic"})
    assert bad.status_code == 422
    with app.app_context():
        label_all(db.session.get(Project, project_id), 1)
    locked = auth.post(url, {**good, "test_fraction": "0.1"})
    assert locked.status_code == 422 and "fixed once labeling has started" in locked.get_data(
        as_text=True
    )
