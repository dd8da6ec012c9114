"""Numeric kernels behind agreement.py: coincidences, alpha, Fleiss' kappa, bootstrap.

All work on the dense items x labels count matrix (see ``CodedRatings.counts``).
Formulas follow Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability",
and Fleiss (1971); the tests pin them to the ``krippendorff`` and ``statsmodels``
packages.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from labeler.core._agreement_codes import CodedRatings, FloatArray, IntArray

Level = Literal["nominal", "ordinal", "interval"]


def squared_distances(level: Level, values: FloatArray, marginals: FloatArray) -> FloatArray:
    """The L x L matrix of squared differences delta^2 between label codes."""
    n_labels = marginals.size
    if level == "nominal":
        return 1.0 - np.eye(n_labels)
    if level == "interval":
        return (values[:, None] - values[None, :]) ** 2
    # Ordinal: the marginal mass between two ranks, half-counting the two ends.
    codes = np.arange(n_labels)
    low = np.minimum.outer(codes, codes)
    high = np.maximum.outer(codes, codes)
    cumulative = np.cumsum(marginals)
    between = cumulative[high] - cumulative[low] + (marginals[low] - marginals[high]) / 2
    return np.asarray(between**2, dtype=np.float64)


def pairable(counts: IntArray) -> IntArray:
    """Rows of items with at least two ratings: only those carry pairable values."""
    kept: IntArray = counts[counts.sum(axis=1) >= 2]
    return kept


def coincidences(counts: IntArray, weights: FloatArray | None = None) -> FloatArray:
    """Krippendorff's coincidence matrix o_ck from pairable item rows.

    ``weights`` (one per row) lets a bootstrap count an item 0, 1, 2... times.
    """
    per_item = 1.0 / (counts.sum(axis=1) - 1.0)
    if weights is not None:
        per_item = per_item * weights
    weighted = counts * per_item[:, None]
    matrix: FloatArray = weighted.T @ counts
    matrix[np.diag_indices_from(matrix)] -= weighted.sum(axis=0)
    return matrix


def alpha_from_coincidences(matrix: FloatArray, level: Level, values: FloatArray) -> float:
    """alpha = 1 - D_observed / D_expected; NaN when nothing is expected to differ."""
    marginals = matrix.sum(axis=1)
    total = float(marginals.sum())
    distances = squared_distances(level, values, marginals)
    expected = float(marginals @ distances @ marginals)
    if total <= 1 or expected <= 0:
        return float("nan")
    return 1.0 - (total - 1.0) * float((matrix * distances).sum()) / expected


def bootstrap_alpha(
    counts: IntArray, level: Level, values: FloatArray, n_boot: int, seed: int
) -> tuple[float, float]:
    """Percentile 95% interval of alpha, resampling pairable items with replacement."""
    rng = np.random.default_rng(seed)
    n_items = counts.shape[0]
    replicates = np.empty(n_boot)
    for index in range(n_boot):
        weights = np.bincount(rng.integers(0, n_items, n_items), minlength=n_items)
        matrix = coincidences(counts, weights.astype(np.float64))
        replicates[index] = alpha_from_coincidences(matrix, level, values)
    replicates = replicates[~np.isnan(replicates)]
    if replicates.size == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(replicates, [2.5, 97.5])
    return float(low), float(high)


def fleiss_from_counts(counts: IntArray) -> float:
    """Fleiss' kappa of rows that all hold the same number of ratings m >= 2.

    NaN when chance agreement is 1 (every rating carries the same label).
    """
    n_items = counts.shape[0]
    per_item = int(counts[0].sum())
    shares = counts.sum(axis=0) / (n_items * per_item)
    observed = float((((counts**2).sum(axis=1) - per_item) / (per_item * (per_item - 1))).mean())
    chance = float((shares**2).sum())
    if chance >= 1.0 - 1e-12:
        return float("nan")
    return (observed - chance) / (1.0 - chance)


def modal_rating_count(counts: IntArray) -> int:
    """The most common number of ratings among pairable rows (ties: the larger)."""
    frequency = np.bincount(counts.sum(axis=1))
    return int(frequency.size - 1 - np.argmax(frequency[::-1]))


def cohen_from_tables(tables: FloatArray) -> FloatArray:
    """Cohen's kappa of each P x L x L contingency table (rows: annotator a's labels).

    NaN where chance agreement is 1: both annotators gave one same label throughout.
    """
    n_shared = tables.sum(axis=(1, 2))
    observed = np.trace(tables, axis1=1, axis2=2) / n_shared
    chance = (tables.sum(axis=2) * tables.sum(axis=1)).sum(axis=1) / n_shared**2
    undefined = chance >= 1.0 - 1e-12
    kappa = (observed - chance) / np.where(undefined, 1.0, 1.0 - chance)
    return np.where(undefined, np.nan, kappa)


def label_values(coded: CodedRatings, level: Level, order: Sequence[Hashable] | None) -> FloatArray:
    """Numeric value of each label code: its rank, or the label itself for interval."""
    if level not in ("nominal", "ordinal", "interval"):
        raise ValueError(f"level must be nominal, ordinal or interval, not {level!r}")
    ranks = np.arange(len(coded.labels), dtype=np.float64)
    if level == "nominal" or order is not None:
        return ranks
    if not coded.labels.is_monotonic_increasing:
        raise ValueError(f"{level} alpha needs labels that sort; pass order=[...]")
    if level == "ordinal":
        return ranks
    try:
        values: FloatArray = coded.labels.to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError("interval alpha needs numeric labels or order=[...]") from error
    return values


def contingency_tables(coded: CodedRatings) -> tuple[IntArray, IntArray]:
    """Label cross-tables of every annotator pair sharing items.

    Returns the pair keys (``a * n_annotators + b`` with a < b, sorted) and a
    P x L x L array counting, over shared items, a's label (rows) against b's.
    """
    ratings = pd.DataFrame({"item": coded.item, "who": coded.annotator, "label": coded.label})
    joined = ratings.merge(ratings, on="item", suffixes=("_a", "_b"))
    joined = joined[joined["who_a"] < joined["who_b"]]
    n_labels, n_annotators = len(coded.labels), len(coded.annotators)
    pair_id, pair_keys = pd.factorize(
        joined["who_a"].to_numpy() * n_annotators + joined["who_b"].to_numpy(), sort=True
    )
    cells = (pair_id * n_labels + joined["label_a"].to_numpy()) * n_labels
    cells += joined["label_b"].to_numpy()
    size = pair_keys.size * n_labels * n_labels
    tables = np.bincount(cells, minlength=size).reshape(pair_keys.size, n_labels, n_labels)
    return pair_keys.astype(np.int64), tables
