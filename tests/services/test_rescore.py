"""The score job: a manual promotion or rollback re-ranks the queue with the champion
that serves now; a champion that cannot be loaded leaves the ranks alone; the
training job's own promotion starts no second scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import select

from labeler import jobs
from labeler.core import sampling
from labeler.extensions import db
from labeler.models import TIER_DONE, AuditEvent, Item, Job, ModelVersion, Project
from labeler.services.labeling import gold, queue
from labeler.services.learning import artifacts, modeling, scoring_job
from tests.conftest import user
from tests.serving_helpers import add_version, fitted, sms, sms_project

LABEL_OF = dict(zip(sms()["text"], sms()["label"], strict=True))


def ranked_project(random_share: float = 0.0) -> tuple[Project, ModelVersion]:
    """An SMS project (least-confident strategy) with final labels on some train items,
    a gold item, and a logistic-regression champion that has ranked the queue."""
    project = sms_project()
    project.sampling_strategy, project.random_share = "least_confident", random_share
    project.min_labels_per_class = 2
    train = db.session.scalars(
        select(Item).where(Item.project_id == project.id, Item.split == "train").order_by(Item.id)
    ).all()
    spam = [item for item in train if LABEL_OF[item.data["text"]] == "spam"][:3]
    ham = [item for item in train if LABEL_OF[item.data["text"]] == "ham"][:7]
    test = db.session.scalars(
        select(Item).where(Item.project_id == project.id, Item.split == "test").order_by(Item.id)
    ).all()
    test = [i for i in test if LABEL_OF[i.data["text"]] == "spam"][:2] + [
        i for i in test if LABEL_OF[i.data["text"]] == "ham"
    ][:4]  # an evaluation, without which no version is promoted by itself
    for item in spam + ham + test:
        queue.submit(project, user("alice"), item, LABEL_OF[item.data["text"]])
    gold.mark(project, train[-1], LABEL_OF[train[-1].data["text"]])
    champion = add_version(project, status="champion")
    db.session.commit()
    job = scoring_job.start_rescore(project, user("admin").id)  # as a handler would
    assert db.session.get(Job, job.id).status == "done"
    return project, champion


def queue_state(project: Project) -> dict[int, tuple[int, float, float | None, int | None]]:
    """Every item's (tier, rank, score, scoring version)."""
    rows = db.session.execute(
        select(Item.id, Item.queue_tier, Item.queue_rank, Item.score, Item.scored_by_version)
        .where(Item.project_id == project.id)
        .execution_options(populate_existing=True)
    ).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def open_train_by_rank(project: Project) -> list[Item]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Item)
            .where(
                Item.project_id == project.id,
                Item.split == "train",
                Item.queue_tier > TIER_DONE,
            )
            .order_by(Item.queue_rank)
        )
    )


def most_uncertain_first(project: Project, estimator: str) -> list[int]:
    """Open train item ids as ``estimator``'s model would ask them (no random share)."""
    items = sorted(open_train_by_rank(project), key=lambda item: item.id)
    X = pd.DataFrame({"text": [item.data["text"] for item in items]})
    scores = sampling.score_pool(fitted(estimator), X, "least_confident")
    return [items[i].id for i in np.argsort(-scores, kind="stable")]


def act(auth, project_id: int, version_id: int, action: str) -> None:
    """Promote or roll back on the monitoring page, as an admin does."""
    auth.login("admin")
    response = auth.post(
        f"/projects/{project_id}/monitoring/models/{version_id}/{action}",
        {"reason": "test"},
        follow_redirects=True,
    )
    assert f"Model #{version_id}: {action} done." in response.get_data(as_text=True)


def score_jobs(project_id: int) -> list[Job]:
    return list(
        db.session.scalars(
            select(Job)
            .where(Job.kind == scoring_job.KIND, Job.project_id == project_id)
            .order_by(Job.id)
        )
    )


def test_a_promotion_on_the_page_serves_the_new_champions_most_uncertain_item(app, auth):
    with app.app_context():
        project, _ = ranked_project()
        project_id = project.id
        old_order = most_uncertain_first(project, "logistic_regression")
        assert [item.id for item in open_train_by_rank(project)] == old_order
        new = add_version(project, "naive_bayes")
        new_id = new.id
        db.session.commit()
    act(auth, project_id, new_id, "promote")
    with app.app_context():
        project = db.session.get(Project, project_id)
        assert project.champion_id == new_id
        job = score_jobs(project_id)[-1]
        assert job.status == "done", job.error
        assert job.result["version_id"] == new_id and job.result["ranked_by_model"] is True
        assert job.created_by == user("admin").id and job.message  # progress went through
        new_order = most_uncertain_first(project, "naive_bayes")
        assert new_order[0] != old_order[0], "the two models disagree on what to ask first"
        items = open_train_by_rank(project)
        assert [item.id for item in items] == new_order
        assert {item.scored_by_version for item in items} == {new_id}
        assert [item.queue_rank for item in items] == [i / len(items) for i in range(len(items))]
        served = queue.next_items(project, user("bob"))[0]
        assert served.id == new_order[0]
        job_id = job.id
    page = auth.client.get(f"/projects/{project_id}/model").get_data(as_text=True)
    assert f"#{job_id} score" in page, "the model page lists the re-rank beside training"


def test_a_rollback_on_the_page_brings_back_the_old_champions_ranking(app, auth):
    with app.app_context():
        project, old = ranked_project(random_share=0.1)
        project_id, old_id = project.id, old.id
        before = queue_state(project)
        gold_id = next(i for i, state in before.items() if state[0] == gold.TIER_GOLD)
        new_id = add_version(project, "naive_bayes").id
        db.session.commit()
    act(auth, project_id, new_id, "promote")
    with app.app_context():
        promoted = queue_state(db.session.get(Project, project_id))
        assert promoted != before and {s[3] for s in promoted.values() if s[3]} == {new_id}
        assert promoted[gold_id] == before[gold_id], "the gold tier is left alone"
    act(auth, project_id, new_id, "rollback")
    with app.app_context():
        project = db.session.get(Project, project_id)
        assert project.champion_id == old_id
        assert [job.status for job in score_jobs(project_id)] == ["done"] * 3
        assert queue_state(project) == before


def test_test_items_keep_their_random_order_when_the_champion_changes(app, auth):
    with app.app_context():
        project, _ = ranked_project(random_share=0.1)
        project_id = project.id

        def test_items() -> list[tuple[int, float, float | None]]:
            db.session.expire_all()
            return [
                (item.id, item.queue_rank, item.score)
                for item in db.session.scalars(
                    select(Item)
                    .where(Item.project_id == project_id, Item.split == "test")
                    .order_by(Item.queue_rank)
                )
            ]

        before = test_items()
        assert before and all(score is None for _, _, score in before)
        new_id = add_version(project, "naive_bayes").id
        db.session.commit()
    act(auth, project_id, new_id, "promote")
    with app.app_context():
        assert score_jobs(project_id)[-1].result["version_id"] == new_id
        assert test_items() == before


def test_a_champion_that_cannot_be_loaded_fails_the_job_and_keeps_the_ranks(app):
    with app.app_context():
        project, champion = ranked_project()
        before = queue_state(project)
        artifacts.resolve(champion.artifact_path).unlink()  # e.g. a worker without the file
        job = scoring_job.start_rescore(project, user("admin").id, "rollback")
        job = db.session.get(Job, job.id)
        assert job.status == "failed"
        assert f"the champion, model #{champion.id}, cannot be loaded" in job.error
        assert "file not found" in job.error and "keeps its ranks" in job.error
        assert queue_state(project) == before


def test_without_a_champion_nothing_starts(app):
    with app.app_context():
        project = sms_project()
        db.session.commit()
        assert scoring_job.start_rescore(project) is None
        assert score_jobs(project.id) == []


def test_a_waiting_job_steps_aside_for_a_newer_one(app):
    with app.app_context():
        project, champion = ranked_project()
        older = Job(kind=scoring_job.KIND, project_id=project.id, params={})
        newer = Job(kind=scoring_job.KIND, project_id=project.id, params={})
        db.session.add_all([older, newer])
        db.session.commit()
        older_id, newer_id = older.id, newer.id
        jobs.run(older_id)
        assert f"job #{newer_id}" in db.session.get(Job, older_id).result["skipped"]
        jobs.run(newer_id)
        assert db.session.get(Job, newer_id).result["version_id"] == champion.id


def test_an_automatic_promotion_by_training_starts_no_score_job(app):
    with app.app_context():
        project, first = ranked_project()
        n_jobs = len(score_jobs(project.id))
        job = db.session.get(Job, modeling.start_training(project, user("admin").id).id)
        assert job.status == "done" and job.result["status"] == "champion", job.error
        assert len(score_jobs(project.id)) == n_jobs
        promotion = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "promote").order_by(AuditEvent.id)
        ).all()[-1]
        assert promotion.detail["automatic"] is True
        assert promotion.detail["previous_champion_id"] == first.id
        # the training job ranked the queue itself
        items = open_train_by_rank(project)
        assert {item.scored_by_version for item in items} == {job.result["version_id"]}
