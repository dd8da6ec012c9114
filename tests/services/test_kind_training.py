"""The training and scoring jobs through the project's task kind: a multi-label,
rating, spans or pairwise project trains its kind's own model on final values,
is evaluated with the kind's metrics, baselines and human level, saves an artifact
that loads back, and ranks the open pool by the kind's uncertainty."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from labeler.core.artifacts import ModelArtifactError, load_model
from labeler.core.kinds import kind_for
from labeler.extensions import db
from labeler.models import TIER_DONE, Item, Job, ModelVersion, Project
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.labeling import queue
from labeler.services.learning import artifacts, modeling, scoring_job
from labeler.services.learning.training_data import data_frame
from labeler.services.projects.kinds import context as kind_context
from labeler.services.projects.store import create_project, set_member
from tests.conftest import user

N_ITEMS, N_LABELED = 160, 110
TOPICS = {"sports": "match", "politics": "vote", "tech": "laptop"}
MOODS = ["awful", "poor", "fine", "good", "superb"]
NAMES = ["Ann", "Bob", "Carla", "Dmitri", "Eve", "Farid"]


def _multi_label(rng: np.random.Generator) -> tuple[dict[str, Any], Any]:
    chosen = [label for label in TOPICS if rng.random() < 0.5] or ["tech"]
    words = [TOPICS[label] for label in chosen] + ["news", "today"]
    rng.shuffle(words)
    return {"text": " ".join(words)}, chosen


def _rating(rng: np.random.Generator) -> tuple[dict[str, Any], Any]:
    score = int(rng.integers(1, 6))
    return {"text": f"a {MOODS[score - 1]} film, {rng.integers(1000)} minutes"}, score


def _spans(rng: np.random.Generator) -> tuple[dict[str, Any], Any]:
    first, second = rng.choice(NAMES, 2, replace=False)
    text = f"{first} called {second} about the report"
    start = len(first) + len(" called ")
    spans = [
        {"start": 0, "end": len(first), "label": "PER"},
        {"start": start, "end": start + len(second), "label": "PER"},
    ]
    return {"text": text}, spans


def _pairwise(rng: np.random.Generator) -> tuple[dict[str, Any], Any]:
    a_wins = bool(rng.random() < 0.5)
    filler = ["quickly", "here", "in place", "for lists", "as shown", "step by step"]
    right = f"use sorted which is correct {rng.choice(filler)}"
    wrong = f"use a loop which is broken {' '.join(rng.choice(filler, 2))}"
    data = {
        "prompt": f"how do I sort list {rng.integers(1000)}?",
        "response_a": right if a_wins else wrong,
        "response_b": wrong if a_wins else right,
    }
    return data, {"choice": "A" if a_wins else "B"}


CASES: dict[str, dict[str, Any]] = {
    "multi_label": {
        "labels": list(TOPICS),
        "make": _multi_label,
        "text": ("text",),
        "baselines": {"majority", "stratified"},
    },
    "rating": {
        "labels": [str(i) for i in range(1, 6)],
        "make": _rating,
        "text": ("text",),
        "settings": {"label_scale": "ordinal"},
        "baselines": {"median", "mean"},
    },
    "spans": {
        "labels": ["PER"],
        "make": _spans,
        "text": ("text",),
        "baselines": {"no_spans"},
    },
    "pairwise": {
        "labels": ["unused"],
        "make": _pairwise,
        "text": ("prompt", "response_a", "response_b"),
        "baselines": {"majority_side", "longer_response"},
    },
}


def _project(kind: str) -> tuple[Project, dict[int, Any]]:
    """A project of ``kind`` whose items carry the answer their fields imply."""
    case = CASES[kind]
    project = create_project(
        f"{kind} project",
        [{"name": name} for name in case["labels"]],
        annotations_per_item=2,
        test_fraction=0.3,
        task_kind=kind,
        random_share=0.0,
        sampling_strategy=next(s for s in kind_for(kind).strategies() if s != "random"),
        **case.get("settings", {}),
    )
    rng = np.random.default_rng(3)
    made: Callable[[np.random.Generator], tuple[dict[str, Any], Any]] = case["make"]
    rows, answers = [], {}
    for i in range(N_ITEMS):
        data, answer = made(rng)
        rows.append((i + 1, {"id": f"x{i}", **data}))
        answers[f"x{i}"] = answer
    import_rows(project, rows, ColumnMapping(id="id", text=case["text"]))
    for name in ("alice", "bob"):
        set_member(project, user(name), "annotator")
    db.session.commit()
    return project, answers


def _label(project: Project, answers: dict[str, Any], n: int) -> None:
    """Alice and Bob give each of ``n`` items (as the queue hands them out) its answer."""
    for _ in range(n):
        item = queue.next_items(project, user("alice"))[0]
        for name in ("alice", "bob"):
            queue.submit(project, user(name), item, answers[item.external_id])
    db.session.commit()


def _open_frame(project: Project) -> Any:
    return data_frame([dict(item.data) for item in _open_train(project)])


def _open_train(project: Project) -> list[Item]:
    return list(
        db.session.scalars(
            select(Item)
            .where(Item.project_id == project.id, Item.split == "train")
            .where(Item.queue_tier > TIER_DONE)
            .order_by(Item.queue_rank, Item.id)
        )
    )


@pytest.mark.parametrize("kind_name", list(CASES))
def test_the_training_job_trains_evaluates_and_ranks_through_the_kind(app, kind_name):
    kind = kind_for(kind_name)
    with app.app_context():
        project, answers = _project(kind_name)
        _label(project, answers, N_LABELED)
        job = db.session.get(Job, modeling.start_training(project).id)
        assert job.status == "done", job.error
        version = db.session.scalars(
            select(ModelVersion).where(ModelVersion.project_id == project.id)
        ).one()
        metrics = version.metrics
        # the kind's own metrics, baselines and human level, on the test split
        assert metrics["headline_metric"] == kind.headline_metric
        assert isinstance(metrics[kind.headline_metric], float)
        assert metrics["n_test"] > 0 and metrics["n_train_labels"] == version.n_labels > 0
        assert set(version.baseline_metrics) == CASES[kind_name]["baselines"]
        assert metrics["hlp"] is not None and "overall" in metrics["hlp"]
        assert "macro_f1" not in metrics or kind_name == "multi_label"
        # it beat its baselines, became the champion and ranked the open train pool
        assert version.status == "champion", metrics["notes"]
        assert project.champion_id == version.id
        items = _open_train(project)
        assert items and all(item.scored_by_version == version.id for item in items)
        assert [item.queue_rank for item in items] == [i / len(items) for i in range(len(items))]
        scores = [item.score for item in items]
        assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1
        assert metrics["queue"]["ranked_by_model"] is True
        # the artifact is the kind's model, loaded back safely; not a label classifier
        model = artifacts.load_kind(version, kind_name)
        X = _open_frame(project)
        assert len(kind.predict(model, X, kind_context(project))) == len(X)
        with pytest.raises(ModelArtifactError, match="not a label classifier"):
            load_model(artifacts.resolve(version.artifact_path))


def test_a_kind_model_predicts_after_loading_as_it_did_when_trained(app, monkeypatch):
    kind = kind_for("rating")
    fitted: list[Any] = []
    train = kind.train

    def keep(*args: Any, **kwargs: Any) -> Any:
        fitted.append(train(*args, **kwargs))
        return fitted[-1]

    monkeypatch.setattr(kind, "train", keep)
    with app.app_context():
        project, answers = _project("rating")
        _label(project, answers, N_LABELED)
        modeling.start_training(project)
        version = db.session.get(ModelVersion, project.champion_id)
        loaded = artifacts.load_kind(version, "rating")
        X, context = _open_frame(project), kind_context(project)
        assert len(fitted) == 1
        assert kind.predict(loaded, X, context) == kind.predict(fitted[0], X, context)
        np.testing.assert_allclose(
            kind.uncertainty(loaded, X, "committee_spread", context),
            kind.uncertainty(fitted[0], X, "committee_spread", context),
        )
        with pytest.raises(ModelArtifactError, match="not a spans model"):
            artifacts.load_kind(version, "spans")


def test_the_scoring_job_reranks_a_kind_project_with_its_champion(app):
    with app.app_context():
        project, answers = _project("multi_label")
        _label(project, answers, N_LABELED)
        modeling.start_training(project)
        champion_id = project.champion_id
        assert champion_id is not None
        # scramble the ranks: the scoring job must write the champion's order again
        for item in _open_train(project):
            item.queue_rank, item.score, item.scored_by_version = 0.5, None, None
        db.session.commit()
        job = db.session.get(Job, scoring_job.start_rescore(project).id)
        assert job.status == "done", job.error
        assert job.result["version_id"] == champion_id and job.result["ranked_by_model"]
        items = _open_train(project)
        assert all(item.scored_by_version == champion_id for item in items)
        assert [item.queue_rank for item in items] == [i / len(items) for i in range(len(items))]


@pytest.mark.parametrize("kind_name", ["rating", "spans"])
def test_the_model_pages_and_api_show_a_kind_version(app, client, tokens, auth, kind_name):
    from tests.conftest import bearer

    with app.app_context():
        project, answers = _project(kind_name)
        _label(project, answers, N_LABELED)
        modeling.start_training(project)
        project_id, version_id = project.id, project.champion_id
    listed = client.get(f"/api/v1/projects/{project_id}/models", headers=bearer(tokens["admin"]))
    assert listed.status_code == 200, listed.json
    one = client.get(
        f"/api/v1/projects/{project_id}/models/{version_id}", headers=bearer(tokens["admin"])
    )
    assert one.status_code == 200, one.json
    auth.login("admin")
    for path in ("model", "model/errors"):
        page = client.get(f"/projects/{project_id}/{path}")
        assert page.status_code == 200, (path, page.data[-2000:])


def test_the_automatic_retrain_of_a_kind_project_trains_the_kinds_model(app):
    kind = kind_for("spans")
    with app.app_context():
        project, answers = _project("spans")
        project.retrain_every = 40
        db.session.commit()
        _label(project, answers, 30)
        assert modeling.maybe_start_training(project) is None  # 30 of 40 new final answers
        _label(project, answers, 30)
        job_id = modeling.maybe_start_training(project)
        assert job_id is not None  # a job was started
        job = db.session.get(Job, job_id)
        assert job.status == "done"
        version = db.session.get(ModelVersion, job.result["version_id"])
        assert version.metrics["headline_metric"] == kind.headline_metric == "micro_f1"
        assert set(version.baseline_metrics) == {"no_spans"}
        artifacts.load_kind(version, "spans")
