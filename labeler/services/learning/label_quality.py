"""Label quality in the training job and on the model pages: label issues found by
confident learning, the stop set, and the stopping sentence.

The training job calls :func:`label_issue_report` and :func:`stop_set_predictions`
and stores what they return on the version's metrics (``label_issues``,
``stop_set``); the pages read them back. Never commits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select

from labeler.core import label_errors, stopping
from labeler.core.training import TrainedModel
from labeler.extensions import db
from labeler.models import Item, ModelVersion, Project
from labeler.services import NotFound, ServiceError
from labeler.services.learning.training_data import LabeledFrame, model_inputs, to_frame

MAX_ISSUES_KEPT = 500  # ranked label issues stored per version
STOP_SET_SIZE = 2000  # the stop set: the project's first items by id (fixed once imported)
MAX_REVIEW_BATCH = 500


def label_issue_report(
    project: Project, model: TrainedModel, train: LabeledFrame, test: LabeledFrame | None
) -> dict[str, Any]:
    """Confident learning over every final-labeled item with out-of-sample probabilities:
    train items from K-fold cross validation of the project's pipeline, test items
    from the model fitted on train (it never saw them).

    Returns a JSON-safe dict: ``issues`` (most likely wrong first: item, split,
    label, likely_label, quality 0..1, the model's probability of the likely label),
    ``n_checked``, ``estimated_errors`` (the confident joint's off-diagonal sum), or
    ``skipped`` with the reason when the train labels are too few to cross-validate.
    """
    try:
        train_probs, classes = label_errors.out_of_sample_probabilities(
            train.X,
            train.y,
            model.inputs,
            project.estimator,
            model.params,
            random_state=project.id,
        )
    except ValueError as exc:
        return {"skipped": str(exc), "issues": [], "n_checked": 0}
    probs, labels, ids, splits = (
        [train_probs],
        [np.asarray(train.y, dtype=str)],
        [train.item_ids],
        [np.full(len(train), "train", dtype=object)],
    )
    if test is not None and len(test) and list(model.classes) == classes:
        known = np.isin(np.asarray(test.y, dtype=str), classes)
        probs.append(model.predict_proba(test.X[known]))
        labels.append(np.asarray(test.y, dtype=str)[known])
        ids.append(test.item_ids[known])
        splits.append(np.full(int(known.sum()), "test", dtype=object))
    all_probs, all_labels = np.vstack(probs), np.concatenate(labels)
    all_ids, all_splits = np.concatenate(ids), np.concatenate(splits)
    given = np.searchsorted(np.asarray(classes), all_labels)
    found = label_errors.label_issues(given, all_probs, "self_confidence")
    issues = [
        {
            "item": int(all_ids[i]),
            "split": str(all_splits[i]),
            "label": str(all_labels[i]),
            "likely_label": classes[int(found.likely_label[i])],
            "quality": float(found.quality[i]),
            "confidence": float(all_probs[i].max()),
        }
        for i in found.ranked[:MAX_ISSUES_KEPT]
    ]
    return {
        "method": "confident learning, self-confidence",
        "issues": issues,
        "n_flagged": int(len(found.ranked)),
        "n_checked": int(len(all_ids)),
        "estimated_errors": found.estimated_errors,
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
