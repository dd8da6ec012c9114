"""Near-duplicate texts by MinHash over character shingles, with LSH banding.

Two texts are near-duplicates when the Jaccard similarity of their sets of
character 5-grams is at least ``threshold`` (0.8 by default: a changed word or
two in a tweet, a reposted SMS with another phone number). Comparing every pair
costs n²; instead each text gets a MinHash signature (``num_perm`` minimums of
hashed shingles; the share of equal minimums estimates the Jaccard similarity)
and texts whose signatures agree on a whole band of ``rows`` values become
candidates, which are then checked on their full signatures. Cost grows with n,
not n²: a million texts take well under a minute in numpy.

Everything is vectorised: the shingles of a block of texts are hashed as one
rolling hash over their concatenated UTF-8 bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

SHINGLE = 5
BLOCK = 20_000  # texts hashed at a time: bounds memory at ~100 MB whatever n is


@dataclass(frozen=True)
class NearDuplicates:
    """``group[i]``: the smallest position whose text is a near-duplicate of text ``i``
    (``i`` itself when it has none). ``pairs``: (a, b, estimated Jaccard) of the
    candidate pairs that passed the check, a < b."""

    group: np.ndarray
    pairs: np.ndarray  # shape (m, 2), int64
    similarity: np.ndarray  # shape (m,), float

    def clusters(self) -> list[list[int]]:
        """Groups of two or more positions, largest first."""
        order = np.argsort(self.group, kind="stable")
        keys = self.group[order]
        cuts = np.flatnonzero(np.diff(keys)) + 1
        found = [part.tolist() for part in np.split(order, cuts) if len(part) > 1]
        return sorted(found, key=lambda members: (-len(members), members[0]))


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads the bits of a rolling hash evenly."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    mixed: np.ndarray = values ^ (values >> np.uint64(31))
    return mixed


def shingle_hashes(texts: Sequence[str], k: int = SHINGLE) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of every character k-gram (over UTF-8 bytes) of each text.

    Returns:
        (hashes, starts): ``hashes[starts[i]:starts[i + 1]]`` belong to text ``i``;
        a text shorter than ``k`` bytes counts as one shingle (padded with spaces).
    """
    encoded = [t.encode() for t in texts]
    encoded = [b if len(b) >= k else b.ljust(k) for b in encoded]
    lengths = np.fromiter((len(b) for b in encoded), np.int64, len(encoded))
    buffer = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.uint64)
    windows = len(buffer) - k + 1
    rolling = np.zeros(max(windows, 0), dtype=np.uint64)
    for j in range(k):
        rolling = rolling * np.uint64(1099511628211) + buffer[j : j + windows]
    counts = lengths - k + 1
    offsets = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    starts = np.concatenate(([0], np.cumsum(counts)))
    within = np.arange(starts[-1], dtype=np.int64) - np.repeat(starts[:-1], counts)
    return _mix(rolling[np.repeat(offsets, counts) + within]), starts


def minhash(texts: Sequence[str], num_perm: int = 64, seed: int = 0) -> np.ndarray:
    """MinHash signatures, shape (len(texts), num_perm), uint32."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    signatures = np.empty((len(texts), num_perm), dtype=np.uint32)
    for begin in range(0, len(texts), BLOCK):
        hashes, starts = shingle_hashes(texts[begin : begin + BLOCK])
        permuted = np.empty_like(hashes)
        for p in range(num_perm):
            # Multiply-shift hashing, in place: the top 32 bits of a*x + b.
            np.multiply(hashes, a[p], out=permuted)
            np.add(permuted, b[p], out=permuted)
            np.right_shift(permuted, np.uint64(32), out=permuted)
            signatures[begin : begin + len(starts) - 1, p] = np.minimum.reduceat(
                permuted, starts[:-1]
            )
    return signatures


def _band_candidates(signatures: np.ndarray, rows: int) -> np.ndarray:
    """Pairs (first, other) of texts sharing a band, each bucket joined as a star."""
    n, num_perm = signatures.shape
    found = []
    for start in range(0, num_perm - rows + 1, rows):
        key = np.zeros(n, dtype=np.uint64)
        for column in range(start, start + rows):
            key = _mix(
                key * np.uint64(0x9E3779B97F4A7C15) + signatures[:, column].astype(np.uint64)
            )
        order = np.argsort(key, kind="stable")
        sorted_keys = key[order]
        new_run = np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1]))
        run_first = order[np.maximum.accumulate(np.where(new_run, np.arange(n), 0))]
        member = ~new_run
        found.append(np.stack([run_first[member], order[member]], axis=1))
    if not found:
        return np.empty((0, 2), dtype=np.int64)
    pairs = np.concatenate(found).astype(np.int64)
    pairs.sort(axis=1)
    codes = np.unique(pairs[:, 0] * n + pairs[:, 1])  # one int per pair: a fast unique
    return np.stack([codes // n, codes % n], axis=1)


def near_duplicates(
    texts: Sequence[str], threshold: float = 0.8, num_perm: int = 64, rows: int = 4, seed: int = 0
) -> NearDuplicates:
    """Group texts whose shingle sets have an estimated Jaccard similarity >= ``threshold``.

    Args:
        texts: normalised texts (see :func:`labeler.core.quality.normalise`); pass each
            distinct text once (exact duplicates are cheaper to find by hash).
        threshold: 0..1; 0.8 catches small edits, 0.5 also catches heavy rewording.
        num_perm, rows: signature length and band width; with 64 and 4 a pair at
            Jaccard 0.8 becomes a candidate with probability 0.9998, one at 0.3
            with 0.13 (and is then dropped by the check).

    Returns:
        :class:`NearDuplicates`; groups are connected components of similar pairs.
    """
    n = len(texts)
    if n == 0:
        empty = np.empty((0, 2), dtype=np.int64)
        return NearDuplicates(np.empty(0, dtype=np.int64), empty, np.empty(0))
    signatures = minhash(texts, num_perm, seed)
    candidates = _band_candidates(signatures, rows)
    similarity = np.empty(len(candidates))
    for begin in range(0, len(candidates), 200_000):
        part = candidates[begin : begin + 200_000]
        similarity[begin : begin + len(part)] = (
            signatures[part[:, 0]] == signatures[part[:, 1]]
        ).mean(axis=1)
    keep = similarity >= threshold
    pairs, similarity = candidates[keep], similarity[keep]
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    smallest = np.full(labels.max() + 1, n, dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(n, dtype=np.int64))
    return NearDuplicates(smallest[labels], pairs, similarity)
