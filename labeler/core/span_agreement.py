"""How far annotators agree on spans: pairwise span F1 and token-level alpha.

Votes are a long frame with ``item``, ``annotator`` and ``value`` (a list of spans, see
:mod:`labeler.core.span_text`); token-level figures also need the item's ``text``.

- Pairwise span F1 compares every two annotators of an item, one as the reference and
  the other as the prediction, pooling the counts (micro) over all pairs and items.
  *Strict*: a match has the same start, end and label. *Lenient*: a span matches when it
  overlaps a span of the other annotator with the same label. 0..1, 1 = identical spans.
- Token alpha: Krippendorff's alpha (nominal) with every token of every item a unit and
  its IOB2 tag the value. -1..1: 1 perfect, 0 chance; at least 0.8 reliable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from labeler.core.span_frames import explode, token_table
from labeler.core.span_text import Span, as_tuples

Triple = tuple[int, int, str]


class Counts:
    """Pooled match counts, overall and per label."""

    def __init__(self) -> None:
        self.table: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])

    def add(self, reference: frozenset[Triple], predicted: frozenset[Triple], strict: bool) -> None:
        """Add one comparison: [matched in reference, in prediction, |reference|, |prediction|]."""
        if strict:
            common = reference & predicted
            found_ref = found_pred = list(common)
        else:
            found_ref = [s for s in reference if _overlaps_any(s, predicted)]
            found_pred = [s for s in predicted if _overlaps_any(s, reference)]
        for bucket, spans in ((0, found_ref), (1, found_pred), (2, reference), (3, predicted)):
            for span in spans:
                self.table[span[2]][bucket] += 1
                self.table[""][bucket] += 1

    def f1(self, label: str = "") -> float | None:
        matched_ref, matched_pred, reference, predicted = self.table[label]
        if reference + predicted == 0:
            return None
        precision = matched_pred / predicted if predicted else 0.0
        recall = matched_ref / reference if reference else 0.0
        return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)

    def labels(self) -> list[str]:
        return sorted(label for label in self.table if label)


def _overlaps_any(span: Triple, others: Iterable[Triple]) -> bool:
    return any(o[2] == span[2] and o[0] < span[1] and span[0] < o[1] for o in others)


def pairwise_f1(votes: pd.DataFrame, strict: bool = True) -> dict[str, float | None]:
    """Pairwise span F1 over all annotator pairs: ``overall`` and one entry per label
    (None where no pair marked any span)."""
    if strict:
        return _strict_pairwise_f1(votes)
    return _lenient_pairwise_f1(votes)


def _lenient_pairwise_f1(votes: pd.DataFrame) -> dict[str, float | None]:
    """Lenient pairwise F1 from a self-join of the spans on (item, label): for each pair
    (the earlier vote in the frame as the reference), a span is found when it overlaps
    a span of the other vote."""
    spans = explode(votes)
    if spans.empty:
        return {"overall": None}
    spans["label"] = spans["label"].astype(str)
    spans["id"] = np.arange(len(spans))
    rank = votes.groupby("item", sort=False).cumcount().to_numpy()
    n_votes = votes.groupby("item").size()
    spans["later"] = n_votes.reindex(spans["item"]).to_numpy() - 1 - rank[spans["vote"]]
    spans["earlier"] = rank[spans["vote"]]
    pairs = spans[["item", "label", "vote", "id", "start", "end"]]
    joined = pairs.merge(pairs, on=["item", "label"], suffixes=("", "_other"))
    joined = joined[
        (joined["vote"] != joined["vote_other"])
        & (joined["start"] < joined["end_other"])
        & (joined["start_other"] < joined["end"])
    ].drop_duplicates(["id", "vote_other"])
    as_reference = joined["vote"] < joined["vote_other"]
    found_ref = joined[as_reference].groupby("label").size()
    found_pred = joined[~as_reference].groupby("label").size()
    n_ref = spans.groupby("label")["later"].sum()
    n_pred = spans.groupby("label")["earlier"].sum()

    def f1(fr: float, fp: float, nr: float, np_: float) -> float | None:
        if nr + np_ == 0:
            return None
        precision, recall = (fp / np_ if np_ else 0.0), (fr / nr if nr else 0.0)
        return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)

    result = {"overall": f1(found_ref.sum(), found_pred.sum(), n_ref.sum(), n_pred.sum())}
    for name in sorted(n_ref.index):
        result[name] = f1(
            found_ref.get(name, 0), found_pred.get(name, 0), n_ref[name], n_pred[name]
        )
    return {k: None if v is None else float(v) for k, v in result.items()}


def _strict_pairwise_f1(votes: pd.DataFrame) -> dict[str, float | None]:
    """Strict pairwise F1 from span counts: over all pairs of an item's n annotators,
    the matches are sum C(c, 2) for a span c annotators marked, and the spans compared
    sum (n - 1) per marked span; F1 = 2 matches / compared."""
    spans = explode(votes)
    if spans.empty:
        return {"overall": None}
    n_votes = votes.groupby("item").size()
    spans["others"] = n_votes.reindex(spans["item"]).to_numpy() - 1
    label = spans["label"].astype(str)
    counts = spans.groupby([spans["item"], spans["start"], spans["end"], label]).size()
    pairs = (counts * (counts - 1) / 2).groupby(level=3).sum()
    compared = spans.groupby(label)["others"].sum()
    result: dict[str, float | None] = {}
    total_pairs, total_compared = float(pairs.sum()), float(compared.sum())
    result["overall"] = 2 * total_pairs / total_compared if total_compared else None
    for name in sorted(compared.index):
        denominator = float(compared[name])
        result[name] = 2 * float(pairs.get(name, 0.0)) / denominator if denominator else None
    return result


def nominal_alpha(units: np.ndarray, values: np.ndarray) -> float | None:
    """Krippendorff's alpha (nominal) from one row per (unit, coder) value, via the
    coincidence counts; units with one value are not pairable and drop out."""
    if units.size == 0:
        return None
    dense = units.min() >= 0 and units.max() < 2 * units.size  # token tables are
    unit_index = (units if dense else pd.factorize(units)[0]).astype(np.int64)
    n_values = int(values.max()) + 1
    per_unit = np.bincount(unit_index)
    # Sparse counts: a units x values table would hold 2.4M x 21 floats for 10⁵ tweets.
    pairable_row = per_unit[unit_index] >= 2
    keys = np.sort(unit_index[pairable_row] * n_values + values[pairable_row])
    if keys.size <= 1:
        return None
    first = np.concatenate([[0], np.flatnonzero(np.diff(keys)) + 1])
    run = np.diff(np.concatenate([first, [keys.size]])).astype(np.float64)
    squares = np.bincount(keys[first] // n_values, weights=run**2, minlength=per_unit.size)
    pairable = per_unit >= 2
    per_unit, squares = per_unit[pairable].astype(np.float64), squares[pairable]
    total = per_unit.sum()
    observed_agree = (squares - per_unit) / (per_unit - 1)
    disagreement_observed = 1 - observed_agree.sum() / total
    by_value = np.bincount(values[pairable_row], minlength=n_values).astype(np.float64)
    disagreement_expected = 1 - (by_value * (by_value - 1)).sum() / (total * (total - 1))
    if disagreement_expected == 0:
        return None  # one value throughout: agreement is undefined, not perfect
    return float(1 - disagreement_observed / disagreement_expected)


def token_alpha(votes: pd.DataFrame, tokenizer: str = "words") -> float | None:
    """Token-level Krippendorff's alpha on IOB2 tags (None without a ``text`` column)."""
    if "text" not in votes.columns or votes.empty:
        return None
    table = token_table(votes, tokenizer)
    return nominal_alpha(table.units, table.tags)


def span_f1(reference: Sequence[Span], predicted: Sequence[Span]) -> Counts:
    """Strict counts of one prediction against one reference (add more with ``add``)."""
    counts = Counts()
    counts.add(as_tuples(reference), as_tuples(predicted), strict=True)
    return counts
