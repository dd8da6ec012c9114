"""Label issues by confident learning in the training job, their API and page, the
review queue taking the top N, the stopping sentence, and the cold start's counter."""

from __future__ import annotations

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item, Project
from tests.api.test_models_api import label_all, text_project
from tests.conftest import bearer

WRONG = {"t3", "t6", "t10", "t13"}  # alice's wrong labels (spam called ham and back)


def _trained(app, client, tokens) -> int:
    with app.app_context():
        project = text_project(n_items=120, min_labels_per_class=2)
        label_all(project, 100, wrong=WRONG)
        project_id = project.id
    job = client.post(f"/api/v1/projects/{project_id}/train", headers=bearer(tokens["rita"])).json
    assert job["status"] == "done", job["error"]
    return project_id


def _wrong_ids(app, project_id: int) -> set[int]:
    with app.app_context():
        return set(
            db.session.scalars(
                select(Item.id).where(Item.project_id == project_id, Item.external_id.in_(WRONG))
            )
        )


def test_the_api_lists_the_wrong_labels_first(app, client, tokens):
    project_id = _trained(app, client, tokens)
    url = f"/api/v1/projects/{project_id}/label-issues"
    listing = client.get(url, headers=bearer(tokens["rita"])).json
    assert listing["n_checked"] >= 90 and listing["skipped"] is None
    flagged = {row["item"] for row in listing["issues"]}
    wrong = _wrong_ids(app, project_id)
    assert len(wrong & flagged) >= 3
    assert len(flagged) <= 2 * len(wrong)  # few right labels among them
    qualities = [row["quality"] for row in listing["issues"]]
    assert qualities == sorted(qualities) and all(0 <= q <= 1 for q in qualities)
    for row in listing["issues"]:
        assert row["likely_label"] != row["label"]
        assert row["split"] in ("train", "test")
    assert client.get(url, headers=bearer(tokens["alice"])).status_code == 403
    assert client.get(url, headers=bearer(tokens["carol"])).status_code == 404
    assert client.get(url + "?limit=0", headers=bearer(tokens["rita"])).status_code == 422


def test_the_review_queue_takes_the_top_n(app, client, tokens):
    project_id = _trained(app, client, tokens)
    headers = bearer(tokens["rita"])
    url = f"/api/v1/projects/{project_id}/label-issues"
    top = client.get(url + "?limit=2", headers=headers).json["issues"]
    for bad in ({"n": 0}, {"n": "2"}, {}):
        response = client.post(url + "/review", json=bad, headers=headers)
        assert response.status_code == 422 and "n" in response.json["detail"]
    with app.app_context():
        assert not db.session.scalar(
            select(Item.id).where(Item.project_id == project_id, Item.disputed.is_(True))
        )
    response = client.post(url + "/review", json={"n": 2}, headers=headers)
    assert response.status_code == 200
    assert response.json["in_review"] == sorted(row["item"] for row in top)
    with app.app_context():
        disputed = set(
            db.session.scalars(
                select(Item.id).where(Item.project_id == project_id, Item.disputed.is_(True))
            )
        )
    assert disputed == {row["item"] for row in top}
    review = client.get(f"/api/v1/projects/{project_id}/review", headers=headers).json
    assert {row["id"] for row in review["items"]} >= disputed


def test_the_errors_page_shows_issues_to_reviewers_only(app, client, auth, tokens):
    project_id = _trained(app, client, tokens)
    auth.login("rita")
    html = client.get(f"/projects/{project_id}/model/errors").get_data(as_text=True)
    assert 'id="label-issues"' in html and "Likely label" in html and 'id="review-top"' in html
    response = auth.post(f"/projects/{project_id}/model/errors/review-top", {"n": "x"})
    assert response.status_code == 302
    html = client.get(f"/projects/{project_id}/model/errors").get_data(as_text=True)
    assert "n: give a whole number" in html
    response = auth.post(f"/projects/{project_id}/model/errors/review-top", {"n": "1"})
    assert response.status_code == 302
    html = client.get(f"/projects/{project_id}/model/errors").get_data(as_text=True)
    assert "1 items are in the review queue" in html
    auth.login("alice")
    html = client.get(f"/projects/{project_id}/model/errors").get_data(as_text=True)
    assert 'id="label-issues"' not in html


def test_the_model_page_says_when_to_stop(app, client, auth, tokens):
    project_id = _trained(app, client, tokens)
    client.post(f"/api/v1/projects/{project_id}/train", headers=bearer(tokens["rita"]))
    auth.login("rita")  # the model page is for reviewers (annotators see no model internals)
    html = client.get(f"/projects/{project_id}/model").get_data(as_text=True)
    assert 'id="stopping"' in html
    assert "The last two versions agree on 100.0% of a 120-item stop set" in html
    assert "learning curve needs 4 evaluated versions" in html


def test_only_train_labels_count_toward_retraining(app):
    with app.app_context():
        project = text_project(n_items=60, min_labels_per_class=2, retrain_every=1000)
        label_all(project, 40)
        project = db.session.get(Project, project.id)
        train_finals = db.session.scalar(
            select(db.func.count(Item.id)).where(
                Item.project_id == project.id,
                Item.split == "train",
                Item.final_label.is_not(None),
            )
        )
        test_finals = db.session.scalar(
            select(db.func.count(Item.id)).where(
                Item.project_id == project.id, Item.split == "test", Item.final_label.is_not(None)
            )
        )
        assert test_finals > 0
        assert project.labels_since_training == train_finals


def _train(client, tokens, project_id: int) -> dict:
    job = client.post(f"/api/v1/projects/{project_id}/train", headers=bearer(tokens["rita"])).json
    assert job["status"] == "done", job["error"]
    return job


def _retrain(app, project_id: int) -> None:
    """A retrain as ``retrain_every`` starts it (the thread executor runs it at once)."""
    from labeler.services.learning import modeling

    with app.app_context():
        project = db.session.get(Project, project_id)
        job = modeling.start_training(project, reason=modeling.AUTOMATIC)
        assert job.status == "done", job.error


def _version_report(app, project_id: int) -> tuple[int, dict, bool]:
    """The newest version: its id, label-issue report, and whether it stored probabilities."""
    from labeler.models import ModelProbabilities, ModelVersion

    with app.app_context():
        version = db.session.scalars(
            select(ModelVersion)
            .where(ModelVersion.project_id == project_id)
            .order_by(ModelVersion.id.desc())
        ).first()
        stored = db.session.get(ModelProbabilities, version.id) is not None
        return version.id, version.metrics["label_issues"], stored


def test_a_version_on_few_more_labels_carries_the_report_until_the_labels_grow_by_a_tenth(
    app, client, auth, tokens
):
    from labeler.services.labeling import queue
    from tests.api.test_models_api import label_all
    from tests.conftest import user

    with app.app_context():
        project = text_project(n_items=125, min_labels_per_class=2)
        label_all(project, 100, wrong=WRONG)
        project_id = project.id
    _train(client, tokens, project_id)
    first, found, stored = _version_report(app, project_id)
    assert stored and "carried_from" not in found and len(found["issues"]) >= 3
    fixed = found["issues"][0]
    with app.app_context():
        project = db.session.get(Project, project_id)
        item = db.session.get(Item, fixed["item"])
        queue.submit(project, user("alice"), item, fixed["likely_label"])  # alice corrects it
        label_all(project, 4)  # a few more: under a tenth of the train labels
    _retrain(app, project_id)
    second, carried, stored = _version_report(app, project_id)
    assert second != first and not stored  # no cross validation this time
    assert carried["carried_from"]["version_id"] == first
    n_first = carried["carried_from"]["n_train_labels"]
    assert carried["carried_from"]["refresh_at"] == -(-n_first * 11 // 10)  # a tenth more
    assert [i["item"] for i in carried["issues"]] == [i["item"] for i in found["issues"][1:]]
    assert carried["n_flagged"] == found["n_flagged"] - 1
    listing = client.get(
        f"/api/v1/projects/{project_id}/label-issues", headers=bearer(tokens["rita"])
    ).json
    assert listing["version_id"] == second and listing["found_by_version"] == first
    assert fixed["item"] not in {row["item"] for row in listing["issues"]}
    auth.login("rita")
    page = f"/projects/{project_id}/model/errors"
    html = client.get(page).get_data(as_text=True)
    assert 'id="issues-carried"' in html and f"Found by version #{first}," in html
    assert f"again at {carried['carried_from']['refresh_at']:,} train labels" in html
    # Training asked for by a person cross-validates again, whatever the labels.
    _train(client, tokens, project_id)
    asked, asked_report, stored = _version_report(app, project_id)
    assert asked != second and stored and "carried_from" not in asked_report
    _retrain(app, project_id)
    assert _version_report(app, project_id)[1]["carried_from"]["version_id"] == asked
    with app.app_context():
        label_all(db.session.get(Project, project_id), 15)  # now past a tenth
    _retrain(app, project_id)
    third, fresh, stored = _version_report(app, project_id)
    assert stored and "carried_from" not in fresh and fresh["n_checked"] > found["n_checked"]
    assert 'id="issues-carried"' not in client.get(page).get_data(as_text=True)
    # Model-aware consensus weighs every version's probabilities: it never carries.
    with app.app_context():
        project = db.session.get(Project, project_id)
        project.consensus_method = "model_aware"
        db.session.commit()
        label_all(project, 1)
    _retrain(app, project_id)
    fourth, report, stored = _version_report(app, project_id)
    assert fourth != third and stored and "carried_from" not in report
