"""Label sets as numbers: coding a long frame of sets, set distances, and agreement.

A multi-label vote is a set of labels. Coding the votes once gives, per annotation,
integer codes for item, annotator and *distinct set*, and a small ``sets x labels``
indicator matrix; every figure is then sparse or dense numpy over those codes. With
14 labels the distinct sets in real data number in the hundreds, so the ``sets x sets``
distance matrix is small while the annotations run to millions.

Krippendorff's alpha over sets follows Krippendorff (2011) with a set distance
(MASI, Passonneau 2006, or Jaccard) in place of the nominal one; the tests pin it to
nltk's ``AnnotationTask``. Per label, each label is a yes/no question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse

from labeler.core._agreement_alpha import modal_rating_count

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class CodedSets:
    """One row per annotation: item, annotator and set codes; ``indicator`` is the
    distinct sets x labels membership matrix (labels in the project's order)."""

    item: IntArray
    annotator: IntArray
    set_code: IntArray
    items: pd.Index
    annotators: pd.Index
    indicator: BoolArray
    labels: tuple[str, ...]

    def item_set_counts(self) -> sparse.csr_matrix:
        """Sparse items x distinct sets: how many annotators gave each set to each item."""
        shape = (len(self.items), self.indicator.shape[0])
        ones = np.ones(self.item.size)
        return sparse.csr_matrix((ones, (self.item, self.set_code)), shape=shape)

    def yes_counts(self) -> tuple[FloatArray, FloatArray]:
        """Per item and label, how many annotators chose the label; and per item, how
        many annotators voted at all."""
        counts = self.item_set_counts()
        yes = np.asarray(counts @ self.indicator.astype(np.float64))
        return yes, np.asarray(counts.sum(axis=1)).ravel()


def code_sets(votes: pd.DataFrame, labels: Sequence[str]) -> CodedSets:
    """Code a long ``item``, ``annotator``, ``value`` (list of labels), ``key`` frame.

    Sets are told apart by their key, so each distinct set is decoded once.
    """
    item, items = pd.factorize(votes["item"], sort=True)
    annotator, annotators = pd.factorize(votes["annotator"], sort=True)
    set_code, keys = pd.factorize(votes["key"])
    first = pd.Series(np.arange(len(votes))).groupby(set_code).first().to_numpy()
    position = {label: index for index, label in enumerate(labels)}
    indicator = np.zeros((len(keys), len(labels)), dtype=bool)
    values = votes["value"].to_numpy()
    for code, row in enumerate(first):
        for label in values[row]:
            indicator[code, position[label]] = True
    return CodedSets(
        item.astype(np.int64),
        annotator.astype(np.int64),
        set_code.astype(np.int64),
        pd.Index(items),
        pd.Index(annotators),
        indicator,
        tuple(labels),
    )


def set_distances(indicator: BoolArray, measure: str) -> FloatArray:
    """The sets x sets distance matrix, 0 (same set) .. 1 (disjoint).

    ``jaccard``: 1 - |A & B| / |A | B|. ``masi``: 1 - Jaccard x M, where M is 1 for
    equal sets, 2/3 when one contains the other, 1/3 when they overlap, else 0. Two
    empty sets are equal (distance 0); an empty and a non-empty set are disjoint (1).
    """
    as_float = indicator.astype(np.float64)
    shared = as_float @ as_float.T
    sizes = as_float.sum(axis=1)
    union = sizes[:, None] + sizes[None, :] - shared
    jaccard = np.divide(shared, union, out=np.ones_like(shared), where=union > 0)
    if measure == "jaccard":
        return np.asarray(1.0 - jaccard, dtype=np.float64)
    if measure != "masi":
        raise ValueError(f"measure: unknown {measure!r}; use masi or jaccard")
    smaller = np.minimum(sizes[:, None], sizes[None, :])
    equal = (shared == sizes[:, None]) & (shared == sizes[None, :])
    monotone = np.where(
        equal, 1.0, np.where(shared == smaller, 2 / 3, np.where(shared > 0, 1 / 3, 0.0))
    )
    return np.asarray(1.0 - jaccard * monotone, dtype=np.float64)


def _sparse_coincidences(counts: sparse.csr_matrix) -> FloatArray:
    """Krippendorff's coincidence matrix over distinct sets from pairable items
    (sparse: items x sets would not fit densely at a million annotations)."""
    per_item = np.asarray(counts.sum(axis=1)).ravel()
    counts = counts[per_item >= 2]
    weights = 1.0 / (per_item[per_item >= 2] - 1.0)
    weighted = sparse.diags(weights) @ counts
    matrix = np.asarray((weighted.T @ counts).todense(), dtype=np.float64)
    matrix[np.diag_indices_from(matrix)] -= np.asarray(weighted.sum(axis=0)).ravel()
    return matrix


def set_alpha(coded: CodedSets, measure: str) -> float | None:
    """Krippendorff's alpha over label sets with the ``measure`` distance, -1..1;
    None when no item has two votes or every vote is the same set."""
    matrix = _sparse_coincidences(coded.item_set_counts())
    marginals = matrix.sum(axis=1)
    total = float(marginals.sum())
    distances = set_distances(coded.indicator, measure)
    expected = float(marginals @ distances @ marginals)
    if total <= 1 or expected <= 0:
        return None
    return 1.0 - (total - 1.0) * float((matrix * distances).sum()) / expected


def per_label(coded: CodedSets) -> pd.DataFrame:
    """Each label as a yes/no question: nominal alpha over pairable items, Fleiss'
    kappa over the items with the most common number of votes, and the share of
    votes that chose the label. Undefined figures (no variation) are NaN.

    Closed forms of the binary case, for every label at once (one Python call per
    label was most of the time at a million annotations): with n1 the yes votes of
    an item, n0 the no votes and m = n0 + n1, alpha = 1 - (n - 1) sum(n0 n1 / (m - 1))
    / (N0 N1) over pairable items, N0 and N1 the totals; Fleiss' P_i =
    (n0^2 + n1^2 - m) / (m (m - 1)).
    """
    yes, voters = coded.yes_counts()
    pairable = voters >= 2
    n1, m = yes[pairable], voters[pairable][:, None]
    n0 = m - n1
    total_yes, total_no = n1.sum(axis=0), n0.sum(axis=0)
    observed = (n0 * n1 / (m - 1)).sum(axis=0)
    expected = total_yes * total_no
    n = total_yes + total_no
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(expected > 0, 1.0 - (n - 1.0) * observed / expected, np.nan)
    kappa = np.full(len(coded.labels), np.nan)
    if n1.shape[0]:
        counts = np.rint(np.concatenate([n0[:, :1], n1[:, :1]], axis=1)).astype(np.int64)
        modal = m.ravel() == modal_rating_count(counts)
        k = m[modal]
        agree = (n0[modal] ** 2 + n1[modal] ** 2 - k) / (k * (k - 1))
        rate = n1[modal].sum(axis=0) / k.sum()
        chance = rate**2 + (1 - rate) ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            kappa = np.where(
                chance < 1 - 1e-12, (agree.mean(axis=0) - chance) / (1 - chance), np.nan
            )
    share = yes.sum(axis=0) / max(float(voters.sum()), 1.0)
    return pd.DataFrame(
        {"alpha": alpha, "kappa": kappa, "share_chosen": share},
        index=pd.Index(coded.labels, name="label"),
    )
