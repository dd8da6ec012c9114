"""The rating model: a ridge regression on the project's features, its metrics,
baselines, human level, and the queue's uncertainty from a committee's spread.

Ridge (scikit-learn) on the same features as a classifier would use; ordinal
projects snap predictions to the nearest scale point, interval ones keep the number.
The committee is ``COMMITTEE`` ridge fits on bootstrap resamples of the training
items, fitted with the model (so scoring the pool needs no refit): the standard
deviation of their predictions, over the scale's width, is the uncertainty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.metrics import cohen_kappa_score, mean_absolute_error, mean_squared_error
from sklearn.pipeline import Pipeline

from labeler.core.model_inputs import ModelInputs
from labeler.core.training import build_pipeline, single_blas_thread

STRATEGIES = ("random", "committee_spread")
COMMITTEE = 5


@dataclass
class RatingModel:
    pipeline: Pipeline
    points: tuple[float, ...]
    n_train: int
    committee: list[Pipeline] = field(default_factory=list)


def train(
    X: pd.DataFrame, y: np.ndarray, scale: Sequence[float], settings: Mapping[str, Any]
) -> RatingModel:
    """Fit the ridge pipeline and its bootstrap committee.

    Raises:
        ValueError: fewer than 2 training items, or X and y of different lengths.
    """
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} ratings")
    if len(y) < 2:
        raise ValueError("a rating model needs at least 2 final-labeled training items")
    seed = int(settings.get("random_state", 0))
    pipeline = build_pipeline(
        settings.get("inputs", ModelInputs()), "logistic_regression", {}, seed
    )
    pipeline.set_params(clf=Ridge(alpha=1.0))
    rng = np.random.default_rng(seed)
    committee = []
    with single_blas_thread():
        pipeline.fit(X, y)
        for _ in range(COMMITTEE):
            rows = rng.integers(0, len(y), len(y))
            member = clone(pipeline)
            member.fit(X.iloc[rows], y[rows])
            committee.append(member)
    return RatingModel(pipeline, tuple(scale), len(y), committee)


def predict(model: RatingModel, X: pd.DataFrame, snap: bool) -> np.ndarray:
    """Predictions clipped to the scale; ``snap`` rounds each to the nearest point."""
    predicted = np.asarray(model.pipeline.predict(X), dtype=np.float64)
    raw: np.ndarray = np.clip(predicted, model.points[0], model.points[-1])
    if not snap:
        return raw
    scale = np.asarray(model.points)
    return np.asarray(scale[np.abs(raw[:, None] - scale[None, :]).argmin(axis=1)], dtype=float)


def _nearest(values: np.ndarray, scale: Sequence[float]) -> np.ndarray:
    grid = np.asarray(scale)
    return np.asarray(np.abs(values[:, None] - grid[None, :]).argmin(axis=1))


def metrics(truth: np.ndarray, predicted: np.ndarray, scale: Sequence[float]) -> dict[str, Any]:
    """MAE and RMSE (scale units, 0 is perfect), Spearman's rank correlation (-1..1)
    and quadratic-weighted kappa (-1..1) of the predictions snapped to the scale."""
    if len(truth) == 0:
        raise ValueError("evaluation needs at least one final-labeled test item")
    # A constant side (a baseline, or one rating throughout) has no rank correlation.
    varies = len(truth) > 1 and np.ptp(truth) > 0 and np.ptp(predicted) > 0
    rho = float(spearmanr(truth, predicted).statistic) if varies else float("nan")
    codes = list(range(len(scale)))
    qwk = cohen_kappa_score(
        _nearest(truth, scale), _nearest(predicted, scale), labels=codes, weights="quadratic"
    )
    return {
        "n_test": int(len(truth)),
        "mae": float(mean_absolute_error(truth, predicted)),
        "rmse": float(np.sqrt(mean_squared_error(truth, predicted))),
        "spearman": None if np.isnan(rho) else float(rho),
        "qwk": None if np.isnan(qwk) else float(qwk),
    }


def baselines(
    train_y: np.ndarray, test_y: np.ndarray, scale: Sequence[float]
) -> dict[str, dict[str, Any]]:
    """Always the training median, always the training mean: a model must beat both."""
    if len(train_y) == 0 or len(test_y) == 0:
        raise ValueError("baselines need at least one training and one test rating")
    result = {}
    for name, value in (("median", float(np.median(train_y))), ("mean", float(train_y.mean()))):
        scores = metrics(test_y, np.full(len(test_y), value), scale)
        result[name] = {**scores, "value": value}
    return result


def human_level(votes: pd.DataFrame, interval: bool) -> dict[str, Any]:
    """Each annotator's MAE against the others' consensus of the same item (mean for
    interval scales, median for ordinal ones), on items with at least 2 other
    ratings. ``overall`` weights annotators by ratings scored; lower is better."""
    frame = votes.assign(value=votes["value"].astype(float))
    errors = []
    for _, group in frame.groupby("item"):
        if len(group) < 3:
            continue
        values = group["value"].to_numpy()
        for position, annotator in enumerate(group["annotator"]):
            others = np.delete(values, position)
            centre = others.mean() if interval else np.sort(others)[(len(others) - 1) // 2]
            errors.append((annotator, abs(values[position] - centre)))
    table = pd.DataFrame(errors, columns=["annotator", "error"])
    per = table.groupby("annotator")["error"].agg(["mean", "size"])
    n_scored = int(per["size"].sum()) if len(per) else 0
    return {
        "metric": "mae",
        "overall": float(table["error"].mean()) if n_scored else None,
        "n_annotations_scored": n_scored,
        "n_items": int(frame["item"].nunique()),
        "per_annotator": [
            {
                "annotator": a.item() if isinstance(a, np.generic) else a,
                "n_items": int(r["size"]),
                "mae": float(r["mean"]),
            }
            for a, r in per.iterrows()
        ],
    }


def uncertainty(model: RatingModel, pool: pd.DataFrame, strategy: str) -> np.ndarray:
    """``committee_spread``: the committee's prediction spread / the scale's width, 0..1."""
    if strategy == "random":
        return np.random.default_rng(0).random(len(pool))
    if strategy != "committee_spread":
        raise ValueError(f"strategy: unknown {strategy!r}; choose one of {list(STRATEGIES)}")
    if len(pool) == 0:
        return np.zeros(0)
    votes = np.stack([member.predict(pool) for member in model.committee])
    width = max(model.points[-1] - model.points[0], 1e-12)
    return np.asarray(np.clip(votes.std(axis=0) * 2 / width, 0.0, 1.0), dtype=float)
