"""Drift and serving figures: pure functions on numpy/pandas (no web, no database).

How to read the numbers:

- Population stability index (PSI) compares two distributions over the same bins
  (here: the predicted-class mix in production vs the label mix the model was
  trained on). 0 means identical; under 0.1 no meaningful shift; 0.1-0.25 a
  moderate shift worth watching; above 0.25 a major shift (act: look at the
  data, retrain). It is symmetric and unbounded above.
- Confidence drift: PSI of the histogram of top-class confidences (0..1) in a
  recent window against a reference window, with the same thresholds, plus the
  shift of the mean confidence and a bootstrap interval for it.
- Latency percentiles are in milliseconds; p95 is the time under which 95% of
  requests finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

PSI_MODERATE = 0.1
"""PSI at or above this: a moderate shift, worth watching."""
PSI_MAJOR = 0.25
"""PSI at or above this: a major shift; the drift alert fires."""
SMOOTHING = 0.5
"""Pseudo-count added to every bin so an empty bin does not make PSI infinite."""
CONFIDENCE_BINS = np.linspace(0.0, 1.0, 11)
"""Ten equal bins on 0..1 for confidence histograms."""


def psi_level(psi: float) -> str:
    """``"stable"`` (< 0.1), ``"moderate"`` (0.1-0.25) or ``"major"`` (>= 0.25)."""
    if psi >= PSI_MAJOR:
        return "major"
    return "moderate" if psi >= PSI_MODERATE else "stable"


def population_stability_index(
    expected: Sequence[float] | np.ndarray,
    actual: Sequence[float] | np.ndarray,
    smoothing: float = SMOOTHING,
) -> float:
    """PSI between two count vectors over the same bins: sum((a - e) * ln(a / e)).

    Args:
        expected: counts (or shares) of the reference distribution, one per bin.
        actual: counts of the distribution to check, same bins and order.
        smoothing: pseudo-count added to each bin of both before normalising.

    Returns:
        PSI >= 0 (0 = identical; see the module docstring for thresholds). With no
        counts on either side there is nothing to compare, and the result is 0.
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.shape != a.shape or e.ndim != 1:
        raise ValueError(f"bins differ: {e.shape} vs {a.shape}")
    if (e < 0).any() or (a < 0).any():
        raise ValueError("counts must be non-negative")
    if e.sum() == 0 or a.sum() == 0:
        return 0.0
    e = (e + smoothing) / (e + smoothing).sum()
    a = (a + smoothing) / (a + smoothing).sum()
    return float(np.sum((a - e) * np.log(a / e)))


@dataclass(frozen=True)
class ClassMixDrift:
    """Predicted-class mix against the training mix.

    ``labels`` in order; ``expected`` and ``actual`` are shares (0..1, each summing
    to 1 when there are counts); ``psi`` and its ``level`` (stable/moderate/major);
    ``n`` predictions compared.
    """

    labels: list[str]
    expected: list[float]
    actual: list[float]
    psi: float
    level: str
    n: int


def class_mix_drift(
    training_counts: Mapping[str, int], predicted: Sequence[str], smoothing: float = SMOOTHING
) -> ClassMixDrift:
    """PSI of the predicted labels against the label counts the model was trained on.

    Labels seen on only one side count as bins too (smoothed), so a model answering
    a label it never trained on, or never answering one it did, both show up.
    """
    seen = pd.Series(list(predicted), dtype=object).value_counts()
    labels = list(training_counts) + sorted(str(x) for x in seen.index if x not in training_counts)
    expected = np.asarray([float(training_counts.get(label, 0)) for label in labels])
    actual = np.asarray([float(seen.get(label, 0)) for label in labels])
    psi = population_stability_index(expected, actual, smoothing)
    return ClassMixDrift(
        labels, _shares(expected), _shares(actual), psi, psi_level(psi), int(actual.sum())
    )


def _shares(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [float(x) for x in (counts / total if total else counts)]


@dataclass(frozen=True)
class ConfidenceDrift:
    """Top-class confidence now vs a reference window.

    ``psi`` on ten 0..1 bins (same thresholds as class mix); ``mean_shift`` =
    mean(recent) - mean(reference), negative when the model grew less sure, with
    a 95% bootstrap ``interval``; ``significant`` when the interval excludes 0.
    """

    psi: float
    level: str
    reference_mean: float
    recent_mean: float
    mean_shift: float
    interval: tuple[float, float]
    significant: bool


def confidence_drift(
    reference: Sequence[float] | np.ndarray,
    recent: Sequence[float] | np.ndarray,
    n_boot: int = 500,
    seed: int = 0,
) -> ConfidenceDrift:
    """Compare two samples of top-class confidence (each value in 0..1).

    Raises:
        ValueError: either sample is empty.
    """
    ref = np.clip(np.asarray(reference, dtype=float), 0.0, 1.0)
    now = np.clip(np.asarray(recent, dtype=float), 0.0, 1.0)
    if len(ref) == 0 or len(now) == 0:
        raise ValueError("confidence drift needs a reference and a recent sample")
    psi = population_stability_index(
        np.histogram(ref, CONFIDENCE_BINS)[0], np.histogram(now, CONFIDENCE_BINS)[0]
    )
    rng = np.random.default_rng(seed)
    shifts = rng.choice(now, (n_boot, len(now))).mean(axis=1) - rng.choice(
        ref, (n_boot, len(ref))
    ).mean(axis=1)
    low, high = (float(x) for x in np.quantile(shifts, [0.025, 0.975]))
    shift = float(now.mean() - ref.mean())
    return ConfidenceDrift(
        psi,
        psi_level(psi),
        float(ref.mean()),
        float(now.mean()),
        shift,
        (low, high),
        not low <= 0.0 <= high,
    )


def latency_percentiles(latencies_ms: Sequence[float] | np.ndarray) -> dict[str, float]:
    """``p50``, ``p95``, ``p99`` and ``mean`` in milliseconds, plus ``n``; NaN when empty.

    Missing values (NaN) are left out: a prediction log stores a request's latency
    on one of its rows only.
    """
    values = np.asarray(latencies_ms, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        nan = float("nan")
        return {"p50": nan, "p95": nan, "p99": nan, "mean": nan, "n": 0}
    p50, p95, p99 = (float(x) for x in np.percentile(values, [50, 95, 99]))
    return {"p50": p50, "p95": p95, "p99": p99, "mean": float(values.mean()), "n": len(values)}


def _percentile(values: pd.Series, q: float) -> float:
    present = values.dropna()
    return float(np.percentile(present, q)) if len(present) else float("nan")


def windowed(
    frame: pd.DataFrame,
    freq: str = "1h",
    time_column: str = "created_at",
    by: str | None = "model_version_id",
) -> pd.DataFrame:
    """Per time window (and per ``by`` group): predictions, requests, throughput,
    latency p50/p95 and mean confidence.

    ``frame`` has ``created_at`` (datetimes), ``latency_ms`` (NaN on rows that do not
    carry their request's latency) and ``confidence``, and optionally ``weight`` (the
    served rows each logged row stands for; 1 without it). Returns columns ``window``
    (window start), [``by``], ``n`` (predictions served, estimated from the weights),
    ``requests`` (requests with a latency), ``per_minute`` (predictions a minute over
    the window), ``p50_ms`` and ``p95_ms`` (per request), ``mean_confidence``; oldest
    window first; empty windows are left out.
    """
    columns = [
        "window",
        *([by] if by else []),
        "n",
        "requests",
        "per_minute",
        "p50_ms",
        "p95_ms",
        "mean_confidence",
    ]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    weight = frame["weight"] if "weight" in frame else pd.Series(1.0, index=frame.index)
    data = frame.assign(
        window=pd.to_datetime(frame[time_column]).dt.floor(freq), weight=weight.astype(float)
    )
    keys = ["window", *([by] if by else [])]
    grouped = data.groupby(keys, sort=True)
    out = grouped.agg(
        n=("weight", "sum"),
        requests=("latency_ms", "count"),
        p50_ms=("latency_ms", lambda s: _percentile(s, 50)),
        p95_ms=("latency_ms", lambda s: _percentile(s, 95)),
        mean_confidence=("confidence", "mean"),
    ).reset_index()
    out["n"] = out["n"].round().astype(int)
    minutes = pd.Timedelta(freq).total_seconds() / 60.0
    out["per_minute"] = out["n"] / minutes
    return out[columns]
