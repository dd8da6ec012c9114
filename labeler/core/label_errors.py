"""Label errors by confident learning: which final labels are probably wrong.

Input is each labeled item's given label (an integer code) and the model's
out-of-sample probabilities for it (K-fold cross validation, so no item is scored by
a model that saw its label). Confident learning (Northcutt et al., 2021) then
estimates, per class, how sure the model must be before it counts an item as "truly"
of that class (the class's mean self-confidence), counts the confident joint of
given x likely-true labels, calibrates it to the label counts, and for every
off-diagonal cell flags that many items of the given class whose margin towards the
other class is largest.

The steps follow cleanlab 2.9's ``find_label_issues`` with its defaults
(``filter_by="prune_by_noise_rate"``, ``frac_noise=1``, ``min_examples_per_class=1``);
``tests/core/test_label_errors.py`` checks the flagged set against it on the same
probabilities. Why it is written here rather than imported: see DEVELOPERS.md,
"Label quality" (cleanlab's weight and speed were measured in
``benchmarks/bench_label_quality.py``).

Which task kinds this carries to: anything with class probabilities per item
(single label; multi-label one label at a time, as one-vs-rest). Ratings, spans and
pairwise choices have no class probabilities in this sense.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold

from labeler.core import training
from labeler.core.model_inputs import ModelInputs

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
QualityMethod = Literal["self_confidence", "normalized_margin"]

FOLDS = 5  # out-of-sample folds; fewer when the rarest class has fewer items
_FUZZ = 1e-6  # cleanlab's FLOATING_POINT_COMPARISON: probabilities this close are equal
_THRESHOLD_FLOOR = 2e-6


def confident_thresholds(given: IntArray, probs: FloatArray) -> FloatArray:
    """Per class, the mean probability the model gives that class on items labeled
    with it (0..1). An item counts as confidently of class j when p_j reaches it;
    a class nobody gave gets 2, which no probability reaches."""
    n_classes = probs.shape[1]
    thresholds = np.full(n_classes, 2.0)
    for label in np.unique(given):
        thresholds[label] = probs[given == label, label].mean()
    clipped: FloatArray = np.clip(thresholds, _THRESHOLD_FLOOR, None)
    return clipped


def _round_keeping_sum(values: FloatArray) -> IntArray:
    """Round to integers whose sum is the rounded sum of ``values`` (largest
    remainders move first), as cleanlab's ``round_preserving_sum``."""
    ints = values.round()
    target = round(float(values.sum()))
    while abs(ints.sum() - target) > _FUZZ:
        difference = target - ints.sum()
        step = 1 if difference > 0 else -1
        changes = min(int(abs(difference)), len(values))
        order = np.argsort(values - ints)[::-step][:changes]
        ints[order] += step
    return ints.astype(np.int64)


def _round_rows(matrix: FloatArray) -> IntArray:
    return np.vstack([_round_keeping_sum(row) for row in matrix]).astype(np.int64)


def confident_joint(given: IntArray, probs: FloatArray, calibrate: bool = True) -> IntArray:
    """Counts of (given label, likely true label), classes x classes.

    An item is counted when some class reaches its threshold: under the one it
    reaches, or the model's top class when several do. The diagonal is at least 1.
    ``calibrate`` rescales each row to the given label's count and the whole to
    the number of items, then rounds keeping row totals: an estimate of how many
    items of given label i are truly j.
    """
    n_classes = probs.shape[1]
    confident = probs >= confident_thresholds(given, probs) - _FUZZ
    n_confident = confident.sum(axis=1)
    guess = np.where(n_confident > 1, probs.argmax(axis=1), confident.argmax(axis=1))
    counted = n_confident > 0
    # Column-major, as cleanlab's (a transposed confusion matrix): see below.
    joint = np.zeros((n_classes, n_classes), dtype=np.int64, order="F")
    np.add.at(joint, (given[counted], guess[counted]), 1)
    np.fill_diagonal(joint, np.maximum(joint.diagonal(), 1))
    if not calibrate:
        return joint
    label_counts = np.bincount(given, minlength=n_classes)
    # Written as cleanlab writes it, on the same memory layout: layout and transposes
    # set the summation order, and a last-bit difference in the total can move a tied
    # rounding, and so one flagged item.
    scaled = (joint.T / np.clip(joint.sum(axis=1), 1e-100, None) * label_counts).T
    scaled = scaled / np.clip(np.sum(scaled), 1e-100, None) * int(label_counts.sum())
    return _round_rows(scaled)


def label_quality(
    given: IntArray, probs: FloatArray, method: QualityMethod = "self_confidence"
) -> FloatArray:
    """How likely each given label is right, 0..1 (low: look at it first).

    ``self_confidence`` is the model's probability of the given label;
    ``normalized_margin`` is (p_given - max p_other + 1) / 2, so 0.5 means the model
    is torn between the given label and another one.
    """
    rows = np.arange(len(given))
    own = probs[rows, given]
    if method == "self_confidence":
        return np.asarray(own, dtype=np.float64)
    others = probs.copy()
    others[rows, given] = -np.inf
    margin: FloatArray = (own - others.max(axis=1) + 1.0) / 2.0
    return margin


def find_label_issues(given: IntArray, probs: FloatArray) -> BoolArray:
    """Which items' given labels are probably wrong (confident learning, pruning by
    noise rate). For each off-diagonal cell (given i, true j) of the calibrated
    confident joint, that many items of given label i with the largest p_j - p_i are
    flagged; a class with a single item is never pruned; an item whose given label
    is also the model's top label is never flagged.
    """
    given = np.asarray(given, dtype=np.int64)
    n_classes = probs.shape[1]
    joint = confident_joint(given, probs)
    flagged = np.zeros(len(given), dtype=bool)
    for label in range(n_classes):
        members = np.flatnonzero(given == label)
        if len(members) <= 1:
            continue
        for other in range(n_classes):
            to_prune = int(joint[label, other])
            if other == label or to_prune <= 0:
                continue
            margin = probs[members, other] - probs[members, label]
            flagged[members[np.argsort(-margin, kind="stable")[:to_prune]]] = True
    nudged = probs.copy()
    nudged[np.arange(len(given)), given] += _FUZZ
    flagged[nudged.argmax(axis=1) == given] = False
    return flagged


@dataclass(frozen=True)
class LabelIssues:
    """What confident learning found.

    ``ranked``: positions of the flagged items, most likely wrong first (lowest
    ``quality``). ``quality``: every item's label quality, 0..1. ``likely_label``:
    every item's most probable class code. ``joint``: the calibrated confident joint
    (given x true), whose off-diagonal sum estimates how many labels are wrong.
    """

    ranked: IntArray
    quality: FloatArray
    likely_label: IntArray
    joint: IntArray

    @property
    def estimated_errors(self) -> int:
        return int(self.joint.sum() - np.trace(self.joint))


def label_issues(
    given: IntArray, probs: FloatArray, method: QualityMethod = "self_confidence"
) -> LabelIssues:
    """Flag (:func:`find_label_issues`) and rank (:func:`label_quality`) in one call."""
    given = np.asarray(given, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or len(probs) != len(given):
        raise ValueError("probs must be items x classes, one row per given label")
    quality = label_quality(given, probs, method)
    flagged = np.flatnonzero(find_label_issues(given, probs))
    ranked = flagged[np.argsort(quality[flagged], kind="stable")]
    return LabelIssues(
        ranked.astype(np.int64),
        quality,
        probs.argmax(axis=1).astype(np.int64),
        confident_joint(given, probs),
    )


CALIBRATION = "sigmoid"  # Platt scaling; isotonic overfitted a few hundred labels (issue 17)
# Fewer items of a class and the sigmoid is fitted on noise: digits, one vote per item,
# 10 items per class: model-aware consensus fell from 0.59 to 0.47 accurate calibrated.
MIN_CALIBRATION_ITEMS = 50


@dataclass(frozen=True)
class CrossValidated:
    """Out-of-sample probabilities and the fold models that gave them.

    ``probs``: items x classes, each row from the fold model that did not see it.
    ``classes``: column order (sorted names). ``calibration``: "sigmoid" when each
    fold's estimator was calibrated on inner folds of its own training part, None
    when it was not (already calibrated, or too few items per class).
    ``fold_models``: the K fitted pipelines; :meth:`predict_proba` averages them, for
    items none of them saw (test items, items without a final label).
    """

    probs: FloatArray
    classes: list[str]
    calibration: str | None
    fold_models: tuple[Any, ...]

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:
        """The fold models' mean probabilities for ``X`` (columns as ``classes``)."""
        with training.single_blas_thread():
            total = sum(np.asarray(m.predict_proba(X), dtype=np.float64) for m in self.fold_models)
        mean: FloatArray = np.asarray(total, dtype=np.float64) / len(self.fold_models)
        return mean


def _calibration_folds(estimator: str, min_count: int, n_folds: int) -> int:
    """Inner folds for calibrating each outer fold's estimator, 0 for none: every class
    must appear in each inner fold of an outer training part, with
    :data:`MIN_CALIBRATION_ITEMS` items of the rarest class in all."""
    if estimator == "linear_svm" or min_count < MIN_CALIBRATION_ITEMS:
        return 0  # the SVM is sigmoid-calibrated already (estimators.py)
    smallest_part = min_count - -(-min_count // n_folds)  # a class's items in a training part
    return min(3, smallest_part) if smallest_part >= 2 else 0


def cross_validated(
    X: pd.DataFrame,
    y: Sequence[str],
    inputs: ModelInputs,
    estimator: str = "logistic_regression",
    params: Mapping[str, Any] | None = None,
    random_state: int = 0,
    calibrate: bool = True,
) -> CrossValidated:
    """Each row's class probabilities from the project's pipeline fitted on the other
    folds (stratified, shuffled K-fold, K = min(5, rarest class count)).

    With ``calibrate`` (and :data:`MIN_CALIBRATION_ITEMS` items of every class) each
    fold's estimator is wrapped in a sigmoid ``CalibratedClassifierCV`` (up to 3 inner
    folds). Why: trained on noisy labels and
    with balanced class weights, the plain model is confidently wrong where the crowd
    was wrong; calibrated, its doubt shows. On SMS spam with model-aware consensus
    (``benchmarks/bench_label_quality.py``, k = 1-3) this lifted the consensus quality's
    AUROC for "this consensus is wrong" from 0.76-0.91 to 0.91-0.94, and its accuracy
    from 0.88-0.96 to 0.95-0.98.

    Raises:
        ValueError: a class has fewer than 2 items (no fold could hold it out), or
            fewer than 2 classes.
    """
    labels = np.asarray([str(label) for label in y], dtype=object)
    classes, counts = np.unique(labels, return_counts=True)
    # linear_svm calibrates on 2 folds inside each training fold: 4 per class at least.
    minimum = 4 if estimator == "linear_svm" else 2
    if len(classes) < 2 or counts.min() < minimum:
        raise ValueError(f"out-of-sample probabilities need 2+ classes with {minimum}+ items each")
    n_folds = min(FOLDS, int(counts.min()))
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=random_state)
    pipeline = training.build_pipeline(inputs, estimator, params, random_state)
    if estimator == "linear_svm":
        pipeline.set_params(clf__cv=2)  # its calibration folds split each training fold again
    inner = _calibration_folds(estimator, int(counts.min()), n_folds) if calibrate else 0
    if inner:
        clf = pipeline.named_steps["clf"]
        pipeline.set_params(clf=CalibratedClassifierCV(clf, method=CALIBRATION, cv=inner))
    probs = np.zeros((len(labels), len(classes)), dtype=np.float64)
    models = []
    with training.single_blas_thread():  # what cross_val_predict does, keeping the models
        for train_rows, test_rows in folds.split(X, labels):
            model = clone(pipeline).fit(X.iloc[train_rows], labels[train_rows])
            probs[test_rows] = model.predict_proba(X.iloc[test_rows])
            models.append(model)
    return CrossValidated(
        probs, [str(c) for c in classes], CALIBRATION if inner else None, tuple(models)
    )


def out_of_sample_probabilities(
    X: pd.DataFrame,
    y: Sequence[str],
    inputs: ModelInputs,
    estimator: str = "logistic_regression",
    params: Mapping[str, Any] | None = None,
    random_state: int = 0,
    calibrate: bool = True,
) -> tuple[FloatArray, list[str]]:
    """:func:`cross_validated`'s probabilities and class names (sorted), alone.

    Raises:
        ValueError: as :func:`cross_validated`.
    """
    found = cross_validated(X, y, inputs, estimator, params, random_state, calibrate)
    return found.probs, found.classes
