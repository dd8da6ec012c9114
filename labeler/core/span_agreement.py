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
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from labeler.core.span_text import Span, as_tuples, bio_tags, tokenize

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


def _by_item(votes: pd.DataFrame) -> Iterable[tuple[Any, list[tuple[Any, frozenset[Triple]]]]]:
    grouped: dict[Any, list[tuple[Any, frozenset[Triple]]]] = defaultdict(list)
    for item, annotator, value in zip(
        votes["item"], votes["annotator"], votes["value"], strict=True
    ):
        grouped[item].append((annotator, as_tuples(value or [])))
    return grouped.items()


def pairwise_f1(votes: pd.DataFrame, strict: bool = True) -> dict[str, float | None]:
    """Pairwise span F1 over all annotator pairs: ``overall`` and one entry per label
    (None where no pair marked any span)."""
    counts = Counts()
    for _, marks in _by_item(votes):
        for (_, first), (_, second) in combinations(marks, 2):
            counts.add(first, second, strict)
    return {"overall": counts.f1(), **{label: counts.f1(label) for label in counts.labels()}}


@dataclass
class TokenTable:
    """Every vote's IOB2 tags, long: one row per (token of an item, annotator).

    ``units`` numbers the tokens of all items in turn (item ``i``'s tokens are
    ``base[i]`` .. ``base[i] + len(tokens[i])``); ``coders`` and ``tags`` are codes into
    ``annotators`` and ``tag_names`` (``tag_names[0] == "O"``)."""

    tokens: dict[Any, list[tuple[int, int]]]
    base: dict[Any, int]
    units: np.ndarray
    coders: np.ndarray
    tags: np.ndarray
    annotators: list[Any]
    tag_names: list[str]


def token_table(votes: pd.DataFrame, tokenizer: str = "words") -> TokenTable:
    """The :class:`TokenTable` of ``votes``; needs a ``text`` column."""
    texts = votes.groupby("item", sort=False)["text"].first()
    tokens = {item: tokenize(str(text), tokenizer) for item, text in texts.items()}
    offset, base = 0, {}
    for item, item_tokens in tokens.items():
        base[item] = offset
        offset += len(item_tokens)
    names: dict[str, int] = {"O": 0}
    annotators: dict[Any, int] = {}
    units: list[int] = []
    coders: list[int] = []
    tags: list[int] = []
    for item, annotator, value in zip(
        votes["item"], votes["annotator"], votes["value"], strict=True
    ):
        item_tokens = tokens[item]
        coder = annotators.setdefault(annotator, len(annotators))
        row = bio_tags(value or [], item_tokens)
        units.extend(range(base[item], base[item] + len(row)))
        coders.extend([coder] * len(row))
        tags.extend(names.setdefault(tag, len(names)) for tag in row)
    return TokenTable(
        tokens,
        base,
        np.asarray(units, dtype=np.int64),
        np.asarray(coders, dtype=np.int64),
        np.asarray(tags, dtype=np.int64),
        list(annotators),
        list(names),
    )


def nominal_alpha(units: np.ndarray, values: np.ndarray) -> float | None:
    """Krippendorff's alpha (nominal) from one row per (unit, coder) value, via the
    coincidence counts; units with one value are not pairable and drop out."""
    if units.size == 0:
        return None
    _, unit_index = np.unique(units, return_inverse=True)
    n_values = int(values.max()) + 1
    counts = np.zeros((int(unit_index.max()) + 1, n_values))
    np.add.at(counts, (unit_index, values), 1)
    per_unit = counts.sum(axis=1)
    pairable = per_unit >= 2
    counts, per_unit = counts[pairable], per_unit[pairable]
    total = per_unit.sum()
    if total <= 1:
        return None
    observed_agree = ((counts**2).sum(axis=1) - per_unit) / (per_unit - 1)
    disagreement_observed = 1 - observed_agree.sum() / total
    by_value = counts.sum(axis=0)
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
