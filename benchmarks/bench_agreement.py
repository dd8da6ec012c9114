"""Benchmark: Krippendorff's alpha and Dawid-Skene on a million annotations.

Run from the repository root:

    python benchmarks/bench_agreement.py            # 1,000,000 annotations
    python benchmarks/bench_agreement.py --small    # 30,000, a few seconds

Prints wall time (best of --repeat runs) and peak traced memory for labeler's own
code, next to the ``krippendorff`` package and crowd-kit's DawidSkene on the same
simulated data (each optional: a clear message and a skip when not installed).
Goals from issue 3: alpha under 2 s; Dawid-Skene to convergence under 1 s and at
least 3x faster than crowd-kit.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler.core._agreement_codes import encode  # noqa: E402
from labeler.core.agreement import krippendorff_alpha  # noqa: E402
from labeler.core.consensus import dawid_skene, majority_vote  # noqa: E402

LABELS = np.array(["negative", "neutral", "positive"])


def simulate(
    n_annotations: int, per_item: int = 3, n_annotators: int = 50, seed: int = 0
) -> tuple[pd.DataFrame, pd.Series]:
    """Items with a true label, each rated by `per_item` distinct annotators of known skill."""
    rng = np.random.default_rng(seed)
    n_items = -(-n_annotations // per_item)
    truth = rng.choice(len(LABELS), size=n_items, p=[0.3, 0.45, 0.25])
    skill = rng.uniform(0.55, 0.95, n_annotators)
    # distinct annotators per item: a random offset plus steps that never collide
    first = rng.integers(0, n_annotators, n_items)
    annotator = (first[:, None] + np.arange(per_item) * 7) % n_annotators
    item = np.repeat(np.arange(n_items), per_item)
    annotator = annotator.ravel()
    right = rng.random(item.size) < skill[annotator]
    noise = (truth[item] + rng.integers(1, len(LABELS), item.size)) % len(LABELS)
    label = np.where(right, truth[item], noise)
    frame = pd.DataFrame({"item": item, "annotator": annotator, "label": LABELS[label]})
    frame = frame.iloc[:n_annotations].reset_index(drop=True)
    return frame, pd.Series(LABELS[truth], name="truth")


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def peak_mib(function: Callable[[], Any]) -> float:
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def report(name: str, seconds: float, memory: float | None = None) -> None:
    memory_text = "" if memory is None else f"   peak {memory:8.1f} MiB"
    print(f"  {name:<46} {seconds:8.3f} s{memory_text}")


def bench_alpha(frame: pd.DataFrame, repeat: int) -> None:
    print(f"\nKrippendorff's alpha (nominal), {len(frame):,} annotations")
    ours_time, ours = timed(lambda: krippendorff_alpha(frame), repeat)
    report(
        "labeler krippendorff_alpha (from the frame)",
        ours_time,
        peak_mib(lambda: krippendorff_alpha(frame)),
    )
    print(f"    alpha = {ours.value:.6f}")
    order = list(LABELS)
    ordinal_time, _ = timed(lambda: krippendorff_alpha(frame, "ordinal", order=order), repeat)
    report("labeler krippendorff_alpha (ordinal)", ordinal_time)
    try:
        import krippendorff
    except ImportError:
        print("  krippendorff package not installed: pip install krippendorff to compare")
        return

    def package_from_frame() -> float:
        coded = encode(frame)
        matrix = np.full((len(coded.annotators), len(coded.items)), np.nan)
        matrix[coded.annotator, coded.item] = coded.label
        return float(krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal"))

    def package_from_counts() -> float:
        counts = encode(frame).counts()
        return float(krippendorff.alpha(value_counts=counts, level_of_measurement="nominal"))

    package_time, theirs = timed(package_from_frame, repeat)
    report(
        "krippendorff.alpha(reliability_data) incl. coding",
        package_time,
        peak_mib(package_from_frame),
    )
    counts_time, _ = timed(package_from_counts, repeat)
    report(
        "krippendorff.alpha(value_counts) incl. coding", counts_time, peak_mib(package_from_counts)
    )
    print(f"    alpha = {theirs:.6f}  |difference| = {abs(theirs - ours.value):.2e}")
    print(f"    ratio package(reliability_data) / labeler = {package_time / ours_time:.1f}x")
    ours_bootstrap, result = timed(lambda: krippendorff_alpha(frame, bootstrap=100), 1)
    report("labeler alpha + 100 bootstrap resamples", ours_bootstrap)
    print(f"    95% CI = [{result.ci_low:.4f}, {result.ci_high:.4f}]")


def accuracy(labels: pd.Series, truth: pd.Series) -> float:
    return float((labels.reindex(truth.index).to_numpy() == truth.to_numpy()).mean())


def bench_dawid_skene(frame: pd.DataFrame, truth: pd.Series, repeat: int) -> None:
    print(f"\nDawid-Skene to convergence (tol 1e-5), {len(frame):,} annotations")
    mv_time, votes = timed(lambda: majority_vote(frame), repeat)
    report("labeler majority_vote", mv_time)
    ours_time, ours = timed(lambda: dawid_skene(frame), repeat)
    report("labeler dawid_skene", ours_time, peak_mib(lambda: dawid_skene(frame)))
    print(f"    {ours.n_iter} iterations, converged={ours.converged}")
    print(
        f"    accuracy vs truth: majority vote {accuracy(votes['label'], truth):.4f}"
        f" (ties count as wrong), Dawid-Skene {accuracy(ours.items['label'], truth):.4f}"
    )
    one_coin_time, one_coin = timed(lambda: dawid_skene(frame, one_coin=True), repeat)
    report("labeler dawid_skene(one_coin=True)", one_coin_time)
    print(f"    accuracy vs truth: {accuracy(one_coin.items['label'], truth):.4f}")
    try:
        from crowdkit.aggregation import DawidSkene
    except ImportError:
        print("  crowd-kit not installed (pip install crowd-kit): comparison skipped")
        return
    tasks = frame.rename(columns={"item": "task", "annotator": "worker"})
    model = DawidSkene(n_iter=100, tol=1e-5)
    kit_time, kit_labels = timed(lambda: model.fit_predict(tasks), 1)
    report("crowd-kit DawidSkene(n_iter=100, tol=1e-5)", kit_time)
    print(
        f"    {len(model.loss_history_)} iterations;"
        f" accuracy vs truth {accuracy(kit_labels, truth):.4f}"
    )
    agree = (kit_labels.reindex(ours.items.index) == ours.items["label"]).mean()
    gap = (
        (
            model.probas_.reindex(index=ours.posteriors.index, columns=ours.posteriors.columns)
            - ours.posteriors
        )
        .abs()
        .max()
        .max()
    )
    print(f"    same label as labeler on {agree:.4%} of items; max |posterior gap| {gap:.4f}")
    print(f"    ratio crowd-kit / labeler = {kit_time / ours_time:.1f}x")
    # crowd-kit's bound-based stop runs more iterations at the same tol; time ours
    # over exactly as many so the ratio is not flattered by stopping earlier.
    n_kit = len(model.loss_history_)
    same_time, _ = timed(lambda: dawid_skene(frame, max_iter=n_kit, tol=0.0), repeat)
    report(f"labeler dawid_skene, {n_kit} iterations (as crowd-kit)", same_time)
    print(f"    ratio crowd-kit / labeler at equal iterations = {kit_time / same_time:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="30,000 annotations, quick")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs (best is shown)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n_annotations = 30_000 if args.small else 1_000_000
    frame, truth = simulate(n_annotations, seed=args.seed)
    print(
        f"{frame['item'].nunique():,} items x 3 annotations from"
        f" {frame['annotator'].nunique()} annotators, {len(LABELS)} labels"
    )
    bench_alpha(frame, args.repeat)
    bench_dawid_skene(frame, truth, args.repeat)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"\nprocess peak RSS (whole run, crowd-kit included): {peak_rss:,.0f} MiB")


if __name__ == "__main__":
    main()
