"""A ranking of systems from pairwise votes: Bradley-Terry, bootstrap intervals, win rates.

Input is a long frame of comparisons with columns ``system_a``, ``system_b`` and
``choice`` (``"A"``, ``"B"`` or ``"tie"``; anything else, e.g. ``"both_bad"``, is left
out), one row per item's final vote. Under Bradley-Terry, system i beats system j with
probability ``exp(s_i) / (exp(s_i) + exp(s_j))``; ``strength`` is ``s`` (log scale,
centred on 0), so a difference of 1.0 reads as "wins 73% of the time".

Ties count as half a win for each side (the usual choice in preference evaluation;
with few ties it moves strengths little). The fit is Newton's method on the
log-likelihood, whose Hessian is a weighted graph Laplacian: a handful of iterations,
at most a few hundred systems, so plain numpy beats an optimizer dependency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

DECISIVE = ("A", "B", "tie")


@dataclass(frozen=True)
class Comparisons:
    """Win counts between systems: ``wins[i, j]`` = wins of i over j (ties halved)."""

    systems: tuple[str, ...]
    wins: FloatArray
    ties: FloatArray


def _encode(
    frame: pd.DataFrame, systems: tuple[str, ...] | None = None
) -> tuple[tuple[str, ...], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Systems, and per usable row: system codes of A and B, outcome (0 A, 1 B, 2 tie)."""
    usable = frame[
        frame["choice"].isin(DECISIVE)
        & frame["system_a"].notna()
        & frame["system_b"].notna()
        & (frame["system_a"] != frame["system_b"])
    ]
    if systems is None:
        names = pd.unique(pd.concat([usable["system_a"], usable["system_b"]]).astype(str))
        systems = tuple(sorted(names))
    index = {name: i for i, name in enumerate(systems)}
    a = usable["system_a"].astype(str).map(index).to_numpy(dtype=np.int64)
    b = usable["system_b"].astype(str).map(index).to_numpy(dtype=np.int64)
    outcome = usable["choice"].map({c: i for i, c in enumerate(DECISIVE)}).to_numpy(dtype=np.int64)
    return systems, a, b, outcome


def _count(
    systems: tuple[str, ...], a: NDArray[np.int64], b: NDArray[np.int64], outcome: NDArray[np.int64]
) -> Comparisons:
    n = len(systems)
    winner = np.where(outcome == 0, a, b)
    loser = np.where(outcome == 0, b, a)
    decided = outcome < 2
    wins = np.bincount(winner[decided] * n + loser[decided], minlength=n * n)
    ties = np.bincount(a[~decided] * n + b[~decided], minlength=n * n).reshape(n, n)
    return Comparisons(systems, wins.reshape(n, n).astype(float), (ties + ties.T).astype(float))


def comparisons(frame: pd.DataFrame, systems: tuple[str, ...] | None = None) -> Comparisons:
    """Count each pair's wins; rows without two named systems or a decisive choice are dropped."""
    return _count(*_encode(frame, systems))


def fit_strengths(
    counts: Comparisons, l2: float = 0.01, max_iter: int = 100, tol: float = 1e-10
) -> FloatArray:
    """Bradley-Terry log-strengths (sum 0) maximising the likelihood minus ``l2/2 * |s|^2``.

    The small ``l2`` keeps strengths finite when a system won (or lost) every
    comparison, where the plain maximum-likelihood estimate does not exist; on
    hundreds of votes its pull is negligible. ``l2=0`` gives the textbook estimate
    (then the comparison graph must be connected and no system unbeaten).
    """
    wins = counts.wins + counts.ties / 2.0
    games = wins + wins.T
    n = len(counts.systems)
    strength = np.zeros(n)
    for _ in range(max_iter):
        p = 1.0 / (1.0 + np.exp(strength[None, :] - strength[:, None]))  # P(i beats j)
        gradient = wins.sum(axis=1) - (games * p).sum(axis=1) - l2 * strength
        weight = games * p * p.T
        hessian = weight - np.diag(weight.sum(axis=1)) - l2 * np.eye(n)
        # The likelihood ignores a common shift; pin it with a rank-one term.
        step = np.linalg.solve(hessian - np.ones((n, n)) / n, -gradient)
        strength = strength + step
        strength -= strength.mean()
        if float(np.abs(step).max(initial=0.0)) < tol:
            break
    return strength


def fit_davidson(counts: Comparisons, l2: float = 0.01) -> tuple[FloatArray, float]:
    """Davidson's (1970) model, where ties have their own parameter ``nu`` (>= 0):
    P(i beats j) = p_i / D, P(tie) = nu * sqrt(p_i p_j) / D, D = p_i + p_j + nu sqrt(p_i p_j).

    Returns log-strengths (sum 0, on the Bradley-Terry scale) and ``nu``: 0 means ties
    carry no information beyond chance; two equal systems tie with probability
    nu / (2 + nu). A few parameters only, so a quasi-Newton fit of the exact
    likelihood (scipy, which scikit-learn brings) is enough.
    """
    from scipy.optimize import minimize

    wins, ties = counts.wins, counts.ties / 2.0  # each tie once per ordered pair's half
    n = len(counts.systems)

    def loss(params: FloatArray) -> float:
        strength, log_nu = params[:n] - params[:n].mean(), params[n]
        half = (strength[:, None] + strength[None, :]) / 2.0
        log_d = np.logaddexp(np.logaddexp(strength[:, None], strength[None, :]), log_nu + half)
        likelihood = (wins * (strength[:, None] - log_d)).sum()
        likelihood += (ties * (log_nu + half - log_d)).sum()
        return float(-likelihood + l2 / 2.0 * (strength**2).sum())

    start = np.concatenate([fit_strengths(counts, l2), [np.log(0.5)]])
    fitted = minimize(loss, start, method="L-BFGS-B").x
    strength = fitted[:n] - fitted[:n].mean()
    return np.asarray(strength, dtype=float), float(np.exp(fitted[n]))


def win_rate_matrix(counts: Comparisons) -> pd.DataFrame:
    """Share of row's games against column won (ties half), NaN where they never met."""
    wins = counts.wins + counts.ties / 2.0
    games = wins + wins.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(games > 0, wins / games, np.nan)
    return pd.DataFrame(rate, index=list(counts.systems), columns=list(counts.systems))


def ranking(
    frame: pd.DataFrame,
    n_bootstrap: int = 200,
    level: float = 0.95,
    l2: float = 0.01,
    random_state: int = 0,
    ties: str = "half",
) -> pd.DataFrame:
    """The systems best first: ``system``, ``strength`` with its bootstrap interval
    (``low``, ``high``: percentiles of refits on comparisons resampled with
    replacement, at ``level``), ``rank`` (1 = best), ``rank_low`` / ``rank_high``
    (the best and worst rank within the same interval), ``wins``, ``losses``, ``ties``.
    ``ties``: ``"half"`` (a tie is half a win each) or ``"davidson"`` (:func:`fit_davidson`;
    its ``nu`` is in ``table.attrs["tie_parameter"]``).
    """
    if ties not in ("half", "davidson"):
        raise ValueError(f"ties must be 'half' or 'davidson', not {ties!r}")

    def fit(counts: Comparisons) -> FloatArray:
        return fit_strengths(counts, l2) if ties == "half" else fit_davidson(counts, l2)[0]

    systems, a, b, outcome = _encode(frame)
    counts = _count(systems, a, b, outcome)
    strength = fit(counts)
    rng = np.random.default_rng(random_state)
    draws = np.empty((n_bootstrap, len(systems)))
    for draw in range(n_bootstrap):
        rows = rng.integers(0, len(a), len(a))
        draws[draw] = fit(_count(systems, a[rows], b[rows], outcome[rows]))
    tail = (1.0 - level) / 2.0 * 100.0
    ranks = (-draws).argsort(axis=1).argsort(axis=1) + 1
    table = pd.DataFrame(
        {
            "system": list(counts.systems),
            "strength": strength,
            "low": np.percentile(draws, tail, axis=0) if n_bootstrap else np.nan,
            "high": np.percentile(draws, 100.0 - tail, axis=0) if n_bootstrap else np.nan,
            "rank_low": np.percentile(ranks, tail, axis=0) if n_bootstrap else np.nan,
            "rank_high": np.percentile(ranks, 100.0 - tail, axis=0) if n_bootstrap else np.nan,
            "wins": counts.wins.sum(axis=1),
            "losses": counts.wins.sum(axis=0),
            "ties": counts.ties.sum(axis=1),
        }
    )
    table = table.sort_values("strength", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(2, "rank", np.arange(1, len(table) + 1))
    table.attrs["tie_parameter"] = fit_davidson(counts, l2)[1] if ties == "davidson" else None
    return table
