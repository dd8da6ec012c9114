"""Model-aware consensus as a project's method: the training job keeps each version's
out-of-sample probabilities, and the consensus job weighs the votes against them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from labeler.core.model_consensus import model_aware_consensus
from labeler.extensions import db
from labeler.models import Item, Job, ModelProbabilities, ModelVersion, Project
from labeler.services.labeling import queue
from labeler.services.labeling.agreement_report import annotator_reliability
from labeler.services.learning import modeling
from labeler.services.learning.model_consensus import newest_probabilities
from labeler.services.projects.store import set_member
from tests.api.test_models_api import SPAM, text_project
from tests.conftest import bearer, user

CARELESS = 4  # bob is wrong on every 4th item


def _truth(item: Item) -> str:
    return "spam" if any(item.data["text"].startswith(t) for t in SPAM) else "ham"


def _other(label: str) -> str:
    return "ham" if label == "spam" else "spam"


def _two_votes_each(**settings) -> int:
    """alice labels every item right, bob every 4th wrong; k = 2."""
    project = text_project(n_items=120, annotations_per_item=2, min_labels_per_class=2, **settings)
    set_member(project, user("bob"), "annotator")
    items = db.session.scalars(select(Item).where(Item.project_id == project.id)).all()
    for n, item in enumerate(sorted(items, key=lambda i: i.id)):
        queue.submit(project, user("alice"), item, _truth(item))
        bob = _other(_truth(item)) if n % CARELESS == 0 else _truth(item)
        queue.submit(project, user("bob"), item, bob)
    db.session.commit()
    return project.id


def _votes(project_id: int) -> pd.DataFrame:
    from labeler.models import Annotation

    rows = db.session.execute(
        select(Annotation.item_id, Annotation.user_id, Annotation.label).where(
            Annotation.project_id == project_id
        )
    ).all()
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def test_training_keeps_out_of_sample_probabilities_for_every_voted_item(app):
    with app.app_context():
        project_id = _two_votes_each()
        project = db.session.get(Project, project_id)
        modeling.start_training(project)
        version = db.session.scalar(
            select(ModelVersion).where(ModelVersion.project_id == project_id)
        )
        stored = db.session.get(ModelProbabilities, version.id)
        ids, probs = stored.arrays()
        voted = set(_votes(project_id)["item"])
        assert set(ids.tolist()) == voted  # disputed (not final) items included
        assert stored.classes == ["ham", "spam"] and probs.shape == (len(ids), 2)
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
        assert len(stored.probabilities) == 4 * probs.size  # float32: compact
        # about 28 spam train labels: too few to calibrate on, and the version says so
        assert version.metrics["label_issues"]["calibration"] is None
        # a majority project starts no consensus job after training
        assert not db.session.scalar(select(Job).where(Job.kind == "consensus"))


def test_the_consensus_job_weighs_votes_against_the_model(app):
    with app.app_context():
        project_id = _two_votes_each(consensus_method="model_aware")
        project = db.session.get(Project, project_id)
        ties = db.session.scalars(
            select(Item).where(Item.project_id == project_id, Item.disputed.is_(True))
        ).all()
        assert len(ties) == 30  # majority vote cannot settle alice against bob
        modeling.start_training(project)
        job = db.session.scalar(select(Job).where(Job.kind == "consensus"))
        assert job is not None and job.status == "done", job and job.error
        result = job.result
        # Recompute independently from the stored probabilities and the votes.
        stored = newest_probabilities(project)
        ids, probs = stored.arrays()
        votes = _votes(project_id)
        expected = model_aware_consensus(
            votes, pd.DataFrame(probs, index=ids, columns=stored.classes)
        )
        items = {
            item.id: item
            for item in db.session.scalars(select(Item).where(Item.project_id == project_id))
        }
        for item_id, row in expected.items.iterrows():
            item = items[item_id]
            assert item.consensus_label == row["label"]
            assert item.consensus_confidence == pytest.approx(row["confidence"])
            low = row["confidence"] < project.dispute_threshold
            assert item.disputed == low
            if low:
                assert item.final_label is None
            else:
                assert (item.final_label, item.final_source) == (row["label"], "model_aware")
        # the model settles the ties alice's way
        settled = [items[t.id] for t in ties if items[t.id].final_label is not None]
        assert len(settled) >= 20
        assert all(item.final_label == _truth(item) for item in settled)
        quality = {row["annotator"]: row["model_aware"] for row in result["annotators"]}
        assert quality["alice"] > quality["bob"] and 0 <= quality["bob"] <= 1
        assert result["n_items"] == len(expected.items) == 120
        assert result["model_version_id"] == stored.model_version_id
        # the review queue reads each annotator's quality from the job
        reliability = annotator_reliability(project)
        assert reliability[user("alice").id].source == "model-aware consensus"
        assert reliability[user("alice").id].value == pytest.approx(quality["alice"])


def test_gold_answers_anchor_the_annotators_weights(app):
    """alice and bob label every item and so agree with each other equally: votes alone
    give them the same weight. Gold answers on 40 items (bob wrong on 10 of them) show
    who errs, and the consensus job weighs alice more."""
    from labeler.services.labeling import gold

    with app.app_context():
        project_id = _two_votes_each(consensus_method="model_aware")
        project = db.session.get(Project, project_id)
        items = sorted(
            db.session.scalars(select(Item).where(Item.project_id == project_id)),
            key=lambda item: item.id,
        )
        for item in items[:40]:
            gold.mark(project, item, _truth(item))
        db.session.commit()
        modeling.start_training(project)
        job = db.session.scalar(select(Job).where(Job.kind == "consensus"))
        assert job is not None and job.status == "done", job and job.error
        result = job.result
        assert result["n_gold"] == 40
        weight = {row["annotator"]: row["model_aware_weight"] for row in result["annotators"]}
        assert weight["alice"] > weight["bob"]
        # the same votes and probabilities without the gold answers: equal weights
        stored = newest_probabilities(project)
        ids, probs = stored.arrays()
        unanchored = model_aware_consensus(
            _votes(project_id), pd.DataFrame(probs, index=ids, columns=stored.classes)
        )
        alice, bob = user("alice").id, user("bob").id
        assert unanchored.annotator_weight[alice] == pytest.approx(unanchored.annotator_weight[bob])
        # alice matches every gold answer; bob errs on them as often as against alice
        assert weight["alice"] > unanchored.annotator_weight[alice]
        assert weight["bob"] <= unanchored.annotator_weight[bob] + 1e-9


def test_a_reviewers_decision_stands_and_low_quality_goes_to_review(app):
    with app.app_context():
        project_id = _two_votes_each(consensus_method="model_aware", dispute_threshold=0.999)
        project = db.session.get(Project, project_id)
        item = db.session.scalar(
            select(Item).where(Item.project_id == project_id, Item.disputed.is_(True))
        )
        item.final_label, item.final_source, item.disputed = "ham", "adjudicated", False
        db.session.commit()
        modeling.start_training(project)
        item = db.session.get(Item, item.id)
        assert (item.final_label, item.final_source) == ("ham", "adjudicated")
        assert not item.disputed
        # a threshold no consensus reaches sends every other item to review
        open_items = db.session.scalars(
            select(Item).where(Item.project_id == project_id, Item.id != item.id)
        ).all()
        assert all(i.disputed and i.final_source != "model_aware" for i in open_items)


def test_the_api_offers_the_method_and_runs_its_job(app, client, tokens):
    with app.app_context():
        project_id = _two_votes_each()
        modeling.start_training(db.session.get(Project, project_id))
    response = client.patch(
        f"/api/v1/projects/{project_id}",
        json={"consensus_method": "model_aware"},
        headers=bearer(tokens["admin"]),
    )
    assert response.status_code == 200, response.json
    assert response.json["settings"]["consensus_method"] == "model_aware"
    assert [job["kind"] for job in response.json["jobs"]] == ["consensus"]
    assert response.json["jobs"][0]["status"] == "done"
    with app.app_context():
        sources = set(
            db.session.scalars(select(Item.final_source).where(Item.project_id == project_id))
        )
    assert "model_aware" in sources
