"""The span queue's uncertainty: one score per text from its token probabilities.

Every score is 0..1, higher = more useful to label next; a text without tokens scores 0.

- ``entity_tokens``: the expected number of entity tokens, the sum over tokens of
  1 - P(O), squashed by x / (1 + x). Most texts of a real corpus mark no entity at all
  (62% of WNUT-16's tweets); a text the model expects entities in teaches it most, and
  the sum (not a mean) prefers a text with several of them. It needed the fewest texts
  of the strategies tried on WNUT-16: 1.65x fewer than random with the CRF tagger, mean
  of 3 seeds (1.47x with the linear token model; benchmarks/README.md, "The span queue
  with a CRF tagger"), so the spans kind ranks by it unless the project picks another.
- ``total_entropy``: the sum of the tokens' entropies (in units of log(number of tags)),
  squashed the same way.
- ``mnlp``: 1 - exp(mean log max token probability), the length-normalised
  least-confident score of the best tag sequence (Shen et al. 2017).
- ``token_entropy``: mean token entropy divided by log(number of tags).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

#: each strategy: (token probabilities, index of the "O" tag) -> raw score
Scorer = Callable[[np.ndarray, int], float]


def _entropy(proba: np.ndarray) -> np.ndarray:
    clipped = np.clip(proba, 1e-12, 1.0)
    entropy: np.ndarray = -(clipped * np.log(clipped)).sum(axis=1) / np.log(max(proba.shape[1], 2))
    return entropy


def _squash(total: float) -> float:
    return total / (1.0 + total)


def _entity_tokens(proba: np.ndarray, outside: int) -> float:
    if outside < 0:  # the model knows no "O" (every training token was in a span)
        return _squash(float(len(proba)))
    return _squash(float(np.clip(1.0 - proba[:, outside], 0.0, 1.0).sum()))


def _total_entropy(proba: np.ndarray, outside: int) -> float:
    return _squash(float(_entropy(proba).sum()))


def _mnlp(proba: np.ndarray, outside: int) -> float:
    best = np.clip(proba.max(axis=1), 1e-12, 1.0)
    return 1.0 - float(np.exp(np.log(best).mean()))


def _token_entropy(proba: np.ndarray, outside: int) -> float:
    return float(_entropy(proba).mean())


SCORERS: dict[str, Scorer] = {
    "entity_tokens": _entity_tokens,
    "total_entropy": _total_entropy,
    "mnlp": _mnlp,
    "token_entropy": _token_entropy,
}


def scores(probas: Sequence[np.ndarray], classes: Sequence[str], strategy: str) -> np.ndarray:
    """One score per text from its (tokens × classes) probability matrix.

    Raises:
        ValueError: for a strategy not in :data:`SCORERS`.
    """
    if strategy not in SCORERS:
        raise ValueError(f"unknown span strategy {strategy!r}")
    scorer = SCORERS[strategy]
    outside = list(classes).index("O") if "O" in classes else -1
    out = np.zeros(len(probas))
    for i, proba in enumerate(probas):
        if len(proba):
            out[i] = scorer(proba, outside)
    return np.clip(out, 0.0, 1.0)
