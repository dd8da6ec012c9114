"""Relabel or label new: after training, the model-aware consensus job asks one more
label for the items where that helps more than a first label on the next fresh ones."""

from __future__ import annotations

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import (
    TIER_STARTED,
    Annotation,
    AuditEvent,
    Item,
    Job,
    ModelVersion,
    Project,
)
from labeler.services.labeling import queue
from labeler.services.labeling.consensus_job import apply_model_aware
from labeler.services.learning import modeling, relabel
from labeler.services.projects.store import set_member
from tests.api.test_models_api import SPAM, text_project
from tests.conftest import user


def _truth(item: Item) -> str:
    return "spam" if any(item.data["text"].startswith(t) for t in SPAM) else "ham"


def _half_labeled(**settings) -> int:
    """k = 1: alice labels even items right, bob odd ones, every 5th of his wrong (where the
    model can see it: an error the model has learnt too gets no second label); the
    second half of the items stays fresh."""
    project = text_project(
        n_items=160,
        consensus_method="model_aware",
        min_labels_per_class=2,
        retrain_every=20,
        **settings,
    )
    set_member(project, user("bob"), "annotator")
    items = sorted(
        db.session.scalars(select(Item).where(Item.project_id == project.id)), key=lambda i: i.id
    )
    for n, item in enumerate(items[:100]):
        who = "alice" if n % 2 == 0 else "bob"
        label = _truth(item)
        if who == "bob" and n % 10 == 1:
            label = "ham" if label == "spam" else "spam"
        queue.submit(project, user(who), item, label)
    db.session.commit()
    return project.id


def _consensus_result(project_id: int) -> dict:
    """The newest consensus job's result: the one after training (with relabel-or-new on,
    another runs before training, settling ties and asking nothing)."""
    jobs = db.session.scalars(
        select(Job).where(Job.project_id == project_id, Job.kind == "consensus").order_by(Job.id)
    ).all()
    assert jobs and all(job.status == "done" for job in jobs), [job.error for job in jobs]
    for job in jobs[:-1]:
        assert job.params["reason"] == "before training" and not job.result.get("relabel")
    return jobs[-1].result


def _asked_events(project_id: int) -> tuple[set[int], set[int]]:
    """The items relabel-or-new asked one more label for: chosen against fresh items
    after training, and asked because their consensus quality is under the threshold."""
    chosen: set[int] = set()
    low: set[int] = set()
    for detail in db.session.scalars(
        select(AuditEvent.detail).where(
            AuditEvent.project_id == project_id, AuditEvent.action == relabel.ACTION
        )
    ):
        ids = {int(i) for i in detail["items"]}
        (low if detail.get("reason") == "low quality" else chosen).update(ids)
    return chosen, low


def test_weak_items_get_one_more_label_before_fresh_ones(app):
    with app.app_context():
        project_id = _half_labeled(relabel_or_new=True)
        modeling.start_training(db.session.get(Project, project_id))
        asked_info = _consensus_result(project_id)["relabel"]
        assert asked_info["batch"] == 20
        assert 1 <= asked_info["asked"] <= 10  # at most half the batch
        assert asked_info["asked"] + asked_info["n_fresh"] <= 20
        chosen, low = _asked_events(project_id)
        assert len(chosen) == asked_info["asked"] and not chosen & low
        asked = db.session.scalars(
            select(Item).where(Item.project_id == project_id, Item.extra_annotations == 1)
        ).all()
        assert {i.id for i in asked} == chosen | low
        assert all(i.queue_tier == TIER_STARTED and i.split == "train" for i in asked)
        assert all(i.n_annotations == 1 for i in asked)
        # the ones under the threshold train no model until their label comes
        for item in asked:
            if item.id in low:
                assert item.consensus_confidence < 0.5 and item.final_label is None
                assert not item.disputed
            else:
                assert item.final_label in ("ham", "spam")
        # the queue serves them before any fresh item, to whoever has not labeled them
        project = db.session.get(Project, project_id)
        asked_ids = {i.id for i in asked}
        for name in ("alice", "bob"):
            labeled = set(
                db.session.scalars(
                    select(Annotation.item_id).where(Annotation.user_id == user(name).id)
                )
            )
            mine = asked_ids - labeled
            if mine:
                served = queue.next_items(project, user(name))[0]
                assert served.id in mine
                queue.submit(project, user(name), served, _truth(served))
        db.session.commit()
        figures = relabel.relabel_figures(db.session.get(Project, project_id))
        assert figures["asked"] == figures["n_items"] == len(asked_ids)
        assert 1 <= figures["answered"] <= 2
        assert 0 <= figures["changed"] <= figures["answered"]


def test_off_by_default_and_shown_on_the_model_page(app, client, auth):
    with app.app_context():
        project_id = _half_labeled()
        modeling.start_training(db.session.get(Project, project_id))
        assert _consensus_result(project_id)["relabel"] is None
        assert not db.session.scalar(
            select(Item.id).where(Item.project_id == project_id, Item.extra_annotations > 0)
        )
        assert relabel.relabel_figures(db.session.get(Project, project_id)) is None
    auth.login("rita")
    html = client.get(f"/projects/{project_id}/model").get_data(as_text=True)
    assert 'id="relabel"' not in html
    with app.app_context():
        project = db.session.get(Project, project_id)
        project.relabel_or_new = True
        db.session.commit()
        modeling.start_training(project)
    html = client.get(f"/projects/{project_id}/model").get_data(as_text=True)
    assert 'id="relabel"' in html and "Relabel-or-new asked for" in html


def test_the_setting_over_the_api(app, client, tokens):
    from tests.conftest import bearer

    with app.app_context():
        project_id = _half_labeled()
    url, headers = f"/api/v1/projects/{project_id}", bearer(tokens["admin"])
    response = client.patch(url, json={"relabel_or_new": "maybe"}, headers=headers)
    assert response.status_code == 422
    response = client.patch(url, json={"relabel_or_new": True}, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["settings"]["relabel_or_new"] is True
    assert response.json["changed"] == ["relabel_or_new"]
    with app.app_context():
        assert db.session.get(Project, project_id).relabel_or_new


def test_a_relabel_that_ties_is_settled_before_the_next_training(app):
    """At k = 1 a second vote that disagrees ties on submit (majority cannot settle it):
    the consensus job the next training waits for settles it with the last version's
    probabilities, so the item trains the next model instead of waiting for a reviewer."""
    with app.app_context():
        project_id = _half_labeled(relabel_or_new=True)
        project = db.session.get(Project, project_id)
        modeling.start_training(project)
        asked = db.session.scalars(
            select(Item).where(Item.project_id == project_id, Item.extra_annotations == 1)
        ).all()
        assert asked
        tied = []
        for item in asked:
            first = db.session.scalar(select(Annotation).where(Annotation.item_id == item.id))
            other = "bob" if first.user_id == user("alice").id else "alice"
            queue.submit(project, user(other), item, "ham" if first.label == "spam" else "spam")
            tied.append(item.id)
        db.session.commit()
        for item_id in tied:
            item = db.session.get(Item, item_id)
            assert item.final_label is None and item.disputed  # a tie on submit
        first_version = project.champion_id
        modeling.start_training(db.session.get(Project, project_id))
        for item_id in tied:
            item = db.session.get(Item, item_id)
            assert item.final_source == "model_aware" and item.final_label in ("ham", "spam")
            assert not item.disputed
        before = db.session.scalars(
            select(Job)
            .where(Job.project_id == project_id, Job.kind == "consensus")
            .order_by(Job.id)
        ).all()[-2]
        assert before.params["reason"] == "before training"
        assert before.result["model_version_id"] == first_version
        assert before.result["relabel"] is None  # asking is the after-training job's
        # the new version trained on the tied items too: as many labels as the first
        versions = db.session.scalars(
            select(ModelVersion)
            .where(ModelVersion.project_id == project_id)
            .order_by(ModelVersion.id)
        ).all()
        assert len(versions) == 2 and versions[1].n_labels == versions[0].n_labels


def _one_vote_train_items(project_id: int) -> list[Item]:
    return db.session.scalars(
        select(Item).where(
            Item.project_id == project_id, Item.split == "train", Item.n_annotations == 1
        )
    ).all()


def test_low_quality_items_get_one_more_label_while_one_can_come(app, monkeypatch):
    """With relabel-or-new on, an item of low consensus quality that can still take one
    more label does not wait for a reviewer: that label is asked for at once, and the
    item trains no model until it comes (most such labels are wrong, now that the
    quality is the chance the label is right). When no more can come, the posterior's
    likeliest label decides if its chance passes the threshold, else the dispute stands.
    (Looked up a few at a time here, as a large project's are.)"""
    monkeypatch.setattr(relabel, "SETTLE_BATCH", 3)
    with app.app_context():
        project_id = _half_labeled(relabel_or_new=True, dispute_threshold=0.99)
        project = db.session.get(Project, project_id)
        modeling.start_training(project)
        single = _one_vote_train_items(project_id)
        assert single and not any(item.disputed for item in single)
        low = [item for item in single if item.consensus_confidence < 0.99]
        assert low and {item.id for item in low} <= _asked_events(project_id)[1]
        for item in low:
            assert item.extra_annotations == 1 and item.queue_tier == TIER_STARTED
            assert item.final_label is None  # trains nothing until the label comes
        for item in single:
            if item not in low:
                assert item.final_label in ("ham", "spam") and item.final_source == "model_aware"
        for item in low:
            first = db.session.scalar(select(Annotation).where(Annotation.item_id == item.id))
            other = "bob" if first.user_id == user("alice").id else "alice"
            queue.submit(project, user(other), item, "ham" if first.label == "spam" else "spam")
        db.session.commit()
        # what the job before the next training does (that training itself would refuse:
        # at 0.99 no item has a final label yet)
        apply_model_aware(db.session.get(Project, project_id), commit_batches=False)
        db.session.commit()
        for item in low:  # both annotators have voted: the posterior, or a reviewer
            db.session.refresh(item)
            if item.disputed:
                assert item.final_label is None and item.consensus_confidence < 0.99
            else:
                assert item.final_source == "model_aware" and item.consensus_confidence >= 0.99


def test_low_quality_items_stay_disputed_with_relabel_or_new_off(app):
    with app.app_context():
        project_id = _half_labeled(dispute_threshold=0.99)
        modeling.start_training(db.session.get(Project, project_id))
        single = _one_vote_train_items(project_id)
        disputed = [item for item in single if item.disputed]
        assert disputed and all(item.final_label is None for item in disputed)


def test_an_asked_label_counts_toward_the_next_training(app):
    """The job that asks plans its labels into the next ``retrain_every``: an answered
    asked label counts once, even when it leaves the final label as it was (once a round
    of relabels ran longer than that); changing that vote later does not count again."""
    with app.app_context():
        project_id = _half_labeled(relabel_or_new=True)
        project = db.session.get(Project, project_id)
        modeling.start_training(project)
        chosen, _ = _asked_events(project_id)
        votes = {
            a.item_id: a
            for a in db.session.scalars(select(Annotation).where(Annotation.item_id.in_(chosen)))
        }
        item = next(
            i
            for i in db.session.scalars(select(Item).where(Item.id.in_(chosen)))
            if i.final_label == votes[i.id].label
        )
        first = votes[item.id]
        other = user("bob" if first.user_id == user("alice").id else "alice")
        before, label = project.labels_since_training, item.final_label
        queue.submit(project, other, item, first.label)  # agrees: the final label stays
        assert item.final_label == label and item.n_annotations == 2
        assert project.labels_since_training == before + 1
        queue.submit(project, other, item, first.label)  # unchanged: nothing counts
        assert project.labels_since_training == before + 1
        fresh = db.session.scalars(
            select(Item).where(
                Item.project_id == project_id, Item.split == "train", Item.n_annotations == 0
            )
        ).first()
        queue.submit(project, user("alice"), fresh, _truth(fresh))  # a first label, as ever
        assert project.labels_since_training == before + 2
