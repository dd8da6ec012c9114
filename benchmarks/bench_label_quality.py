"""Label quality, printed in one run: label errors (labeler vs cleanlab), consensus
(majority, Dawid-Skene, model-aware) and relabel-or-new on vs off.

    python benchmarks/bench_label_quality.py [--quick]

Data: scikit-learn's digits and the SMS spam collection
(/work/shared/data/sms-spam.csv, else tests/data/sms-spam.csv). Noise is injected with a
fixed seed: uniform (a wrong label is any other class) or class-dependent (each class
errs towards one other class, at rates that differ by class and average the target).
Every model is fitted with one BLAS thread; times are the median of 5 runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labeler.core import label_errors, training  # noqa: E402
from labeler.core.consensus import dawid_skene  # noqa: E402
from labeler.core.model_consensus import ModelAwareResult, model_aware_consensus  # noqa: E402
from labeler.core.model_inputs import ModelInputs  # noqa: E402
from labeler.core.relabel import MAX_SHARE, choose_relabels  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMS = next(
    p for p in (ROOT.parents[1] / "shared/data/sms-spam.csv", ROOT / "tests/data/sms-spam.csv")
    if p.exists()
)  # fmt: skip
COLLAPSED: list[int] = []  # budgets at which model-aware consensus kept a single class
TRAINED: list[tuple[int, int, int]] = []  # per relabel run: asked, last training's items, wrong
ANNOTATOR_ACCURACY = (0.95, 0.85, 0.75, 0.65, 0.55)  # mixed quality, mean 0.75


def datasets(quick: bool) -> dict[str, tuple[object, np.ndarray, int]]:
    """name -> (features, true labels, classes)."""
    X, y = load_digits(return_X_y=True)
    sms = pd.read_csv(SMS)
    if quick:
        sms = sms.iloc[:2000]
    text = TfidfVectorizer(sublinear_tf=True, min_df=2).fit_transform(sms["text"].astype(str))
    return {"digits": (X / 16.0, y, 10), "sms": (text, sms["spam"].to_numpy(dtype=int), 2)}


def item_frames(quick: bool) -> dict[str, tuple[pd.DataFrame, ModelInputs]]:
    """name -> (the items' fields as a project holds them, the project's model inputs)."""
    X, _ = load_digits(return_X_y=True)
    pixels = pd.DataFrame(X, columns=[f"p{i}" for i in range(X.shape[1])])
    sms = pd.read_csv(SMS)
    if quick:
        sms = sms.iloc[:2000]
    return {
        "digits": (pixels, ModelInputs(numeric=tuple(pixels.columns))),
        "sms": (sms[["text"]].astype(str).reset_index(drop=True), ModelInputs(text=("text",))),
    }


def out_of_sample(
    X: object, labels: np.ndarray, n_classes: int | None = None, calibrated: bool = False
) -> np.ndarray:
    """5-fold (fewer for a rare class; shuffled, stratified) probabilities, a column for
    every class. ``calibrated``: for sparse text, logistic regression at C=0.25 inside a
    sigmoid calibration (3 inner folds), whose probabilities are better calibrated than
    the plain model's, trained as it is on noisy labels; dense features keep the plain
    model (calibration bought nothing on digits)."""
    sparse = X.shape[1] > 100
    model = LogisticRegression(C=1.0 if sparse else 0.1, max_iter=500)
    if calibrated and sparse:
        model = CalibratedClassifierCV(
            LogisticRegression(C=0.25, max_iter=500), method="sigmoid", cv=3
        )
    present, counts = np.unique(labels, return_counts=True)
    keep = np.isin(labels, present[counts >= 2])
    n_classes = n_classes or int(labels.max()) + 1
    probs = np.full((len(labels), n_classes), 1e-6)
    folds = StratifiedKFold(min(5, int(counts[counts >= 2].min())), shuffle=True, random_state=0)
    inner = cross_val_predict(model, X[keep], labels[keep], cv=folds, method="predict_proba")
    probs[np.ix_(keep, np.unique(labels[keep]))] = inner
    probs[~keep] = 1.0 / n_classes  # a class seen once: no out-of-sample view of it
    return probs / probs.sum(axis=1, keepdims=True)


def add_noise(y: np.ndarray, n_classes: int, rate: float, kind: str, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    if kind == "uniform":
        flip = rng.random(len(y)) < rate
        noisy[flip] = (y[flip] + rng.integers(1, n_classes, flip.sum())) % n_classes
        return noisy
    # class-dependent: class c errs towards c+1 at a rate between 0.5x and 1.5x the target
    per_class = rate * np.linspace(0.5, 1.5, n_classes)
    share = np.bincount(y, minlength=n_classes) / len(y)
    per_class *= rate / float((per_class * share).sum())
    flip = rng.random(len(y)) < per_class[y]
    noisy[flip] = (y[flip] + 1) % n_classes
    return noisy


def median_seconds(call, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        clock = time.perf_counter()
        call()
        times.append(time.perf_counter() - clock)
    return float(np.median(times))


def precision_recall(flagged: np.ndarray, truly_wrong: np.ndarray) -> tuple[float, float]:
    hits = (flagged & truly_wrong).sum()
    return hits / max(flagged.sum(), 1), hits / max(truly_wrong.sum(), 1)


def label_error_table(data: dict, noise_rates: tuple[float, ...]) -> None:
    from cleanlab.filter import find_label_issues as cleanlab_find

    print("\n## Label errors: labeler vs cleanlab find_label_issues, same probabilities")
    print(f"{'data':7} {'noise':>6} {'kind':>9} | {'P lab':>6} {'R lab':>6} {'ms lab':>7} | "
          f"{'P cl':>6} {'R cl':>6} {'ms cl':>7} | same set")  # fmt: skip
    for name, (X, y, k) in data.items():
        for rate in noise_rates:
            for kind in ("uniform", "class"):
                given = add_noise(y, k, rate, kind, seed=int(rate * 100))
                probs = out_of_sample(X, given)
                wrong = given != y
                ours = label_errors.find_label_issues(given, probs)
                theirs = cleanlab_find(given, probs, n_jobs=1)
                t_ours = median_seconds(
                    lambda g=given, p=probs: label_errors.find_label_issues(g, p)
                )
                t_theirs = median_seconds(lambda g=given, p=probs: cleanlab_find(g, p, n_jobs=1))
                p1, r1 = precision_recall(ours, wrong)
                p2, r2 = precision_recall(theirs, wrong)
                print(
                    f"{name:7} {rate:>6.0%} {kind:>9} | {p1:6.3f} {r1:6.3f} {1000 * t_ours:7.1f} | "
                    f"{p2:6.3f} {r2:6.3f} {1000 * t_theirs:7.1f} | {bool((ours == theirs).all())}"
                )


def product_error_table(data: dict, frames: dict, noise_rates: tuple[float, ...]) -> None:
    """Label errors on the training job's probabilities (the project's pipeline), with
    and without its calibration; cleanlab's find_label_issues on the product's."""
    from cleanlab.filter import find_label_issues as cleanlab_find

    print("\n## Label errors on the training job's out-of-sample probabilities: "
          "uncalibrated vs the product (calibrated) vs cleanlab on the product's")  # fmt: skip
    print(f"{'data':7} {'noise':>6} {'kind':>9} | {'P unc':>6} {'R unc':>6} | "
          f"{'P prod':>6} {'R prod':>6} | {'P cl':>6} {'R cl':>6} | same set")  # fmt: skip
    for name, (_, y, k) in data.items():
        frame, inputs = frames[name]
        for rate in noise_rates:
            for kind in ("uniform", "class"):
                given = add_noise(y, k, rate, kind, seed=int(rate * 100))
                wrong = given != y
                figures, flagged = [], {}
                for calibrate in (False, True):
                    folds = label_errors.cross_validated(
                        frame, given.astype(str), inputs, random_state=0, calibrate=calibrate
                    )
                    codes = np.searchsorted(np.asarray(folds.classes), given.astype(str))
                    flagged[calibrate] = label_errors.find_label_issues(codes, folds.probs)
                    figures.extend(precision_recall(flagged[calibrate], wrong))
                    if calibrate:
                        theirs = cleanlab_find(codes, folds.probs, n_jobs=1)
                figures.extend(precision_recall(theirs, wrong))
                same = bool((flagged[True] == theirs).all())
                cells = " | ".join(
                    f"{figures[i]:6.3f} {figures[i + 1]:6.3f}" for i in range(0, 6, 2)
                )
                print(f"{name:7} {rate:>6.0%} {kind:>9} | {cells} | {same}", flush=True)


def simulate_votes(y: np.ndarray, n_classes: int, k: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for item, truth in enumerate(y):
        for annotator in rng.choice(len(ANNOTATOR_ACCURACY), size=k, replace=False):
            right = rng.random() < ANNOTATOR_ACCURACY[annotator]
            label = truth if right else (truth + rng.integers(1, n_classes)) % n_classes
            rows.append((item, f"a{annotator}", int(label)))
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def majority_with_random_ties(votes: pd.DataFrame, n_items: int, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    counts = np.zeros((n_items, k))
    np.add.at(counts, (votes["item"].to_numpy(), votes["label"].to_numpy()), 1)
    counts += rng.random(counts.shape) * 0.1  # ties broken at random
    return counts.argmax(axis=1)


def _aware(votes: pd.DataFrame, probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Model-aware consensus accuracy and its quality score's AUROC for 'wrong'."""
    aware = model_aware_consensus(votes, pd.DataFrame(probs, columns=range(probs.shape[1])))
    wrong = aware.items["label"].to_numpy(dtype=int) != y
    auroc = roc_auc_score(wrong, -aware.items["confidence"]) if wrong.any() else float("nan")
    return float(np.mean(~wrong)), float(auroc)


def _crowdlab(votes: pd.DataFrame, probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """cleanlab's get_label_quality_multiannotator on the same votes and probabilities
    (it needs an item labeled twice: NaN at k = 1)."""
    from cleanlab.multiannotator import get_label_quality_multiannotator

    if votes.groupby("item").size().max() < 2:
        return float("nan"), float("nan")
    wide = votes.pivot(index="item", columns="annotator", values="label")
    found = get_label_quality_multiannotator(wide, probs, verbose=False)["label_quality"]
    wrong = found["consensus_label"].to_numpy() != y
    return float(np.mean(~wrong)), float(roc_auc_score(wrong, -found["consensus_quality_score"]))


def product_probabilities(
    frame: pd.DataFrame, inputs: ModelInputs, votes: pd.DataFrame, n_classes: int, calibrate: bool
) -> np.ndarray:
    """The probabilities the training job stores, as it computes them: K-fold over the
    project's pipeline on items whose votes have a strict majority (a tie has no final
    label), the fold models' mean for the tied ones; ``calibrate`` as the product does."""
    counts = np.zeros((len(frame), n_classes))
    np.add.at(counts, (votes["item"].to_numpy(), votes["label"].to_numpy()), 1)
    top = counts.max(axis=1, keepdims=True)
    settled = (counts == top).sum(axis=1) == 1
    labels = counts.argmax(axis=1).astype(str)[settled]
    folds = label_errors.cross_validated(
        frame[settled], labels, inputs, random_state=0, calibrate=calibrate
    )
    probs = np.zeros((len(frame), n_classes))
    columns = [int(c) for c in folds.classes]
    probs[np.ix_(settled, columns)] = folds.probs
    if not settled.all():
        probs[np.ix_(~settled, columns)] = folds.predict_proba(frame[~settled])
    return probs


def consensus_table(data: dict, frames: dict) -> None:
    print("\n## Consensus accuracy, annotators of accuracy "
          f"{', '.join(map(str, ANNOTATOR_ACCURACY))} (k random ones per item)")  # fmt: skip
    print("model-aware on the training job's out-of-sample probabilities (the project's "
          "pipeline: logistic regression, balanced class weights), uncalibrated and as the "
          "product computes them (sigmoid-calibrated folds); AUROC of its quality score "
          "for 'this consensus is wrong'; cleanlab's CROWDLAB on the product's "
          "probabilities")  # fmt: skip
    print(f"{'data':7} {'k':>2} | {'majority':>8} {'D-S':>6} | {'uncal':>6} {'AUROC':>6} | "
          f"{'product':>7} {'AUROC':>6} | {'cl acc':>6} {'cl AUC':>6} | {'s uncal':>7} "
          f"{'s prod':>6}")  # fmt: skip
    for name, (_, y, n_classes) in data.items():
        frame, inputs = frames[name]
        for k in (1, 2, 3):
            votes = simulate_votes(y, n_classes, k, seed=k)
            majority = majority_with_random_ties(votes, len(y), n_classes, seed=k)
            ds = dawid_skene(votes, one_coin=k <= 2)
            ds_label = ds.posteriors.to_numpy().argmax(axis=1)
            ds_label = np.asarray(ds.posteriors.columns)[ds_label]
            ds_by_item = pd.Series(ds_label, index=ds.posteriors.index).reindex(range(len(y)))
            clock = time.perf_counter()
            uncalibrated_probs = product_probabilities(frame, inputs, votes, n_classes, False)
            s_uncal = time.perf_counter() - clock
            clock = time.perf_counter()
            product_probs = product_probabilities(frame, inputs, votes, n_classes, True)
            s_prod = time.perf_counter() - clock
            uncalibrated = _aware(votes, uncalibrated_probs, y)
            product = _aware(votes, product_probs, y)
            cleanlab = _crowdlab(votes, product_probs, y)
            print(
                f"{name:7} {k:>2} | {np.mean(majority == y):8.3f} "
                f"{np.mean(ds_by_item.to_numpy() == y):6.3f} | {uncalibrated[0]:6.3f} "
                f"{uncalibrated[1]:6.3f} | {product[0]:7.3f} {product[1]:6.3f} | "
                f"{cleanlab[0]:6.3f} {cleanlab[1]:6.3f} | {s_uncal:7.1f} {s_prod:6.1f}"
            )


def decided_by_posterior(
    result: ModelAwareResult, items: Iterable[object] | None = None
) -> ModelAwareResult:
    """``result`` with ``items`` (None: every item) labeled by the posterior behind the
    consensus quality (the model's probabilities as the prior, each vote counted with its
    annotator's quality): ``label`` becomes ``likeliest_label`` and ``confidence`` (=
    ``correct_probability``) ``likeliest_probability``, so the item's relabel score is that
    label's chance of being wrong. Issue 17's sixth round measured it here and did not
    adopt it for relabel-or-new (benchmarks/README.md); it is not the product's."""
    table = result.items
    chosen = table.index if items is None else table.index.intersection(pd.Index(list(items)))
    decided = table.copy()
    decided.loc[chosen, "label"] = table.loc[chosen, "likeliest_label"]
    chance = table.loc[chosen, "likeliest_probability"].astype(float)
    decided.loc[chosen, "confidence"] = chance
    decided.loc[chosen, "correct_probability"] = chance
    return replace(result, items=decided)


RELABEL_ARMS = {  # printed name -> (relabel on, fresh items scored by, posterior decides)
    "off": (False, "full", "none"),
    "on, fresh by full model": (True, "full", "none"),
    "on, fresh by fold models": (True, "folds", "none"),
    # issue 17, sixth round (not adopted): the vote posterior labels some items
    "on, asked by posterior": (True, "full", "asked"),
    "on, all by posterior": (True, "full", "all"),
    "off, all by posterior": (False, "full", "all"),  # the label rule without relabels
}


def relabel_curve(
    frame, inputs, y, n_classes: int, arm: str, budgets: list[int], seed: int, n_test: int = 400
):
    """Accuracy on ``n_test`` (400) held-out items after each budget of labels from five
    annotators of accuracy 0.8 (20% noise), in rounds of 50, most uncertain first, with the
    product's pieces: its pipeline, its calibrated out-of-sample probabilities
    (``label_errors.cross_validated``), model-aware consensus, and labeler's choice
    (``core.relabel.choose_relabels``, at most half a round relabels). With relabel-or-new
    a labeled item gets one more label when its ActiveLab score beats the fresh items'.
    The fresh items' probabilities come from the model fitted on every consensus label
    (as the consensus job reads the version's artifact) or from the mean of the fold
    models that gave the labeled items theirs (one scale for both lists). 'posterior
    decides': the items whose label (and relabel score) come from the vote posterior
    instead of CROWDLAB's average: none, the asked ones (2+ votes; every item gets one
    first), or all."""
    relabel, fresh_by, decides = RELABEL_ARMS[arm]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    test, pool = order[:n_test], order[n_test:]
    rows: list[tuple[int, str, int]] = []

    def vote(item: int) -> None:
        taken = {a for i, a, _ in rows if i == item}
        free = [f"a{n}" for n in range(5) if f"a{n}" not in taken]
        if not free:
            return
        right = rng.random() < 0.8
        label = y[item] if right else (y[item] + rng.integers(1, n_classes)) % n_classes
        rows.append((item, str(rng.choice(free)), int(label)))

    for item in pool[:100]:
        vote(int(item))
    results: list[float] = []
    asked, trained = 0, (0, 0)
    while len(results) < len(budgets):
        votes = pd.DataFrame(rows, columns=["item", "annotator", "label"])
        labeled = np.asarray(sorted(votes["item"].unique()))
        coded = votes.assign(item=np.searchsorted(labeled, votes["item"]))
        majority = majority_with_random_ties(coded, len(labeled), n_classes, seed)
        folds = label_errors.cross_validated(
            frame.iloc[labeled], majority.astype(str), inputs, random_state=seed
        )
        columns = [int(c) for c in folds.classes]
        probs = pd.DataFrame(0.0, index=labeled, columns=range(n_classes))
        probs[columns] = folds.probs
        aware = model_aware_consensus(votes, probs)
        if decides != "none":
            voted_again = aware.items.index[aware.items["support"].to_numpy() > 1]
            aware = decided_by_posterior(aware, None if decides == "all" else voted_again)
        consensus = aware.items["label"].reindex(labeled).to_numpy(dtype=int)
        if len(np.unique(consensus)) < 2:  # the model outvoted all: train on majority
            COLLAPSED.append(len(rows))
            consensus = majority
        model = training.train(frame.iloc[labeled], consensus.astype(str), inputs)
        spent = len(rows)
        trained = (len(labeled), int(np.sum(consensus != y[labeled])))
        while len(results) < len(budgets) and spent >= budgets[len(results)]:
            predicted = model.pipeline.predict(frame.iloc[test]).astype(int)
            results.append(float(np.mean(predicted == y[test])))
        if len(results) == len(budgets):
            break
        unlabeled = np.setdiff1d(pool, labeled)
        scorer = folds if fresh_by == "folds" else model
        fresh = pd.DataFrame(0.0, index=unlabeled, columns=range(n_classes))
        fresh[[int(c) for c in (folds.classes if fresh_by == "folds" else model.classes)]] = (
            scorer.predict_proba(frame.iloc[unlabeled])
        )
        again, new = aware.relabel_scores(fresh)
        choice = choose_relabels(again if relabel else again[:0], new, 50, MAX_SHARE)
        asked += len(choice.relabel)
        for item in [*choice.relabel, *new.sort_values(ascending=False).index[: choice.n_fresh]]:
            vote(int(item))
    TRAINED.append((asked, *trained))
    return results


def relabel_table(
    frames: dict,
    data: dict,
    budgets: list[int],
    seeds: int = 3,
    first_seed: int = 0,
    arms: tuple[str, ...] = tuple(RELABEL_ARMS),
    tests: dict[str, int] | None = None,
) -> None:
    """``tests``: held-out items per data set (400 each unless given). With the "off"
    arm and another, a line per arm gives on - off per budget, the mean over the seeds
    (the same seeds, so the same test items and first labels) and its standard error."""
    tests = tests or {}
    print("\n## Accuracy on held-out items vs labels, 20% noise (annotators of accuracy 0.8)")
    print("(held-out items: " + ", ".join(f"{name} {tests.get(name, 400)}" for name in data)
          + ")")  # fmt: skip
    print(f"(mean of {seeds} seeds from seed {first_seed}; the product's pipeline and "
          "calibrated out-of-sample probabilities; 'fresh by': which model scores the fresh "
          "items)")  # fmt: skip
    print("(last columns, seeds summed: relabels asked; at the last budget, items the model"
          " trained on and how many of their consensus labels are wrong)")  # fmt: skip
    print(f"{'data':7} {'relabel':>24} | " + " ".join(f"{b:>6}" for b in budgets)
          + " |      s | asked items wrong")  # fmt: skip
    for name, (_, y, n_classes) in data.items():
        frame, inputs = frames[name]
        per_arm: dict[str, np.ndarray] = {}
        for arm in arms:
            clock = time.perf_counter()
            runs = [
                relabel_curve(frame, inputs, y, n_classes, arm, budgets, seed, tests.get(name, 400))
                for seed in range(first_seed, first_seed + seeds)
            ]
            per_arm[arm] = np.asarray(runs)
            mean = np.mean(runs, axis=0)
            counts = np.sum(TRAINED[-seeds:], axis=0)
            print(f"{name:7} {arm:>24} | " + " ".join(f"{v:6.3f}" for v in mean)
                  + f" | {time.perf_counter() - clock:6.0f} | {counts[0]:>4} {counts[1]:>5}"
                  f" {counts[2]:>4}", flush=True)  # fmt: skip
        baseline = per_arm.get("off")
        for arm, arm_runs in per_arm.items():
            if baseline is None or arm == "off":
                continue
            gain = (arm_runs - baseline) * 100  # points, per seed and budget
            spread = np.zeros(gain.shape[1])  # one seed: no spread to give
            if len(gain) > 1:
                spread = gain.std(axis=0, ddof=1) / np.sqrt(len(gain))
            print(f"{name:7} {'on - off, points':>24} | "
                  + " ".join(f"{m:+6.1f}" for m in gain.mean(axis=0))
                  + f" | ({arm}; standard error "
                  + " ".join(f"{e:.1f}" for e in spread) + ")")  # fmt: skip
    if COLLAPSED:
        print(f"(model-aware consensus kept one class in {len(COLLAPSED)} rounds, at "
              f"{sorted(set(COLLAPSED))} labels; those rounds trained on majority)")  # fmt: skip


def weight() -> None:
    clock = time.perf_counter()
    import cleanlab  # noqa: F401
    import cleanlab.filter  # noqa: F401

    seconds = time.perf_counter() - clock
    folder = Path(cleanlab.__file__).parent
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"cleanlab {cleanlab.__version__}: {size / 1e6:.1f} MB installed, "
          f"import of cleanlab.filter {seconds:.2f} s (it brings termcolor and tqdm)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="2,000 SMS rows, fewer budgets")
    parser.add_argument("--seeds", type=int, default=3, help="relabel runs per arm")
    parser.add_argument("--first-seed", type=int, default=0, help="the relabel runs' first seed")
    parser.add_argument(
        "--arms", help="relabel arms to run, separated by ';' (default: all of RELABEL_ARMS)"
    )
    parser.add_argument(
        "--sms-test", type=int, default=400, help="held-out SMS items for the relabel runs"
    )
    parser.add_argument(
        "--only",
        choices=("errors", "product-errors", "consensus", "relabel"),
        help="print one table only",
    )
    args = parser.parse_args()
    with threadpool_limits(1):
        data = datasets(args.quick)
        if args.only in (None, "errors"):
            weight()
            label_error_table(data, (0.05, 0.1, 0.2))
        if args.only in (None, "errors", "product-errors"):
            product_error_table(data, item_frames(args.quick), (0.05, 0.1, 0.2))
        if args.only in (None, "consensus"):
            consensus_table(data, item_frames(args.quick))
        if args.only in (None, "relabel"):
            budgets = [200, 300, 400] if args.quick else [200, 300, 400, 500, 600]
            arms = tuple(args.arms.split(";")) if args.arms else tuple(RELABEL_ARMS)
            unknown = [arm for arm in arms if arm not in RELABEL_ARMS]
            if unknown:
                parser.error(f"unknown arm(s) {unknown}; the arms: {list(RELABEL_ARMS)}")
            relabel_table(
                item_frames(args.quick),
                data,
                budgets,
                args.seeds,
                args.first_seed,
                arms,
                {"sms": args.sms_test},
            )


if __name__ == "__main__":
    main()
