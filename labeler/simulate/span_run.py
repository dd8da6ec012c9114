"""Span simulations, offline: simulated annotators, their consensus, and the queue.

- :func:`simulate_votes`: every annotator answers every text (the long votes frame the
  spans kind reads, with a ``text`` column).
- :func:`consensus_scores`: strict span F1 against the truth of each consensus method.
- :func:`texts_to_target`: how many texts the uncertainty queue and a random order
  need before the tagger reaches ``target`` of the F1 it gets from all training texts.
- :func:`read_conll`: a CoNLL file (token, tag per line; blank line between texts)
  as texts joined by single spaces, with their spans in code points.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labeler.core import span_crf, span_model
from labeler.core.kinds import KindContext, kind_for
from labeler.core.span_text import Span, check_spans
from labeler.simulate.span_annotators import SpanAnnotator


def read_conll(lines: Iterable[str]) -> list[tuple[str, list[Span]]]:
    """Texts and spans from CoNLL lines (the last column is the IOB2 tag)."""
    texts: list[tuple[str, list[Span]]] = []
    words: list[tuple[str, str]] = []
    for line in [*lines, ""]:
        parts = line.rstrip("\n").split()
        if parts:
            words.append((parts[0], parts[-1]))
            continue
        if not words:
            continue
        text, spans, at = "", [], 0
        for word, tag in words:
            start = at + (1 if text else 0)
            text = f"{text} {word}" if text else word
            at = start + len(word)
            if tag.startswith("B-") or (tag.startswith("I-") and not spans):
                spans.append({"start": start, "end": at, "label": tag[2:]})
            elif tag.startswith("I-"):
                spans[-1]["end"] = at
        labels = sorted({s["label"] for s in spans})
        texts.append((text, check_spans(spans, labels, text=text)))
        words = []
    return texts


def read_conll_file(path: Path) -> list[tuple[str, list[Span]]]:
    return read_conll(path.read_text(encoding="utf-8").splitlines())


def simulate_votes(
    corpus: Sequence[tuple[str, Sequence[Span]]],
    annotators: Sequence[SpanAnnotator],
    labels: Sequence[str],
    seed: int = 0,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (i, a.name, text, a.annotate(text, truth, labels, rng))
        for i, (text, truth) in enumerate(corpus)
        for a in annotators
    ]
    return pd.DataFrame(rows, columns=["item", "annotator", "text", "value"])


def consensus_scores(
    votes: pd.DataFrame, truth: Sequence[Sequence[Span]], labels: Sequence[str]
) -> dict[str, float]:
    """Strict span F1 (micro) of each consensus method against the truth."""
    kind = kind_for("spans")
    context = KindContext(labels=tuple(labels), settings=kind.validate_settings({}, labels))
    scores = {}
    for method in kind.consensus_methods():
        table = kind.consensus(votes, context, method).sort_index()
        scores[method] = span_model.span_scores(truth, table["value"].tolist())["micro_f1"]
    return scores


def _fit(
    train: Sequence[int], corpus: Sequence[tuple[str, Sequence[Span]]], test: Any
) -> tuple[float, span_crf.CrfTagger]:
    model = span_crf.train_crf([corpus[i][0] for i in train], [corpus[i][1] for i in train])
    predicted = model.predict([t for t, _ in test])
    return float(span_model.span_scores([s for _, s in test], predicted)["micro_f1"]), model


def texts_to_target(
    corpus: Sequence[tuple[str, Sequence[Span]]],
    test: Sequence[tuple[str, Sequence[Span]]],
    strategy: str,
    start: int,
    batch: int,
    full_f1: float,
    target: float = 0.95,
    seed: int = 0,
) -> tuple[int | None, list[tuple[int, float]]]:
    """``(texts needed or None, the curve [(n texts, F1)])`` for one queue strategy."""
    rng = np.random.default_rng(seed)
    order = list(rng.permutation(len(corpus)))
    labeled, pool = order[:start], order[start:]
    curve: list[tuple[int, float]] = []
    while True:
        f1, model = _fit(labeled, corpus, test)
        curve.append((len(labeled), f1))
        if f1 >= target * full_f1:
            return len(labeled), curve
        if not pool:
            return None, curve
        if strategy == "random":
            chosen = pool[:batch]
        else:
            scores = span_model.uncertainty(model, [corpus[i][0] for i in pool], strategy)
            chosen = [pool[i] for i in np.argsort(-scores, kind="stable")[:batch]]
        taken = set(chosen)
        labeled += chosen
        pool = [i for i in pool if i not in taken]
