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
from labeler.models import AuditEvent, Item, Job, ModelVersion, Project, User  # noqa: E402
from labeler.services.data.import_spec import ColumnMapping  # noqa: E402
from labeler.services.data.imports import import_frame  # noqa: E402
from labeler.services.labeling import queue  # noqa: E402
from labeler.services.learning import modeling, relabel  # noqa: E402
from labeler.services.learning.model_consensus import fit_model_aware  # noqa: E402
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


def snapshot(project: Project, version: ModelVersion, truth: dict[str, int]) -> dict:
    """Cheap counters after a training: what the version trained on, the train items
    that have votes but no final label (disputed, or waiting for an asked label), and
    the final labels that are wrong against the truth."""
    rows = db.session.execute(
        select(Item.external_id, Item.final_label, Item.disputed, Item.consensus_label).where(
            Item.project_id == project.id, Item.split == "train", Item.n_annotations > 0
        )
    ).all()
    final = [(e, f) for e, f, _, _ in rows if f is not None]
    return {
        "n_train": int(version.n_labels or 0),
        "disputed": sum(1 for _, f, d, _ in rows if f is None and d),
        "disputed_right": sum(1 for e, f, d, c in rows if f is None and d and c == str(truth[e])),
        "waiting": sum(1 for _, f, d, _ in rows if f is None and not d),
        "wrong": sum(1 for e, f in final if f != str(truth[e])),
        "finals": len(final),
    }


def score_scale(project: Project, version: ModelVersion, truth: dict[str, int]) -> dict | None:
    """Whether relabel and first-label scores are on one scale: for the top ``batch``
    relabel candidates, their mean score and the share whose final label is wrong (what
    a second label could fix); for the next ``batch`` fresh items, their mean score and
    the share the model gets wrong (what a first label adds beyond the model)."""
    if not project.relabel_or_new or not version.artifact_path:
        return None
    from labeler.services.labeling.agreement_report import ratings_frame

    frame = ratings_frame(project)
    fit = fit_model_aware(project, frame[["item", "annotator", "label"]].astype({"label": str}))
    if fit is None:
        return None
    batch = max(1, project.retrain_every)
    candidates = relabel._candidates(project, fit.result).nlargest(batch)
    probs = relabel.fresh_probabilities(project, version, batch)
    fresh = fit.result.relabel_scores(probs)[1] if len(probs) else pd.Series(dtype=float)
    fresh_top = probs.idxmax(axis=1) if len(probs) else pd.Series(dtype=object)
    ext = dict(db.session.execute(select(Item.id, Item.external_id).where(
        Item.id.in_([*map(int, candidates.index), *map(int, fresh.index)]))).all())  # fmt: skip
    finals = dict(db.session.execute(select(Item.id, Item.final_label).where(
        Item.id.in_(list(map(int, candidates.index))))).all())  # fmt: skip
    cand_wrong = [finals[int(i)] != str(truth[ext[int(i)]]) for i in candidates.index]
    confidence = fit.items["confidence"].reindex(candidates.index)
    fresh_wrong = [str(fresh_top[i]) != str(truth[ext[int(i)]]) for i in fresh.index]
    return {
        "relabel_score": float(candidates.mean()) if len(candidates) else float("nan"),
        "relabel_wrong": float(np.mean(cand_wrong)) if cand_wrong else float("nan"),
        "relabel_1_minus_quality": float((1 - confidence).mean()) if len(confidence) else np.nan,
        "fresh_1_minus_top": float((1 - probs.max(axis=1)).mean()) if len(probs) else np.nan,
        "fresh_score": float(fresh.mean()) if len(fresh) else float("nan"),
        "fresh_wrong": float(np.mean(fresh_wrong)) if fresh_wrong else float("nan"),
    }


def relabel_outcomes(project: Project, truth: dict[str, int]) -> dict[str, int]:
    """Each item relabel-or-new asked for, judged against the truth: its final label at
    the first ask against its final label now (answered items only)."""
    before: dict[int, str | None] = {}
    for detail in db.session.scalars(
        select(AuditEvent.detail)
        .where(AuditEvent.project_id == project.id, AuditEvent.action == relabel.ACTION)
        .order_by(AuditEvent.id)
    ):
        for item_id, label in (detail.get("items") or {}).items():
            before.setdefault(int(item_id), label)
    counts = dict.fromkeys(("fixed", "broken", "lost_right", "lost_wrong", "same"), 0)
    k = project.annotations_per_item
    for item_id, external, n, extra, final in db.session.execute(
        select(Item.id, Item.external_id, Item.n_annotations, Item.extra_annotations,
               Item.final_label).where(Item.id.in_(list(before)))
    ):  # fmt: skip
        if n < k + extra:
            continue  # not answered yet
        right = str(truth[external])
        was = before[item_id] == right
        if final is None:
            counts["lost_right" if was else "lost_wrong"] += 1
        elif (final == right) != was:
            counts["fixed" if final == right else "broken"] += 1
        else:
            counts["same"] += 1
    return counts


def run(app, seed: int, method: str, k: int, relabel_on: bool, budgets: list[int]) -> dict:
    """Accuracy at each budget, and what relabel-or-new asked."""
    project_id, users, truth = project_for(app, seed, method, k, relabel_on)
    rng = np.random.default_rng(seed)
    curve: list[tuple[int, float]] = []
    trained: list[tuple[int, dict]] = []
    scales: list[dict] = []
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
            job_id = modeling.maybe_start_training(project)
            if job_id is None:
                continue
            version_id = (db.session.get(Job, job_id).result or {}).get("version_id")
            version = db.session.get(ModelVersion, version_id) if version_id else None
            accuracy = (version.metrics or {}).get("accuracy") if version else None
            if accuracy is not None:
                curve.append((spent, float(accuracy)))
                trained.append((spent, snapshot(project, version, truth)))
                scale = score_scale(project, version, truth)
                if scale:
                    scales.append(scale)
        figures = relabel.relabel_figures(db.session.get(Project, project_id))
        outcomes = relabel_outcomes(db.session.get(Project, project_id), truth)
    at, state = [], []
    for budget in budgets:
        reached = [acc for n, acc in curve if n <= budget]
        at.append(reached[-1] if reached else float("nan"))
        counted = [snap for n, snap in trained if n <= budget]
        state.append(counted[-1] if counted else None)
    return {"at": at, "relabel": figures, "state": state, "scales": scales,
            "outcomes": outcomes, "trainings": len(trained)}  # fmt: skip


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
    diagnosed = []
    for method, k, relabel_on in arms:
        clock = time.perf_counter()
        runs = [run(app, seed, method, k, relabel_on, budgets) for seed in range(args.seeds)]
        diagnosed.append((f"{method:12} {k:>2} {('on' if relabel_on else 'off'):>7}", runs))
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
    print_diagnostics(diagnosed, budgets)


def print_diagnostics(diagnosed: list[tuple[str, list[dict]]], budgets: list[int]) -> None:
    """Per arm and budget, over the seeds (means): the newest version's final train
    labels, train items with votes but no final label (disputed / waiting for an asked
    label), and wrong final train labels; then what the asked labels did, and the
    scores' scale against the errors they stand for."""
    print("\nAt each budget (mean of seeds): final train labels the newest version trained on"
          " / train items disputed (of them, consensus right) / waiting for an asked label"
          " / wrong final train labels")  # fmt: skip
    print(f"{'':23} | " + " ".join(f"{b:>19}" for b in budgets) + " | trainings")
    for name, runs in diagnosed:
        cells = []
        for index in range(len(budgets)):
            snaps = [r["state"][index] for r in runs if r["state"][index]]
            if not snaps:
                cells.append(f"{'-':>19}")
                continue
            mean = {key: np.mean([snap[key] for snap in snaps]) for key in snaps[0]}
            cells.append(f"{mean['n_train']:>4.0f}/{mean['disputed']:>2.0f} "
                         f"({mean['disputed_right']:>2.0f})/{mean['waiting']:>2.0f}"
                         f"/{mean['wrong']:>3.0f}".rjust(19))  # fmt: skip
        trainings = np.mean([r["trainings"] for r in runs])
        print(f"{name:23} | " + " ".join(cells) + f" | {trainings:.1f}")
    for name, runs in diagnosed:
        scales = [scale for r in runs for scale in r["scales"]]
        if not scales:
            continue
        outcomes = {key: sum(r["outcomes"][key] for r in runs) for key in runs[0]["outcomes"]}
        print(f"\n{name.strip()}: answered relabels against the truth (seeds summed): "
              + ", ".join(f"{key} {value}" for key, value in outcomes.items()))  # fmt: skip
        means = {key: np.nanmean([scale[key] for scale in scales]) for key in scales[0]}
        print(f"  scale, mean over {len(scales)} trainings: top-{'batch'} relabel candidates score "
              f"{means['relabel_score']:.3f} with {means['relabel_wrong']:.3f} of their final "
              f"labels wrong; next fresh items score {means['fresh_score']:.3f} with "
              f"{means['fresh_wrong']:.3f} of the model's predictions wrong; unshrunk (1 - quality,"
              f" 1 - top probability): {means['relabel_1_minus_quality']:.3f} vs "
              f"{means['fresh_1_minus_top']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
