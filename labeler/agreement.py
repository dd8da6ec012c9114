"""How far annotators agree: percent agreement, kappas, Krippendorff's alpha.

Input everywhere is a long frame with columns ``item``, ``annotator``, ``label``
(crowd-kit's contract); a missing rating is an absent row. Edge cases (empty input,
one annotator, items with a single rating, one label in use) return NaN with a
``reason`` instead of raising.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from labeler._agreement_alpha import (
    Level,
    alpha_from_coincidences,
    bootstrap_alpha,
    coincidences,
    fleiss_from_counts,
    modal_rating_count,
    pairable,
)
from labeler._agreement_codes import CodedRatings, FloatArray, IntArray, encode

Measure = Literal["alpha", "kappa", "percent"]

_LANDIS_KOCH = (
    (0.0, "poor (worse than chance)"),
    (0.2, "slight"),
    (0.4, "fair"),
    (0.6, "moderate"),
    (0.8, "substantial"),
)


@dataclass(frozen=True)
class AgreementResult:
    """One agreement figure with what it was computed on.

    ``value`` is NaN when the figure is undefined; ``reason`` then says why (it may
    also note items left out). ``ci_low``/``ci_high`` bound a bootstrap 95% interval
    when one was asked for, else NaN. ``n_items`` and ``n_annotations`` count what
    entered the figure; ``n_items_dropped`` counts items left out of it.
    """

    value: float
    n_items: int
    n_annotations: int
    reason: str | None = None
    ci_low: float = float("nan")
    ci_high: float = float("nan")
    n_items_dropped: int = 0
    measure: Measure = "alpha"

    @property
    def interpretation(self) -> str:
        """One line on how to read ``value`` for this measure."""
        if np.isnan(self.value):
            return f"undefined: {self.reason}"
        if self.measure == "percent":
            return f"{self.value:.0%} of annotator pairs agree (not corrected for chance)"
        if self.measure == "alpha":
            if self.value >= 0.8:
                return "reliable (alpha >= 0.8)"
            if self.value >= 0.667:
                return "tentative: draw only cautious conclusions (0.667 <= alpha < 0.8)"
            return "unreliable (alpha < 0.667)"
        band = next((name for top, name in _LANDIS_KOCH if self.value <= top), "almost perfect")
        return f"{band} agreement (Landis & Koch)"


def leave_one_out_accuracy(frame: pd.DataFrame) -> pd.DataFrame:
    """Each annotator's agreement with the majority of the *other* annotators.

    Only items with at least two other ratings count. Where the others tie for the
    top label the item is skipped and counted in ``n_ties_skipped``. Leaving the
    annotator's own vote out matters: with it included the figure is inflated.
    Used as human-level performance (HLP) in evaluation.

    Returns:
        One row per annotator: ``annotator``, ``n_items`` (items scored),
        ``accuracy`` (share of those where the annotator matched the others'
        majority, 0..1, NaN when ``n_items`` is 0) and ``n_ties_skipped``.
    """
    coded = encode(frame)
    n_rows = coded.n_annotations
    rows = np.arange(n_rows)
    others = coded.counts().astype(np.int32)[coded.item]
    others[rows, coded.label] -= 1
    top = others.max(axis=1, initial=0)
    eligible = others.sum(axis=1) >= 2
    tied = eligible & ((others == top[:, None]).sum(axis=1) > 1)
    scored = eligible & ~tied
    correct = scored & (others[rows, coded.label] == top)
    n_annotators = len(coded.annotators)

    def per_annotator(mask: np.ndarray) -> np.ndarray:
        return np.bincount(coded.annotator[mask], minlength=n_annotators)

    n_items = per_annotator(scored)
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = per_annotator(correct) / n_items
    return pd.DataFrame(
        {
            "annotator": coded.annotators,
            "n_items": n_items,
            "accuracy": np.where(n_items > 0, accuracy, np.nan),
            "n_ties_skipped": per_annotator(tied),
        }
    )


def _unpairable_note(n_dropped: int) -> str | None:
    if n_dropped == 0:
        return None
    return f"{n_dropped} item(s) with a single rating carry no pairs and were left out"


def _undefined(measure: Measure, reason: str, coded: CodedRatings) -> AgreementResult:
    return AgreementResult(
        float("nan"), 0, 0, reason, n_items_dropped=len(coded.items), measure=measure
    )


def _no_pairs_reason(coded: CodedRatings) -> str:
    if coded.n_annotations == 0:
        return "no annotations"
    if len(coded.annotators) < 2:
        return "only one annotator: agreement needs two or more"
    return "no item has two or more ratings"


def percent_agreement(frame: pd.DataFrame) -> AgreementResult:
    """Observed agreement: the share of agreeing annotator pairs, averaged over items.

    Per item with m >= 2 ratings: sum over labels of n(n-1) / (m(m-1)), so 1.0 when all
    agree and 0.0 when no two agree; items with a single rating are left out. Not
    corrected for chance: two labels picked at random agree half the time.
    """
    coded = encode(frame)
    counts = pairable(coded.counts())
    if counts.shape[0] == 0:
        return _undefined("percent", _no_pairs_reason(coded), coded)
    per_item = counts.sum(axis=1)
    agreeing = (counts * (counts - 1)).sum(axis=1) / (per_item * (per_item - 1))
    dropped = len(coded.items) - counts.shape[0]
    return AgreementResult(
        float(agreeing.mean()),
        counts.shape[0],
        int(per_item.sum()),
        _unpairable_note(dropped),
        n_items_dropped=dropped,
        measure="percent",
    )
