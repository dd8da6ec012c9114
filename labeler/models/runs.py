"""Background jobs, trained model versions, prediction logs and monitoring alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from labeler.extensions import db
from labeler.models.base import utcnow

JOB_ACTIVE_TRAIN = "kind = 'train' AND status IN ('queued', 'running')"


class Job(db.Model):
    """A unit of background work (training, scoring, consensus, export) and its state.

    status: queued | running | done | failed; progress 0..1.
    """

    __table_args__ = (
        Index("ix_job_queue", "status", "id"),  # the embedded queue's poll
        # At most one training job per project queued or running, whatever the race.
        Index(
            "uq_job_active_train",
            "project_id",
            unique=True,
            sqlite_where=text(JOB_ACTIVE_TRAIN),
            postgresql_where=text(JOB_ACTIVE_TRAIN),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ModelVersion(db.Model):
    """A trained model of a project, its artifact and how it scored on the test split.

    status: training | candidate | champion | challenger | retired | failed.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("job.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    n_labels: Mapped[int] = mapped_column(default=0)
    estimator: Mapped[str] = mapped_column(String(32), default="logistic_regression")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    strategy: Mapped[str] = mapped_column(String(32), default="random")
    artifact_path: Mapped[str | None] = mapped_column(String(500))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    baseline_metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Label counts the model was trained on (the training mix, for drift checks).
    train_label_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="training")
    # Share of prediction traffic a challenger serves (canary), 0..1.
    traffic_share: Mapped[float] = mapped_column(default=0.0)
    error: Mapped[str | None] = mapped_column(Text)


class PredictionLog(db.Model):
    """One served prediction (sampled when traffic is high), for monitoring and drift.

    ``weight``: how many served rows this logged row stands for (1 / sampling share).
    ``latency_ms``: the request's latency, on its first logged row only (else null).
    """

    __table_args__ = (Index("ix_prediction_log_time", "project_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_version.id"))
    latency_ms: Mapped[float | None]
    weight: Mapped[float] = mapped_column(default=1.0, server_default="1.0")
    predicted_label: Mapped[str] = mapped_column(String(120))
    confidence: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Alert(db.Model):
    """A figure that crossed its threshold (drift, gold accuracy, ...), shown on the
    project page until someone resolves it."""

    __table_args__ = (Index("ix_alert_open", "project_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float | None]
    threshold: Mapped[float | None]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
