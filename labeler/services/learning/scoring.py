"""Score the open train pool with a model and turn the scores into queue ranks.

The queue (``labeler.services.labeling.queue``) walks ``(queue_tier, queue_rank)`` in one
indexed query; this module is how the model steers it (DESIGN.md, queue steps 3-4):

- train items get ``queue_rank = position / N`` in the model's usefulness order
  (highest score first), with a random share of them kept at random positions
  (``sampling.mix_random_share``) so the model keeps seeing unbiased samples;
- test items keep their random order, never the model's: their ranks are the same
  seeded random permutation spread over [0, 1) again, so that below any rank the
  open pool is test items and train items in their current proportion, i.e. test
  items keep arriving at the test fraction;
- during cold start (too few labels of some label) ranks are not touched.

:func:`rank_open_pool` does all of it for one model; the training job calls it for a
new champion, the scoring job (``labeler.services.learning.scoring_job``) after a person
promotes a version or rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, func, select, update

from labeler.core import sampling
from labeler.core.kinds import KindContext, TaskKind
from labeler.core.training import TrainedModel
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import Item, Project
from labeler.services.learning import scoring_window
from labeler.services.learning.training_data import (
    LabeledFrame,
    label_counts,
    pool_batches,
    pool_data_batches,
    pool_filter,
    pool_ids,
)

Progress = Callable[[float, str], None]
WRITE_BATCH = 5000
# batch_diverse: how many items one diverse batch holds at least, and how far down the
# uncertainty order it looks (select_batch costs one distance pass per pick).
DIVERSE_BATCH_MIN, DIVERSE_CANDIDATES = 10, 20
# rank_open_pool: the share of its progress that scoring takes (writing takes the rest).
SCORING_SHARE = 0.66


@dataclass(frozen=True)
class PoolScores:
    """Scores of the open train items (0..1, higher = more useful to label next)."""

    item_ids: np.ndarray
    scores: np.ndarray
    X: pd.DataFrame | None = None  # kept only when a strategy needs the rows again


def score_open_pool(
    project: Project,
    model: TrainedModel,
    train: LabeledFrame,
    strategy: str,
    progress: Progress,
    batch_size: int = WRITE_BATCH,
    open_ids: np.ndarray | None = None,
) -> PoolScores:
    """Read the open train items (or ``open_ids`` of them) in batches and score them
    with ``strategy``.

    ``committee`` bags its committee once over the whole pool (a committee per batch
    would refit it every batch); ``batch_diverse`` keeps the rows for ``select_batch``.
    """
    whole = strategy in ("committee", "batch_diverse")
    ids: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    frames: list[pd.DataFrame] = []
    if open_ids is None:
        open_ids = pool_ids(project, "train", by_rank=False)
    total = max(int(open_ids.size), 1)
    done = 0
    for batch_ids, X in pool_batches(project, open_ids, batch_size):
        ids.append(batch_ids)
        if whole:
            frames.append(X)
        else:
            scores.append(sampling.score_pool(model, X, strategy, random_state=done))
        done += len(batch_ids)
        progress(done / total, f"scored {done:,} of {total:,} open items")
    item_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
    if not whole:
        return PoolScores(item_ids, np.concatenate(scores) if scores else np.zeros(0))
    X_all = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    values = (
        sampling.score_pool(model, X_all, strategy, X_train=train.X, y_train=train.y)
        if len(X_all)
        else np.zeros(0)
    )
    return PoolScores(item_ids, values, X_all if strategy == "batch_diverse" else None)


def usefulness_order(
    project: Project, model: TrainedModel, pool: PoolScores, train: LabeledFrame, strategy: str
) -> np.ndarray:
    """Positions into ``pool`` in the order the queue should ask them (most useful first).

    A random share of the queue stays random (``project.random_share``). With
    ``batch_diverse`` the first batch is modAL's ranked batch (uncertain *and* unlike
    each other and the labeled items), taken from the most uncertain candidates.
    """
    n = len(pool.scores)
    if n == 0:
        return np.zeros(0, dtype=int)
    mixed = sampling.mix_random_share(pool.scores, project.random_share, random_state=project.id)
    order = np.argsort(-mixed, kind="stable")
    if strategy != "batch_diverse" or pool.X is None:
        return order
    batch = min(max(project.retrain_every, DIVERSE_BATCH_MIN), n)
    candidates = np.argsort(-pool.scores, kind="stable")[: batch * DIVERSE_CANDIDATES]
    picked = candidates[
        sampling.select_batch(model, pool.X.iloc[candidates], batch, X_labeled=train.X)
    ]
    rest = order[~np.isin(order, picked)]
    return np.concatenate([picked, rest])


def write_scores(
    pool: PoolScores, version_id: int, ranks: np.ndarray | None, progress: Progress
) -> None:
    """Store each scored item's score and version; with ``ranks`` (one per item of
    ``pool``, :func:`scoring_window.ranks_for`), its queue rank too.

    Writes go in batches, each its own write transaction committed by ``progress``
    (the job's), so annotators are never locked out for the whole write.
    """
    table = Item.__table__
    values = {"score": bindparam("new_score"), "scored_by_version": bindparam("version")}
    if ranks is not None:
        values["queue_rank"] = bindparam("rank")
    stmt = update(table).where(table.c.id == bindparam("item_id")).values(**values)
    n = len(pool.item_ids)
    for start in range(0, n, WRITE_BATCH):
        begin_write()  # a write transaction from the start (SQLite), committed by progress
        stop = min(start + WRITE_BATCH, n)
        rows = [
            {
                "item_id": int(pool.item_ids[i]),
                "new_score": float(pool.scores[i]),
                "version": version_id,
                **({"rank": float(ranks[i])} if ranks is not None else {}),
            }
            for i in range(start, stop)
        ]
        db.session.execute(stmt, rows)
        progress(stop / n, f"wrote scores of {stop:,} of {n:,} items")


def respread_test_ranks(project: Project) -> None:
    """Spread the open test items' ranks over [0, 1) again, keeping their random order.

    Their order is the seeded random one from import; only the spacing changes, so
    test items stay interleaved with the re-ranked train items at the test fraction.
    Half a step in, so a test item never ties with a train item for a rank. One
    UPDATE ... FROM with a window function (SQLite >= 3.33, PostgreSQL).
    """
    position = func.row_number().over(order_by=(Item.queue_rank, Item.id))
    ranked = (
        select(Item.id.label("item_id"), position.label("position"), func.count().over().label("n"))
        .where(*pool_filter(project, "test"))
        .subquery()
    )
    db.session.execute(
        update(Item)
        .where(Item.id == ranked.c.item_id)
        .values(queue_rank=(ranked.c.position - 0.5) / ranked.c.n)
        .execution_options(synchronize_session=False)
    )


def rank_open_pool(
    project: Project, model: TrainedModel, train: LabeledFrame, version_id: int, progress: Progress
) -> dict[str, Any]:
    """Score the open train pool with ``model`` and, past cold start, write the queue ranks.

    Args:
        train: the final-labeled train items (committee bagging, batch diversity).
        version_id: the version the scores are recorded as (``Item.scored_by_version``).
        progress: the job's progress (0..1), or a rescaling of it: each call commits
            what was written so far, as :func:`write_scores` needs.

    Returns:
        ``n_scored``, ``cold_start``, and ``ranked_by_model`` (False during cold start
        and with the random strategy: the ranks stay random, only scores change).
    """
    # Cold start counts what the model learned from: final labels of train items.
    cold = sampling.is_cold_start(
        label_counts(project, "train"), project.label_names, project.min_labels_per_class
    )
    follows_model = not cold and project.sampling_strategy != "random"
    # With the random strategy the scores still say how unsure the model is (pages).
    strategy = project.sampling_strategy
    strategy = "least_confident" if strategy == "random" else strategy

    def report_scoring(fraction: float, message: str) -> None:
        begin_write()  # nothing is pending while scoring; the report is its own write
        progress(SCORING_SHARE * fraction, message)

    window = scoring_window.choose(project, strategy, follows_model)
    pool = score_open_pool(
        project, model, train, strategy, report_scoring, open_ids=window.item_ids
    )
    order = usefulness_order(project, model, pool, train, strategy) if follows_model else None
    _write_ranks(project, pool, window, order, version_id, strategy, progress)
    return {
        "n_scored": int(len(pool.item_ids)),
        "n_open": window.n_open,
        "bounded": window.bounded,
        "cold_start": cold,
        "ranked_by_model": follows_model,
    }


def _write_ranks(
    project: Project,
    pool: PoolScores,
    window: scoring_window.Window,
    order: np.ndarray | None,
    version_id: int,
    strategy: str,
    progress: Progress,
) -> None:
    """Write the scores (and, with ``order``, the ranks) of ``window``; after a whole
    pool's ranking, spread the test items again and note whose order the queue follows."""
    ranks = scoring_window.ranks_for(window, order) if order is not None else None
    write_scores(
        pool, version_id, ranks, lambda f, m: progress(SCORING_SHARE + (1 - SCORING_SHARE) * f, m)
    )
    if order is not None and not window.bounded:
        begin_write()
        respread_test_ranks(project)
        project.queue_ranked_by = strategy
        progress(1.0, "spread the test items through the queue again")


def kind_strategy(project: Project, kind: TaskKind) -> str:
    """The strategy that scores the pool: the project's when its kind offers it and it
    is not ``random``, else the kind's first informative one (with ``random`` the
    scores still say how unsure the model is, as for single labels)."""
    informative = [name for name in kind.strategies() if name != "random"]
    if project.sampling_strategy in informative or not informative:
        return project.sampling_strategy if informative else "random"
    return informative[0]


def rank_open_pool_by_kind(
    project: Project,
    kind: TaskKind,
    context: KindContext,
    model: Any,
    version_id: int,
    progress: Progress,
) -> dict[str, Any]:
    """:func:`rank_open_pool` for a kind that trains its own model: the pool is scored
    by ``kind.uncertainty`` (:func:`kind_strategy`); unless the project's strategy is
    ``random`` the ranks follow the scores, with the random share, and the test items
    keep their random order, as for single labels. There is no cold start (it counts
    labels of a label set)."""
    strategy = kind_strategy(project, kind)
    follows_model = project.sampling_strategy != "random" and strategy != "random"
    window = scoring_window.choose(project, strategy, follows_model)
    total = max(int(window.item_ids.size), 1)
    ids: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    for batch_ids, X in pool_data_batches(project, window.item_ids):
        ids.append(batch_ids)
        scores.append(np.asarray(kind.uncertainty(model, X, strategy, context), dtype=float))
        begin_write()  # nothing is pending while scoring; the report is its own write
        progress(
            SCORING_SHARE * sum(map(len, ids)) / total,
            f"scored {sum(map(len, ids)):,} of {total:,} open items",
        )
    pool = PoolScores(
        np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64),
        np.concatenate(scores) if scores else np.zeros(0),
    )
    order = None
    if follows_model and len(pool.scores):
        mixed = sampling.mix_random_share(
            pool.scores, project.random_share, random_state=project.id
        )
        order = np.argsort(-mixed, kind="stable")
    _write_ranks(project, pool, window, order, version_id, strategy, progress)
    return {
        "n_scored": int(len(pool.item_ids)),
        "n_open": window.n_open,
        "bounded": window.bounded,
        "cold_start": False,
        "ranked_by_model": follows_model,
        "strategy": strategy,
    }
