"""A linear-chain CRF tagger for spans (python-crfsuite), the spans kind's model.

Same features as the linear token model (:func:`labeler.core.span_model.text_features`),
but the tags of a text are chosen together: ``predict`` is the best tag sequence
(Viterbi), so an ``I-X`` follows a ``B-X``, and ``token_proba`` gives each token's
marginal probability of each tag, which the queue's strategies read like the linear
model's token probabilities. On WNUT-16 it scores 0.447-0.475 strict span F1 from
1,916 tweets against 0.345-0.387 for the linear model (benchmarks/README.md, "The span
queue with a CRF tagger").

The fitted model travels as crfsuite's own model bytes (a skops artifact can hold bytes,
not a crfsuite object); the tagger is opened from them in memory on first use.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pycrfsuite

from labeler.core.span_model import text_features
from labeler.core.span_text import Span, bio_tags, spans_from_tags

#: L-BFGS with L1 and L2 penalties of 0.1 and 100 iterations: the values crfsuite's
#: scikit-learn wrapper documents for NER, fixed before any run, never tuned here.
PARAMS = {"c1": 0.1, "c2": 0.1, "max_iterations": 100}


@dataclass
class CrfTagger:
    """A fitted CRF: ``classes_`` are the IOB2 tags it knows, ``model`` its bytes."""

    model: bytes
    tokenizer: str
    classes_: list[str]
    #: entity strings seen in training and their usual label (the dictionary baseline)
    dictionary: dict[str, str] = field(default_factory=dict)
    #: one opened tagger per thread: a crfsuite tagger holds the sequence last given to
    #: ``set``, so two request threads sharing one would read each other's marginals
    _local: Any = field(default_factory=threading.local, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if key != "_local"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._local = threading.local()

    def _opened(self) -> pycrfsuite.Tagger:
        tagger = getattr(self._local, "tagger", None)
        if tagger is None:
            tagger = pycrfsuite.Tagger()
            tagger.open_inmemory(self.model)
            self._local.tagger = tagger
        return tagger

    def _features(self, texts: Sequence[str]) -> list[tuple[list[tuple[int, int]], Any]]:
        return [text_features(text, self.tokenizer) for text in texts]

    def token_proba(self, texts: Sequence[str]) -> list[tuple[list[tuple[int, int]], np.ndarray]]:
        """Per text: its tokens and a (tokens × classes) matrix of marginal probabilities."""
        tagger = self._opened()
        out = []
        for tokens, rows in self._features(texts):
            proba = np.zeros((len(tokens), len(self.classes_)))
            if tokens:
                tagger.set(rows)
                for j, tag in enumerate(self.classes_):
                    proba[:, j] = [tagger.marginal(tag, i) for i in range(len(tokens))]
            out.append((tokens, proba))
        return out

    def predict(self, texts: Sequence[str]) -> list[list[Span]]:
        """The spans of each text's best tag sequence."""
        tagger = self._opened()
        return [
            spans_from_tags(tagger.tag(rows), tokens) if tokens else []
            for tokens, rows in self._features(texts)
        ]


def train_crf(
    texts: Sequence[str], values: Sequence[Sequence[Span]], tokenizer: str = "words"
) -> CrfTagger:
    """Fit a CRF on texts and their final spans (deterministic: L-BFGS, no sampling).

    Raises:
        ValueError: when the spans hold no entity at all (nothing to learn).
    """
    trainer = pycrfsuite.Trainer(verbose=False)
    seen: set[str] = set()
    for text, spans in zip(texts, values, strict=True):
        tokens, rows = text_features(text, tokenizer)
        if tokens:
            tags = bio_tags(spans, tokens)
            seen.update(tags)
            trainer.append(rows, tags)
    if len(seen) < 2:
        raise ValueError("the final spans mark no entity yet: nothing to learn")
    trainer.set_params(PARAMS)
    handle, path = tempfile.mkstemp(suffix=".crfsuite")
    os.close(handle)
    try:
        trainer.train(path)
        with open(path, "rb") as model_file:
            model = model_file.read()
    finally:
        os.unlink(path)
    fitted = CrfTagger(model, tokenizer, [])
    fitted.classes_ = [str(tag) for tag in fitted._opened().labels()]
    return fitted
