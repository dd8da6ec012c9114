"""Simulated span annotators and texts whose entities are known exactly.

An annotator sees an item's true spans and, independently per span, misses it
(``miss``), moves one of its edges by a token (``shift``) or gives it another label
(``mislabel``); the rest are marked right. A :class:`SpanAnnotator` of rates 0 is
perfect.

:func:`find_entities` marks what can be found exactly by pattern in short messages
(phone numbers, URLs, prices and times), so real texts such as ``sms-spam.csv`` serve
as truth without a human gold standard.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labeler.core.span_text import Span, check_spans, tokenize

PATTERNS = {
    "URL": r"(?:https?://|www\.)[\w./?=&%#~+-]*\w",
    "PHONE": r"(?<![\w£$.])0\d{9,10}(?!\w)",
    "PRICE": r"[£$€]\d+(?:[.,]\d\d)?(?:p)?(?!\w)|\b\d+p(?!\w)",
    "TIME": r"\b(?:[01]?\d|2[0-3])(?::[0-5]\d)?\s?(?:am|pm)\b|\b(?:[01]?\d|2[0-3]):[0-5]\d\b",
}
_FINDER = re.compile("|".join(f"(?P<{name}>{p})" for name, p in PATTERNS.items()), re.IGNORECASE)


def find_entities(text: str) -> list[Span]:
    """The URL, PHONE, PRICE and TIME spans of ``text``, snapped to the word tokens."""
    raw = [
        {"start": m.start(), "end": m.end(), "label": str(m.lastgroup)}
        for m in _FINDER.finditer(text)
    ]
    return check_spans(raw, list(PATTERNS), text=text)


@dataclass(frozen=True)
class SpanAnnotator:
    """Rates 0..1 per true span: missed, an edge moved by a token, another label."""

    name: str
    miss: float = 0.0
    shift: float = 0.0
    mislabel: float = 0.0

    def annotate(
        self,
        text: str,
        truth: Sequence[Span],
        labels: Sequence[str],
        rng: np.random.Generator,
    ) -> list[Span]:
        """This annotator's spans for ``text`` (valid: snapped, no overlaps)."""
        tokens = tokenize(text)
        out: list[Span] = []
        for span in truth:
            draw = rng.random(3)
            if draw[0] < self.miss:
                continue
            start, end, label = span["start"], span["end"], span["label"]
            if draw[1] < self.shift:
                start, end = _shifted(tokens, start, end, rng)
            if draw[2] < self.mislabel and len(labels) > 1:
                label = str(rng.choice([x for x in labels if x != label]))
            out.append({"start": start, "end": end, "label": label})
        kept: list[Span] = []
        for span in sorted(out, key=lambda s: (s["start"], s["end"])):
            if not kept or kept[-1]["end"] <= span["start"]:
                kept.append(span)  # a shift that ran into the next span drops it
        return kept


def _shifted(
    tokens: Sequence[tuple[int, int]], start: int, end: int, rng: np.random.Generator
) -> tuple[int, int]:
    first = next(i for i, t in enumerate(tokens) if t[0] == start)
    last = next(i for i, t in enumerate(tokens) if t[1] == end)
    moves = [
        (first - 1, last),  # one token more on the left
        (first, last + 1),  # one more on the right
        (first + 1, last),  # one fewer on the left
        (first, last - 1),  # one fewer on the right
    ]
    valid = [(a, b) for a, b in moves if 0 <= a <= b < len(tokens)]
    if not valid:
        return start, end
    a, b = valid[int(rng.integers(len(valid)))]
    return tokens[a][0], tokens[b][1]


def mixed_annotators() -> list[SpanAnnotator]:
    """Three annotators of mixed quality: careful, average and careless."""
    return [
        SpanAnnotator("careful", miss=0.05, shift=0.05, mislabel=0.02),
        SpanAnnotator("average", miss=0.15, shift=0.15, mislabel=0.05),
        SpanAnnotator("careless", miss=0.35, shift=0.35, mislabel=0.2),
    ]
