"""What each kind's served model answers for a prediction request (``TaskKind.serve``).

One function per model type; the kinds' ``serve`` methods call them. A confidence is
always 0..1 and says how sure the model is of the *whole* value it gives:

- a label: the top class's probability;
- a label set: the probability of exactly that set, labels taken as independent
  (the product over labels of p where the label is on, 1 - p where it is off);
- a rating: 1 - the bootstrap committee's spread over the scale's width (1: every
  member agrees; the queue's ``committee_spread`` score turned round);
- spans: the geometric mean over the text's tokens of the chosen tag's probability;
- a preference: max(p, 1 - p) with p = P(A better than B).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from labeler.core.kinds.base import Predictions, bounded_key, canonical_json
from labeler.core.span_text import spans_from_tags


def label_classifier(model: Any, X: pd.DataFrame) -> Predictions:
    """A :class:`~labeler.core.training.TrainedModel`: label, top-class probability, and
    ``probabilities`` by class."""
    probabilities = model.predict_proba(X)
    best = probabilities.argmax(axis=1)
    classes = [str(c) for c in model.classes]
    labels = [classes[i] for i in best]
    confidences = probabilities[np.arange(len(best)), best].tolist()
    if len(classes) == 2:  # the common case; a dict display is twice as fast as dict(zip())
        first, second = classes
        details = [{"probabilities": {first: p, second: q}} for p, q in probabilities.tolist()]
    else:
        details = [
            {"probabilities": dict(zip(classes, row, strict=True))}
            for row in probabilities.tolist()
        ]
    return Predictions(labels, labels, confidences, details, keys_are_values=True)


def label_sets(model: Any, X: pd.DataFrame, key: Any) -> Predictions:
    """A multi-label model (``labels``, ``predict_proba``: items x labels): the labels
    at p >= 0.5 in label-set order, and ``probabilities`` per label."""
    labels = [str(label) for label in model.labels]
    p = np.asarray(model.predict_proba(X), dtype=float).reshape(len(X), len(labels))
    on = p >= 0.5
    sure = np.where(on, p, 1.0 - p).prod(axis=1) if labels else np.ones(len(X))
    values = [[label for label, chosen in zip(labels, row, strict=True) if chosen] for row in on]
    details = [{"probabilities": dict(zip(labels, row, strict=True))} for row in p.tolist()]
    return Predictions(values, [key(v) for v in values], sure.tolist(), details)


def ratings(model: Any, X: pd.DataFrame, snap: bool, number: Any, mix_key: Any) -> Predictions:
    """A rating model (ridge pipeline, bootstrap ``committee``, ``points``): the rating
    (snapped to the scale when ``snap``), its unsnapped ``score`` and the committee's
    ``spread`` (standard deviation, scale units)."""
    scale = np.asarray(model.points, dtype=float)
    raw = np.clip(np.asarray(model.pipeline.predict(X), dtype=float), scale[0], scale[-1])
    chosen = scale[np.abs(raw[:, None] - scale[None, :]).argmin(axis=1)] if snap else raw
    if model.committee and len(X):
        spread = np.stack([member.predict(X) for member in model.committee]).std(axis=0)
    else:
        spread = np.zeros(len(X))
    width = max(float(scale[-1] - scale[0]), 1e-12)
    sure = np.clip(1.0 - spread * 2.0 / width, 0.0, 1.0)
    values = [number(float(v)) for v in chosen]
    details = [{"score": float(s), "spread": float(d)} for s, d in zip(raw, spread, strict=True)]
    return Predictions(values, [mix_key(v) for v in values], sure.tolist(), details)


def nearest_point(value: float, points: Sequence[float]) -> float:
    """The scale point nearest ``value`` (the class mix counts a rating there)."""
    return float(min(points, key=lambda point: abs(point - value)))


def spans(model: Any, texts: Sequence[str], mix_key: Any) -> Predictions:
    """A span tagger: the spans (its ``predict``, from the same token probabilities), and
    per text the geometric mean of the chosen tags' probabilities (1.0 for no tokens)."""
    values: list[Any] = []
    sure = []
    for tokens, proba in model.token_proba(texts):
        best = proba.argmax(axis=1) if len(proba) else np.zeros(0, dtype=int)
        values.append(spans_from_tags([model.classes_[i] for i in best], tokens))
        if len(proba) == 0:
            sure.append(1.0)
            continue
        top = np.clip(proba[np.arange(len(best)), best], 1e-12, 1.0)
        sure.append(float(np.exp(np.log(top).mean())))
    return Predictions(values, [mix_key(v) for v in values], sure, [{} for _ in values])


def span_labels(value: Sequence[Any]) -> str:
    """The distinct labels of a span answer, sorted, as JSON: ``'["LOC","PER"]'``."""
    return bounded_key(canonical_json(sorted({str(span["label"]) for span in value})))


def preferences(model: Any, X: pd.DataFrame) -> Predictions:
    """A preference model: the choice A or B, and ``probability_a`` = P(A better than B)."""
    p = np.asarray(model.predict_proba(X), dtype=float)
    choices = ["A" if q >= 0.5 else "B" for q in p.tolist()]
    return Predictions(
        [{"choice": c} for c in choices],
        choices,
        np.maximum(p, 1.0 - p).tolist(),
        [{"probability_a": q} for q in p.tolist()],
    )
