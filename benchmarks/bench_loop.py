"""Benchmark the server's own active-learning loop (services + the training job).

Run from the repository root:

    python benchmarks/bench_loop.py            # 100k pool; 5 seeds on digits
    python benchmarks/bench_loop.py --small    # 10k pool; 2 seeds, fewer rounds

1. Retrain + rescore through labeler's ``train`` job on a 100k-item text pool
   (SMS Spam + Rotten Tomatoes texts from ../shared/data repeated to size), about
   2,000 final train labels and 500 final test labels: the job reads the labels
   from the database, fits, evaluates against baselines, saves and reloads the
   skops artifact, scores every open item (margin) and writes score + queue rank.
   Against a bare scikit-learn script in the same run doing the same fit +
   predict_proba + top-k on in-memory data. Goal (issue 4): ratio at most 1.3.
2. Active learning on scikit-learn's digits through the server: the test split's
   labels are given up front (the yardstick), then a simulated annotator takes
   items from the real queue (``queue.next_items``/``submit``), 10 seed labels,
   and a training job starts through ``maybe_start_training`` after every 10
   labels; the job's own test accuracy is read from its ModelVersion. Labels
   needed to reach 99% of the full-data model's test accuracy, margin vs random.
   Goal: random needs at least 2.5x as many.

Prints figures; never asserts a time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sqlalchemy import select, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app, text_corpus  # noqa: E402
from labeler.core import training  # noqa: E402
from labeler.extensions import db  # noqa: E402
from labeler.models import TIER_DONE, Item, Job, ModelVersion, Project, User  # noqa: E402
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_frame
from labeler.services.labeling import queue
from labeler.services.learning import modeling  # noqa: E402
from labeler.services.projects.store import create_project, set_member  # noqa: E402

corpus = text_corpus  # shared with the other benchmarks


def give_final_labels(project: Project, labels: dict[str, str]) -> None:
    """Final labels as if annotators had agreed on them (external id -> label)."""
    table = Item.__table__
    rows = db.session.execute(
        select(Item.id, Item.external_id).where(
            Item.project_id == project.id, Item.external_id.in_(list(labels))
        )
    ).all()
    db.session.execute(
        update(table)
        .where(table.c.id == db.bindparam("item_id"))
        .values(
            final_label=db.bindparam("label"),
            final_source="unanimous",
            n_annotations=1,
            queue_tier=TIER_DONE,
        ),
        [{"item_id": i, "label": labels[e]} for i, e in rows],
    )


def text_pool(pool_size: int, n_train: int, n_test: int):
    app, _ = fresh_app()
    texts = corpus()
    size = len(texts)
    frame = pd.DataFrame(
        {
            "id": [f"t{i}" for i in range(pool_size)],
            "text": texts["text"].to_numpy()[np.arange(pool_size) % size],
        }
    )
    truth = texts["label"].to_numpy()[np.arange(pool_size) % size]
    with app.app_context():
        project = create_project(
            "texts",
            [{"name": n} for n in sorted(set(truth))],
            test_fraction=0.2,
            sampling_strategy="margin",
            min_labels_per_class=1,
        )
        import_frame(project, frame, ColumnMapping(id="id", text=("text",)))
        splits = dict(db.session.execute(select(Item.external_id, Item.split)).all())
        # the first distinct texts of each split get final labels (no repeats labeled)
        train_ids = [f"t{i}" for i in range(size) if splits[f"t{i}"] == "train"][:n_train]
        test_ids = [f"t{i}" for i in range(size) if splits[f"t{i}"] == "test"][:n_test]
        give_final_labels(project, {e: truth[int(e[1:])] for e in train_ids + test_ids})
        db.session.commit()
        open_ids = db.session.scalars(
            select(Item.external_id)
            .where(Item.split == "train", Item.queue_tier > TIER_DONE)
            .order_by(Item.id)
        ).all()
        project_id = project.id
    labeled = frame.set_index("id").loc[train_ids]
    pool = frame.set_index("id").loc[open_ids]
    return app, project_id, labeled["text"], truth[[int(e[1:]) for e in train_ids]], pool


def retrain_rescore(pool_size: int, repeat: int, k: int = 100) -> None:
    app, project_id, train_text, train_y, pool = text_pool(pool_size, 2000, 500)

    def bare() -> float:
        start = time.perf_counter()
        vectoriser = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), max_features=200_000)
        model = LogisticRegression(max_iter=2000, class_weight="balanced")
        model.fit(vectoriser.fit_transform(train_text), train_y)
        proba = model.predict_proba(vectoriser.transform(pool["text"]))
        top2 = np.sort(proba, axis=1)[:, -2:]
        scores = 1 - (top2[:, 1] - top2[:, 0])
        top = np.argpartition(-scores, k)[:k]
        top[np.argsort(-scores[top])]
        return time.perf_counter() - start

    def job() -> tuple[float, dict]:
        with app.app_context():
            project = db.session.get(Project, project_id)
            start = time.perf_counter()
            started = modeling.start_training(project)
            elapsed = time.perf_counter() - start
            done = db.session.get(Job, started.id)
            version = db.session.get(ModelVersion, done.result["version_id"])
            return elapsed, {
                "status": done.status,
                **(version.metrics or {}).get("timings", {}),
                "accuracy": version.metrics.get("accuracy"),
                "n_scored": done.result.get("n_scored"),
            }

    ours, theirs, detail = [], [], {}
    for _ in range(repeat):  # alternate, so machine load hits both alike
        elapsed, timings = job()
        if not ours or elapsed < min(ours):
            detail = timings  # the breakdown of the best run
        ours.append(elapsed)
        theirs.append(bare())
    print(
        f"1. retrain + rescore, {pool_size:,} items ({detail['n_scored']:,} open), "
        f"2,000 train + 500 test final labels, best of {repeat}:"
    )
    print(
        f"   labeler train job  {min(ours):6.2f} s  (fit {detail['fit']:.2f}, evaluate "
        f"{detail['evaluate']:.2f}, save+reload {detail['save']:.2f}, score+write "
        f"{detail['score']:.2f}; test accuracy {detail['accuracy']:.3f})"
    )
    print(f"   bare scikit-learn  {min(theirs):6.2f} s  (fit + predict_proba + top-{k})")
    print(f"   ratio {min(ours) / min(theirs):.2f} (goal <= 1.3)")


def digits_project(app, seed: int, strategy: str) -> tuple[int, int, dict[str, str]]:
    digits = load_digits()
    fields = [f"p{i}" for i in range(64)]
    frame = pd.DataFrame(digits.data.astype(int), columns=fields)
    frame.insert(0, "id", [f"d{i}" for i in range(len(frame))])
    truth = {f"d{i}": str(t) for i, t in enumerate(digits.target)}
    with app.app_context():
        project = create_project(
            f"digits-{strategy}-{seed}",
            [{"name": str(d)} for d in range(10)],
            test_fraction=0.25,
            sampling_strategy=strategy,
            retrain_every=10,
            min_labels_per_class=1,
            random_share=0.1,
            split_seed=seed,
        )
        import_frame(project, frame, ColumnMapping(id="id", numeric=tuple(fields)))
        annotator = User(username=f"sim-{strategy}-{seed}", role="annotator")
        db.session.add(annotator)
        db.session.flush()
        set_member(project, annotator, "annotator")
        tests = db.session.scalars(
            select(Item.external_id).where(Item.project_id == project.id, Item.split == "test")
        ).all()
        give_final_labels(project, {e: truth[e] for e in tests})
        db.session.commit()
        return project.id, annotator.id, truth


def full_data_accuracy(app, project_id: int, truth: dict[str, str]) -> float:
    from labeler.core.evaluation import evaluate
    from labeler.services.learning.training_data import final_labeled, model_inputs, to_frame

    with app.app_context():
        project = db.session.get(Project, project_id)
        rows = db.session.execute(
            select(Item.external_id, Item.data).where(
                Item.project_id == project_id, Item.split == "train"
            )
        ).all()
        inputs = model_inputs(project)
        model = training.train(
            to_frame([r[1] for r in rows], inputs),
            [truth[r[0]] for r in rows],
            inputs,
            random_state=project_id,
        )
        test = final_labeled(project, "test")
        return float(evaluate(model, test.X, test.y, n_boot=10)["accuracy"])


def labels_to_target(
    app, project_id: int, user_id: int, truth: dict[str, str], target: float, max_labels: int
) -> int:
    """Label through the queue; after each 10 labels the job may retrain. Returns the
    training labels of the first version whose test accuracy reaches ``target``."""
    with app.app_context():
        project = db.session.get(Project, project_id)
        annotator = db.session.get(User, user_id)
        n = 0
        while n < max_labels:
            items = queue.next_items(project, annotator, n=1)
            if not items:
                break
            queue.submit(project, annotator, items[0], truth[items[0].external_id])
            db.session.commit()
            n += 1
            job_id = modeling.maybe_start_training(project)
            if job_id is None:
                continue
            job = db.session.get(Job, job_id)
            version = db.session.get(ModelVersion, (job.result or {}).get("version_id"))
            if version is not None and (version.metrics or {}).get("accuracy", 0) >= target:
                return version.n_labels
        return max_labels


def active_learning(seeds: int, max_labels: int) -> None:
    app, _ = fresh_app()
    needed: dict[str, list[int]] = {"margin": [], "random": []}
    for seed in range(seeds):
        for strategy in needed:
            project_id, user_id, truth = digits_project(app, seed, strategy)
            full = full_data_accuracy(app, project_id, truth)
            needed[strategy].append(
                labels_to_target(app, project_id, user_id, truth, 0.99 * full, max_labels)
            )
        print(
            f"   seed {seed}: full-data accuracy {full:.3f}; labels to 99% of it: "
            f"margin {needed['margin'][-1]}, random {needed['random'][-1]}"
        )
    margin, rand = np.mean(needed["margin"]), np.mean(needed["random"])
    print(
        f"2. active learning on digits through the server, {seeds} seeds: mean labels "
        f"margin {margin:.0f}, random {rand:.0f}; random needs {rand / margin:.2f}x "
        f"(goal >= 2.5)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--small", action="store_true", help="10k pool, 2 seeds")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("retrain", "active"), default=None)
    args = parser.parse_args()
    if args.only != "active":
        retrain_rescore(10_000 if args.small else 100_000, 1 if args.small else args.repeat)
    if args.only != "retrain":
        active_learning(2 if args.small else 5, 1400)


if __name__ == "__main__":
    main()
