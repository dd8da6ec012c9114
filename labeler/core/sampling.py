"""Which unlabeled items to label next: uncertainty scores for the queue.

The only module that imports modAL (0.4.2.1, unmaintained). Its learners' ``fit``
and ``teach`` break on scikit-learn >= 1.8 (``force_all_finite``) and
``modAL.expected_error`` fails to import on numpy 2, so labeler keeps its own
labeled/pool bookkeeping, fits estimators itself (``labeler.core.training``), and calls
only modAL's measures: ``classifier_uncertainty``/``classifier_margin``/
``classifier_entropy``, ``vote_entropy`` over a ``Committee`` of already-fitted
learners, and ``uncertainty_batch_sampling``.

Every score is in 0..1 and higher means more useful to label next; the queue
orders by score, highest first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from modAL.batch import uncertainty_batch_sampling
from modAL.disagreement import vote_entropy
from modAL.models import ActiveLearner, Committee
from modAL.multilabel import max_loss
from modAL.uncertainty import classifier_entropy, classifier_margin, classifier_uncertainty
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from labeler.core.training import TrainedModel, single_blas_thread

STRATEGIES = ("random", "least_confident", "margin", "entropy", "committee", "batch_diverse")
"""``batch_diverse`` is for jobs only (``select_batch``); ``score_pool`` gives it
least-confident scores so the queue still has an order between batch runs."""

MULTILABEL_STRATEGIES = ("min_margin", "mean_entropy", "max_loss")
"""For a fitted one-vs-rest pipeline (``labeler.core.kinds.multi_label``). modAL's
``max_loss`` works on scikit-learn 1.9 with such a pipeline; its
``SVM_binary_minimum`` does not (it reads ``classifier.estimator.estimators_``,
which a pipeline has not)."""


def multilabel_scores(pipeline: Pipeline, X_pool: pd.DataFrame, strategy: str) -> np.ndarray:
    """One score per pool row, 0..1, higher = more useful to label next.

    - ``min_margin``: 1 - the smallest |2p - 1| over labels: the item with one label
      nearest its decision boundary.
    - ``mean_entropy``: the mean over labels of the binary entropy of p, / log 2.
    - ``max_loss``: modAL's max loss (Li et al. 2004) over the labels, / 2 x labels.
    """
    if len(X_pool) == 0:
        return np.zeros(0)
    if strategy == "max_loss":
        n_labels = max(len(pipeline.classes_), 1)
        order, values = max_loss(pipeline, X_pool, n_instances=len(X_pool))
        scores = np.empty(len(X_pool))
        scores[np.asarray(order)] = np.asarray(values, dtype=float) / (2 * n_labels)
        return np.clip(scores, 0.0, 1.0)
    proba = np.clip(np.asarray(pipeline.predict_proba(X_pool), dtype=float), 1e-12, 1 - 1e-12)
    if strategy == "min_margin":
        return np.asarray(1.0 - np.abs(2 * proba - 1).min(axis=1), dtype=float)
    if strategy == "mean_entropy":
        entropy = -(proba * np.log(proba) + (1 - proba) * np.log(1 - proba))
        return np.asarray(entropy.mean(axis=1) / np.log(2), dtype=float)
    raise ValueError(f"strategy: unknown {strategy!r}; choose one of {list(MULTILABEL_STRATEGIES)}")


def _pipeline(model: TrainedModel | Pipeline) -> Pipeline:
    return model.pipeline if isinstance(model, TrainedModel) else model


def _n_classes(pipeline: Pipeline) -> int:
    return max(len(pipeline.classes_), 2)


def _committee_scores(
    pipeline: Pipeline,
    X_pool: pd.DataFrame,
    X_train: pd.DataFrame | None,
    y_train: Sequence[str] | None,
    committee_size: int,
    random_state: int,
) -> np.ndarray:
    """Vote entropy of a bagged committee, divided by its maximum (0..1).

    Members share the model's fitted features and bag only the final estimator:
    one pool transform instead of ``committee_size`` (21.8 s -> a few s on 100k texts).
    """
    if X_train is None or y_train is None:
        raise ValueError("committee sampling needs X_train and y_train to bag a committee")
    if committee_size < 2:
        raise ValueError(f"committee_size must be at least 2, got {committee_size}")
    labels = np.asarray([str(label) for label in y_train], dtype=object)
    classes, codes = np.unique(labels, return_inverse=True)
    rng = np.random.default_rng(random_state)
    featurise, estimator = pipeline[:-1], pipeline[-1]
    train_features = featurise.transform(X_train)
    learners = []
    for _ in range(committee_size):
        # Bootstrap within each label so every member knows every label.
        rows = np.concatenate(
            [
                rng.choice(np.flatnonzero(codes == c), np.sum(codes == c))
                for c in range(len(classes))
            ]
        )
        with single_blas_thread():
            member = clone(estimator).fit(train_features[rows], codes[rows])
        # modAL's Committee.vote stores votes in a float array: integer codes only.
        learners.append(ActiveLearner(estimator=member))
    committee = Committee(learner_list=learners)
    entropy = np.asarray(vote_entropy(committee, featurise.transform(X_pool)), dtype=float)
    return np.asarray(entropy / np.log(min(len(classes), committee_size)), dtype=float)


def score_pool(
    model: TrainedModel | Pipeline,
    X_pool: pd.DataFrame,
    strategy: str,
    random_state: int = 0,
    committee_size: int = 5,
    X_train: pd.DataFrame | None = None,
    y_train: Sequence[str] | None = None,
) -> np.ndarray:
    """One score per pool row, 0..1, higher = more useful to label next.

    - ``random``: uniform random in [0, 1) (the cold-start order).
    - ``least_confident`` and ``batch_diverse``: 1 - max probability, rescaled by
      K/(K-1) for K labels so that 1 means a uniform guess.
    - ``margin``: 1 - (top probability - second probability).
    - ``entropy``: entropy of the predicted distribution / log(K).
    - ``committee``: vote entropy of ``committee_size`` copies of the pipeline fit
      on stratified bootstrap samples of ``X_train``/``y_train``, / its maximum.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy: unknown {strategy!r}; choose one of {list(STRATEGIES)}")
    if strategy == "random":
        return np.random.default_rng(random_state).random(len(X_pool))
    pipeline = _pipeline(model)
    if len(X_pool) == 0:
        return np.zeros(0)
    n_classes = _n_classes(pipeline)
    if strategy == "margin":
        scores = 1.0 - np.asarray(classifier_margin(pipeline, X_pool), dtype=float)
    elif strategy == "entropy":
        scores = np.asarray(classifier_entropy(pipeline, X_pool), dtype=float) / np.log(n_classes)
    elif strategy == "committee":
        scores = _committee_scores(pipeline, X_pool, X_train, y_train, committee_size, random_state)
    else:
        uncertainty = np.asarray(classifier_uncertainty(pipeline, X_pool), dtype=float)
        scores = uncertainty * n_classes / (n_classes - 1)
    return np.clip(scores, 0.0, 1.0)


def select_batch(
    model: TrainedModel | Pipeline,
    X_pool: pd.DataFrame,
    n: int,
    X_labeled: pd.DataFrame | None = None,
    random_state: int = 0,
    candidates: int | None = 2000,
) -> np.ndarray:
    """Pick ``n`` pool rows that are uncertain *and* unlike each other and the labeled set.

    modAL's ranked batch-mode sampling (Cardoso et al. 2017) on the pipeline's
    features, among the ``candidates`` most uncertain rows (``None``: the whole
    pool, as published; each pick then measures distances from every pool row to
    every labeled row, ~2.5 s a pick on 100k texts x 2k labels). For jobs only.
    Returns pool row positions in pick order. Without ``X_labeled`` the most
    uncertain row seeds the batch (modAL's own cold start is O(pool^2) memory).
    ``random_state`` is accepted for a uniform interface; the picks are deterministic.
    """
    del random_state
    if n <= 0 or len(X_pool) == 0:
        return np.zeros(0, dtype=int)
    pipeline = _pipeline(model)
    features = pipeline[:-1].transform(X_pool)
    learner: Any = ActiveLearner(estimator=pipeline[-1])
    uncertainty = np.asarray(classifier_uncertainty(learner, features), dtype=float)
    rows = np.arange(len(X_pool))
    if candidates is not None and max(candidates, n) < len(rows):
        rows = np.sort(np.argpartition(-uncertainty, max(candidates, n))[: max(candidates, n)])
    picked: list[int] = []
    if X_labeled is None or len(X_labeled) == 0:
        picked.append(int(rows[np.argmax(uncertainty[rows])]))
        rows = rows[rows != picked[0]]
        learner.X_training = features[picked]
    else:
        learner.X_training = pipeline[:-1].transform(X_labeled)
    n_more = min(n, len(X_pool)) - len(picked)
    if n_more > 0:
        chosen, _ = uncertainty_batch_sampling(learner, features[rows], n_instances=n_more)
        picked.extend(int(rows[i]) for i in chosen)
    return np.asarray(picked, dtype=int)


def is_cold_start(
    label_counts: Mapping[str, int], labels: Sequence[str], min_per_label: int = 5
) -> bool:
    """True until every project label has at least ``min_per_label`` final labels.

    During cold start the queue is random (``score_pool(..., "random")``): a model
    that has not seen every label cannot say which items are uncertain about it.
    """
    return any(label_counts.get(label, 0) < min_per_label for label in labels)


def mix_random_share(scores: np.ndarray, share: float = 0.1, random_state: int = 0) -> np.ndarray:
    """Keep a random ``share`` (0..1) of the queue, spread evenly through it.

    A random subset of ``share * len(scores)`` rows is chosen; the j-th of them gets
    a score just above the uncertainty-ordered row at position ``j * (1 - share) /
    share``, so about one item in ``1/share`` from the top down is a random pick
    (with 0.1: positions 0, 10, 20, ...). Everyone else keeps their score, so the
    values still read as uncertainty (a random pick may exceed 1 by one ulp). The
    random picks keep the model honest about regions it is confidently wrong about,
    and give unbiased samples of the pool.
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"random share must be in 0..1, got {share}")
    mixed = np.asarray(scores, dtype=float).copy()
    n_random = int(round(share * len(mixed)))
    if n_random == 0 or share == 1.0:
        return mixed if n_random == 0 else np.random.default_rng(random_state).random(len(mixed))
    rng = np.random.default_rng(random_state)
    chosen = rng.choice(len(mixed), n_random, replace=False)
    rest = np.setdiff1d(np.arange(len(mixed)), chosen)
    ordered = np.sort(mixed[rest])[::-1]
    slots = np.minimum((np.arange(n_random) * (1 - share) / share).astype(int), len(ordered) - 1)
    mixed[chosen] = np.nextafter(ordered[slots], np.inf) if len(ordered) else 1.0
    return mixed
