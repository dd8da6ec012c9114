"""Evaluating a freshly trained label classifier, in the training job: test-split
metrics against the baselines and the champion, error analysis, label issues and the
out-of-sample probabilities that model-aware consensus reads. Never commits."""

from __future__ import annotations

import time
from typing import Any

from labeler.core import evaluation, training
from labeler.core.artifacts import ModelArtifactError
from labeler.models import ModelVersion, Project
from labeler.services.learning import artifacts, label_quality
from labeler.services.learning.label_quality import OutOfSample
from labeler.services.learning.training_data import LabeledFrame, final_labeled, hlp_annotations

MAX_ERRORS_KEPT = 200  # error-analysis entries stored per list on the version


def evaluate_version(
    project: Project,
    model: training.TrainedModel,
    train: LabeledFrame,
    champion: ModelVersion | None,
    notes: list[str],
    carry_label_issues: bool = False,
) -> tuple[dict[str, Any], dict[str, Any], OutOfSample | str]:
    """Metrics on the test split (with the comparison to the champion, the error
    analysis and the label issues), baselines (with the champion's score on the same
    items), and the out-of-sample probabilities (a str says why there are none).
    ``carry_label_issues``: the last cross-validated report may stand in
    (:func:`label_quality.carried_report`)."""
    test = final_labeled(project, "test")
    metrics: dict[str, Any] = {
        "n_test": len(test),
        "n_train_labels": len(train),
        "top_features": training.top_features(model, 10),
    }
    hlp_frame = hlp_annotations(project)
    metrics["hlp"] = evaluation.human_level_performance(hlp_frame) if len(hlp_frame) else None
    if len(test) == 0:
        notes.append("no final-labeled test items yet: the model is not evaluated")
        metrics["learning_curve"] = {"n_train_labels": len(train)}
        metrics["errors"] = _errors(model, train, None)
        found = _label_quality(project, model, train, None, metrics, carry_label_issues)
        return metrics, {}, found
    metrics.update(evaluation.evaluate(model, test.X, test.y))
    baselines = evaluation.baselines(train.y, test.y)
    if champion is not None:
        try:
            previous = evaluation.evaluate(artifacts.load(champion), test.X, test.y, n_boot=100)
        except (ModelArtifactError, ValueError) as exc:
            notes.append(f"champion #{champion.id} could not be compared: {exc}")
        else:
            baselines["previous"] = {
                "accuracy": previous["accuracy"],
                "macro_f1": previous["macro_f1"],
                "version_id": champion.id,
            }
            metrics["comparison"] = evaluation.compare_to_previous(metrics, previous)
    metrics["learning_curve"] = evaluation.learning_curve_point(len(train), metrics, baselines)
    metrics["errors"] = _errors(model, train, test)
    found = _label_quality(project, model, train, test, metrics, carry_label_issues)
    return metrics, baselines, found


def _label_quality(
    project: Project,
    model: training.TrainedModel,
    train: LabeledFrame,
    test: LabeledFrame | None,
    metrics: dict[str, Any],
    carry: bool,
) -> OutOfSample | str:
    """Out-of-sample probabilities, label issues by confident learning and the stop
    set's predictions, timed."""
    clock = time.perf_counter()
    carried = label_quality.carried_report(project, train) if carry else None
    if carried is not None:
        metrics["label_issues"] = carried
        found: OutOfSample | str = (
            f"carried from version #{carried['carried_from']['version_id']}: too few new labels"
        )
    else:
        found = label_quality.out_of_sample(project, model, train, test)
        metrics["label_issues"] = label_quality.label_issue_report(found)
    metrics["stop_set"] = label_quality.stop_set_predictions(project, model)
    metrics["label_quality_seconds"] = time.perf_counter() - clock
    return found


def _errors(
    model: training.TrainedModel, train: LabeledFrame, test: LabeledFrame | None
) -> dict[str, list[dict[str, Any]]]:
    """Misclassified test items; likely label errors among test and train items."""
    found: dict[str, list[dict[str, Any]]] = {"misclassified": [], "likely_label_errors": []}
    for split, frame in (("test", test), ("train", train)):
        if frame is None or len(frame) == 0:
            continue
        result = evaluation.error_analysis(model, frame.X, frame.y, frame.item_ids.tolist())
        for entry in result["likely_label_errors"]:
            found["likely_label_errors"].append({**entry, "split": split})
        if split == "test":
            found["misclassified"] = result["misclassified"][:MAX_ERRORS_KEPT]
    found["likely_label_errors"].sort(key=lambda entry: -entry["confidence"])
    found["likely_label_errors"] = found["likely_label_errors"][:MAX_ERRORS_KEPT]
    return found
