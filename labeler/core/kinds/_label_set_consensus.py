"""Per-label Dawid-Skene for label sets: each label a yes/no question over the annotators.

A multi-label vote answers every label of the set at once: chosen (yes) or not (no).
Each label gets its own binary Dawid-Skene fit (``labeler.core.consensus.dawid_skene``
on 0/1 votes), so an annotator who over-uses one label and misses another is learnt
label by label. Gold items anchor each label's fit with their known answer; their own
posteriors are then read back from their votes alone (what the annotators say, as a
submit computes it), not from the known answer.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeler.core import consensus as single
from labeler.core.kinds._label_sets import CodedSets, FloatArray


@dataclass(frozen=True)
class LabelSetFit:
    """``shares``: items x labels posterior that each label applies, 0..1.
    ``annotator_accuracy``: per annotator, the expected share of their yes/no
    decisions (every label of every item they answered) that are right, 0..1.
    ``n_iter``: the most EM iterations any label took; ``converged``: all did."""

    shares: FloatArray
    annotator_accuracy: pd.Series
    n_iter: int
    converged: bool


def _yes_posterior(table: pd.DataFrame) -> FloatArray:
    """P(yes) from an item table of a 0/1 fit (label, confidence); 0.5 on a tie."""
    label = table["label"].to_numpy(dtype=object)
    confidence = table["confidence"].to_numpy(dtype=np.float64)
    tie = pd.isna(label)
    yes = np.where(label == 1, confidence, 1.0 - confidence)
    return np.asarray(np.where(tie, 0.5, yes), dtype=np.float64)


def dawid_skene(
    coded: CodedSets, known: Mapping[Hashable, Sequence[str]] | None = None
) -> LabelSetFit:
    """One binary Dawid-Skene fit per label over ``coded``'s votes.

    ``known`` maps items (as in the votes frame) to their known label set (gold);
    items without votes are ignored.
    """
    chose = coded.indicator[coded.set_code]
    n_items, n_labels = len(coded.items), len(coded.labels)
    positions = coded.items.get_indexer(pd.Index(list(known or {}), dtype=object))
    gold_sets = [set(value) for value in (known or {}).values()]
    gold = [(int(p), s) for p, s in zip(positions, gold_sets, strict=True) if p >= 0]
    gold_items = np.asarray([p for p, _ in gold], dtype=np.int64)
    shares = np.empty((n_items, n_labels))
    right = np.zeros(len(coded.annotators))
    n_iter, converged = 0, True
    for index, label in enumerate(coded.labels):
        frame = pd.DataFrame(
            {"item": coded.item, "annotator": coded.annotator, "label": chose[:, index]}
        ).astype({"label": np.int64})
        anchors: dict[Hashable, Hashable] = {p: int(label in s) for p, s in gold}
        fit = single.dawid_skene(frame, known=anchors or None)
        posteriors = fit.posteriors.reindex(columns=[0, 1], fill_value=0.0)
        shares[posteriors.index.to_numpy(dtype=np.int64), index] = posteriors[1].to_numpy()
        if len(gold_items):
            read = fit.items_from_votes(frame[np.isin(coded.item, gold_items)])
            shares[read.index.to_numpy(dtype=np.int64), index] = _yes_posterior(read)
        accuracy = fit.annotator_accuracy.reindex(range(len(coded.annotators)), fill_value=0.0)
        right += accuracy.to_numpy(dtype=np.float64)
        n_iter, converged = max(n_iter, fit.n_iter), converged and fit.converged
    mean_accuracy = right / max(n_labels, 1)
    return LabelSetFit(
        shares,
        pd.Series(mean_accuracy, index=coded.annotators, name="accuracy"),
        n_iter,
        converged,
    )
