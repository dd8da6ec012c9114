"""Monitoring figures and the alert check (job kind ``monitor``).

Figures come from the prediction log (latency, throughput, predicted-class mix,
confidence) and from labels that arrived after the champion was trained (its
honest production accuracy). The check writes an :class:`~labeler.models.Alert`
per figure over its threshold (one open alert per kind, updated while it stays
open) and, when the project asks for it, starts a training job on drift.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta
from typing import Any

import numpy as np
from flask import current_app
from sqlalchemy import exists, or_, select

from labeler import jobs
from labeler.core import drift
from labeler.core.artifacts import ModelArtifactError
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import Adjudication, Annotation, Item, ModelVersion, Project, utcnow
from labeler.services import ServiceError
from labeler.services.learning import modeling
from labeler.services.projects.kinds import context, kind_of
from labeler.services.serving import predict as serving
from labeler.services.serving import prediction_log
from labeler.services.serving.alerts import (  # noqa: F401  (the monitoring API)
    ACCURACY_DROP_ALERT,
    LATENCY_P95_ALERT_MS,
    MIN_LABELED_AFTER,
    _plain,
    crossings,
    open_alerts,
    raise_alerts,
    resolve_alert,
)
from labeler.services.serving.log_frames import (  # noqa: F401
    MAX_LOG_ROWS,
    log_frame,
    window_frame,
)

KIND = "monitor"
RECENT_PREDICTIONS = 1000  # the champion's latest predictions the drift checks read
MIN_PREDICTIONS = 50  # fewer and the drift checks stay silent (too noisy)
REFERENCE_ITEMS = 2000  # test-split items the confidence reference is computed on
DRIFT_KINDS = ("drift_class_mix", "drift_confidence", "accuracy_drop")


def reference_confidences(project: Project, version: ModelVersion) -> np.ndarray:
    """The confidence of ``version`` on test-split items (a random sample of the data it
    was built for), as the project's kind serves it; once per version and process."""
    store = current_app.extensions.setdefault("labeler.reference_confidence", {})
    if version.id in store:
        return np.asarray(store[version.id])
    records = db.session.scalars(
        select(Item.data)
        .where(Item.project_id == project.id, Item.split == "test")
        .order_by(Item.id)
        .limit(REFERENCE_ITEMS)
    ).all()
    if not records:
        return np.zeros(0)
    store[version.id] = serving.serve_items(project, version, list(records)).confidences
    return np.asarray(store[version.id], dtype=float)


def production_accuracy(
    project: Project, version: ModelVersion, limit: int = 5000
) -> dict[str, Any] | None:
    """How ``version`` does on items whose final label arrived after it was trained,
    beside its test-split figure; None without such items.

    ``metric`` is accuracy for a label classifier and the kind's headline metric
    otherwise (``higher_is_better`` says which way is good); ``score`` and
    ``test_score`` are that metric after training and on the test split. ``accuracy``
    and ``test_accuracy`` are there when the metric is accuracy.
    """
    since = version.created_at
    later = or_(
        exists().where(Annotation.item_id == Item.id, Annotation.updated_at > since),
        exists().where(Adjudication.item_id == Item.id, Adjudication.created_at > since),
    )
    rows = db.session.execute(
        select(Item.data, Item.final_label, Item.final_value)
        .where(
            Item.project_id == project.id,
            Item.final_label.is_not(None),
            Item.ambiguous.is_(False),
            later,
        )
        .order_by(Item.id.desc())
        .limit(limit)
    ).all()
    if not rows:
        return None
    kind, metrics = kind_of(project), version.metrics or {}
    if kind.label_classifier:
        served = serving.serve_items(project, version, [row[0] for row in rows])
        truth = np.asarray([row[1] for row in rows], dtype=object)
        metric, higher = "accuracy", True
        score: Any = float((np.asarray(served.keys, dtype=object) == truth).mean())
    else:
        model = serving.cache().get(version, kind)
        frame = serving.frame_of(
            [row[0] or {} for row in rows], list(serving.request_fields(project))
        )
        values = [kind.decode(row[1], row[2]) for row in rows]
        metric, higher = kind.headline_metric, kind.headline_higher_is_better
        score = kind.evaluate(model, frame, values, context(project)).get(metric)
    found = {
        "metric": metric,
        "higher_is_better": higher,
        "score": score,
        "test_score": metrics.get(metric),
        "n": len(rows),
        "since": since.isoformat(),
    }
    if metric == "accuracy":
        found.update(accuracy=score, test_accuracy=metrics.get("accuracy"))
    return found


def _drift_figures(project: Project, champion: ModelVersion) -> dict[str, Any]:
    recent = log_frame(project, utcnow() - timedelta(days=3650), champion.id, RECENT_PREDICTIONS)
    found: dict[str, Any] = {"class_mix": None, "confidence": None, "n_recent": len(recent)}
    if len(recent) < MIN_PREDICTIONS:
        return found
    mix = drift.class_mix_drift(
        champion.train_label_counts or {}, recent["predicted_label"].tolist()
    )
    found["class_mix"] = {**mix.__dict__, "version_id": champion.id}
    try:
        reference = reference_confidences(project, champion)
    except (ModelArtifactError, ServiceError, ValueError):
        reference = np.zeros(0)
    if len(reference):
        shift = drift.confidence_drift(reference, recent["confidence"].to_numpy())
        found["confidence"] = {**shift.__dict__, "interval": list(shift.interval)}
    return found


def figures(project: Project, hours: int = 24, freq: str = "1h") -> dict[str, Any]:
    """Everything the monitoring page and ``GET .../monitoring`` show (JSON-ready).

    Predictions and throughput are estimated from the sampled log (each row's
    weight); latency percentiles are per request. Handlers call
    :func:`~labeler.services.serving.prediction_log.flush` before their first read, so the
    figures include this process's waiting rows.
    """
    since = utcnow() - timedelta(hours=hours)
    frame = window_frame(project, since, MAX_LOG_ROWS)
    per_version = []
    for version_id, group in frame.groupby("model_version_id", sort=True):
        latency = drift.latency_percentiles(group["latency_ms"].to_numpy())
        version = db.session.get(ModelVersion, int(version_id))
        served = round(float(group["weight"].sum()))
        per_version.append(
            {
                "version_id": int(version_id),
                "status": version.status if version else None,
                "n": served,
                "requests": latency["n"],
                "logged": len(group) * frame.attrs.get("step", 1),
                "p50_ms": _plain(latency["p50"]),
                "p95_ms": _plain(latency["p95"]),
                "per_minute": served / (hours * 60.0),
                "mean_confidence": _plain(group["confidence"].mean()),
            }
        )
    series = [
        {key: _plain(value) for key, value in row.items()}
        for row in drift.windowed(frame, freq).to_dict("records")
    ]
    result: dict[str, Any] = {
        "window_hours": hours,
        "n_predictions": round(float(frame["weight"].sum())),
        "n_logged": frame.attrs.get("logged", len(frame)),
        "sample_step": frame.attrs.get("step", 1),
        "versions": per_version,
        "series": series,
        "champion_id": project.champion_id,
        "class_mix": None,
        "confidence": None,
        "production_accuracy": None,
        "n_recent": 0,
        "thresholds": {
            "psi_moderate": drift.PSI_MODERATE,
            "psi_major": drift.PSI_MAJOR,
            "latency_p95_ms": LATENCY_P95_ALERT_MS,
            "accuracy_drop": ACCURACY_DROP_ALERT,
            "min_predictions": MIN_PREDICTIONS,
        },
    }
    champion = db.session.get(ModelVersion, project.champion_id) if project.champion_id else None
    if champion is not None:
        result.update(_drift_figures(project, champion))
        try:
            result["production_accuracy"] = production_accuracy(project, champion)
        except (ModelArtifactError, ServiceError, ValueError):
            result["production_accuracy"] = None
    return result


@jobs.runner(KIND)
def run_monitor(job: Any, progress: jobs.Progress) -> dict[str, Any]:
    """Purge old log rows, compute the figures, raise alerts, maybe retrain on drift."""
    prediction_log.flush_for_reading()
    project = db.session.get(Project, job.project_id)
    if project is None:
        raise ValueError(f"project {job.project_id} no longer exists")
    found = figures(project)
    begin_write()
    project = db.session.get(Project, job.project_id)
    purged = prediction_log.purge_old(project.id)
    new = raise_alerts(project, found)
    db.session.commit()
    result: dict[str, Any] = {"purged": purged, "new_alerts": new, "retrain_job": None}
    if project.auto_retrain_on_drift and any(kind in DRIFT_KINDS for kind in new):
        try:
            result["retrain_job"] = modeling.start_training(project, reason="drift").id
        except ServiceError as exc:
            result["retrain_error"] = exc.message
    return result


def maybe_check(project: Project) -> None:
    """Start a monitor job at most every LABELER_MONITOR_INTERVAL_SECONDS per process
    (0: never from here). Commits: call after the handler's own commit."""
    interval = float(current_app.config.get("MONITOR_INTERVAL_SECONDS", 300))
    if interval <= 0:
        return
    last = current_app.extensions.setdefault("labeler.monitor_checked", {})
    now = time.monotonic()
    if now - last.get(project.id, -math.inf) < interval:
        return
    last[project.id] = now
    begin_write()  # after the handler's commit; its reads must not turn into this write
    jobs.start(KIND, project.id, {"reason": "prediction traffic"})
