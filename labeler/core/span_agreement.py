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


def pairwise_f1(
    votes: pd.DataFrame, strict: bool = True, spans: pd.DataFrame | None = None
) -> dict[str, float | None]:
    """Pairwise span F1 over all annotator pairs: ``overall`` and one entry per label
    (None where no pair marked any span). ``spans``: :func:`explode` of ``votes`` when
    the caller has it already."""
    spans = explode(votes) if spans is None else spans
    if spans.empty:
        return {"overall": None}
    if strict:
        return _strict_pairwise_f1(votes, spans)
    return _lenient_pairwise_f1(votes, spans)


def _f1(found_ref: int, found_pred: int, n_ref: int, n_pred: int) -> float | None:
    if n_ref + n_pred == 0:
        return None
    precision = found_pred / n_pred if n_pred else 0.0
    recall = found_ref / n_ref if n_ref else 0.0
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def _vote_ranks(votes: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per vote: its place among its item's votes in frame order, and how many its item has."""
    codes = pd.factorize(votes["item"])[0]
    rank = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    return rank, np.bincount(codes)[codes]


def _lenient_pairwise_f1(votes: pd.DataFrame, spans: pd.DataFrame) -> dict[str, float | None]:
    """Lenient pairwise F1 by sorted sweeps: each vote's spans of one label, sorted by
    start with the running maximum of their ends, answer "does any span of vote w with
    label L overlap [s, e)?" by one binary search (the last start before e, then the
    running end > s). For each pair of an item's votes the earlier vote in the frame
    is the reference; a span is found when it overlaps a span of the other vote."""
    vote = spans["vote"].to_numpy()
    start, end = spans["start"].to_numpy(), spans["end"].to_numpy()
    label = spans["label"].cat.codes.to_numpy().astype(np.int64)
    names = list(spans["label"].cat.categories)
    n_labels = len(names)
    # groups (vote, label), sorted by start within; ends' running maximum per group
    group = vote * n_labels + label
    order = np.lexsort((start, group))
    group_sorted, start_sorted = group[order], start[order]
    new_group = np.ones(len(order), dtype=bool)
    new_group[1:] = group_sorted[1:] != group_sorted[:-1]
    dense = np.cumsum(new_group) - 1
    width = int(end.max()) + 1
    running_end = np.maximum.accumulate(dense * width + end[order]) - dense * width
    keys = dense * width + start_sorted
    group_names = group_sorted[new_group]
    # queries: every span against every other vote of its item
    codes = pd.factorize(votes["item"])[0]
    by_item = np.argsort(codes, kind="stable")
    n_item_votes = np.bincount(codes)
    item_first = np.concatenate([[0], np.cumsum(n_item_votes)[:-1]])
    span_item = codes[vote]
    k = n_item_votes[span_item]
    query = np.repeat(np.arange(len(vote)), k)
    within = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)
    other = by_item[item_first[span_item[query]] + within]
    keep = other != vote[query]
    query, other = query[keep], other[keep]
    wanted = other * n_labels + label[query]
    at = np.minimum(np.searchsorted(group_names, wanted), len(group_names) - 1)
    exists = group_names[at] == wanted
    last = np.searchsorted(keys, at * width + end[query]) - 1
    found = exists & (last >= 0)
    found[found] = dense[last[found]] == at[found]
    found[found] = running_end[last[found]] > start[query[found]]
    as_reference = vote[query] < other
    found_ref = np.bincount(label[query[found & as_reference]], minlength=n_labels)
    found_pred = np.bincount(label[query[found & ~as_reference]], minlength=n_labels)
    rank, n_votes = _vote_ranks(votes)
    n_ref = np.bincount(label, weights=n_votes[vote] - 1 - rank[vote], minlength=n_labels)
    n_pred = np.bincount(label, weights=rank[vote], minlength=n_labels)
    totals = (int(found_ref.sum()), int(found_pred.sum()), int(n_ref.sum()), int(n_pred.sum()))
    result = {"overall": _f1(*totals)}
    for code, name in enumerate(names):
        result[str(name)] = _f1(
            int(found_ref[code]), int(found_pred[code]), int(n_ref[code]), int(n_pred[code])
        )
    return {k: None if v is None else float(v) for k, v in result.items()}


def distinct_spans(spans: pd.DataFrame, item_code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (item, start, end, label) among ``spans`` in that order (by
    ``item_code``, then offsets, then label): ``(a row of each, how many rows)``."""
    start, end = spans["start"].to_numpy(), spans["end"].to_numpy()
    label = spans["label"].cat.codes.to_numpy()
    order = np.lexsort((label, end, start, item_code))
    new = np.ones(len(order), dtype=bool)
    for column in (item_code, start, end, label):
        ordered = column[order]
        new[1:] &= ordered[1:] == ordered[:-1]
    new = ~new
    new[:1] = True
    first = np.flatnonzero(new)
    return order[first], np.diff(np.append(first, len(order)))


def _strict_pairwise_f1(votes: pd.DataFrame, spans: pd.DataFrame) -> dict[str, float | None]:
    """Strict pairwise F1 from span counts: over all pairs of an item's n annotators,
    the matches are sum C(c, 2) for a span c annotators marked, and the spans compared
    sum (n - 1) per marked span; F1 = 2 matches / compared."""
    _, n_votes = _vote_ranks(votes)
    others = n_votes[spans["vote"].to_numpy()] - 1
    label = spans["label"].cat.codes.to_numpy().astype(np.int64)
    names = list(spans["label"].cat.categories)
    item_code = pd.factorize(spans["item"])[0]
    row, count = distinct_spans(spans, item_code)
    pairs = np.bincount(label[row], weights=count * (count - 1) / 2, minlength=len(names))
    compared = np.bincount(label, weights=others, minlength=len(names))
    result: dict[str, float | None] = {}
    total_pairs, total_compared = float(pairs.sum()), float(compared.sum())
    result["overall"] = 2 * total_pairs / total_compared if total_compared else None
    for code, name in enumerate(names):
        denominator = float(compared[code])
        result[str(name)] = 2 * float(pairs[code]) / denominator if denominator else None
    return result


def nominal_alpha(
    units: np.ndarray, values: np.ndarray, ranks: np.ndarray | None = None
) -> float | None:
    """Krippendorff's alpha (nominal) from one row per (unit, coder) value, via the
    coincidence counts; units with one value are not pairable and drop out.

    ``ranks`` (optional): each row's place among its unit's rows (0, 1, ...). With few
    values per unit the counts then come from a units x ranks matrix, comparing its
    columns pairwise, instead of sorting every (unit, value)."""
    if units.size == 0:
        return None
    dense = units.min() >= 0 and units.max() < 2 * units.size  # token tables are
    unit_index = (units if dense else pd.factorize(units)[0]).astype(np.int64, copy=False)
    n_values = int(values.max()) + 1
    per_unit = np.bincount(unit_index)
    pairable_row = per_unit[unit_index] >= 2
    if np.count_nonzero(pairable_row) <= 1:
        return None
    if ranks is not None and ranks.size and int(ranks.max()) < _MATRIX_RANKS:
        squares = _squares_by_matrix(unit_index, values, ranks, per_unit)
    else:
        # Sparse counts: a units x values table would hold 2.4M x 21 floats for 10⁵ tweets.
        keys = np.sort(unit_index[pairable_row] * n_values + values[pairable_row])
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


#: Up to how many values per unit :func:`nominal_alpha` compares matrix columns.
_MATRIX_RANKS = 8


def _squares_by_matrix(
    unit_index: np.ndarray, values: np.ndarray, ranks: np.ndarray, per_unit: np.ndarray
) -> np.ndarray:
    """Per unit, sum over values of (how many rows gave it)²: its rows plus twice the
    pairs of its rows that agree, from the ranks x units matrix (-1 where empty)."""
    small = values.size == 0 or int(values.max()) < np.iinfo(np.int16).max
    # one row per rank, so that each is contiguous
    matrix = np.full((int(ranks.max()) + 1, per_unit.size), -1, np.int16 if small else np.int32)
    matrix[ranks, unit_index] = values
    agree = np.zeros(per_unit.size, dtype=np.int64)
    for a, first in enumerate(matrix):
        present = first >= 0
        for second in matrix[a + 1 :]:
            agree += (first == second) & present
    return (per_unit + 2 * agree).astype(np.float64)


def token_alpha(
    votes: pd.DataFrame, tokenizer: str = "words", spans: pd.DataFrame | None = None
) -> float | None:
    """Token-level Krippendorff's alpha on IOB2 tags (None without a ``text`` column)."""
    if "text" not in votes.columns or votes.empty:
        return None
    table = token_table(votes, tokenizer, spans)
    return nominal_alpha(table.units, table.tags, table.ranks)


def span_f1(reference: Sequence[Span], predicted: Sequence[Span]) -> Counts:
    """Strict counts of one prediction against one reference (add more with ``add``)."""
    counts = Counts()
    counts.add(as_tuples(reference), as_tuples(predicted), strict=True)
    return counts
