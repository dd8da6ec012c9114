"""Project-wide consensus, as a job (``consensus``): Dawid-Skene or model-aware.

For projects whose ``consensus_method`` is ``dawid_skene``: one fit over every vote,
as the project's task kind fits it (``TaskKind.fit_consensus``: one EM over the
labels for single_label, one binary EM per label for multi_label); for
``model_aware`` (single-label projects): the votes weighed against the newest model
version's out-of-sample probabilities (:mod:`labeler.services.learning.model_consensus`;
the training job starts this job after each training). Then each item's consensus,
confidence (posterior, or consensus quality), dispute flag and final label (source
``dawid_skene`` or ``model_aware``) are written back in batches, each batch its own
short transaction so annotators keep submitting meanwhile. A reviewer's decision is
never overridden: adjudicated items keep their final label, and items a reviewer
marked ambiguous do not return to the review queue. Between runs each submit
refreshes its item by majority (labeler.services.labeling.labels).

Gold items' answers anchor the fit (``known``): each annotator's
confusion matrix is learnt from them as from certain truth. A gold item's own
consensus and final label still come from its votes, as on submit; the fit
only reads those votes with the gold-informed confusions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select, update

from labeler import jobs
from labeler.core.consensus import disputed
from labeler.extensions import db
from labeler.models import Item, Job, Project, User
from labeler.services.data.quality import sync_all_copies
from labeler.services.labeling.agreement_report import Progress, kind_votes, ratings_frame
from labeler.services.labeling.gold import answers_for
from labeler.services.learning.model_consensus import fit_model_aware
from labeler.services.learning.relabel import ask_for_relabels, settle_low_quality
from labeler.services.projects import kinds

BATCH = 5_000
JOB_METHODS = ("dawid_skene", "model_aware")  # consensus methods this job computes


def _item_state(project: Project) -> pd.DataFrame:
    rows = db.session.execute(
        select(
            Item.id,
            Item.n_annotations,
            Item.extra_annotations,
            Item.final_label,
            Item.final_source,
            Item.ambiguous,
            Item.split,
        ).where(Item.project_id == project.id, Item.n_annotations > 0)
    ).all()
    columns = ["id", "n", "extra", "final_label", "final_source", "ambiguous", "split"]
    return pd.DataFrame(rows, columns=columns).set_index("id")


def consensus_updates(
    project: Project, fit_items: pd.DataFrame, state: pd.DataFrame, source: str = "dawid_skene"
) -> list[dict[str, Any]]:
    """One UPDATE row per item: consensus, dispute flag and final label under the rules.

    ``fit_items`` is the kind's consensus table (``value``, ``key``, ``confidence``,
    ``disputed`` under the project's threshold and unanimity rule)."""
    table = fit_items.join(state, how="inner")
    flagged = table["disputed"].to_numpy(dtype=bool)
    complete = (table["n"] >= project.annotations_per_item + table["extra"]).to_numpy()
    adjudicated = (table["final_source"] == "adjudicated").to_numpy()
    hold = adjudicated | table["ambiguous"].to_numpy(dtype=bool)
    keys = table["key"].astype(object).where(table["key"].notna(), None).to_numpy()
    has_key = table["key"].notna().to_numpy()
    settled = complete & ~flagged & has_key
    stored = [
        None if key is None else kinds.stored(key, value)
        for key, value in zip(keys, table["value"].to_numpy(), strict=True)
    ]
    rows = []
    for index, item_id in enumerate(table.index):
        row = {
            "id": int(item_id),
            "consensus_label": keys[index],
            "consensus_value": stored[index],
            "consensus_confidence": float(table["confidence"].iat[index]),
            "disputed": bool(complete[index] and flagged[index] and not hold[index]),
        }
        if not adjudicated[index]:  # else the reviewer's label stands
            row["final_label"] = keys[index] if settled[index] else None
            row["final_value"] = stored[index] if settled[index] else None
            row["final_source"] = source if settled[index] else None
        rows.append(row)
    return rows


def gold_values(project: Project, voted: pd.Series) -> dict[int, Any]:
    """The known answer (as the kind's value) of each gold item with a vote in ``voted``."""
    kind = kinds.kind_of(project)
    stored = dict(
        db.session.execute(
            select(Item.id, Item.gold_value).where(
                Item.project_id == project.id,
                Item.is_gold.is_(True),
                Item.gold_value.is_not(None),
            )
        ).all()
    )
    answers = answers_for(project, voted)
    return {item: kind.decode(key, stored.get(item)) for item, key in answers.items()}


def apply_dawid_skene(
    project: Project, progress: Progress | None = None, commit_batches: bool = True
) -> dict[str, Any]:
    """Fit Dawid-Skene on ``project`` (as its task kind fits it) and write every labeled
    item; return a summary.

    With ``commit_batches`` (a job) each batch of :data:`BATCH` items is committed.
    """
    step = progress or (lambda fraction, message: None)
    step(0.05, "reading annotations")
    votes = kind_votes(project)
    if votes.empty:
        return {"n_items": 0, "annotators": []}
    gold = gold_values(project, votes["item"])
    kind = kinds.kind_of(project)
    fit = kind.fit_consensus(votes, kinds.context(project), "dawid_skene", known=gold)
    step(0.3, f"fitted in {fit.n_iter} iterations; writing items")
    n_items, n_disputed, new_finals = write_items(
        project, fit.items, "dawid_skene", step, commit_batches
    )
    return {
        "n_items": n_items,
        "n_iter": fit.n_iter,
        "converged": fit.converged,
        "n_gold": len(gold),
        "n_disputed": n_disputed,
        "new_final_labels": new_finals,
        "annotators": _annotators(fit.annotator_accuracy),
    }


def label_table(project: Project, items: pd.DataFrame) -> pd.DataFrame:
    """A single-label consensus table (``label``, ``confidence``, ``unanimous``) in the
    shape :func:`consensus_updates` reads: the label is both key and value, and
    ``disputed`` follows the project's threshold and unanimity rule."""
    flagged = disputed(items, project.dispute_threshold, project.require_unanimity)
    labels = items["label"].astype(object).where(items["label"].notna(), None)
    return pd.DataFrame(
        {
            "value": labels,
            "key": labels,
            "confidence": items["confidence"].astype(float),
            "unanimous": items["unanimous"].astype(bool),
            "disputed": flagged.to_numpy(dtype=bool),
        },
        index=items.index,
    )


def write_items(
    project: Project, fit_items: pd.DataFrame, source: str, step: Progress, commit_batches: bool
) -> tuple[int, int, int]:
    """Write ``fit_items``' consensus to the items, :data:`BATCH` at a time (each batch
    committed with ``commit_batches``); count new final train labels toward retraining.
    Returns (items written, items disputed, new final train labels)."""
    state = _item_state(project)
    before, split = state["final_label"], state["split"]
    updates = consensus_updates(project, fit_items, state, source)
    project_id = project.id
    new_finals = sum(  # train labels only: test labels never train a model
        1
        for row in updates
        if row.get("final_label") is not None
        and row["final_label"] != before.get(row["id"])
        and split.get(row["id"]) == "train"
    )
    for start in range(0, len(updates), BATCH):
        db.session.execute(update(Item), updates[start : start + BATCH])
        if commit_batches:
            db.session.commit()
        step(0.3 + 0.65 * min(start + BATCH, len(updates)) / len(updates), "writing items")
    db.session.execute(
        update(Project)
        .where(Project.id == project_id)
        .values(labels_since_training=Project.labels_since_training + new_finals)
    )
    return len(updates), sum(bool(row["disputed"]) for row in updates), new_finals


def _annotators(accuracy: pd.Series | None) -> list[dict[str, Any]]:
    if accuracy is None:
        return []
    names = _names(accuracy.index)
    return [
        {
            "user_id": int(a),
            "annotator": names.get(int(a), str(a)),
            "dawid_skene": None if np.isnan(v) else float(v),
        }
        for a, v in accuracy.items()
    ]


def _names(user_ids: Any) -> dict[int, str]:
    return dict(
        db.session.execute(
            select(User.id, User.username).where(User.id.in_([int(a) for a in user_ids]))
        ).all()
    )


def apply_model_aware(
    project: Project,
    progress: Progress | None = None,
    commit_batches: bool = True,
    ask_relabels: bool = True,
) -> dict[str, Any]:
    """Model-aware consensus on ``project``'s items that have model probabilities; a
    summary with each annotator's quality (0..1) and weight, and what relabel-or-new
    asked when the project turned it on (and ``ask_relabels``: not before a training,
    whose own consensus job asks with the new model). Before any model it writes
    nothing (the items keep majority vote)."""
    step = progress or (lambda fraction, message: None)
    step(0.05, "reading annotations")
    frame = ratings_frame(project)
    if frame.empty:
        return {"n_items": 0, "annotators": []}
    ratings = frame[["item", "annotator", "label"]].assign(label=frame["label"].astype(str))
    fit = fit_model_aware(project, ratings)
    if fit is None:
        return {"n_items": 0, "annotators": [], "skipped": "no model probabilities yet"}
    step(0.3, f"weighed votes against model version {fit.version_id}; writing items")
    table = settle_low_quality(project, label_table(project, fit.items), fit.items, ask_relabels)
    n_items, n_disputed, new_finals = write_items(
        project, table, "model_aware", step, commit_batches
    )
    names = _names(fit.annotator_quality.index)
    return {
        "n_items": n_items,
        "relabel": ask_for_relabels(project, fit.result, fit.version_id) if ask_relabels else None,
        "model_version_id": fit.version_id,
        "model_weight": fit.model_weight,
        "n_without_model": fit.n_without_model,
        "n_gold": fit.n_gold,
        "n_disputed": n_disputed,
        "new_final_labels": new_finals,
        "annotators": [
            {
                "user_id": int(a),
                "annotator": names.get(int(a), str(a)),
                "model_aware": float(quality),
                "model_aware_weight": float(fit.annotator_weight[a]),
            }
            for a, quality in fit.annotator_quality.items()
        ],
    }


BEFORE_TRAINING = "before training"  # the reason of a consensus job a training waits for


@jobs.runner("consensus")
def run_consensus_job(job: Job, progress: Progress) -> dict[str, Any]:
    project = db.session.get(Project, job.project_id)
    if project is None:
        raise LookupError(f"project {job.project_id} no longer exists")
    # Before a training, relabel-or-new asks nothing: the training's own job asks with
    # the new model.
    asks = (job.params or {}).get("reason") != BEFORE_TRAINING
    apply = {
        "dawid_skene": lambda: apply_dawid_skene(project, progress),
        "model_aware": lambda: apply_model_aware(project, progress, ask_relabels=asks),
    }
    if project.consensus_method not in apply:
        return {"skipped": f"the project uses {project.consensus_method} consensus"}
    result = apply[project.consensus_method]()
    sync_all_copies(project)  # linked duplicates follow their originals
    db.session.commit()
    return result
