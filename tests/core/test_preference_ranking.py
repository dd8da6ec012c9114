"""Bradley-Terry from pairwise votes, checked against Hunter's (2004) MM algorithm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labeler.core import preference_ranking as pr


def _textbook_mm(wins: np.ndarray, iterations: int = 5000) -> np.ndarray:
    """Zermelo / Hunter MM: pi_i <- W_i / sum_j n_ij / (pi_i + pi_j), then normalise."""
    n = len(wins)
    games = wins + wins.T
    pi = np.ones(n)
    for _ in range(iterations):
        before = pi.copy()
        for i in range(n):
            others = np.arange(n) != i
            pi[i] = wins[i].sum() / np.sum(games[i, others] / (pi[i] + pi[others]))
        pi /= pi.sum()
        if np.abs(pi - before).max() < 1e-13:
            break
    log = np.log(pi)
    return log - log.mean()


def _simulated(strengths: dict[str, float], n: int, tie_share: float = 0.0, seed: int = 1):
    rng = np.random.default_rng(seed)
    names = list(strengths)
    rows = []
    for _ in range(n):
        a, b = rng.choice(len(names), 2, replace=False)
        p = 1.0 / (1.0 + np.exp(strengths[names[b]] - strengths[names[a]]))
        draw = rng.random()
        choice = "tie" if rng.random() < tie_share else ("A" if draw < p else "B")
        rows.append((names[a], names[b], choice))
    return pd.DataFrame(rows, columns=["system_a", "system_b", "choice"])


def test_newton_fit_matches_the_textbook_mm_algorithm_with_ties_as_half_wins():
    frame = _simulated({"s1": 0.0, "s2": 0.5, "s3": 1.0, "s4": -0.7}, 400, tie_share=0.1)
    counts = pr.comparisons(frame)
    ours = pr.fit_strengths(counts, l2=0.0)
    mm = _textbook_mm(counts.wins + counts.ties / 2.0)
    np.testing.assert_allclose(ours, mm, atol=1e-6)
    assert counts.ties.sum() == 2 * (frame["choice"] == "tie").sum()  # both sides hold a tie


def test_comparisons_count_wins_by_system_and_drop_undecided_rows():
    frame = pd.DataFrame(
        [("x", "y", "A"), ("y", "x", "A"), ("x", "y", "B"), ("x", "y", "both_bad"),
         ("x", None, "A"), ("x", "x", "A")],
        columns=["system_a", "system_b", "choice"],
    )  # fmt: skip
    counts = pr.comparisons(frame)
    assert counts.systems == ("x", "y")
    assert counts.wins.tolist() == [[0.0, 1.0], [2.0, 0.0]]


def test_ranking_recovers_the_true_order_and_intervals_cover_the_truth():
    truth = {"best": 1.2, "good": 0.6, "fair": 0.0, "poor": -0.6, "worst": -1.2}
    table = pr.ranking(_simulated(truth, 3000), n_bootstrap=100)
    assert table["system"].tolist() == list(truth)
    assert table["rank"].tolist() == [1, 2, 3, 4, 5]
    centred = np.array(list(truth.values())) - np.mean(list(truth.values()))
    inside = (table["low"] <= centred) & (centred <= table["high"])
    assert inside.sum() >= 4  # 95% intervals: all but rarely one
    assert (table["high"] - table["low"] > 0).all() and (table["low"] <= table["strength"]).all()
    assert table.loc[0, "wins"] > table.loc[0, "losses"]


def test_a_system_that_never_lost_keeps_a_finite_strength():
    frame = pd.DataFrame(
        [("a", "b", "A")] * 5 + [("b", "c", "A")] * 3 + [("c", "b", "A")],
        columns=["system_a", "system_b", "choice"],
    )
    strengths = pr.fit_strengths(pr.comparisons(frame))
    assert np.isfinite(strengths).all() and strengths[0] == strengths.max()


def test_win_rate_matrix_counts_ties_as_half_and_leaves_unmet_pairs_empty():
    frame = pd.DataFrame(
        [("a", "b", "A"), ("a", "b", "tie"), ("b", "a", "A"), ("b", "c", "B")],
        columns=["system_a", "system_b", "choice"],
    )
    rates = pr.win_rate_matrix(pr.comparisons(frame))
    assert rates.loc["a", "b"] == pytest.approx(0.5)  # 1 win, 1 loss, 1 tie
    assert rates.loc["c", "b"] == 1.0 and rates.loc["b", "c"] == 0.0
    assert np.isnan(rates.loc["a", "c"])


def _davidson_votes(strengths: dict[str, float], nu: float, n: int, seed: int = 4):
    rng = np.random.default_rng(seed)
    names = list(strengths)
    rows = []
    for _ in range(n):
        a, b = rng.choice(len(names), 2, replace=False)
        pa, pb = np.exp(strengths[names[a]]), np.exp(strengths[names[b]])
        tie = nu * np.sqrt(pa * pb)
        draw = rng.random() * (pa + pb + tie)
        rows.append((names[a], names[b], "A" if draw < pa else "B" if draw < pa + pb else "tie"))
    return pd.DataFrame(rows, columns=["system_a", "system_b", "choice"])


def test_davidson_recovers_the_tie_parameter_and_the_strengths_it_simulated():
    truth = {"x": 0.8, "y": 0.0, "z": -0.8}
    counts = pr.comparisons(_davidson_votes(truth, nu=0.8, n=6000))
    strengths, nu = pr.fit_davidson(counts, l2=0.0)
    assert nu == pytest.approx(0.8, abs=0.08)
    np.testing.assert_allclose(strengths, [0.8, 0.0, -0.8], atol=0.08)
    # Without ties nu falls to 0 and the strengths are Bradley-Terry's.
    plain = pr.comparisons(_simulated({"x": 0.5, "y": 0.0, "z": -0.5}, 2000))
    bt_strengths, no_ties = pr.fit_davidson(plain, l2=0.0)
    assert no_ties < 1e-3
    np.testing.assert_allclose(bt_strengths, pr.fit_strengths(plain, l2=0.0), atol=1e-3)
