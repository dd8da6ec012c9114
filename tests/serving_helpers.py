"""Real text models for serving tests: SMS spam texts, fitted once per test session.

Two versions of the demo-like text model (logistic regression and naive Bayes on
TF-IDF) are fitted on SMS spam and saved as real artifacts, so serving, rollout
and monitoring run against the same files the training job writes.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from labeler.core import training
from labeler.core.model_inputs import ModelInputs
from labeler.extensions import db
from labeler.models import ModelVersion, Project
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.learning import artifacts
from labeler.services.projects.store import create_project, set_member
from tests.conftest import DATA, user

INPUTS = ModelInputs(text=("text",))


@cache
def sms() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "sms-spam.csv", usecols=["spam", "text"])
    frame["label"] = frame["spam"].map({0: "ham", 1: "spam"})
    return frame.drop_duplicates("text").reset_index(drop=True)


@cache
def movie_snippets() -> list[str]:
    frame = pd.read_csv(DATA / "rotten_tomatoes_corpus.csv.bz2", usecols=["text"])
    return frame["text"].astype(str).tolist()


@cache
def fitted(estimator: str = "logistic_regression", n: int = 1500) -> training.TrainedModel:
    train = sms().iloc[:n]
    return training.train(train[["text"]], train["label"].tolist(), INPUTS, estimator)


def sms_project(n_items: int = 200, test_fraction: float = 0.3) -> Project:
    """An SMS project whose items are unseen SMS texts (rows after the training rows)."""
    project = create_project(
        "SMS serving", [{"name": "ham"}, {"name": "spam"}], test_fraction=test_fraction
    )
    texts = sms().iloc[3000 : 3000 + n_items]
    rows = [(i + 1, {"id": f"s{i}", "text": text}) for i, text in enumerate(texts["text"])]
    import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
    for name in ("alice",):
        set_member(project, user(name), "annotator")
    set_member(project, user("rita"), "reviewer")
    db.session.flush()
    return project


def add_version(
    project: Project,
    estimator: str = "logistic_regression",
    status: str = "candidate",
    macro_f1: float = 0.9,
    baselines: dict | None = None,
) -> ModelVersion:
    """A version row with a real artifact; ``status="champion"`` makes it serve."""
    model = fitted(estimator)
    counts = sms().iloc[:1500]["label"].value_counts().to_dict()
    version = ModelVersion(
        project_id=project.id,
        status=status,
        estimator=estimator,
        n_labels=1500,
        train_label_counts=counts,
        metrics={"accuracy": 0.97, "macro_f1": macro_f1, "n_test": 300},
        baseline_metrics=baselines
        if baselines is not None
        else {
            "majority": {"accuracy": 0.86, "macro_f1": 0.46},
            "stratified": {"accuracy": 0.76, "macro_f1": 0.5},
        },
    )
    db.session.add(version)
    db.session.flush()
    version.artifact_path = artifacts.save(model, project.id, version.id)
    if status == "champion":
        project.champion_id = version.id
    return version
