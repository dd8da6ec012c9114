"""How far annotators agree: percent agreement, kappas, Krippendorff's alpha.

Input everywhere is a long frame with columns ``item``, ``annotator``, ``label``
(crowd-kit's contract); a missing rating is an absent row. Edge cases (empty input,
one annotator, items with a single rating, one label in use) return NaN with a
``reason`` instead of raising.
"""

# Alpha is computed here, not by the `krippendorff` package, on measurement: on
# 1,000,000 annotations (333,334 items x 3, 50 annotators, 3 labels; see
# benchmarks/bench_agreement.py) our coincidence-matrix code takes 0.11 s and
# 66 MiB peak from the long frame; krippendorff.alpha takes 0.37 s and 234 MiB
# when fed its annotators x items matrix, 0.13 s when fed our item x label counts.
# The package is no faster and agrees to 1e-16, while our own ~40 lines of numpy
# also give the bootstrap interval (the package has none), reuse the same counts
# for per-label and Fleiss figures, and keep a runtime dependency out. The package
# stays a test dependency: every figure is checked against it.

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from labeler.core._agreement_alpha import (
    Level,
    alpha_from_coincidences,
    bootstrap_alpha,
    cohen_from_tables,
    coincidences,
    contingency_tables,
    fleiss_from_counts,
    label_values,
    modal_rating_count,
    pairable,
)
from labeler.core._agreement_codes import AgreementResult, CodedRatings, Measure, encode

__all__ = [
    "AgreementResult",
    "fleiss_kappa",
    "krippendorff_alpha",
    "leave_one_out_accuracy",
    "pairwise_cohen_kappa",
    "per_label_agreement",
    "percent_agreement",
]


def leave_one_out_accuracy(frame: pd.DataFrame, min_others: int = 2) -> pd.DataFrame:
    """Each annotator's agreement with the majority of the *other* annotators.

    Only items with at least ``min_others`` other ratings count (1: at k = 2 each
    annotator is scored against the other). Where the others tie for the
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
    eligible = others.sum(axis=1) >= min_others
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


def fleiss_kappa(frame: pd.DataFrame) -> AgreementResult:
    """Fleiss' kappa: chance-corrected agreement of many annotators, -1..1 (1 = perfect).

    Fleiss' formula needs the same number of ratings m on every item. It is computed
    on the items holding the most common m (ties: the larger m); the others are
    counted in ``n_items_dropped`` and named in ``reason``. Krippendorff's alpha
    needs no such cut.
    """
    coded = encode(frame)
    counts = pairable(coded.counts())
    if counts.shape[0] == 0:
        return _undefined("kappa", _no_pairs_reason(coded), coded)
    per_item = modal_rating_count(counts)
    kept = counts[counts.sum(axis=1) == per_item]
    dropped = len(coded.items) - kept.shape[0]
    value = fleiss_from_counts(kept)
    notes = []
    if np.isnan(value):
        notes.append("every rating carries the same label: chance agreement is 1")
    if dropped:
        notes.append(
            f"computed on the {kept.shape[0]} items with {per_item} ratings each (the most"
            f" common count); left out {dropped} item(s) with another number of ratings"
        )
    return AgreementResult(
        value,
        kept.shape[0],
        kept.shape[0] * per_item,
        "; ".join(notes) or None,
        n_items_dropped=dropped,
        measure="kappa",
    )


def krippendorff_alpha(
    frame: pd.DataFrame,
    level: Level = "nominal",
    order: Sequence[Hashable] | None = None,
    bootstrap: int = 0,
    random_state: int = 0,
) -> AgreementResult:
    """Krippendorff's alpha, -1..1: 1 perfect, 0 chance level, below 0 systematic.

    Handles any number of annotators and missing ratings; items with one rating
    carry no pairs and are left out (counted in ``n_items_dropped``). ``order``
    lists the labels low to high for ``ordinal`` and ``interval`` (interval then
    spaces them evenly); without it labels are sorted, and interval uses their
    numeric values. ``bootstrap`` > 0 adds a percentile 95% interval from that many
    resamples of items. NaN when only one label is in use (no variation to agree on).
    """
    coded = encode(frame, order)
    values = label_values(coded, level, order)
    counts = pairable(coded.counts())
    if counts.shape[0] == 0:
        return _undefined("alpha", _no_pairs_reason(coded), coded)
    value = alpha_from_coincidences(coincidences(counts), level, values)
    dropped = len(coded.items) - counts.shape[0]
    reason = _unpairable_note(dropped)
    low = high = float("nan")
    if np.isnan(value):
        reason = "a single label in use: no variation, so alpha is undefined"
    elif bootstrap > 0:
        low, high = bootstrap_alpha(counts, level, values, bootstrap, random_state)
    n_annotations = int(counts.sum())
    return AgreementResult(value, counts.shape[0], n_annotations, reason, low, high, dropped)


def pairwise_cohen_kappa(frame: pd.DataFrame) -> pd.DataFrame:
    """Cohen's kappa for every annotator pair that shares items, -1..1 (1 = perfect).

    Returns one row per pair (``annotator_a`` sorts before ``annotator_b``) with
    ``n_items`` shared, ``kappa`` on those items, and ``reason`` where kappa is NaN
    (both gave one same label throughout). Pairs with no shared item are not listed.
    """
    coded = encode(frame)
    pair_keys, tables = contingency_tables(coded)
    kappa = cohen_from_tables(tables.astype(np.float64))
    undefined = "both gave one same label to every shared item: chance agreement is 1"
    return pd.DataFrame(
        {
            "annotator_a": coded.annotators[pair_keys // max(len(coded.annotators), 1)],
            "annotator_b": coded.annotators[pair_keys % max(len(coded.annotators), 1)],
            "n_items": tables.sum(axis=(1, 2)),
            "kappa": kappa,
            "reason": [undefined if np.isnan(value) else None for value in kappa],
        }
    )


def per_label_agreement(frame: pd.DataFrame) -> pd.DataFrame:
    """One-vs-rest agreement per label: is this label used consistently?

    Each label is reduced to "this label or not" and scored with nominal alpha (all
    pairable items) and Fleiss' kappa (items with the most common rating count).
    Columns: ``label``, ``n_annotations`` (times given), ``n_items`` (items given it
    at least once), ``alpha``, ``kappa`` (both -1..1, NaN when the label is given to
    all or none of the pairable ratings), ``reason``.
    """
    coded = encode(frame)
    all_counts = coded.counts()
    counts = pairable(all_counts)
    per_item = counts.sum(axis=1)
    same_count = per_item == (modal_rating_count(counts) if counts.size else 0)
    rows = []
    for code, label in enumerate(coded.labels):
        binary = np.column_stack([counts[:, code], per_item - counts[:, code]])
        alpha = alpha_from_coincidences(coincidences(binary), "nominal", np.arange(2.0))
        kappa = fleiss_from_counts(binary[same_count]) if same_count.any() else float("nan")
        reason = None
        if counts.shape[0] == 0:
            reason = _no_pairs_reason(coded)
        elif np.isnan(alpha):
            reason = "given to all or none of the pairable ratings: no variation"
        used = all_counts[:, code]
        rows.append((label, int(used.sum()), int((used > 0).sum()), alpha, kappa, reason))
    columns = ["label", "n_annotations", "n_items", "alpha", "kappa", "reason"]
    return pd.DataFrame(rows, columns=columns)
