"""Integer coding of a long ratings frame, and the AgreementResult type.

Shared by agreement.py (which re-exports AgreementResult) and consensus.py.

Every agreement and consensus figure is computed from the same two things: integer
codes for item, annotator and label, and the dense item x label count matrix built
from them with one ``np.bincount``. Doing that once here keeps each statistic a few
lines of vectorised numpy, which is what makes a million annotations take well
under a second.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

COLUMNS = ("item", "annotator", "label")


@dataclass(frozen=True)
class CodedRatings:
    """One row per (item, annotator) rating, as integer codes into three indexes."""

    item: IntArray
    annotator: IntArray
    label: IntArray
    items: pd.Index
    annotators: pd.Index
    labels: pd.Index

    @property
    def n_annotations(self) -> int:
        return int(self.item.size)

    def counts(self) -> IntArray:
        """Dense items x labels matrix: how many annotators gave each label to each item."""
        n_labels = len(self.labels)
        flat = np.bincount(self.item * n_labels + self.label, minlength=len(self.items) * n_labels)
        return flat.reshape(len(self.items), n_labels)


def _factorize(values: pd.Series) -> tuple[IntArray, pd.Index]:
    """Codes in sorted order when the values sort (stable, readable output), else first-seen."""
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:
        codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.int64), pd.Index(uniques)


def _label_codes(labels: pd.Series, order: Sequence[Hashable] | None) -> tuple[IntArray, pd.Index]:
    if order is None:
        return _factorize(labels)
    categories = pd.Index(list(order))
    if not categories.is_unique:
        raise ValueError("order lists a label more than once")
    codes = categories.get_indexer(labels)
    if (codes < 0).any():
        unknown = sorted(map(str, pd.unique(labels[codes < 0])))
        raise ValueError(f"labels missing from order: {unknown[:10]}")
    return codes.astype(np.int64), categories


def encode(frame: pd.DataFrame, order: Sequence[Hashable] | None = None) -> CodedRatings:
    """Code a long frame with columns item, annotator, label.

    Rows with a missing label are dropped (a missing rating is an absent row). If an
    annotator rated an item twice, the last row wins, as an edited label would.
    ``order``, when given, fixes the label index (and must cover every label used).
    """
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise ValueError(f"ratings frame lacks columns {missing}; expected {list(COLUMNS)}")
    rated = frame.loc[frame["label"].notna(), list(COLUMNS)]
    item, items = _factorize(rated["item"])
    annotator, annotators = _factorize(rated["annotator"])
    label, labels = _label_codes(rated["label"], order)
    key = pd.Series(item * max(len(annotators), 1) + annotator)
    keep = ~key.duplicated(keep="last").to_numpy()
    if not keep.all():
        item, annotator, label = item[keep], annotator[keep], label[keep]
    return CodedRatings(item, annotator, label, items, annotators, labels)


Measure = Literal["alpha", "kappa", "percent"]

_LANDIS_KOCH = (
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
        if self.value < 0:
            return "poor agreement, worse than chance (Landis & Koch)"
        band = next((name for top, name in _LANDIS_KOCH if self.value <= top), "almost perfect")
        return f"{band} agreement (Landis & Koch)"
