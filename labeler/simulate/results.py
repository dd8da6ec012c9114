"""What a simulation is told and what it reports: settings, checkpoints, the result.

Kept apart from the loop (``labeler.simulate.run``) so reports and comparisons read a
result without the HTTP machinery.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from labeler.simulate.annotators import SimulatedAnnotator


@dataclass
class Settings:
    """What one simulation does; see ``labeler simulate --help``."""

    annotations_per_item: int = 1
    strategy: str = "margin"
    budget: int = 500
    batch: int = 5
    retrain_every: int = 50
    seed: int = 0
    test_fraction: float = 0.2
    test_labels: str = "upfront"  # or "queue"
    estimator: str | None = None
    min_labels_per_class: int | None = None  # cold start: random until each label has this
    random_share: float | None = None


@dataclass
class Checkpoint:
    """The state after one model version (all accuracies 0..1). ``accuracy`` and
    ``macro_f1`` are a single-label model's; ``headline`` is the version's value of its
    task kind's ``headline_metric`` (micro-F1 for multi-label, MAE for ratings), and
    ``majority_accuracy`` the share of final labels equal to the truth (a whole set
    for multi-label, the exact point for ratings)."""

    version: int
    status: str
    training_labels: int
    annotations: int
    n_test: int | None
    accuracy: float | None
    macro_f1: float | None
    majority_accuracy: float | None
    n_final: int
    n_disputed: int
    alpha: float | None
    fleiss_kappa: float | None
    percent_agreement: float | None
    wall_seconds: float
    headline_metric: str = "macro_f1"
    headline: float | None = None


@dataclass
class Result:
    project_id: int
    name: str
    settings: dict[str, Any]
    dataset: str
    task_kind: str = "single_label"
    checkpoints: list[Checkpoint] = field(default_factory=list)
    consensus: dict[str, Any] = field(default_factory=dict)
    annotators: list[dict[str, Any]] = field(default_factory=list)
    test_annotations: int = 0
    train_annotations: int = 0
    wall_seconds: float = 0.0
    requests: int = 0
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def figure_value(figures: dict[str, Any], name: str) -> float | None:
    figure = figures.get(name) or {}
    return figure.get("value")


def annotator_table(
    crowd: list[SimulatedAnnotator], figures: dict[str, Any]
) -> list[dict[str, Any]]:
    """True (configured and observed) vs estimated accuracy, per annotator."""
    estimated = {row["user_id"]: row for row in figures.get("annotators", [])}
    return [
        {
            "annotator": a.name,
            "user_id": a.user_id,
            "labels": a.answered,
            "configured_accuracy": round(a.accuracy, 4),
            "observed_accuracy": a.observed_accuracy(),
            "dawid_skene": estimated.get(a.user_id, {}).get("dawid_skene"),
            "leave_one_out": estimated.get(a.user_id, {}).get("leave_one_out"),
        }
        for a in crowd
    ]
