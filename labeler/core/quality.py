"""Data quality checks on plain values: normalisation, fingerprints, field checks.

Pure functions on Python values, numpy and pandas (no Flask, no database), so the
same checks run at import (one chunk at a time), in the report job over a whole
project, and in tests. Near-duplicate detection lives in
:mod:`labeler.core.near_duplicates`; this module says what counts as "the same text".
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

OUTLIER_IQR = 3.0  # Tukey's "far out" fence: lengths beyond Q3 + 3 IQR are outliers
NUMERIC_SHARE = 0.8  # a column whose values parse as numbers this often "is numeric"
EXAMPLES = 5  # examples kept per finding


def normalise(text: str) -> str:
    """The form two texts must share to count as exact duplicates.

    Unicode NFKC (full-width and composed forms fold together), case folded,
    runs of whitespace made one space, ends stripped: "Hello  World" and
    "hello world\\n" are the same text.
    """
    # str.split() without arguments splits on runs of any unicode whitespace and drops
    # the ends: the same as collapsing \s+ and stripping, several times faster.
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def fingerprint(data: Mapping[str, Any], fields: Sequence[str]) -> str:
    """A 40-hex-digit SHA-1 of the normalised ``fields`` of one item.

    Texts are normalised; other values are compared as written. Items with equal
    fingerprints are exact duplicates.
    """
    parts = []
    for name in fields:
        value = data.get(name)
        if value is None:
            parts.append("\x00")
        elif isinstance(value, str):
            parts.append(normalise(value))
        else:
            parts.append(repr(value))
    return hashlib.sha1("\x1f".join(parts).encode()).hexdigest()


def fingerprints(rows: Sequence[Mapping[str, Any]], fields: Sequence[str]) -> list[str]:
    """:func:`fingerprint` of each of ``rows``, the same values, a field at a time: the
    texts of a field are normalised (NFKC, case folded) in one call, not one call each.
    """
    columns = [_normalised([row.get(name) for row in rows]) for name in fields]
    sha1 = hashlib.sha1
    return [sha1("\x1f".join(parts).encode()).hexdigest() for parts in zip(*columns, strict=True)]


def _normalised(values: list[Any]) -> list[str]:
    """Each value as :func:`fingerprint` writes it. The texts are joined by NUL: NFKC and
    case folding map each character on its own (a NUL, a starter that composes with
    nothing, ends every run of combining marks), so the pieces come back one per text
    unless a text holds a NUL itself; then each text is normalised alone."""
    texts = [value for value in values if isinstance(value, str)]
    pieces = unicodedata.normalize("NFKC", "\x00".join(texts)).casefold().split("\x00")
    if len(pieces) != len(texts):
        pieces = [unicodedata.normalize("NFKC", text).casefold() for text in texts]
    folded = iter(pieces)
    return [
        " ".join(next(folded).split())
        if isinstance(value, str)
        else "\x00"
        if value is None
        else repr(value)
        for value in values
    ]


def duplicate_groups(fingerprints: Sequence[str]) -> np.ndarray:
    """For each row, the position of the first row with the same fingerprint.

    Returns:
        int64 array: ``first[i] == i`` for originals, ``first[i] < i`` for copies.
    """
    codes, _ = pd.factorize(pd.Series(fingerprints, dtype=object), sort=False)
    codes = np.asarray(codes, dtype=np.int64)
    first_of_code = np.full(codes.max(initial=-1) + 1, -1, dtype=np.int64)
    positions = np.arange(len(codes), dtype=np.int64)
    # Assign in reverse, so the earliest position of each code is the one that stays.
    first_of_code[codes[::-1]] = positions[::-1]
    first: np.ndarray = first_of_code[codes]
    return first


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default).

    Unlike the normal approximation it stays inside 0..1 and is honest with few
    trials: 9 right out of 10 gives 0.60-0.98, not 0.71-1.09.
    """
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _examples(values: Iterable[Any]) -> list[str]:
    out = []
    for value in values:
        text = str(value)
        out.append(text if len(text) <= 80 else text[:77] + "…")
        if len(out) == EXAMPLES:
            break
    return out


def check_field(values: Sequence[Any], kind: str) -> dict[str, Any]:
    """Missing values, empty texts, length outliers and unparseable numbers of one field.

    Args:
        values: the field's value in every item (None when missing).
        kind: "text", "numeric" or anything else (categorical, meta, image).

    Returns:
        A JSON-safe dict. ``length_outliers`` counts texts whose length is beyond
        Tukey's far-out fences (Q1 - 3 IQR, Q3 + 3 IQR): usually truncation, pasted
        logs or concatenated records. ``unparseable`` counts values that are not
        numbers in a numeric field, or in a field where at least 80% of the values
        are numbers (likely a numeric column with typos).
    """
    series = pd.Series(values, dtype=object)
    missing = series.isna().to_numpy()
    present = series[~missing]
    result: dict[str, Any] = {"kind": kind, "n": len(series), "missing": int(missing.sum())}
    strings = present[present.map(lambda v: isinstance(v, str))]
    blank = strings[strings.str.strip() == ""] if len(strings) else strings
    result["empty"] = len(blank)
    if kind == "text":
        result.update(_lengths(strings[strings.str.strip() != ""] if len(strings) else strings))
    numbers = present.map(_as_number)
    parsed = numbers.notna() & ~present.map(lambda v: isinstance(v, str) and not v.strip())
    filled = len(present) - len(blank)
    looks_numeric = kind == "numeric" or (
        kind != "text" and filled > 0 and int(parsed.sum()) >= NUMERIC_SHARE * filled
    )
    if looks_numeric:
        bad = present[
            numbers.isna() & present.map(lambda v: not (isinstance(v, str) and not v.strip()))
        ]
        result["unparseable"] = len(bad)
        result["unparseable_examples"] = _examples(bad)
    return result


def _lengths(texts: pd.Series) -> dict[str, Any]:
    if not len(texts):
        return {"length": None, "length_outliers": 0, "length_outlier_examples": []}
    lengths = texts.str.len().to_numpy(dtype=float)
    q1, median, q3 = np.percentile(lengths, [25, 50, 75])
    spread = q3 - q1
    low, high = q1 - OUTLIER_IQR * spread, q3 + OUTLIER_IQR * spread
    outlying = (lengths < low) | (lengths > high)
    return {
        "length": {
            "min": int(lengths.min()),
            "median": float(median),
            "max": int(lengths.max()),
            "low_fence": max(0.0, float(low)),
            "high_fence": float(high),
        },
        "length_outliers": int(outlying.sum()),
        "length_outlier_examples": _examples(texts[outlying]),
    }


def class_balance(labels: Sequence[str | None]) -> dict[str, Any]:
    """Counts and shares per label of ``labels`` (None is left out); see
    :func:`balance_from_counts`."""
    counts = pd.Series(
        [label for label in labels if label is not None], dtype=object
    ).value_counts()
    return balance_from_counts({str(k): int(v) for k, v in counts.items()})


def balance_from_counts(counts: Mapping[str, int]) -> dict[str, Any]:
    """Counts and shares per label; ``imbalance`` is the largest count over the smallest
    (1 is balanced; above 10 a model needs care, and so does reading its accuracy)."""
    ordered = dict(
        sorted(((str(k), int(v)) for k, v in counts.items() if v), key=lambda kv: (-kv[1], kv[0]))
    )
    total = sum(ordered.values())
    values = list(ordered.values())
    return {
        "n": total,
        "counts": ordered,
        "shares": {k: v / total for k, v in ordered.items()} if total else {},
        "imbalance": max(values) / min(values) if len(values) > 1 else None,
    }
