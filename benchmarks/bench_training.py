"""Benchmark: one retrain + rescore cycle, and active learning on digits.

Run from the repository root:

    python benchmarks/bench_training.py            # 100k pool, 5 seeds
    python benchmarks/bench_training.py --small    # 10k pool, 2 seeds, seconds

1. Retrain + rescore: 2,000 labeled texts (SMS Spam + Rotten Tomatoes snippets from
   ../shared/data, 5 labels) and a pool of those texts repeated to size. labeler's
   ``train`` + ``score_pool(margin)`` + top-k against a bare scikit-learn script
   with the same TF-IDF and logistic regression doing fit + predict_proba + top-k,
   best of --repeat runs each. Goal (issue 4): ratio at most 1.3.
2. Active learning on scikit-learn's digits with the core's own loop: 10 seed
   labels, batches of 10, a model retrained each round; margin (cold start
   random until every digit has --min-per-label labels, --random-share of each
   batch random) vs random. Prints labels needed to reach 99% of the full-data
   model's test accuracy. Goal: random needs at least 2.5x as many.

Prints figures; never asserts a time.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import text_corpus  # noqa: E402
from labeler.core.model_inputs import ModelInputs
from labeler.core.sampling import is_cold_start, mix_random_share, score_pool  # noqa: E402
from labeler.core.training import train

texts = text_corpus  # shared with the other benchmarks


def best_of(repeat: int, runs: list[Callable[[], np.ndarray]]) -> list[tuple[float, np.ndarray]]:
    """Best time and last result of each run; runs alternate so load hits both alike."""
    times: list[list[float]] = [[] for _ in runs]
    results = [np.zeros(0) for _ in runs]
    for _ in range(repeat):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            results[i] = run()
            times[i].append(time.perf_counter() - start)
    return [(min(t), r) for t, r in zip(times, results, strict=True)]


def retrain_rescore(pool_size: int, n_train: int, k: int, repeat: int) -> None:
    corpus = texts()
    labeled = corpus[:n_train]
    rest = corpus[n_train:]["text"]
    pool = pd.DataFrame({"text": np.resize(rest.to_numpy(), pool_size)})

    def labeler_cycle() -> np.ndarray:
        model = train(labeled, labeled["label"], ModelInputs(text=("text",)))
        scores = score_pool(model, pool, "margin")
        top = np.argpartition(-scores, k)[:k]
        return top[np.argsort(-scores[top])]

    def bare_cycle() -> np.ndarray:
        vectoriser = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), max_features=200_000)
        features = vectoriser.fit_transform(labeled["text"])
        clf = LogisticRegression(max_iter=2000, class_weight="balanced", random_state=0)
        clf.fit(features, labeled["label"])
        proba = clf.predict_proba(vectoriser.transform(pool["text"]))
        two = np.sort(proba, axis=1)[:, -2:]
        scores = 1.0 - (two[:, 1] - two[:, 0])
        top = np.argpartition(-scores, k)[:k]
        return top[np.argsort(-scores[top])]

    def bare_one_thread() -> np.ndarray:
        with threadpool_limits(limits=1, user_api="blas"):
            return bare_cycle()

    runs = [labeler_cycle, bare_cycle, bare_one_thread]
    (ours, ours_top), (bare, bare_top), (bare_1, _) = best_of(repeat, runs)
    same = len(set(ours_top) & set(bare_top)) / k
    print(f"retrain + rescore: {n_train} labels, pool {pool_size:,}, top {k}, best of {repeat}")
    print(f"  labeler train + score_pool(margin) + top-k        {ours:7.2f} s")
    print(f"  bare scikit-learn fit + predict_proba + top-k     {bare:7.2f} s")
    print(f"  the same bare script on one BLAS thread (as ours) {bare_1:7.2f} s")
    print(
        f"  ratio {ours / bare:.2f} vs bare, {ours / bare_1:.2f} vs one-thread bare (goal <= 1.3)"
    )
    print(f"  same top-{k} items: {same:.0%}")


def digits_split() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray, ModelInputs]:
    digits = load_digits()
    columns = [f"px{i}" for i in range(digits.data.shape[1])]
    frame = pd.DataFrame(digits.data, columns=columns)
    labels = np.array([str(t) for t in digits.target], dtype=object)
    X_train, X_test, y_train, y_test = train_test_split(
        frame, labels, test_size=0.25, stratify=labels, random_state=0
    )
    inputs = ModelInputs(numeric=tuple(columns))
    return X_train, y_train, X_test, y_test, inputs


def labels_to_target(
    strategy: str, seed: int, target: float, args: argparse.Namespace
) -> tuple[int, list[tuple[int, float]]]:
    """Labels in hand when test accuracy first reaches ``target`` (pool size if never)."""
    X, y, X_test, y_test, inputs = digits_split()
    rng = np.random.default_rng(seed)
    labeled = list(rng.choice(len(X), 10, replace=False))
    all_labels = sorted(set(y))
    curve = []
    for round_number in range(10_000):
        model = train(X.iloc[labeled], y[labeled], inputs)
        accuracy = float(np.mean(model.pipeline.predict(X_test) == y_test))
        curve.append((len(labeled), accuracy))
        pool = np.setdiff1d(np.arange(len(X)), labeled)
        if accuracy >= target or len(pool) == 0:
            return len(labeled), curve
        counts = pd.Series(y[labeled]).value_counts().to_dict()
        cold = is_cold_start(counts, all_labels, args.min_per_label)
        chosen = "random" if strategy == "random" or cold else strategy
        batch_seed = seed * 100_000 + round_number
        scores = score_pool(model, X.iloc[pool], chosen, random_state=batch_seed)
        if chosen != "random":
            scores = mix_random_share(scores, args.random_share, random_state=batch_seed)
        labeled.extend(int(i) for i in pool[np.argsort(-scores, kind="stable")[:10]])
    raise RuntimeError("unreachable")


def simulate(args: argparse.Namespace) -> None:
    X, y, X_test, y_test, inputs = digits_split()
    full = train(X, y, inputs)
    full_accuracy = float(np.mean(full.pipeline.predict(X_test) == y_test))
    target = 0.99 * full_accuracy
    print(f"\ndigits: full-data model ({len(X)} labels) test accuracy {full_accuracy:.4f};")
    print(f"  target {target:.4f}; cold start until {args.min_per_label} per digit; ", end="")
    print(f"random share {args.random_share:.0%}")
    needed: dict[str, list[int]] = {}
    for strategy in ("margin", "random"):
        needed[strategy] = []
        for seed in range(args.seeds):
            start = time.perf_counter()
            n, _ = labels_to_target(strategy, seed, target, args)
            needed[strategy].append(n)
            print(
                f"  {strategy:7s} seed {seed}: {n:5d} labels ({time.perf_counter() - start:.1f} s)"
            )
    margin, random = np.mean(needed["margin"]), np.mean(needed["random"])
    print(f"  mean labels needed: margin {margin:.0f}, random {random:.0f}")
    print(f"  random needs {random / margin:.2f}x the labels of margin (goal >= 2.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="10k pool, 2 seeds")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--min-per-label", type=int, default=1)
    parser.add_argument("--random-share", type=float, default=0.1)
    parser.add_argument("--skip-pool", action="store_true")
    parser.add_argument("--skip-simulation", action="store_true")
    args = parser.parse_args()
    if args.seeds is None:
        args.seeds = 2 if args.small else 5
    if not args.skip_pool:
        retrain_rescore(10_000 if args.small else 100_000, 2_000, 100, args.repeat)
    if not args.skip_simulation:
        simulate(args)


if __name__ == "__main__":
    main()
