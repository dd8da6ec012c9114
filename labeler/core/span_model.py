"""A token classifier for spans, its metrics, baselines and queue uncertainty.

Each token is described by hashed features (the word, its lowercase, 2- and 3-letter
prefixes and suffixes, its shape ``Xxxx`` / ``dd``, and the same for one and two
neighbours each side) and classified into its IOB2 tag by a linear model
(``SGDClassifier`` with log loss: probabilities for the queue, and fast on 10⁵ tokens).
The spans kind trains the CRF of :mod:`labeler.core.span_crf` on the same features
instead (higher span F1, and fewer texts to its target through the queue); this model
stays for artifacts saved before it and as the benchmarks' reference.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from sklearn.feature_extraction import FeatureHasher
from sklearn.linear_model import SGDClassifier

from labeler.core import span_queue
from labeler.core.span_agreement import Counts
from labeler.core.span_text import Span, as_tuples, bio_tags, spans_from_tags, tokenize

N_FEATURES = 2**18


class TokenTagger(Protocol):
    """What the queue reads from a fitted tagger: :class:`SpanTagger` and
    :class:`~labeler.core.span_crf.CrfTagger` both are one."""

    classes_: list[str]

    def token_proba(
        self, texts: Sequence[str]
    ) -> list[tuple[list[tuple[int, int]], np.ndarray]]: ...


_SHAPE = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "X" * 26 + "x" * 26 + "d" * 10,
)


@lru_cache(maxsize=200_000)
def _shape(word: str) -> str:
    """``Xxxx``-style shape with runs cut to two: "London" -> "Xxx", "0845" -> "dd"."""
    return re.sub(r"(.)\1{2,}", r"\1\1", word.translate(_SHAPE))


@lru_cache(maxsize=200_000)
def _own_features(word: str) -> tuple[str, ...]:
    lower = word.lower()
    return (
        "bias",
        f"w={word}",
        f"l={lower}",
        f"s={_shape(word)}",
        f"p2={lower[:2]}",
        f"p3={lower[:3]}",
        f"x2={lower[-2:]}",
        f"x3={lower[-3:]}",
    )


def token_features(words: Sequence[str]) -> list[list[str]]:
    """Feature strings per token: its own and its neighbours' within two."""
    padded = ["<s>", "<s>", *words, "</s>", "</s>"]
    context = [(w.lower(), _shape(w)) for w in padded]
    rows = []
    for i in range(len(words)):
        row = list(_own_features(words[i]))
        for offset in (-2, -1, 1, 2):
            lower, shape = context[i + 2 + offset]
            row += [f"{offset}w={lower}", f"{offset}s={shape}"]
        rows.append(row)
    return rows


def text_features(text: str, tokenizer: str) -> tuple[list[tuple[int, int]], list[list[str]]]:
    """A text's token offsets and each token's feature strings (what both taggers read)."""
    tokens = tokenize(text, tokenizer)
    return tokens, token_features([text[s:e] for s, e in tokens])


@dataclass
class SpanTagger:
    """A fitted tagger: ``classes_`` are the IOB2 tags the classifier knows."""

    classifier: SGDClassifier
    tokenizer: str
    classes_: list[str]
    #: entity strings seen in training and their usual label (the dictionary baseline)
    dictionary: dict[str, str] = field(default_factory=dict)

    def token_proba(self, texts: Sequence[str]) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
        """Per text: its tokens and a (tokens × classes) probability matrix."""
        featured = [text_features(text, self.tokenizer) for text in texts]
        per_text = [tokens for tokens, _ in featured]
        rows = [text_rows for _, text_rows in featured]
        flat = [row for text_rows in rows for row in text_rows]
        if not flat:
            return [(tokens, np.zeros((0, len(self.classes_)))) for tokens in per_text]
        proba = self.classifier.predict_proba(_hasher().transform(flat))
        out, at = [], 0
        for tokens in per_text:
            out.append((tokens, proba[at : at + len(tokens)]))
            at += len(tokens)
        return out

    def predict(self, texts: Sequence[str]) -> list[list[Span]]:
        return [
            spans_from_tags([self.classes_[i] for i in proba.argmax(axis=1)], tokens)
            for tokens, proba in self.token_proba(texts)
        ]


def _hasher() -> FeatureHasher:
    return FeatureHasher(n_features=N_FEATURES, input_type="string", alternate_sign=False)


def train_tagger(
    texts: Sequence[str],
    values: Sequence[Sequence[Span]],
    tokenizer: str = "words",
    random_state: int = 0,
) -> SpanTagger:
    """Fit a tagger on texts and their final spans.

    Raises:
        ValueError: when the spans hold no entity at all (nothing to learn).
    """
    rows: list[list[str]] = []
    tags: list[str] = []
    for text, spans in zip(texts, values, strict=True):
        tokens, text_rows = text_features(text, tokenizer)
        rows += text_rows
        tags += bio_tags(spans, tokens)
    if len(set(tags)) < 2:
        raise ValueError("the final spans mark no entity yet: nothing to learn")
    classifier = SGDClassifier(
        loss="log_loss", alpha=1e-5, max_iter=30, tol=1e-3, random_state=random_state
    )
    classifier.fit(_hasher().transform(rows), tags)
    return SpanTagger(classifier, tokenizer, [str(c) for c in classifier.classes_])


def span_scores(
    truth: Sequence[Sequence[Span]], predicted: Sequence[Sequence[Span]]
) -> dict[str, Any]:
    """Strict span precision, recall and F1, micro (``precision``, ``recall``, ``micro_f1``)
    and per label (``per_label``); 0..1, 1 = every span found exactly."""
    counts = Counts()
    for reference, guess in zip(truth, predicted, strict=True):
        counts.add(as_tuples(reference), as_tuples(guess), strict=True)

    def scores(label: str) -> dict[str, float]:
        found_ref, found_pred, n_ref, n_pred = counts.table[label]
        return {
            "precision": found_pred / n_pred if n_pred else 0.0,
            "recall": found_ref / n_ref if n_ref else 0.0,
            "f1": counts.f1(label) or 0.0,
            "support": n_ref,
        }

    overall = scores("")
    return {
        "precision": overall["precision"],
        "recall": overall["recall"],
        "micro_f1": overall["f1"],
        "n_items": len(truth),
        "per_label": {label: scores(label) for label in counts.labels()},
    }


def entity_dictionary(texts: Sequence[str], values: Sequence[Sequence[Span]]) -> dict[str, str]:
    """Each string marked as an entity in ``texts``, with the label it had most often."""
    seen: dict[str, dict[str, int]] = {}
    for text, spans in zip(texts, values, strict=True):
        for span in spans:
            labels = seen.setdefault(text[span["start"] : span["end"]], {})
            labels[span["label"]] = labels.get(span["label"], 0) + 1
    return {string: max(labels, key=lambda k: (labels[k], k)) for string, labels in seen.items()}


def mark_dictionary(dictionary: dict[str, str], texts: Sequence[str]) -> list[list[Span]]:
    """The dictionary baseline: every occurrence of a known entity string (not inside
    a longer word; longest first, no overlaps), with its usual label."""
    if not dictionary:
        return [[] for _ in texts]
    pattern = re.compile(
        "|".join(rf"(?<!\w){re.escape(s)}(?!\w)" for s in sorted(dictionary, key=len, reverse=True))
    )
    return [
        [
            {"start": m.start(), "end": m.end(), "label": dictionary[m.group()]}
            for m in pattern.finditer(t)
        ]
        for t in texts
    ]


def uncertainty(model: TokenTagger, texts: Sequence[str], strategy: str) -> np.ndarray:
    """One score per text, 0..1, higher = more useful to label next; the strategies
    (``entity_tokens``, ``total_entropy``, ``mnlp``, ``token_entropy``) are
    :mod:`labeler.core.span_queue`'s. A text without tokens scores 0."""
    probas = [proba for _, proba in model.token_proba(texts)]
    return span_queue.scores(probas, model.classes_, strategy)
