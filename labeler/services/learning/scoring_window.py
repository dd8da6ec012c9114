"""Which open train items a retrain scores: the whole of a small pool, a bounded window
of a large one (issue 21).

A retrain every 50 labels changes the model a little; rescoring all 100,000 open items
each time made scoring most of every training job, for ranks that barely move. So once
the queue follows a model's order for the strategy in use (``Project.queue_ranked_by``)
and the open train pool is larger than ``SCORING_POOL_LIMIT`` (app config, default
20,000), a retrain scores a window of ``SCORING_WINDOW`` items (default 10,000):

1. the queue head: the first ``SCORING_HEAD`` open train items by rank (default 3,000),
   what annotators are asked next, so the next labels follow the new model;
2. items no model has scored yet (a fresh import), so new items are never left behind;
3. the rest of the window, by oldest score (lowest ``scored_by_version``, then id): every
   retrain rescores the items whose score is stalest, so the window rotates through the
   whole pool, every item in about ``pool / (window - head)`` retrains.

The window's items are then reordered among the rank slots they already hold: the most
useful take the head's slots, items outside the window keep their ranks. The open
train ranks keep the same set of values, so the test items stay interleaved at the
test fraction without a respread. A retrain thus costs O(window) scoring and writes,
plus one read of the pool's ids and ranks. The first model ranking of a pool (or of a
new strategy), and any pool up to the limit, is scored whole as before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from flask import current_app
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item, Project
from labeler.services.learning.training_data import pool_filter

DEFAULTS = {"SCORING_POOL_LIMIT": 20_000, "SCORING_WINDOW": 10_000, "SCORING_HEAD": 3_000}


@dataclass(frozen=True)
class Window:
    """The open train items to score (ids in id order), and for a bounded window the
    rank values they hold now, ascending (``slots``; None: the whole pool is scored and
    ranked afresh)."""

    item_ids: np.ndarray
    slots: np.ndarray | None
    n_open: int

    @property
    def bounded(self) -> bool:
        return self.slots is not None


def _setting(name: str) -> int:
    return int(current_app.config.get(name, DEFAULTS[name]))


def choose(project: Project, strategy: str, follows_model: bool) -> Window:
    """The items this retrain scores (see the module's docstring for the rule).

    Args:
        strategy: the strategy that scores the pool now.
        follows_model: whether the ranks will follow the scores (past cold start, not
            the random strategy); a first ranking by ``strategy`` scores the whole pool.
    """
    limit, size = _setting("SCORING_POOL_LIMIT"), _setting("SCORING_WINDOW")
    head = min(_setting("SCORING_HEAD"), size)
    rows = db.session.execute(
        select(Item.id, Item.queue_rank, Item.scored_by_version)
        .where(*pool_filter(project, "train"))
        .order_by(Item.queue_rank, Item.id)
    ).all()
    n_open = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n_open)
    first_ranking = follows_model and project.queue_ranked_by != strategy
    if n_open <= max(limit, size) or first_ranking:
        return Window(np.sort(ids), None, n_open)
    ranks = np.fromiter((r[1] for r in rows), dtype=float, count=n_open)
    versions = np.fromiter(
        (-1 if r[2] is None else r[2] for r in rows), dtype=np.int64, count=n_open
    )
    rest = np.arange(head, n_open)
    # never scored (-1) first, then the stalest score; ties by id, so runs are repeatable
    stalest = rest[np.lexsort((ids[rest], versions[rest]))][: size - head]
    chosen = np.concatenate([np.arange(head), stalest])
    by_id = chosen[np.argsort(ids[chosen], kind="stable")]
    return Window(ids[by_id], np.sort(ranks[by_id]), n_open)


def ranks_for(window: Window, order: np.ndarray) -> np.ndarray:
    """Each window item's new rank, given ``order`` (positions into ``window.item_ids``,
    most useful first): position / n for a whole pool, else the window's own slots."""
    ranks = np.empty(len(order))
    if window.slots is None:
        ranks[order] = np.arange(len(order)) / max(len(order), 1)
    else:
        ranks[order] = window.slots
    return ranks
