"""Span error analysis: how one set of spans departs from a reference (the final spans:
consensus, adjudication or gold), by kind of error and as a label confusion matrix.

Each predicted span is matched to at most one reference span, in this order:

- ``exact``: same start, end and label;
- ``label``: same start and end, another label;
- ``boundary``: overlapping, same label, other start or end;
- ``boundary_label``: overlapping, other label and bounds;
- ``spurious``: overlapping no reference span left;

and each reference span left unmatched is ``missed``. The confusion matrix counts
(reference label, predicted label) over the matched pairs, with ``"(none)"`` for a
spurious span's reference and a missed span's prediction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NONE = "(none)"
KINDS = ("exact", "label", "boundary", "boundary_label", "spurious", "missed")
Triple = tuple[int, int, str]


@dataclass
class SpanErrors:
    """Counts by error kind, the confusion of labels, and per error kind the items
    where it happened (first ``max_examples``)."""

    counts: Counter[str] = field(default_factory=Counter)
    confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[str, list[Any]] = field(default_factory=dict)

    def add(self, other: SpanErrors, item: Any, max_examples: int) -> None:
        self.counts.update(other.counts)
        self.confusion.update(other.confusion)
        for kind, n in other.counts.items():
            if n and kind != "exact":
                found = self.examples.setdefault(kind, [])
                if len(found) < max_examples and item not in found:
                    found.append(item)

    def as_dict(self) -> dict[str, Any]:
        """JSON shape: counts (every kind), precision / recall / F1 (strict, 0..1),
        confusion as a list of {reference, predicted, count}, examples."""
        counts = {kind: int(self.counts.get(kind, 0)) for kind in KINDS}
        predicted = sum(counts[k] for k in KINDS if k != "missed")
        reference = sum(counts[k] for k in KINDS if k != "spurious")
        precision = counts["exact"] / predicted if predicted else None
        recall = counts["exact"] / reference if reference else None
        f1 = None
        if precision is not None and recall is not None:
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {
            "counts": counts,
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "confusion": [
                {"reference": r, "predicted": p, "count": int(n)}
                for (r, p), n in sorted(self.confusion.items())
            ],
            "examples": self.examples,
        }


def _triples(spans: Iterable[Mapping[str, Any]]) -> list[Triple]:
    return sorted({(int(s["start"]), int(s["end"]), str(s["label"])) for s in spans})


def compare(
    reference: Sequence[Mapping[str, Any]], predicted: Sequence[Mapping[str, Any]]
) -> SpanErrors:
    """The errors of ``predicted`` against ``reference`` (one item's spans)."""
    left = _triples(reference)
    result = SpanErrors()
    pending = []
    for span in _triples(predicted):
        if span in left:
            left.remove(span)
            result.counts["exact"] += 1
            result.confusion[span[2], span[2]] += 1
        else:
            pending.append(span)
    tests = (
        ("label", lambda r, p: (r[0], r[1]) == (p[0], p[1])),
        ("boundary", lambda r, p: r[2] == p[2] and r[0] < p[1] and p[0] < r[1]),
        ("boundary_label", lambda r, p: r[0] < p[1] and p[0] < r[1]),
    )
    for start, end, label in pending:
        for kind, test in tests:
            match = next((r for r in left if test(r, (start, end, label))), None)
            if match is not None:
                left.remove(match)
                result.counts[kind] += 1
                result.confusion[match[2], label] += 1
                break
        else:
            result.counts["spurious"] += 1
            result.confusion[NONE, label] += 1
    for _, _, label in left:
        result.counts["missed"] += 1
        result.confusion[label, NONE] += 1
    return result


def error_report(
    rows: Iterable[tuple[str, Any, Sequence[Mapping[str, Any]], Sequence[Mapping[str, Any]]]],
    max_examples: int = 20,
) -> dict[str, Any]:
    """Errors of each annotator's spans against the reference, and of everyone together.

    Args:
        rows: ``(annotator, item, reference spans, the annotator's spans)``.
        max_examples: how many items to keep per error kind (for links to review).

    Returns:
        ``{"overall": ..., "annotators": {name: ...}}`` in :meth:`SpanErrors.as_dict`'s
        shape, plus ``n_items`` and ``n_annotations`` compared.
    """
    overall, per = SpanErrors(), dict[str, SpanErrors]()
    items: set[Any] = set()
    n_annotations = 0
    for annotator, item, reference, predicted in rows:
        found = compare(reference, predicted)
        overall.add(found, item, max_examples)
        per.setdefault(annotator, SpanErrors()).add(found, item, max_examples)
        items.add(item)
        n_annotations += 1
    return {
        "n_items": len(items),
        "n_annotations": n_annotations,
        "overall": overall.as_dict(),
        "annotators": {name: per[name].as_dict() for name in sorted(per)},
    }
