"""Relabel or label new: whether the next labels should go to items already labeled
(another opinion) or to fresh items (a first label), the idea of ActiveLab (Goh and
Mueller, 2023).

Both kinds of item get a score on one scale, the chance that the item's current answer
is wrong (0..1, higher: one more label helps more):
:meth:`labeler.core.model_consensus.ModelAwareResult.relabel_scores` gives them, from
the consensus label's posterior (labeled items) and from the model's top probability
alone (fresh items). For the next ``batch`` labels the two lists are merged and the
best ``batch`` taken; the labeled items among them get one more label.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

MAX_SHARE = 0.5  # at most this share of a batch goes to relabels


@dataclass(frozen=True)
class RelabelChoice:
    """``relabel``: labeled items to ask one more label for, best first; ``n_fresh``: how
    many of the batch went to fresh items; ``threshold``: the lowest score taken (NaN
    when nothing was compared)."""

    relabel: list[object]
    n_fresh: int
    threshold: float


def choose_relabels(
    relabel_scores: pd.Series,
    first_label_scores: pd.Series,
    batch: int,
    max_share: float = MAX_SHARE,
) -> RelabelChoice:
    """Of the next ``batch`` labels, which go to labeled items (see module doc).

    Args:
        relabel_scores: labeled items -> score (the chance their label is wrong).
        first_label_scores: the fresh items the queue would serve next -> score.
        batch: labels until the next retrain (> 0).
        max_share: at most this share of the batch (0..1) goes to relabels, so a poor
            model cannot stop the pool from growing.

    Ties go to fresh items (a first label also grows the training set).
    """
    if batch <= 0 or relabel_scores.empty:
        return RelabelChoice([], min(batch, len(first_label_scores)), float("nan"))
    merged = pd.concat(
        [
            pd.DataFrame({"score": first_label_scores.astype(float), "fresh": 1}),
            pd.DataFrame({"score": relabel_scores.astype(float), "fresh": 0}),
        ]
    )
    # fresh first among equal scores: a stable sort on (score desc, fresh desc)
    ordered = merged.sort_values(["score", "fresh"], ascending=False, kind="stable")
    taken = ordered.iloc[:batch]
    relabel = taken[taken["fresh"] == 0].index[: int(max_share * batch)]
    # Relabels beyond the cap leave their slots to the next fresh items: the batch stays
    # ``batch`` labels (it once shrank, and a benchmark then spent fewer labels than it
    # counted).
    n_fresh = min(batch - len(relabel), len(first_label_scores))
    return RelabelChoice(list(relabel), n_fresh, float(taken["score"].min()))
