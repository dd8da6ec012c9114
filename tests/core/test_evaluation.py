"""Evaluation figures checked against scikit-learn's own metric functions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)
from sklearn.pipeline import Pipeline

from labeler.core.evaluation import (
    _score_matrices,
    baselines,
    bootstrap_interval,
    compare_to_previous,
    error_analysis,
    evaluate,
    human_level_performance,
    learning_curve_point,
)
from labeler.core.model_inputs import ModelInputs
from labeler.core.training import TrainedModel, train

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    """Rotten Tomatoes snippets: fresh / rotten / plot (rare), 900 of them."""
    frame = pd.read_csv(DATA / "rotten_tomatoes_corpus.csv.bz2")
    return frame.sample(900, random_state=0).reset_index(drop=True)


@pytest.fixture(scope="module")
def review_model(reviews: pd.DataFrame) -> TrainedModel:
    return train(reviews[:600], reviews["category"][:600], ModelInputs(text=("text",)))


def test_evaluate_matches_sklearn(review_model: TrainedModel, reviews: pd.DataFrame) -> None:
    test, truth = reviews[600:], reviews["category"][600:].to_numpy()
    metrics = evaluate(review_model, test, truth, n_boot=200)
    predicted = review_model.pipeline.predict(test)
    assert metrics["n_test"] == 300
    assert metrics["accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    macro = precision_recall_fscore_support(truth, predicted, average="macro", zero_division=0)
    assert [metrics[f"macro_{m}"] for m in ("precision", "recall", "f1")] == pytest.approx(
        macro[:3]
    )
    labels = metrics["labels"]
    assert labels == review_model.classes == ["fresh", "plot", "rotten"]
    per_class = precision_recall_fscore_support(truth, predicted, labels=labels, zero_division=0)
    assert [metrics["per_class"][label]["f1"] for label in labels] == pytest.approx(per_class[2])
    assert [metrics["per_class"][label]["support"] for label in labels] == list(per_class[3])
    assert metrics["confusion_matrix"] == confusion_matrix(truth, predicted, labels=labels).tolist()
    proba = review_model.pipeline.predict_proba(test)
    assert metrics["log_loss"] == pytest.approx(log_loss(truth, proba, labels=labels))
    low, high = metrics["accuracy_interval"]
    assert low < metrics["accuracy"] < high
    json.dumps(metrics, allow_nan=False)


def test_labels_missing_from_test_or_model(
    review_model: TrainedModel, reviews: pd.DataFrame
) -> None:
    test = reviews[600:650]
    truth = np.array(["fresh"] * 45 + ["sarcastic"] * 5, dtype=object)
    metrics = evaluate(review_model, test, truth, n_boot=50)
    assert metrics["labels"] == ["fresh", "plot", "rotten", "sarcastic"]
    assert metrics["per_class"]["sarcastic"]["support"] == 5
    assert metrics["per_class"]["rotten"]["support"] == 0
    assert metrics["labels_unknown_to_model"] == ["sarcastic"] and metrics["n_log_loss"] == 45
    proba = review_model.pipeline.predict_proba(test[:45])
    assert metrics["log_loss"] == pytest.approx(
        log_loss(truth[:45], proba, labels=review_model.classes)
    )
    with pytest.raises(ValueError, match="at least one"):
        evaluate(review_model, test[:0], [])


def test_baselines_are_dummy_classifiers_on_the_same_items() -> None:
    y_train = ["ham"] * 80 + ["spam"] * 20
    y_test = ["ham"] * 30 + ["spam"] * 10
    result = baselines(y_train, y_test, random_state=5)
    assert result["majority"] == {
        "accuracy": 0.75,
        "macro_f1": pytest.approx(f1_score(y_test, ["ham"] * 40, average="macro")),
        "label": "ham",
    }
    dummy = DummyClassifier(strategy="stratified", random_state=5).fit(np.zeros((100, 1)), y_train)
    expected = dummy.predict(np.zeros((40, 1)))
    assert result["stratified"]["accuracy"] == pytest.approx(accuracy_score(y_test, expected))
    assert result["stratified"]["macro_f1"] == pytest.approx(
        f1_score(y_test, expected, average="macro")
    )
    with pytest.raises(ValueError, match="at least one"):
        baselines([], y_test)


def test_compare_to_previous() -> None:
    now = {"accuracy": 0.9, "macro_f1": 0.8, "log_loss": 0.3}
    before = {"accuracy": 0.85, "macro_f1": 0.82, "log_loss": 0.4}
    result = compare_to_previous(now, before)
    assert result["accuracy"]["delta"] == pytest.approx(0.05) and result["accuracy"]["better"]
    assert result["macro_f1"]["better"] is False and result["log_loss"]["better"] is True
    assert result["better_on_all"] is False
    first = compare_to_previous(now, None)
    assert first["accuracy"]["better"] is None and first["better_on_all"] is False


def test_human_level_performance_on_a_hand_made_frame() -> None:
    votes = {
        1: {"ann": "x", "bob": "x", "cy": "x"},  # everyone matches the others
        2: {"ann": "x", "bob": "y", "cy": "y"},  # ann misses; bob and cy: others tie (x, y)
        3: {"ann": "y", "bob": "y", "cy": "y", "dee": "x"},  # dee misses
        4: {"ann": "x", "bob": "x"},  # k = 2: each against the other
    }
    frame = pd.DataFrame(
        [(item, who, label) for item, row in votes.items() for who, label in row.items()],
        columns=["item", "annotator", "label"],
    )
    result = human_level_performance(frame)
    per = {row["annotator"]: row for row in result["per_annotator"]}
    assert per["ann"] == {"annotator": "ann", "n_items": 4, "accuracy": pytest.approx(3 / 4)}
    assert per["bob"]["n_items"] == 3 and per["bob"]["accuracy"] == 1.0
    assert per["dee"] == {"annotator": "dee", "n_items": 1, "accuracy": 0.0}
    # Scored annotations: ann 4 (3 right), bob 3 (3), cy 2 (2), dee 1 (0): 8 of 10.
    assert result["overall"] == pytest.approx(8 / 10) and result["n_annotations_scored"] == 10
    json.dumps(result, allow_nan=False)


def test_human_level_is_measured_at_k_2() -> None:
    """Two annotators per item: each is scored against the other (the issue's k = 2)."""
    frame = pd.DataFrame(
        [(1, "ann", "x"), (1, "bob", "x"), (2, "ann", "x"), (2, "bob", "y")],
        columns=["item", "annotator", "label"],
    )
    result = human_level_performance(frame)
    assert result["overall"] == pytest.approx(0.5) and result["n_annotations_scored"] == 4
    single = human_level_performance(frame[frame["annotator"] == "ann"])
    assert single["overall"] is None  # one vote per item: nothing to compare with


def test_bootstrap_interval_brackets_and_shrinks() -> None:
    rng = np.random.default_rng(0)
    truth = rng.choice(["a", "b", "c"], 400)
    predicted = np.where(rng.random(400) < 0.8, truth, rng.choice(["a", "b", "c"], 400))
    wide = bootstrap_interval(truth[:40], predicted[:40], random_state=1)
    narrow = bootstrap_interval(truth, predicted, random_state=1)
    assert narrow[0] < accuracy_score(truth, predicted) < narrow[1]
    assert wide[1] - wide[0] > narrow[1] - narrow[0]
    assert narrow == bootstrap_interval(truth, predicted, random_state=1)
    f1_low, f1_high = bootstrap_interval(truth, predicted, "macro_f1", n_boot=300)
    assert f1_low < f1_score(truth, predicted, average="macro") < f1_high
    with pytest.raises(ValueError, match="metric"):
        bootstrap_interval(truth, predicted, "auc")


@pytest.mark.parametrize("n_items", [3, 57, 700])
def test_bootstrap_interval_is_the_percentile_of_scikit_learn_scores_on_each_resample(
    n_items: int,
) -> None:
    """The resamples are drawn in blocks; each must be the one a loop draws, scored as
    scikit-learn scores it (macro-F1 over the labels present in the resample), and
    a block boundary (``n_items`` 700: 93 resamples a block) changes nothing."""
    rng = np.random.default_rng(n_items)
    truth = rng.choice(["a", "b", "c", "d"], n_items)
    predicted = np.where(rng.random(n_items) < 0.7, truth, rng.choice(["a", "b", "c"], n_items))
    for metric in ("accuracy", "macro_f1"):
        draws = np.random.default_rng(5)
        scores = []
        for _ in range(250):
            pick = draws.integers(0, n_items, n_items)
            if metric == "accuracy":
                scores.append(accuracy_score(truth[pick], predicted[pick]))
            else:
                scores.append(f1_score(truth[pick], predicted[pick], average="macro"))
        expected = np.percentile(scores, [2.5, 97.5])
        found = bootstrap_interval(truth, predicted, metric, n_boot=250, random_state=5)
        assert found == pytest.approx(tuple(expected), abs=1e-12)


def test_macro_f1_from_confusion_matrices_matches_sklearn() -> None:
    """Each matrix of a stack scored alone: a label absent from one resample (here "e",
    kept in the label list) does not count in its macro-F1."""
    rng = np.random.default_rng(3)
    truth, predicted = rng.choice(list("abcd"), 200), rng.choice(list("abce"), 200)
    labels = sorted(set(truth) | set(predicted))
    stack = np.stack(
        [
            confusion_matrix(truth, predicted, labels=labels),
            confusion_matrix(truth[:50], truth[:50], labels=labels),
        ]
    )
    macro = _score_matrices(stack, "macro_f1")
    assert macro[0] == pytest.approx(f1_score(truth, predicted, average="macro"))
    assert macro[1] == pytest.approx(1.0)  # only a-d present: "e" is not averaged in
    accuracy = _score_matrices(stack, "accuracy")
    assert accuracy[0] == pytest.approx(accuracy_score(truth, predicted))
    assert accuracy[1] == pytest.approx(1.0)


def test_learning_curve_point_is_flat() -> None:
    metrics = {
        "accuracy": 0.8,
        "macro_f1": 0.7,
        "log_loss": 0.5,
        "n_test": 50,
        "accuracy_interval": [0.7, 0.9],
    }
    point = learning_curve_point(120, metrics, baselines(["a", "a", "b"], ["a", "b"]))
    assert point["n_train_labels"] == 120 and point["accuracy_low"] == 0.7
    assert point["majority_accuracy"] == 0.5 and "stratified_macro_f1" in point
    assert all(not isinstance(value, dict | list) for value in point.values())


class FixedProbabilities(ClassifierMixin, BaseEstimator):
    """predict_proba is the frame's p_a, p_b columns."""

    def fit(self, X: Any, y: Any = None) -> FixedProbabilities:
        self.classes_ = np.array(["a", "b"])
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return X[["p_a", "p_b"]].to_numpy(dtype=float)


def test_error_analysis_lists_contradictions_by_confidence() -> None:
    X = pd.DataFrame({"p_a": [0.95, 0.6, 0.1, 0.85, 0.5], "p_b": [0.05, 0.4, 0.9, 0.15, 0.5]})
    model = TrainedModel(Pipeline([("clf", FixedProbabilities().fit(X))]), ["a", "b"], 10)
    result = error_analysis(model, X, ["b", "b", "b", "b", "b"], [np.int64(11), 12, 13, 14, 15])
    assert [e["item"] for e in result["misclassified"]] == [11, 14, 12, 15]
    assert result["misclassified"][0] == {
        "item": 11,
        "label": "b",
        "predicted": "a",
        "confidence": 0.95,
    }
    assert [e["item"] for e in result["likely_label_errors"]] == [11, 14]
    json.dumps(result)
    with pytest.raises(ValueError, match="same length"):
        error_analysis(model, X, ["b"], [1])
