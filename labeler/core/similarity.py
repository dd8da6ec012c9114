"""Nearest items by the project's own features: an embedding and a cosine search.

The features are what the model reads (TF-IDF of the text fields, scaled numbers such
as pixels, one-hot categories). A truncated SVD, fitted on a sample, reduces them to a
few dozen dimensions, so the index of a million items is a dense float32 matrix that
one matrix-vector product searches. Scores are cosine similarities, -1..1 (1: the same
direction; near-duplicates score above 0.95).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from sklearn.decomposition import TruncatedSVD

DIMENSIONS = 64
FIT_SAMPLE = 20_000


def fit_components(features: Any, dimensions: int = DIMENSIONS, seed: int = 0) -> NDArray[Any]:
    """The SVD directions (``dimensions`` x n_features) of a sample of the features.

    With fewer features than ``dimensions`` the features are kept as they are (the
    identity), as reducing them would lose nothing worth the cost."""
    n_rows, n_features = features.shape
    if n_features <= dimensions or n_rows < 2:
        return np.eye(n_features, dtype=np.float32)
    rows = np.random.default_rng(seed).permutation(n_rows)[:FIT_SAMPLE]
    svd = TruncatedSVD(n_components=min(dimensions, n_features - 1), random_state=seed)
    svd.fit(features[np.sort(rows)])
    return np.asarray(svd.components_, dtype=np.float32)


def embed(features: Any, components: NDArray[Any]) -> NDArray[np.float32]:
    """Rows projected on ``components`` and scaled to unit length (zero rows stay zero)."""
    projected = np.asarray(features @ components.T, dtype=np.float32)
    norms = np.linalg.norm(projected, axis=1, keepdims=True)
    unit: NDArray[np.float32] = np.divide(
        projected, norms, out=np.zeros_like(projected), where=norms > 0
    )
    return unit


def nearest(
    vectors: NDArray[np.float32],
    query: NDArray[np.float32],
    k: int,
    exclude: int | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """The positions of the ``k`` rows most similar to ``query`` (best first) and their
    cosine similarities; ``exclude`` leaves one position out (the item asked about)."""
    scores = vectors @ query.astype(np.float32)
    if exclude is not None:
        scores[exclude] = -np.inf
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
    top = np.argpartition(-scores, k - 1)[:k]
    top = top[np.argsort(-scores[top], kind="stable")]
    return top, scores[top]
