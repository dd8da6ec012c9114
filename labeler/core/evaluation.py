"""How good the model is, honestly: test-split metrics, baselines, human level, errors.

Pure core. Everything returned is JSON-serialisable (plain floats, ints, strings,
lists, dicts; an undefined figure is ``None``). Scores are computed on the
final-labeled test-split items the caller passes; the test split is never chosen
by the model, so these are unbiased estimates.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)

from labeler.core.agreement import leave_one_out_accuracy
from labeler.core.training import TrainedModel

_HIGHER_IS_BETTER = {"accuracy": True, "macro_f1": True, "log_loss": False}


def _labels(values: Sequence[Any] | np.ndarray) -> np.ndarray:
    return np.asarray([str(value) for value in values], dtype=object)


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def _log_loss(model: TrainedModel, proba: np.ndarray, y_true: np.ndarray) -> dict[str, Any]:
    """Log loss over the items whose label the model knows; the rest are counted apart."""
    known = np.isin(y_true, model.classes)
    unknown = sorted(set(y_true[~known]))
    value = None
    if known.any():
        value = float(log_loss(y_true[known], proba[known], labels=model.classes))
    return {"log_loss": value, "n_log_loss": int(known.sum()), "labels_unknown_to_model": unknown}


def evaluate(
    model: TrainedModel, X_test: pd.DataFrame, y_test: Sequence[str], n_boot: int = 1000
) -> dict[str, Any]:
    """Score ``model`` on the final-labeled test items.

    Returns accuracy and macro precision/recall/F1 (0..1, higher is better; macro
    averages over labels present in the truth or the predictions, as scikit-learn
    does, counting an undefined precision as 0), 95% bootstrap intervals on
    accuracy and macro-F1, ``per_class`` precision/recall/F1/support for every
    model and test label, the confusion ``matrix`` (rows true, columns predicted,
    in ``labels`` order), log loss (nats, 0 is perfect; a uniform guess over K
    labels scores log K; items with a label the model never saw are left out and
    listed) and ``n_test``.
    """
    y_true = _labels(y_test)
    if len(y_true) == 0:
        raise ValueError("evaluation needs at least one final-labeled test item")
    proba = model.predict_proba(X_test)
    y_pred = np.asarray(model.classes, dtype=object)[proba.argmax(axis=1)]
    labels = list(model.classes) + sorted(set(y_true) - set(model.classes))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    macro = precision_recall_fscore_support(y_true, y_pred, average="macro", zero_division=0)
    return {
        "n_test": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_precision": float(macro[0]),
        "macro_recall": float(macro[1]),
        "macro_f1": float(macro[2]),
        "accuracy_interval": list(bootstrap_interval(y_true, y_pred, "accuracy", n_boot)),
        "macro_f1_interval": list(bootstrap_interval(y_true, y_pred, "macro_f1", n_boot)),
        "labels": labels,
        "per_class": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        **_log_loss(model, proba, y_true),
    }


def baselines(
    y_train: Sequence[str], y_test: Sequence[str], random_state: int = 0
) -> dict[str, dict[str, Any]]:
    """What a model that ignores the items would score on the same test items.

    ``majority`` always answers the most frequent training label; ``stratified``
    answers at random with the training label frequencies (one seeded draw). Each
    has ``accuracy`` and ``macro_f1`` (0..1); a model worth serving beats both.
    """
    train, test = _labels(y_train), _labels(y_test)
    if len(train) == 0 or len(test) == 0:
        raise ValueError("baselines need at least one training and one test label")
    result: dict[str, dict[str, Any]] = {}
    for name, strategy in (("majority", "most_frequent"), ("stratified", "stratified")):
        dummy = DummyClassifier(strategy=strategy, random_state=random_state)
        dummy.fit(np.zeros((len(train), 1)), train)
        predicted = dummy.predict(np.zeros((len(test), 1)))
        result[name] = {
            "accuracy": float(accuracy_score(test, predicted)),
            "macro_f1": _macro_f1(test, predicted),
        }
    result["majority"]["label"] = str(pd.Series(train).value_counts().index[0])
    return result


def compare_to_previous(
    current_metrics: Mapping[str, Any], previous_metrics: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Per metric (accuracy, macro_f1, log_loss): current, previous, delta, better.

    ``delta`` is current - previous (for log loss, negative is an improvement);
    ``better`` is None when either side lacks the figure. ``better_on_all`` is True
    only when every comparable metric improved or held.
    """
    previous = previous_metrics or {}
    result: dict[str, Any] = {}
    verdicts = []
    for name, higher_is_better in _HIGHER_IS_BETTER.items():
        now, before = current_metrics.get(name), previous.get(name)
        if now is None or before is None:
            result[name] = {"current": now, "previous": before, "delta": None, "better": None}
            continue
        delta = float(now) - float(before)
        better = delta >= 0 if higher_is_better else delta <= 0
        verdicts.append(better)
        result[name] = {"current": now, "previous": before, "delta": delta, "better": better}
    result["better_on_all"] = bool(verdicts) and all(verdicts)
    return result


def human_level_performance(frame: pd.DataFrame) -> dict[str, Any]:
    """How often annotators match the others' majority on multiply-labeled test items.

    ``frame`` is long: ``item``, ``annotator``, ``label``. Each annotator is
    scored against the majority of the *other* annotators of an item; with two
    annotators (k = 2) against the other one. Items where the others tie are skipped
    (``labeler.core.agreement.leave_one_out_accuracy``). ``overall`` (0..1) weights each
    annotator by the annotations scored, so it reads as "a random scored label
    matches the others' majority this often"; ``None`` when nothing could be scored.
    A model near or above ``overall`` is as good as the labels allow.
    """
    per_annotator = leave_one_out_accuracy(frame, min_others=1)
    scored = per_annotator[per_annotator["n_items"] > 0]
    n_scored = int(scored["n_items"].sum())
    overall = None
    if n_scored:
        overall = float((scored["accuracy"] * scored["n_items"]).sum() / n_scored)
    return {
        "overall": overall,
        "n_annotations_scored": n_scored,
        "n_items": int(frame["item"].nunique()),
        "per_annotator": [
            {
                "annotator": _plain(row.annotator),
                "n_items": int(row.n_items),
                "accuracy": None if pd.isna(row.accuracy) else float(row.accuracy),
            }
            for row in per_annotator.itertuples(index=False)
        ],
    }


def _plain(value: Hashable) -> Any:
    """numpy scalars to Python ones, so the result serialises as JSON."""
    return value.item() if isinstance(value, np.generic) else value


_BOOTSTRAP_BLOCK = 65_536  # resampled items drawn at once (0.5 MB of int64: stays in cache)


def bootstrap_interval(
    y_true: Sequence[str] | np.ndarray,
    y_pred: Sequence[str] | np.ndarray,
    metric: str = "accuracy",
    n_boot: int = 1000,
    level: float = 0.95,
    random_state: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval for ``accuracy`` or ``macro_f1`` (both 0..1).

    Resamples test items with replacement ``n_boot`` times; with 50 test items a
    95% interval on accuracy is typically +-0.1 or more, so two versions whose
    intervals overlap heavily are not clearly different.
    """
    if metric not in ("accuracy", "macro_f1"):
        raise ValueError(f"metric: {metric!r} is not 'accuracy' or 'macro_f1'")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    truth, predicted = _labels(y_true), _labels(y_pred)
    if len(truth) == 0:
        return (float("nan"), float("nan"))
    labels, codes = np.unique(np.concatenate([truth, predicted]), return_inverse=True)
    k = len(labels)
    pairs = codes[: len(truth)] * k + codes[len(truth) :]
    rng = np.random.default_rng(random_state)
    values = np.empty(n_boot)
    # Resamples in blocks of arrays, not one Python step each (a training job draws 2 x
    # 1,000 per version); drawing a block of rows takes the same numbers from ``rng``
    # as drawing its rows one by one, so the intervals are the loop's.
    block = max(1, _BOOTSTRAP_BLOCK // len(pairs))
    for start in range(0, n_boot, block):
        size = min(block, n_boot - start)
        sample = pairs[rng.integers(0, len(pairs), (size, len(pairs)))]
        sample += (np.arange(size) * (k * k))[:, None]
        matrices = np.bincount(sample.ravel(), minlength=size * k * k).reshape(size, k, k)
        values[start : start + size] = _score_matrices(matrices, metric)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return (float(low), float(high))


def _score_matrices(matrices: np.ndarray, metric: str) -> np.ndarray:
    """Accuracy or macro-F1 of each confusion matrix in a stack (resamples x k x k);
    macro-F1 averages the labels present in that matrix (true or predicted)."""
    hits = np.einsum("bii->bi", matrices).astype(np.float64)
    if metric == "accuracy":
        result: np.ndarray = hits.sum(axis=1) / matrices.sum(axis=(1, 2))
        return result
    both = matrices.sum(axis=2) + matrices.sum(axis=1)  # true + predicted counts
    present = both > 0
    f1 = np.where(present, 2 * hits / np.maximum(both, 1), 0.0)
    result = f1.sum(axis=1) / present.sum(axis=1)
    return result


def learning_curve_point(
    n_train_labels: int, metrics: Mapping[str, Any], baselines: Mapping[str, Any]
) -> dict[str, Any]:
    """One flat record for the learning-curve plot: model vs baselines at a label count."""
    point: dict[str, Any] = {"n_train_labels": int(n_train_labels)}
    for name in ("accuracy", "macro_f1", "log_loss", "n_test"):
        point[name] = metrics.get(name)
    for name in ("accuracy", "macro_f1"):
        low, high = metrics.get(f"{name}_interval") or (None, None)
        point[f"{name}_low"], point[f"{name}_high"] = low, high
    for baseline, figures in baselines.items():
        for name in ("accuracy", "macro_f1"):
            point[f"{baseline}_{name}"] = figures.get(name)
    return point


def error_analysis(
    model: TrainedModel,
    X: pd.DataFrame,
    y: Sequence[str],
    item_ids: Sequence[Hashable],
    confidence_threshold: float = 0.8,
) -> dict[str, list[dict[str, Any]]]:
    """Misclassified items, and the subset the model contradicts with confidence.

    Each entry is ``{item, label, predicted, confidence}`` where ``confidence`` is
    the model's probability for ``predicted`` (0..1); both lists are sorted by
    confidence, highest first. ``likely_label_errors`` are those with confidence
    >= ``confidence_threshold``: worth a reviewer's look, since a confident model
    that disagrees with the final label is often right.
    """
    truth = _labels(y)
    if not len(truth) == len(X) == len(item_ids):
        raise ValueError("X, y and item_ids must have the same length")
    proba = model.predict_proba(X)
    best = proba.argmax(axis=1)
    predicted = np.asarray(model.classes, dtype=object)[best]
    confidence = proba[np.arange(len(best)), best]
    wrong = np.flatnonzero(predicted != truth)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
    misclassified = [
        {
            "item": _plain(item_ids[int(i)]),
            "label": str(truth[i]),
            "predicted": str(predicted[i]),
            "confidence": float(confidence[i]),
        }
        for i in wrong
    ]
    likely = [entry for entry in misclassified if entry["confidence"] >= confidence_threshold]
    return {"misclassified": misclassified, "likely_label_errors": likely}
