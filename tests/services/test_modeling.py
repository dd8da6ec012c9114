"""The training job and the model-driven queue: ranks, cold start, the test split,
failures, the automatic retrain trigger, and artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer
from sqlalchemy import select

from labeler.core import artifacts as core_artifacts
from labeler.core import sampling, training
from labeler.core.artifacts import TRUSTED_TYPES, ModelArtifactError
from labeler.core.model_inputs import ModelInputs, prepare_frame
from labeler.core.training import TrainedModel
from labeler.extensions import db
from labeler.models import TIER_DONE, Item, Job, ModelVersion, Project
from labeler.services import Conflict
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.labeling import queue
from labeler.services.learning import artifacts, modeling
from labeler.services.projects.store import create_project, set_member
from tests.conftest import user

LABELS = ("a", "b", "c")
FIELDS = tuple(f"p_{label}" for label in LABELS)


class FixedProbabilities(ClassifierMixin, BaseEstimator):
    """A 'model' whose probabilities are the item's own p_a, p_b, p_c fields."""

    def fit(self, X: Any, y: Any = None) -> FixedProbabilities:
        # a bagged committee fits on integer codes: answer in the codes it was given
        self.classes_ = np.unique(y) if y is not None else np.array(LABELS, dtype=object)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=float)


class Backwards(FixedProbabilities):
    """Confidently wrong: the probabilities of the labels in reverse."""

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=float)[:, ::-1]

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def fixed_train(
    X: pd.DataFrame,
    y: Any,
    inputs: ModelInputs,
    *args: Any,
    classifier: type = FixedProbabilities,
    **kwargs: Any,
) -> TrainedModel:
    pipeline = Pipeline(
        [
            (
                "prepare",
                FunctionTransformer(prepare_frame, kw_args={"inputs": inputs.to_dict()}),
            ),
            ("features", ColumnTransformer([("numeric", "passthrough", list(FIELDS))])),
            ("clf", classifier()),
        ]
    ).fit(X, None)
    return TrainedModel(pipeline, list(LABELS), len(X), inputs=inputs)


def _probabilities(rng: np.random.Generator) -> dict[str, float]:
    p = rng.dirichlet([1.0, 1.0, 1.0])
    return {name: float(value) for name, value in zip(FIELDS, p, strict=True)}


def three_way_project(n_items: int = 60, test_fraction: float = 0.3, **settings: Any) -> Project:
    """Items whose p_* fields are the fixed model's probabilities; alice and bob label."""
    project = create_project(
        "Three", [{"name": name} for name in LABELS], test_fraction=test_fraction, **settings
    )
    rng = np.random.default_rng(7)
    rows = [(i + 1, {"id": f"x{i}", **_probabilities(rng)}) for i in range(n_items)]
    import_rows(project, rows, ColumnMapping(id="id", numeric=FIELDS))
    for name in ("alice", "bob"):
        set_member(project, user(name), "annotator")
    db.session.flush()
    return project


def label_some(project: Project, n: int, name: str = "alice") -> None:
    """Label ``n`` items through the queue, each with the label of its largest p."""
    for _ in range(n):
        item = queue.next_items(project, user(name))[0]
        label = LABELS[int(np.argmax([item.data[field] for field in FIELDS]))]
        queue.submit(project, user(name), item, label)
    db.session.commit()


def open_items(project: Project, split: str) -> list[Item]:
    return list(
        db.session.scalars(
            select(Item)
            .where(Item.project_id == project.id, Item.split == split, Item.queue_tier > TIER_DONE)
            .order_by(Item.queue_rank)
        )
    )


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "train", fixed_train)
    # the fixed classifier lives in this test module: let the artifact loader trust it
    monkeypatch.setattr(
        core_artifacts,
        "TRUSTED_TYPES",
        TRUSTED_TYPES | {f"{__name__}.FixedProbabilities", f"{__name__}.Backwards"},
    )


def _train(project: Project) -> Job:
    job = modeling.start_training(project)
    return db.session.get(Job, job.id)


@pytest.mark.parametrize("strategy", ["least_confident", "margin", "entropy"])
def test_each_strategy_writes_its_order_to_queue_rank(app, fixed, strategy):
    with app.app_context():
        project = three_way_project(
            sampling_strategy=strategy, random_share=0.0, min_labels_per_class=1
        )
        label_some(project, 20)
        job = _train(project)
        assert job.status == "done", job.error
        items = open_items(project, "train")
        X = pd.DataFrame([[item.data[f] for f in FIELDS] for item in items], columns=FIELDS)
        expected = sampling.score_pool(
            fixed_train(X, None, ModelInputs(numeric=FIELDS)), X, strategy
        )
        np.testing.assert_allclose([item.score for item in items], expected)
        assert [item.queue_rank for item in items] == [i / len(items) for i in range(len(items))]
        scores = [item.score for item in items]
        assert scores == sorted(scores, reverse=True), "most useful item asked first"
        version = db.session.get(ModelVersion, job.result["version_id"])
        assert {item.scored_by_version for item in items} == {version.id}
        assert project.champion_id == version.id and version.status == "champion"
        # the queue now hands out the most uncertain train item (test ranks start at 0.5/n)
        first = queue.next_items(project, user("bob"))[0]
        assert first.id == items[0].id


def test_random_share_keeps_random_picks_in_the_queue(app, fixed):
    with app.app_context():
        project = three_way_project(  # labels reach the test split: an evaluation
            n_items=200,
            sampling_strategy="least_confident",
            random_share=0.2,
            min_labels_per_class=1,
        )
        label_some(project, 20)
        assert _train(project).status == "done"
        scores = [item.score for item in open_items(project, "train")]
        out_of_order = sum(1 for a, b in zip(scores, scores[1:], strict=False) if b > a)
        assert out_of_order >= 0.1 * len(scores)


def test_batch_diverse_puts_a_diverse_uncertain_batch_first(app, fixed, monkeypatch):
    from labeler.services.learning import scoring

    monkeypatch.setattr(scoring, "DIVERSE_CANDIDATES", 2)  # the batch comes from the top 20
    with app.app_context():
        project = three_way_project(
            sampling_strategy="batch_diverse",
            random_share=0.0,
            min_labels_per_class=1,
            retrain_every=5,
        )
        label_some(project, 20)
        assert _train(project).status == "done"
        items = open_items(project, "train")
        top = sorted(items, key=lambda item: -item.score)[:20]
        assert {item.id for item in items[:10]} <= {item.id for item in top}
        assert sorted(item.queue_rank for item in items) == [
            i / len(items) for i in range(len(items))
        ]


def test_cold_start_keeps_the_random_ranks(app, fixed):
    with app.app_context():
        project = three_way_project(sampling_strategy="margin", min_labels_per_class=50)
        label_some(project, 20)
        before = {item.id: item.queue_rank for item in open_items(project, "train")}
        job = _train(project)
        assert job.status == "done" and job.result["cold_start"] is True
        after = open_items(project, "train")
        assert {item.id: item.queue_rank for item in after} == before
        assert all(item.score is not None for item in after)  # scored, not ranked


def test_the_test_split_is_never_ranked_by_the_model(app, fixed):
    with app.app_context():
        project = three_way_project(
            n_items=200, sampling_strategy="least_confident", min_labels_per_class=1
        )
        label_some(project, 30)
        test_before = [item.id for item in open_items(project, "test")]
        assert _train(project).status == "done"
        test_after = open_items(project, "test")
        assert [item.id for item in test_after] == test_before, "same random order"
        assert all(item.score is None for item in test_after), "never scored"
        n = len(test_after)
        assert [item.queue_rank for item in test_after] == [(i + 0.5) / n for i in range(n)]
        # below any rank, test items keep their share of the open pool
        train_after = open_items(project, "train")
        below = [i for i in test_after + train_after if i.queue_rank < 0.5]
        share = sum(item.split == "test" for item in below) / len(below)
        assert share == pytest.approx(n / (n + len(train_after)), abs=0.02)


def test_a_failed_job_keeps_the_old_model_and_scores(app, fixed, monkeypatch):
    with app.app_context():
        project = three_way_project(sampling_strategy="margin", min_labels_per_class=1)
        label_some(project, 20)
        first = _train(project)
        champion = first.result["version_id"]
        before = {
            i.id: (i.score, i.queue_rank, i.scored_by_version) for i in open_items(project, "train")
        }

        def broken(*args: Any, **kwargs: Any) -> TrainedModel:
            raise RuntimeError("the estimator fell over")

        monkeypatch.setattr(training, "train", broken)
        label_some(project, 3)
        job = _train(project)
        assert job.status == "failed" and "fell over" in job.error
        failed = db.session.scalars(select(ModelVersion).where(ModelVersion.job_id == job.id)).one()
        assert failed.status == "failed" and "RuntimeError: the estimator fell over" in failed.error
        db.session.refresh(project)
        assert project.champion_id == champion
        assert db.session.get(ModelVersion, champion).status == "champion"
        after = {
            i.id: (i.score, i.queue_rank, i.scored_by_version) for i in open_items(project, "train")
        }
        assert after == {k: v for k, v in before.items() if k in after}


def test_a_corrupt_new_artifact_fails_the_job_and_the_champion_stays(app, fixed, monkeypatch):
    with app.app_context():
        project = three_way_project(min_labels_per_class=1)
        label_some(project, 20)
        champion = _train(project).result["version_id"]

        def garbage(model: TrainedModel, path: Any) -> None:
            Path(path).write_bytes(b"not a zip file")

        monkeypatch.setattr(artifacts, "save_model", garbage)
        job = _train(project)
        assert job.status == "failed" and "not a readable skops artifact" in job.error
        db.session.refresh(project)
        assert project.champion_id == champion


def test_a_missing_artifact_is_a_clear_error(app, fixed):
    with app.app_context():
        project = three_way_project(min_labels_per_class=1)
        label_some(project, 20)
        version = db.session.get(ModelVersion, _train(project).result["version_id"])
        assert isinstance(artifacts.load(version), TrainedModel)
        path = artifacts.resolve(version.artifact_path)
        assert path.parent.name == f"project-{project.id}"
        path.unlink()
        with pytest.raises(ModelArtifactError, match="file not found"):
            artifacts.load(version)
        version.artifact_path = "../../etc/passwd"
        with pytest.raises(ModelArtifactError, match="outside the artifact folder"):
            artifacts.load(version)
        # the next run cannot compare with the champion; it says so and carries on
        version.artifact_path = artifacts.relative_path(project.id, version.id)
        db.session.commit()
        label_some(project, 2)
        job = _train(project)
        assert job.status == "done"
        new = db.session.get(ModelVersion, job.result["version_id"])
        assert any("could not be compared" in note for note in new.metrics["notes"])


def test_a_worse_version_stays_a_candidate(app, fixed, monkeypatch):
    with app.app_context():
        project = three_way_project(min_labels_per_class=1)
        label_some(project, 30)
        champion = _train(project).result["version_id"]

        def backwards(
            X: pd.DataFrame, y: Any, inputs: ModelInputs, *a: Any, **k: Any
        ) -> TrainedModel:
            return fixed_train(X, y, inputs, classifier=Backwards)

        monkeypatch.setattr(training, "train", backwards)
        label_some(project, 2)
        job = _train(project)
        assert job.status == "done" and job.result["status"] == "candidate"
        db.session.refresh(project)
        assert project.champion_id == champion


def test_training_needs_two_labels(app):
    with app.app_context():
        project = three_way_project()
        with pytest.raises(Conflict, match="at least 2 different labels"):
            modeling.start_training(project)


def test_retrain_starts_after_retrain_every_final_labels(app, client, tokens):
    """Only train labels count toward retrain_every (test labels never train a model),
    and the first model waits until every label has its minimum of train labels."""
    from tests.conftest import bearer

    with app.app_context():
        project = three_way_project(retrain_every=6, min_labels_per_class=1)
        db.session.commit()
        project_id = project.id
    headers = bearer(tokens["alice"])
    train_labels: list[str] = []
    test_labels = 0
    for _ in range(60):
        item = client.get(f"/api/v1/projects/{project_id}/next", headers=headers).json["items"][0]
        values = {f["name"]: f["value"] for f in item["fields"]}
        label = LABELS[int(np.argmax([values[field] for field in FIELDS]))]
        response = client.post(
            f"/api/v1/projects/{project_id}/items/{item['id']}/annotation",
            json={"label": label},
            headers=headers,
        )
        assert response.status_code == 201
        with app.app_context():
            split = db.session.get(Item, item["id"]).split
            n_jobs = db.session.scalar(select(db.func.count(Job.id)))
            project = db.session.get(Project, project_id)
            if split == "train":
                train_labels.append(label)
            else:
                test_labels += 1
            if n_jobs:
                break
            assert project.labels_since_training == len(train_labels)
    assert test_labels > 0, "the test split took some labels, and they did not count"
    assert len(train_labels) >= 6 and set(train_labels) == set(LABELS)
    with app.app_context():
        # the new champion's items index job follows it (labeler.services.items.index_trigger)
        job = db.session.scalars(select(Job).where(Job.kind != "items_index")).one()
        assert job.kind == "train" and job.params == {"reason": "automatic"}
        assert job.status == "done", job.error
        assert db.session.get(Project, project_id).labels_since_training == 0


def test_the_first_model_waits_for_every_labels_minimum(app):
    """retrain_every train labels have arrived, but label c has none yet: no first model;
    once c has its minimum, the next check starts one."""
    with app.app_context():
        project = three_way_project(retrain_every=2, min_labels_per_class=2)
        train = db.session.scalars(
            select(Item).where(Item.project_id == project.id, Item.split == "train")
        ).all()
        for item, label in zip(train[:6], ["a", "b", "a", "b", "a", "b"], strict=True):
            queue.submit(project, user("alice"), item, label)
        db.session.commit()
        assert project.labels_since_training == 6
        assert modeling.maybe_start_training(project) is None
        assert db.session.scalar(select(db.func.count(Job.id))) == 0
        for item in train[6:8]:
            queue.submit(project, user("alice"), item, "c")
        db.session.commit()
        job_id = modeling.maybe_start_training(project)
        assert job_id is not None  # a job was started
        job = db.session.get(Job, job_id)
        assert job.params == {"reason": "automatic"}
