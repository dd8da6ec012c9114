"""Rating-scale figures: quadratic-weighted kappa per annotator pair, and the
intraclass correlation.

ICC here is ICC(1): one-way random effects, one rater's reliability (Shrout & Fleiss
1979, case 1), which suits crowd ratings where each item has its own raters. With
items of unequal rater counts the group size is the usual adjusted mean
k0 = (N - sum(k_i^2) / N) / (n - 1). Read it like alpha: 1 perfect, 0 none, and
below 0.5 poor, 0.5-0.75 moderate, 0.75-0.9 good, above 0.9 excellent (Koo & Li 2016).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from labeler.core._agreement_alpha import contingency_tables
from labeler.core._agreement_codes import encode


def pairwise_qwk(frame: pd.DataFrame, points: Sequence[float]) -> pd.DataFrame:
    """Quadratic-weighted Cohen's kappa of every annotator pair sharing items, with
    weights (i - j)^2 over the scale's points (as scikit-learn's
    ``cohen_kappa_score(weights="quadratic")``). ``frame``: item, annotator, label
    (a scale point). NaN where a pair's expected disagreement is 0."""
    coded = encode(frame, order=list(points))
    pair_keys, tables = contingency_tables(coded)
    tables = tables.astype(np.float64)
    n = len(points)
    codes = np.arange(n, dtype=np.float64)
    weights = (codes[:, None] - codes[None, :]) ** 2
    shared = tables.sum(axis=(1, 2))
    expected = tables.sum(axis=2)[:, :, None] * tables.sum(axis=1)[:, None, :]
    expected /= np.maximum(shared, 1)[:, None, None]
    observed_w = (tables * weights).sum(axis=(1, 2))
    expected_w = (expected * weights).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = np.where(expected_w > 0, 1.0 - observed_w / expected_w, np.nan)
    width = max(len(coded.annotators), 1)
    return pd.DataFrame(
        {
            "annotator_a": coded.annotators[pair_keys // width],
            "annotator_b": coded.annotators[pair_keys % width],
            "n_items": shared.astype(np.int64),
            "kappa": kappa,
        }
    )


def icc1(frame: pd.DataFrame) -> float:
    """ICC(1) of numeric ratings: ``frame`` has item and value columns; items with a
    single rating are left out. NaN when it is undefined (no variation)."""
    frame = frame[frame.groupby("item")["value"].transform("size") >= 2]
    values = frame["value"].to_numpy(dtype=np.float64)
    if len(values) == 0:
        return float("nan")
    groups = frame.groupby("item")["value"]
    sizes = groups.size().to_numpy(dtype=np.float64)
    means = groups.mean().to_numpy(dtype=np.float64)
    n_items, n_ratings = len(sizes), float(sizes.sum())
    if n_items < 2:
        return float("nan")
    grand = values.mean()
    between = float((sizes * (means - grand) ** 2).sum()) / (n_items - 1)
    within = float(((values - groups.transform("mean").to_numpy()) ** 2).sum()) / (
        n_ratings - n_items
    )
    k0 = (n_ratings - float((sizes**2).sum()) / n_ratings) / (n_items - 1)
    denominator = between + (k0 - 1) * within
    return float((between - within) / denominator) if denominator > 0 else float("nan")
