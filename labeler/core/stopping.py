"""When more labels stop paying: stabilizing predictions and a fitted learning curve.

Two signals, both cheap next to training:

- **Stabilizing predictions** (Bloodgood and Vijay-Shanker, 2009; small-text's
  KappaAverage): the successive model versions' predictions on one fixed stop set of
  items. When the last versions agree (Cohen's kappa >= 0.99 between each pair of
  neighbours), new labels no longer change what the model says.
- **The learning curve**: test accuracy against training labels fitted with an inverse
  power law, acc(n) = a - b * n^(-c), a the plateau. The fit's parameter covariance
  gives an interval for what the next labels add.

Both are kind-free: any kind whose predictions compare for equality and that has a
metric per version (accuracy, or the kind's own) can use them.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit
from sklearn.metrics import cohen_kappa_score

STABLE_KAPPA = 0.99  # Bloodgood and Vijay-Shanker's threshold
WINDOW = 3  # versions whose neighbours must all agree
MIN_CURVE_POINTS = 4  # three parameters, and one point to spare


@dataclass(frozen=True)
class Agreement:
    """Two successive versions on the stop set: share of equal predictions and Cohen's
    kappa (1 identical, 0 as by chance)."""

    share: float
    kappa: float


def successive_agreement(predictions: Sequence[Sequence[str]]) -> list[Agreement]:
    """Agreement of each version with the one before, oldest pair first. All versions
    must have predicted the same stop set, in the same order (ValueError otherwise)."""
    if len({len(p) for p in predictions}) > 1:
        raise ValueError("every version must predict the same stop set")
    pairs = []
    for before, after in zip(predictions, predictions[1:], strict=False):
        left, right = np.asarray(before, dtype=object), np.asarray(after, dtype=object)
        share = float(np.mean(left == right)) if len(left) else 1.0
        # Both constant and equal: kappa is undefined (0/0) but the versions agree.
        same_constant = len(set(left)) <= 1 and share == 1.0
        kappa = 1.0 if same_constant else float(cohen_kappa_score(left, right))
        pairs.append(Agreement(share, kappa))
    return pairs


def is_stable(pairs: Sequence[Agreement], window: int = WINDOW) -> bool:
    """True when the last ``window`` versions agree pairwise with kappa >= 0.99."""
    recent = pairs[-(window - 1) :] if window > 1 else pairs
    return len(pairs) >= window - 1 and all(p.kappa >= STABLE_KAPPA for p in recent)


def _power_law(n: np.ndarray, plateau: float, scale: float, rate: float) -> np.ndarray:
    result: np.ndarray = plateau - scale * np.power(n, -rate)
    return result


@dataclass(frozen=True)
class CurveFit:
    """An inverse power law through (labels, accuracy): plateau a, scale b, rate c."""

    plateau: float
    scale: float
    rate: float
    covariance: np.ndarray

    def predict(self, n: float) -> float:
        return float(
            _power_law(np.asarray([n], dtype=float), self.plateau, self.scale, self.rate)[0]
        )

    def gain(self, n_now: float, extra: float, level: float = 0.9) -> tuple[float, float, float]:
        """Accuracy added by ``extra`` labels beyond ``n_now``: (low, expected, high),
        the interval holding ``level`` of 2,000 parameter draws from the fit's
        covariance (seeded, so a page shows the same figures on every load)."""
        expected = self.predict(n_now + extra) - self.predict(n_now)
        draws = np.random.default_rng(0).multivariate_normal(
            [self.plateau, self.scale, self.rate], self.covariance, size=2000
        )
        draws[:, 2] = np.clip(draws[:, 2], 1e-3, None)
        before = draws[:, 0] - draws[:, 1] * np.power(n_now, -draws[:, 2])
        after = draws[:, 0] - draws[:, 1] * np.power(n_now + extra, -draws[:, 2])
        tail = (1 - level) / 2
        low, high = np.quantile(after - before, [tail, 1 - tail])
        return float(low), float(expected), float(high)


def fit_learning_curve(n_labels: Sequence[float], accuracy: Sequence[float]) -> CurveFit | None:
    """The inverse power law through the points, or None with fewer than 4 distinct
    label counts or when the fit does not converge. a is kept in 0..1, b >= 0 and
    c in 0.01..3, so the curve rises and flattens."""
    n = np.asarray(n_labels, dtype=float)
    y = np.asarray(accuracy, dtype=float)
    if len(np.unique(n)) < MIN_CURVE_POINTS or (n <= 0).any():
        return None
    start = [min(1.0, float(y.max()) + 0.02), max(float(y.max() - y.min()), 0.05) * 10, 0.5]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)  # inf covariance: handled below
            params, covariance = curve_fit(
                _power_law, n, y, p0=start, bounds=([0, 0, 0.01], [1, np.inf, 3]), maxfev=5000
            )
    except (RuntimeError, ValueError):
        return None
    if not np.isfinite(covariance).all():
        return None
    return CurveFit(float(params[0]), float(params[1]), float(params[2]), covariance)


def sentence(
    pairs: Sequence[Agreement],
    stop_set_size: int,
    fit: CurveFit | None,
    n_now: int,
    extra: int = 500,
) -> str:
    """The plain sentence the model page shows, e.g. "the last three versions agree on
    99.4% of a 2,000-item stop set; 500 more labels are expected to add 0.3-0.9 points
    of accuracy"."""
    parts = []
    if pairs:
        recent = pairs[-(WINDOW - 1) :]
        share = min(p.share for p in recent)
        count = {2: "two", 3: "three"}.get(len(recent) + 1, str(len(recent) + 1))
        verdict = " (stable: more labels barely change its answers)" if is_stable(pairs) else ""
        parts.append(
            f"the last {count} versions agree on {share:.1%} of a "
            f"{stop_set_size:,}-item stop set{verdict}"
        )
    else:
        parts.append("one version so far: nothing to compare its predictions with yet")
    if fit is None:
        parts.append(
            f"the learning curve needs {MIN_CURVE_POINTS} evaluated versions of different "
            "sizes before it can be fitted"
        )
    else:
        low, _, high = fit.gain(n_now, extra)
        parts.append(
            f"{extra:,} more labels are expected to add {100 * max(low, 0):.1f}–"
            f"{100 * max(high, 0):.1f} points of accuracy (plateau {fit.plateau:.1%})"
        )
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."
