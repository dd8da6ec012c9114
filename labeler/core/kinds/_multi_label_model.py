"""The multi-label model: one-vs-rest on the project's pipeline, its metrics,
baselines, human level and queue uncertainty.

Targets are a items x labels 0/1 indicator matrix in the label set's order. The
estimator is the project's own (``labeler.core.training.build_pipeline``), wrapped in
scikit-learn's ``OneVsRestClassifier`` so each label gets a binary model of the same
kind; a label every training item has (or none has) gets a constant predictor.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    hamming_loss,
    precision_recall_fscore_support,
)
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

from labeler.core import sampling
from labeler.core.kinds._label_sets import CodedSets
from labeler.core.model_inputs import ModelInputs
from labeler.core.training import build_pipeline, single_blas_thread

STRATEGIES = ("random", *sampling.MULTILABEL_STRATEGIES)


@dataclass
class MultiLabelModel:
    """A fitted one-vs-rest pipeline and the labels its columns stand for."""

    pipeline: Pipeline
    labels: tuple[str, ...]
    n_train: int

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Items x labels probability that each label applies, 0..1."""
        return np.asarray(self.pipeline.predict_proba(X), dtype=np.float64)


def indicator(values: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """The items x labels 0/1 matrix of label sets."""
    position = {label: index for index, label in enumerate(labels)}
    matrix = np.zeros((len(values), len(labels)), dtype=np.int64)
    for row, value in enumerate(values):
        for label in value:
            matrix[row, position[label]] = 1
    return matrix


def train(
    X: pd.DataFrame, y: np.ndarray, labels: Sequence[str], settings: Mapping[str, Any]
) -> MultiLabelModel:
    """Fit one binary model per label on the project's pipeline.

    Raises:
        ValueError: fewer than 2 training items, or X and y of different lengths.
    """
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} label sets")
    if len(y) < 2:
        raise ValueError("a multi-label model needs at least 2 final-labeled training items")
    pipeline = build_pipeline(
        settings.get("inputs", ModelInputs()),
        settings.get("estimator", "logistic_regression"),
        settings.get("params"),
        int(settings.get("random_state", 0)),
    )
    pipeline.set_params(clf=OneVsRestClassifier(pipeline.named_steps["clf"]))
    with single_blas_thread(), warnings.catch_warnings():
        # A label present in all (or no) training items gets a constant predictor,
        # which is what we want; scikit-learn warns about it.
        warnings.filterwarnings("ignore", message="Label .* is present in all training")
        warnings.filterwarnings("ignore", message="Label not .* is present in all training")
        pipeline.fit(X, y)
    return MultiLabelModel(pipeline, tuple(labels), len(y))


def predict_indicator(model: MultiLabelModel, X: pd.DataFrame) -> np.ndarray:
    return (model.predict_proba(X) >= 0.5).astype(np.int64)


def predict_sets(model: MultiLabelModel, X: pd.DataFrame) -> list[Any]:
    chosen = predict_indicator(model, X)
    return [[lbl for lbl, on in zip(model.labels, row, strict=True) if on] for row in chosen]


def metrics(truth: np.ndarray, predicted: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Micro and macro F1 (0..1, higher is better; micro pools every item-label
    decision, macro averages labels equally), Hamming loss (share of item-label
    decisions wrong, 0 is perfect), subset accuracy (share of items whose whole set
    is right) and per-label precision/recall/F1/support."""
    if len(truth) == 0:
        raise ValueError("evaluation needs at least one final-labeled test item")
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, zero_division=0
    )
    return {
        "n_test": int(len(truth)),
        "micro_f1": float(f1_score(truth, predicted, average="micro", zero_division=0)),
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "hamming_loss": float(hamming_loss(truth, predicted)),
        "subset_accuracy": float(accuracy_score(truth, predicted)),
        "labels": list(labels),
        "per_label": {
            label: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
        },
    }


def _summary(truth: np.ndarray, predicted: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    full = metrics(truth, predicted, labels)
    return {k: full[k] for k in ("micro_f1", "macro_f1", "hamming_loss", "subset_accuracy")}


def baselines(
    train_y: np.ndarray, test_y: np.ndarray, labels: Sequence[str], random_state: int = 0
) -> dict[str, dict[str, Any]]:
    """Models that ignore the items: ``majority`` gives each label its most frequent
    training answer; ``stratified`` gives each label at random at its training rate
    (one seeded draw). A model worth serving beats both."""
    if len(train_y) == 0 or len(test_y) == 0:
        raise ValueError("baselines need at least one training and one test label set")
    rate = train_y.mean(axis=0)
    majority = np.broadcast_to((rate > 0.5).astype(np.int64), test_y.shape)
    draws = np.random.default_rng(random_state).random(test_y.shape)
    stratified = (draws < rate).astype(np.int64)
    return {
        "majority": {**_summary(test_y, majority, labels), "rates": rate.round(4).tolist()},
        "stratified": _summary(test_y, stratified, labels),
    }


def human_level(coded: CodedSets) -> dict[str, Any]:
    """Each annotator's micro-F1 against the per-label majority of the *other*
    annotators of an item (items with at least 2 other votes; items where the others
    tie on some label are skipped). ``overall`` weights annotators by items scored."""
    yes, voters = coded.yes_counts()
    own = coded.indicator[coded.set_code].astype(np.float64)
    others = voters[coded.item] - 1
    others_yes = yes[coded.item] - own
    share = np.divide(
        others_yes, others[:, None], out=np.zeros_like(own), where=others[:, None] > 0
    )
    scored = (others >= 2) & ~(np.abs(share - 0.5) < 1e-9).any(axis=1)
    reference = share > 0.5
    chose = own > 0.5
    frame = pd.DataFrame(
        {
            "annotator": coded.annotators[coded.annotator[scored]],
            "tp": (chose & reference)[scored].sum(axis=1),
            "fp": (chose & ~reference)[scored].sum(axis=1),
            "fn": (~chose & reference)[scored].sum(axis=1),
            "n": 1,
        }
    )
    per = frame.groupby("annotator", sort=True)[["tp", "fp", "fn", "n"]].sum()
    denominator = 2 * per["tp"] + per["fp"] + per["fn"]
    per["micro_f1"] = np.where(denominator > 0, 2 * per["tp"] / denominator.clip(lower=1), 1.0)
    n_scored = int(per["n"].sum())
    overall = float((per["micro_f1"] * per["n"]).sum() / n_scored) if n_scored else None
    return {
        "metric": "micro_f1",
        "overall": overall,
        "n_annotations_scored": n_scored,
        "n_items": len(coded.items),
        "per_annotator": [
            {"annotator": _plain(a), "n_items": int(row.n), "micro_f1": float(row.micro_f1)}
            for a, row in per.iterrows()
        ],
    }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def uncertainty(model: MultiLabelModel, pool: pd.DataFrame, strategy: str) -> np.ndarray:
    """One score per pool row, 0..1, higher = more useful to label next."""
    if strategy == "random":
        return np.random.default_rng(0).random(len(pool))
    return sampling.multilabel_scores(model.pipeline, pool, strategy)
