"""Label quality in the training job and on the model pages: label issues found by
confident learning, the stop set, and the stopping sentence.

The training job calls :func:`out_of_sample` once (or carries the last report,
:func:`carried_report`), keeps the probabilities (:func:`store_probabilities`, for
model-aware consensus), and stores what :func:`label_issue_report` and
:func:`stop_set_predictions` return on the version's metrics (``label_issues``,
``stop_set``); the pages read them back. Never commits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select

from labeler.core import label_errors, stopping
from labeler.core.training import TrainedModel
from labeler.extensions import db
from labeler.models import Item, ModelProbabilities, ModelVersion, Project
from labeler.services import NotFound, ServiceError
from labeler.services.learning.training_data import (
    LabeledFrame,
    model_inputs,
    pool_batches,
    to_frame,
)

MAX_ISSUES_KEPT = 500  # ranked label issues stored per version
STOP_SET_SIZE = 2000  # the stop set: the project's first items by id (fixed once imported)
MAX_REVIEW_BATCH = 500
REFRESH_GROWTH = 0.1  # out-of-sample probabilities: again once train labels grew by this share
MODEL_AWARE = "model_aware"  # the consensus method that reads each version's probabilities


@dataclass(frozen=True)
class OutOfSample:
    """Class probabilities of labeled items, each from a model that never saw its label.

    ``labels`` holds the final label of items that have one (the issues are found among
    them, ``n_final`` first rows) and "" for the rest (voted, not final yet).
    ``calibration`` names how the fold models were calibrated (None: not).
    """

    item_ids: np.ndarray
    splits: np.ndarray
    labels: np.ndarray
    probs: np.ndarray
    classes: list[str]
    n_final: int
    calibration: str | None = None


def out_of_sample(
    project: Project, model: TrainedModel, train: LabeledFrame, test: LabeledFrame | None
) -> OutOfSample | str:
    """Train items' probabilities from K-fold cross validation of the project's pipeline,
    each fold's estimator calibrated (:func:`labeler.core.label_errors.cross_validated`);
    test items' and voted items' without a final train label from the mean of those fold
    models (none of them saw these items either), so every probability is on the same
    calibrated scale. A str says why there are none (too few labels)."""
    try:
        folds = label_errors.cross_validated(
            train.X,
            train.y,
            model.inputs,
            project.estimator,
            model.params,
            random_state=project.id,
        )
    except ValueError as exc:
        return str(exc)
    classes = folds.classes
    parts = [(train.item_ids, "train", np.asarray(train.y, dtype=str), folds.probs)]
    if test is not None and len(test):
        known = np.isin(np.asarray(test.y, dtype=str), classes)
        parts.append(
            (
                test.item_ids[known],
                "test",
                np.asarray(test.y, dtype=str)[known],
                folds.predict_proba(test.X[known]),
            )
        )
    seen = np.concatenate([part[0] for part in parts])
    rest = np.setdiff1d(_voted_ids(project), seen)
    for batch_ids, X in pool_batches(project, rest):
        parts.append(
            (batch_ids, "", np.full(len(batch_ids), "", dtype=object), folds.predict_proba(X))
        )
    return OutOfSample(
        np.concatenate([part[0] for part in parts]).astype(np.int64),
        np.concatenate([np.full(len(part[0]), part[1], dtype=object) for part in parts]),
        np.concatenate([np.asarray(part[2], dtype=object) for part in parts]),
        np.vstack([part[3] for part in parts]),
        classes,
        len(seen),
        folds.calibration,
    )


def _voted_ids(project: Project) -> np.ndarray:
    """Items with at least one vote (linked copies follow their originals)."""
    ids = db.session.scalars(
        select(Item.id).where(
            Item.project_id == project.id, Item.n_annotations > 0, Item.duplicate_of.is_(None)
        )
    ).all()
    return np.asarray(ids, dtype=np.int64)


def store_probabilities(version: ModelVersion, found: OutOfSample) -> None:
    """Keep ``found`` on ``version`` (one compact row) for model-aware consensus."""
    db.session.add(
        ModelProbabilities.pack(
            version.id, version.project_id, found.classes, found.item_ids, found.probs
        )
    )


def carried_report(project: Project, train: LabeledFrame) -> dict[str, Any] | None:
    """The label-issue report of the newest version that cross-validated, for a new
    version to carry instead of cross-validating again; None when it must (or the
    project has no such version yet).

    Cross validation is most of a retrain (at 100,000 items and 900 labels, 0.5 of its
    0.75 s: 5 folds, each calibrated on 3 more), and a model every 50 labels on a
    thousand hardly moves those probabilities. So a version refreshes them once its
    usable train labels are :data:`REFRESH_GROWTH` more than that version's, or the
    label set changed. Under model-aware consensus every version refreshes them: its
    consensus job (and relabel-or-new, which runs only inside it) weighs the newest.
    Issues whose item's final label has changed since are left out of the carried copy.
    """
    if project.consensus_method == MODEL_AWARE:
        return None
    last = db.session.execute(
        select(
            ModelVersion.id, ModelVersion.n_labels, ModelVersion.metrics, ModelProbabilities.classes
        )
        .join(ModelProbabilities, ModelProbabilities.model_version_id == ModelVersion.id)
        .where(ModelVersion.project_id == project.id, ModelVersion.status != "failed")
        .order_by(ModelVersion.id.desc())
        .limit(1)
    ).first()
    if last is None or not last.n_labels:
        return None
    report = (last.metrics or {}).get("label_issues")
    refresh_at = refresh_point(last.n_labels)
    grown = len(train) >= refresh_at
    same_labels = set(map(str, last.classes)) == {str(label) for label in train.y}
    if not report or report.get("skipped") or grown or not same_labels:
        return None
    issues = report.get("issues") or []
    current = dict(
        db.session.execute(
            select(Item.id, Item.final_label).where(
                Item.project_id == project.id, Item.id.in_([int(i["item"]) for i in issues])
            )
        ).all()
    )
    kept = [issue for issue in issues if current.get(int(issue["item"])) == issue["label"]]
    return {
        **report,
        "issues": kept,
        "n_flagged": report.get("n_flagged", len(issues)) - (len(issues) - len(kept)),
        "carried_from": {
            "version_id": last.id,
            "n_train_labels": last.n_labels,
            "refresh_at": refresh_at,
        },
    }


def refresh_point(n_train_labels: int) -> int:
    """The usable train labels at which an automatic retrain cross-validates again, after
    a version that did on ``n_train_labels`` (rounded before the ceiling, so 100 labels
    give 110, not the 111 that 100 x 1.1 in floating point would)."""
    return math.ceil(round(n_train_labels * (1 + REFRESH_GROWTH), 6))


def label_issue_report(found: OutOfSample | str) -> dict[str, Any]:
    """Confident learning over every final-labeled item of ``found`` (:func:`out_of_sample`).

    Returns a JSON-safe dict: ``issues`` (most likely wrong first: item, split,
    label, likely_label, quality 0..1, the model's probability of the likely label),
    ``n_checked``, ``estimated_errors`` (the confident joint's off-diagonal sum), or
    ``skipped`` with the reason when the train labels are too few to cross-validate.
    """
    if isinstance(found, str):
        return {"skipped": found, "issues": [], "n_checked": 0}
    final = slice(0, found.n_final)
    all_probs, all_labels = found.probs[final], found.labels[final].astype(str)
    all_ids, all_splits = found.item_ids[final], found.splits[final]
    classes = found.classes
    given = np.searchsorted(np.asarray(classes), all_labels)
    issues_found = label_errors.label_issues(given, all_probs, "self_confidence")
    issues = [
        {
            "item": int(all_ids[i]),
            "split": str(all_splits[i]),
            "label": str(all_labels[i]),
            "likely_label": classes[int(issues_found.likely_label[i])],
            "quality": float(issues_found.quality[i]),
            "confidence": float(all_probs[i].max()),
        }
        for i in issues_found.ranked[:MAX_ISSUES_KEPT]
    ]
    return {
        "method": "confident learning, self-confidence",
        "calibration": found.calibration,
        "issues": issues,
        "n_flagged": int(len(issues_found.ranked)),
        "n_checked": int(len(all_ids)),
        "estimated_errors": issues_found.estimated_errors,
    }


def stop_set_predictions(project: Project, model: TrainedModel) -> dict[str, Any]:
    """The model's labels for the stop set (the project's first items by id, whatever
    their state), to compare successive versions with."""
    rows = db.session.execute(
        select(Item.id, Item.data)
        .where(Item.project_id == project.id, Item.duplicate_of.is_(None))
        .order_by(Item.id)
        .limit(STOP_SET_SIZE)
    ).all()
    if not rows:
        return {"items": [], "predicted": []}
    X = to_frame([row[1] for row in rows], model_inputs(project))
    best = model.predict_proba(X).argmax(axis=1)
    return {
        "items": [int(row[0]) for row in rows],
        "predicted": [model.classes[int(i)] for i in best],
    }


def stopping_sentence(history: list[ModelVersion]) -> str | None:
    """The model page's sentence on when to stop (None before a first model): stop-set
    agreement of the last versions and the learning curve's expected gain."""
    done = [v for v in history if v.status != "failed" and (v.metrics or {}).get("stop_set")]
    if not done:
        return None
    recent = done[-stopping.WINDOW :]
    common = set(recent[0].metrics["stop_set"]["items"])
    for version in recent[1:]:
        common &= set(version.metrics["stop_set"]["items"])
    shared = sorted(common)
    predictions = []
    for version in recent:
        stop_set = version.metrics["stop_set"]
        by_item = dict(zip(stop_set["items"], stop_set["predicted"], strict=True))
        predictions.append([by_item[item] for item in shared])
    pairs = stopping.successive_agreement(predictions) if shared else []
    evaluated = [v for v in done if (v.metrics or {}).get("accuracy") is not None]
    fit = stopping.fit_learning_curve(
        [v.n_labels for v in evaluated], [float(v.metrics["accuracy"]) for v in evaluated]
    )
    return stopping.sentence(pairs, len(shared), fit, done[-1].n_labels)


def send_top_issues_to_review(project: Project, version: ModelVersion, n: int) -> list[Item]:
    """Flag the ``n`` most likely wrong labels of ``version`` for the review queue
    (items already there or since adjudicated count among the n, and stay as they are).

    Raises:
        ServiceError: ``n`` is not 1..500 (422).
        NotFound: the version has no label issues.
    """
    if not 1 <= n <= MAX_REVIEW_BATCH:
        raise ServiceError(f"n must be 1..{MAX_REVIEW_BATCH}", {"field": "n"})
    issues = ((version.metrics or {}).get("label_issues") or {}).get("issues") or []
    if not issues:
        raise NotFound(f"model version {version.id} found no label issues")
    ids = [int(entry["item"]) for entry in issues[:n]]
    items = list(
        db.session.scalars(select(Item).where(Item.project_id == project.id, Item.id.in_(ids)))
    )
    for item in items:
        if item.final_source != "adjudicated":
            item.disputed = True
    return items
