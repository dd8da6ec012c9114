"""Label quality through the server's own loop: consensus methods and relabel-or-new
with noisy annotators, on scikit-learn's digits.

    python benchmarks/bench_label_quality_loop.py [--seeds 2] [--budget 600] [--relabel-only]

Five simulated annotators of accuracy 0.95, 0.85, 0.75, 0.65 and 0.55 (a wrong answer
is any other digit) take turns at the real queue (``queue.next_items``/``submit``); a
training job starts through ``maybe_start_training`` every 50 new final train labels
(margin sampling), and with model-aware consensus the training job's consensus job
re-weighs the votes (and, with relabel-or-new on, asks for extra labels). The test
split's true labels are given up front, so each version's test accuracy is against
the truth. Nobody reviews: disputed items (ties, low confidence) wait, as they would
without a reviewer. Printed: test accuracy of the newest evaluated version at each
budget of labels spent (votes, not items), mean over seeds, for majority, Dawid-Skene
and model-aware consensus at k = 1, 2, 3, and model-aware at k = 1 with relabel-or-new.
Never asserts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import fresh_app  # noqa: E402
from benchmarks.bench_loop import give_final_labels  # noqa: E402
from labeler.extensions import db  # noqa: E402
from labeler.models import Item, Job, ModelVersion, Project, User  # noqa: E402
from labeler.services.data.import_spec import ColumnMapping  # noqa: E402
from labeler.services.data.imports import import_frame  # noqa: E402
from labeler.services.labeling import queue  # noqa: E402
from labeler.services.learning import modeling, relabel  # noqa: E402
from labeler.services.projects.store import create_project, set_member  # noqa: E402

ACCURACY = (0.95, 0.85, 0.75, 0.65, 0.55)
ARMS = [(m, k, False) for m in ("majority", "dawid_skene", "model_aware") for k in (1, 2, 3)]
ARMS.append(("model_aware", 1, True))


def project_for(app, seed: int, method: str, k: int, relabel_on: bool):
    digits = load_digits()
    fields = [f"p{i}" for i in range(64)]
    frame = pd.DataFrame(digits.data.astype(int), columns=fields)
    frame.insert(0, "id", [f"d{i}" for i in range(len(frame))])
    truth = {f"d{i}": int(t) for i, t in enumerate(digits.target)}
    name = f"{method}-{k}-{relabel_on}-{seed}"
    with app.app_context():
        project = create_project(
            name,
            [{"name": str(d)} for d in range(10)],
            test_fraction=0.25,
            sampling_strategy="margin",
            retrain_every=50,
            min_labels_per_class=2,
            split_seed=seed,
            annotations_per_item=k,
            consensus_method=method,
            relabel_or_new=relabel_on,
        )
        import_frame(project, frame, ColumnMapping(id="id", numeric=tuple(fields)))
        users = []
        for n in range(len(ACCURACY)):
            annotator = User(username=f"{name}-a{n}", role="annotator")
            db.session.add(annotator)
            db.session.flush()
            set_member(project, annotator, "annotator")
            users.append(annotator.id)
        tests = db.session.scalars(
            select(Item.external_id).where(Item.project_id == project.id, Item.split == "test")
        ).all()
        give_final_labels(project, {e: str(truth[e]) for e in tests})
        db.session.commit()
        return project.id, users, truth


def run(app, seed: int, method: str, k: int, relabel_on: bool, budgets: list[int]) -> dict:
    """Accuracy at each budget, and what relabel-or-new asked."""
    project_id, users, truth = project_for(app, seed, method, k, relabel_on)
    rng = np.random.default_rng(seed)
    curve: list[tuple[int, float]] = []
    with app.app_context():
        project = db.session.get(Project, project_id)
        annotators = [db.session.get(User, u) for u in users]
        spent, idle = 0, 0
        while spent < budgets[-1] and idle < len(annotators):
            who = spent % len(annotators) if idle == 0 else (spent + idle) % len(annotators)
            items = queue.next_items(project, annotators[who], n=1)
            if not items:
                idle += 1
                continue
            idle = 0
            item = items[0]
            right = truth[item.external_id]
            label = right if rng.random() < ACCURACY[who] else (right + rng.integers(1, 10)) % 10
            queue.submit(project, annotators[who], item, str(label))
            db.session.commit()
            spent += 1
            job = modeling.maybe_start_training(project)
            if job is None:
                continue
            version_id = (db.session.get(Job, job.id).result or {}).get("version_id")
            version = db.session.get(ModelVersion, version_id) if version_id else None
            accuracy = (version.metrics or {}).get("accuracy") if version else None
            if accuracy is not None:
                curve.append((spent, float(accuracy)))
        figures = relabel.relabel_figures(db.session.get(Project, project_id))
    at = []
    for budget in budgets:
        reached = [acc for n, acc in curve if n <= budget]
        at.append(reached[-1] if reached else float("nan"))
    return {"at": at, "relabel": figures}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--budget", type=int, default=600)
    parser.add_argument(
        "--relabel-only", action="store_true", help="model-aware at k = 1, relabel off and on"
    )
    args = parser.parse_args()
    arms = [arm for arm in ARMS if arm[:2] == ("model_aware", 1)] if args.relabel_only else ARMS
    budgets = list(range(200, args.budget + 1, 100))
    app, _ = fresh_app()
    print("Test accuracy (vs the truth) of the newest version after N labels, digits, "
          f"annotators {ACCURACY}, mean of {args.seeds} seeds")  # fmt: skip
    print(f"{'consensus':12} {'k':>2} {'relabel':>7} | " + " ".join(f"{b:>6}" for b in budgets)
          + " | asked answered changed   s")  # fmt: skip
    for method, k, relabel_on in arms:
        clock = time.perf_counter()
        runs = [run(app, seed, method, k, relabel_on, budgets) for seed in range(args.seeds)]
        mean = np.nanmean([r["at"] for r in runs], axis=0)
        asked = [r["relabel"] for r in runs if r["relabel"]]
        extra = (
            " ".join(f"{sum(a[key] for a in asked):>5}" for key in ("asked", "answered", "changed"))
            if asked
            else f"{'-':>5} {'-':>5} {'-':>5}"
        )
        print(
            f"{method:12} {k:>2} {('on' if relabel_on else 'off'):>7} | "
            + " ".join(f"{v:6.3f}" for v in mean)
            + f" | {extra} {time.perf_counter() - clock:4.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
