"""A preference model: P(response A is better than response B) from the two texts.

Features are differences, A minus B: hashed word and bigram counts (tf, l2-normed),
length in characters, words and lines (log), code blocks, and word overlap with the
prompt. A logistic regression without intercept on differences is antisymmetric: the
pair (B, A) gets exactly 1 - P(A, B), so which response sits in slot A cannot be learnt.
The hashing vectorizer is stateless (nothing to fit, a fixed-size model), which keeps
the artifact small whatever the vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

FloatArray = NDArray[np.float64]

ROLES = ("prompt", "context", "response_a", "response_b", "system_a", "system_b")
_WORD = re.compile(r"\w+")
_N_FEATURES = 2**16
CALIBRATION_BINS = 5


def _texts(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame:
        return [""] * len(frame)
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
            for v in frame[column]]  # fmt: skip


def _overlap(response: str, prompt: str) -> float:
    """Share of the prompt's distinct words the response repeats (0..1)."""
    asked = set(_WORD.findall(prompt.lower()))
    return len(asked & set(_WORD.findall(response.lower()))) / len(asked) if asked else 0.0


def _shape(texts: list[str], prompts: list[str]) -> FloatArray:
    """Per text: log chars, log words, log lines, code blocks, prompt overlap."""
    return np.asarray(
        [
            [
                np.log1p(len(t)),
                np.log1p(len(_WORD.findall(t))),
                np.log1p(t.count("\n")),
                t.count("```") // 2,
                _overlap(t, p),
            ]
            for t, p in zip(texts, prompts, strict=True)
        ],
        dtype=float,
    ).reshape(len(texts), 5)


class PreferenceModel:
    """Fit on pairs with target 1.0 (A won) / 0.0 (B won); ``predict_proba`` gives P(A).

    ``fields`` names the item columns of each role (:data:`ROLES`).
    """

    def __init__(self, fields: Mapping[str, str], C: float = 1.0) -> None:
        self.fields = dict(fields)
        self.C = C
        self.vectorizer = HashingVectorizer(
            n_features=_N_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm="l2"
        )

    def features(self, frame: pd.DataFrame) -> sparse.csr_matrix:
        prompts = _texts(frame, self.fields["prompt"])
        a = _texts(frame, self.fields["response_a"])
        b = _texts(frame, self.fields["response_b"])
        words = self.vectorizer.transform(a) - self.vectorizer.transform(b)
        shape = _shape(a, prompts) - _shape(b, prompts)
        return sparse.hstack([words, sparse.csr_matrix(shape)], format="csr")

    def fit(self, frame: pd.DataFrame, target: FloatArray) -> PreferenceModel:
        y = np.asarray(target, dtype=float)
        if len(y) < 2 or len(set(y.tolist())) < 2:
            raise ValueError("a preference model needs decided pairs won by A and by B")
        X = self.features(frame)
        # Each pair also enters swapped, so the fit sees both sides equally often.
        self.estimator_ = LogisticRegression(C=self.C, fit_intercept=False, max_iter=1000)
        self.estimator_.fit(sparse.vstack([X, -X]), np.concatenate([y, 1.0 - y]).astype(int))
        return self

    def predict_proba(self, frame: pd.DataFrame) -> FloatArray:
        """P(A better than B) per row, 0..1."""
        if len(frame) == 0:
            return np.zeros(0)
        proba = self.estimator_.predict_proba(self.features(frame))
        return np.asarray(proba[:, list(self.estimator_.classes_).index(1)], dtype=float)

    def longer(self, frame: pd.DataFrame) -> FloatArray:
        """1.0 where response A is the longer (in characters), 0.0 where B is, 0.5 if equal."""
        return longer(frame, self.fields)


def longer(frame: pd.DataFrame, fields: Mapping[str, str]) -> FloatArray:
    """1.0 where response A is the longer (in characters), 0.0 where B is, 0.5 if equal."""
    a = np.asarray([len(t) for t in _texts(frame, fields["response_a"])])
    b = np.asarray([len(t) for t in _texts(frame, fields["response_b"])])
    return np.asarray(np.where(a > b, 1.0, np.where(a < b, 0.0, 0.5)), dtype=float)


def longer_response_accuracy(side: FloatArray, target: FloatArray) -> float | None:
    """Accuracy of "always the longer response" (``side`` from :func:`longer`) on
    decided pairs (``target`` 1.0 A won, 0.0 B won); a pair of equal length is a coin
    toss, half right. None without pairs."""
    y = np.asarray(target, dtype=float)
    if len(y) == 0:
        return None
    return float((side == y).mean() + 0.5 * (side == 0.5).mean())


def calibration(p: FloatArray, y: FloatArray, bins: int = CALIBRATION_BINS) -> dict[str, Any]:
    """Reliability table over equal-width bins of P(A) and the expected calibration
    error (0..1, 0 = each bin's mean prediction equals how often A won in it)."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    table = []
    error = 0.0
    for b in range(bins):
        inside = index == b
        if not inside.any():
            continue
        predicted, observed = float(p[inside].mean()), float(y[inside].mean())
        error += inside.mean() * abs(predicted - observed)
        table.append(
            {"low": float(edges[b]), "high": float(edges[b + 1]), "n": int(inside.sum()),
             "predicted": predicted, "observed": observed}
        )  # fmt: skip
    return {"bins": table, "expected_calibration_error": float(error) if len(p) else None}


def evaluate(model: PreferenceModel, frame: pd.DataFrame, target: FloatArray) -> dict[str, Any]:
    """The model on decided test pairs: ``accuracy``, ``log_loss``, ``calibration``,
    the "always the longer response" baseline (``longer_response_accuracy``) and
    ``agrees_with_length`` (share of pairs where the model prefers the longer
    response: near 1.0 means it has learnt little beyond "longer is better")."""
    y = np.asarray(target, dtype=float)
    if len(y) == 0:
        return {"accuracy": None, "log_loss": None, "n_test": 0}
    p = model.predict_proba(frame)
    longer = model.longer(frame)
    chosen = (p >= 0.5).astype(float)
    unequal = longer != 0.5
    return {
        "accuracy": float((chosen == y).mean()),
        "log_loss": float(log_loss(y, p, labels=[0.0, 1.0])),
        "calibration": calibration(p, y),
        "longer_response_accuracy": longer_response_accuracy(longer, y),
        "agrees_with_length": float((chosen[unequal] == longer[unequal]).mean())
        if unequal.any()
        else None,
        "n_test": int(len(y)),
    }
