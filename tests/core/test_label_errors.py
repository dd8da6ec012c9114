"""Confident learning: the flagged set and ranking match cleanlab's on the same
probabilities; the parts behave as their docstrings say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cleanlab.count import compute_confident_joint
from cleanlab.filter import find_label_issues as cleanlab_find_label_issues
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict
from threadpoolctl import threadpool_limits

from labeler.core import label_errors
from labeler.core.model_consensus import model_aware_consensus
from labeler.core.model_inputs import ModelInputs


@pytest.fixture(scope="module")
def noisy_digits() -> dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Digits with 5, 10 and 20% of labels flipped (seeded): true, given, 5-fold probs."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    cases = {}
    for noise in (0.05, 0.1, 0.2):
        given = y.copy()
        flip = rng.random(len(y)) < noise
        given[flip] = (given[flip] + rng.integers(1, 10, flip.sum())) % 10
        with threadpool_limits(1):  # BLAS threads on a shared machine cost minutes
            probs = cross_val_predict(
                LogisticRegression(C=0.1, max_iter=300), X / 16, given, cv=5, method="predict_proba"
            )
        cases[noise] = (y, given, probs)
    return cases


@pytest.mark.parametrize("noise", [0.05, 0.1, 0.2])
def test_the_flagged_set_is_cleanlabs(noisy_digits, noise):
    _, given, probs = noisy_digits[noise]
    ours = label_errors.find_label_issues(given, probs)
    theirs = cleanlab_find_label_issues(given, probs, n_jobs=1)
    assert ours.sum() > 0
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(
        label_errors.confident_joint(given, probs), compute_confident_joint(given, probs)
    )


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
def test_the_ranking_is_cleanlabs(noisy_digits, method):
    _, given, probs = noisy_digits[0.1]
    found = label_errors.label_issues(given, probs, method)
    theirs = cleanlab_find_label_issues(given, probs, n_jobs=1, return_indices_ranked_by=method)
    np.testing.assert_array_equal(found.ranked, theirs)


def test_flagged_labels_are_mostly_the_flipped_ones(noisy_digits):
    truth, given, probs = noisy_digits[0.1]
    found = label_errors.label_issues(given, probs)
    flipped = set(np.flatnonzero(truth != given))
    precision = len(flipped & set(found.ranked)) / len(found.ranked)
    recall = len(flipped & set(found.ranked)) / len(flipped)
    assert precision > 0.7 and recall > 0.7
    assert abs(found.estimated_errors - len(flipped)) < 0.3 * len(flipped)
    # likely_label names the true digit for most flagged items
    assert np.mean(found.likely_label[found.ranked] == truth[found.ranked]) > 0.7


def test_label_quality_scores():
    probs = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    given = np.array([0, 1])
    np.testing.assert_allclose(label_errors.label_quality(given, probs), [0.7, 0.3])
    np.testing.assert_allclose(
        label_errors.label_quality(given, probs, "normalized_margin"),
        [(0.7 - 0.2 + 1) / 2, (0.3 - 0.6 + 1) / 2],
    )


def test_a_label_the_model_agrees_with_is_never_flagged():
    # item 3's given label (1) is wrong, but the model's top class is 1 too
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.9], [0.45, 0.55], [0.05, 0.95]])
    given = np.array([0, 0, 1, 1, 0])
    flagged = label_errors.find_label_issues(given, probs)
    assert flagged.tolist() == [False, False, False, False, True]


def test_out_of_sample_probabilities():
    X, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(X[:400], columns=[f"p{i}" for i in range(64)])
    labels = [str(v) for v in y[:400]]
    labels[7] = "9" if labels[7] != "9" else "1"  # a wrong label a fitted model would learn
    inputs = ModelInputs(numeric=tuple(frame.columns))
    probs, classes = label_errors.out_of_sample_probabilities(frame, labels, inputs)
    assert classes == sorted(set(labels)) and probs.shape == (400, len(classes))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    # out of sample: the model never saw item 7's wrong label, so it doubts it
    assert probs[7, classes.index(labels[7])] < 0.5
    with pytest.raises(ValueError, match="2\\+ items each"):
        label_errors.out_of_sample_probabilities(frame.iloc[:3], ["a", "a", "b"], inputs)


def test_calibration_needs_items_to_calibrate_on_and_averages_the_folds():
    X, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(X[:200], columns=[f"p{i}" for i in range(64)])
    inputs = ModelInputs(numeric=tuple(frame.columns))
    labels = ["a" if v < 5 else "b" for v in y[:200]]
    found = label_errors.cross_validated(frame, labels, inputs)
    assert found.calibration == "sigmoid" and len(found.fold_models) == 5
    mean = np.mean([m.predict_proba(frame.iloc[:4]) for m in found.fold_models], axis=0)
    np.testing.assert_allclose(found.predict_proba(frame.iloc[:4]), mean)
    # fewer than 50 items of a class: a sigmoid fitted on them would be noise
    rare = ["b"] * (label_errors.MIN_CALIBRATION_ITEMS - 1) + ["a"] * 151
    assert label_errors.cross_validated(frame, rare, inputs).calibration is None
    # the linear SVM calibrates itself
    assert label_errors.cross_validated(frame, labels, inputs, "linear_svm").calibration is None


def _crowd_votes(truth: np.ndarray, k: int, seed: int) -> pd.DataFrame:
    """k of five annotators (accuracy 0.95 down to 0.55) per item, binary labels."""
    rng = np.random.default_rng(seed)
    accuracy = np.array([0.95, 0.85, 0.75, 0.65, 0.55])
    rows = []
    for item, label in enumerate(truth):
        for annotator in rng.choice(5, size=k, replace=False):
            right = rng.random() < accuracy[annotator]
            rows.append((item, f"a{annotator}", str(label if right else 1 - label)))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


@pytest.mark.parametrize("k", [1, 2])
def test_calibrated_probabilities_show_where_the_crowd_is_wrong(k):
    """SMS spam (1,000 texts), k votes per item from annotators of mixed quality, the
    model trained on their majority as the training job trains it (a tied item has no
    final label: the fold models predict it). With calibrated out-of-sample
    probabilities the model-aware consensus quality ranks wrong consensus labels lower
    (higher AUROC for "wrong") and the consensus is no less accurate. Fixed seeds: the
    same figures on every run (k=1: 0.872 -> 0.924 accurate, AUROC of CROWDLAB's score
    0.784 -> 0.879; k=2: 0.951 -> 0.953, 0.859 -> 0.888). The product's quality (the
    consensus label's posterior) ranks better still and gains less from calibration
    (k=1: 0.875 -> 0.933; k=2: 0.957 -> 0.965)."""
    sms = pd.read_csv(Path(__file__).parents[1] / "data" / "sms-spam.csv").iloc[:1000]
    truth = sms["spam"].to_numpy(dtype=int)
    votes = _crowd_votes(truth, k, seed=2)
    counts = pd.crosstab(votes["item"], votes["label"]).reindex(columns=["0", "1"], fill_value=0)
    settled = (counts["1"] != counts["0"]).to_numpy()
    crowd = np.where(counts["1"] > counts["0"], "1", "0")[settled]
    X = sms[["text"]].astype(str)
    figures = []
    for calibrate in (False, True):
        folds = label_errors.cross_validated(
            X[settled], crowd, ModelInputs(text=("text",)), calibrate=calibrate
        )
        assert folds.calibration == ("sigmoid" if calibrate else None)
        probs = np.zeros((len(X), 2))
        probs[settled] = folds.probs
        if not settled.all():
            probs[~settled] = folds.predict_proba(X[~settled])
        result = model_aware_consensus(votes, pd.DataFrame(probs, columns=folds.classes))
        wrong = result.items["label"].to_numpy(dtype=int) != truth
        auroc = roc_auc_score(wrong, -result.items["crowdlab_quality"].to_numpy())
        quality = roc_auc_score(wrong, -result.items["confidence"].to_numpy())
        figures.append((float(np.mean(~wrong)), float(auroc), float(quality)))
    (plain_accuracy, plain_auroc, plain_quality), calibrated = figures
    calibrated_accuracy, calibrated_auroc, calibrated_quality = calibrated
    assert calibrated_auroc >= plain_auroc + 0.025
    assert calibrated_accuracy >= plain_accuracy
    assert calibrated_quality >= plain_quality and calibrated_quality > calibrated_auroc
