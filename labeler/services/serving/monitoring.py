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
import pandas as pd
from flask import current_app
from sqlalchemy import exists, func, or_, select

from labeler import jobs
from labeler.core import drift
from labeler.core.artifacts import ModelArtifactError
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import (
    Adjudication,
    Alert,
    Annotation,
    Item,
    ModelVersion,
    PredictionLog,
    Project,
    utcnow,
)
from labeler.services import ServiceError
from labeler.services.learning import modeling
from labeler.services.learning.training_data import model_inputs, to_frame
from labeler.services.projects import webhooks
from labeler.services.serving import predict as serving
from labeler.services.serving import prediction_log

KIND = "monitor"
RECENT_PREDICTIONS = 1000  # the champion's latest predictions the drift checks read
MIN_PREDICTIONS = 50  # fewer and the drift checks stay silent (too noisy)
REFERENCE_ITEMS = 2000  # test-split items the confidence reference is computed on
MAX_LOG_ROWS = 50_000  # log rows the page reads at most (a sample beyond)
LATENCY_P95_ALERT_MS = 250.0
ACCURACY_DROP_ALERT = 0.10  # production accuracy this far below the test accuracy
MIN_LABELED_AFTER = 30
DRIFT_KINDS = ("drift_class_mix", "drift_confidence", "accuracy_drop")


_LOG_COLUMNS = (
    PredictionLog.created_at,
    PredictionLog.model_version_id,
    PredictionLog.latency_ms,
    PredictionLog.predicted_label,
    PredictionLog.confidence,
    PredictionLog.weight,
)


def _frame(stmt: Any) -> pd.DataFrame:
    names = [column.key for column in _LOG_COLUMNS]
    # Plain tuples through Core, turned into columns: a frame built from ORM Row
    # objects spent a second of a 200,000-row page in pandas probing each row's keys.
    rows = db.session.connection().execute(stmt).all()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(names)
    return pd.DataFrame(
        {name: list(values) for name, values in zip(names, columns, strict=True)},
        columns=names,
    ).astype({"latency_ms": float, "weight": float, "confidence": float})


def log_frame(
    project: Project, since: Any, version_id: int | None = None, limit: int = MAX_LOG_ROWS
) -> pd.DataFrame:
    """The newest ``limit`` prediction-log rows since ``since``, oldest first."""
    stmt = (
        select(*_LOG_COLUMNS)
        .where(PredictionLog.project_id == project.id, PredictionLog.created_at >= since)
        .order_by(PredictionLog.created_at.desc(), PredictionLog.id.desc())
        .limit(limit)
    )
    if version_id is not None:
        stmt = stmt.where(PredictionLog.model_version_id == version_id)
    return _frame(stmt).iloc[::-1].reset_index(drop=True)


def window_frame(project: Project, since: Any, max_rows: int = MAX_LOG_ROWS) -> pd.DataFrame:
    """The prediction log since ``since``, oldest first, read at most ``max_rows`` rows.

    A busy window holds more rows than a page can read in good time (a process logs up
    to 2,000 a second). Then every k-th row by id is read and stands for k rows (its
    weight times k): a systematic sample, so counts and throughput stay estimates of
    the whole window, and latency percentiles come from every k-th request.
    """
    where = (PredictionLog.project_id == project.id, PredictionLog.created_at >= since)
    total = db.session.scalar(select(func.count()).select_from(PredictionLog).where(*where)) or 0
    step = max(1, math.ceil(total / max_rows))
    stmt = select(*_LOG_COLUMNS).where(*where).order_by(PredictionLog.created_at, PredictionLog.id)
    if step > 1:
        stmt = stmt.where(PredictionLog.id % step == 0)
    frame = _frame(stmt)
    frame["weight"] *= step
    frame.attrs.update(logged=total, step=step)
    return frame


def reference_confidences(project: Project, version: ModelVersion) -> np.ndarray:
    """Top-class confidence of ``version`` on test-split items (a random sample of the
    data it was built for), computed once per version and process."""
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
    model = serving.cache().get(version)
    proba = model.predict_proba(to_frame(list(records), model_inputs(project)))
    store[version.id] = proba.max(axis=1)
    return np.asarray(store[version.id])


def production_accuracy(
    project: Project, version: ModelVersion, limit: int = 5000
) -> dict[str, Any] | None:
    """Accuracy of ``version`` on items whose final label arrived after it was trained,
    beside its test accuracy; None without such items."""
    since = version.created_at
    later = or_(
        exists().where(Annotation.item_id == Item.id, Annotation.updated_at > since),
        exists().where(Adjudication.item_id == Item.id, Adjudication.created_at > since),
    )
    rows = db.session.execute(
        select(Item.data, Item.final_label)
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
    model = serving.cache().get(version)
    proba = model.predict_proba(to_frame([row[0] for row in rows], model_inputs(project)))
    predicted = np.asarray(model.classes, dtype=object)[proba.argmax(axis=1)]
    truth = np.asarray([row[1] for row in rows], dtype=object)
    return {
        "accuracy": float((predicted == truth).mean()),
        "n": len(rows),
        "test_accuracy": (version.metrics or {}).get("accuracy"),
        "since": since.isoformat(),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


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
    except (ModelArtifactError, ValueError):
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
        except (ModelArtifactError, ValueError):
            result["production_accuracy"] = None
    return result


def crossings(found: dict[str, Any]) -> list[dict[str, Any]]:
    """The alerts the figures call for: kind, message, value, threshold, detail."""
    out: list[dict[str, Any]] = []
    mix, confidence = found.get("class_mix"), found.get("confidence")
    if mix and mix["psi"] >= drift.PSI_MAJOR:
        out.append(
            {
                "kind": "drift_class_mix",
                "value": mix["psi"],
                "threshold": drift.PSI_MAJOR,
                "message": f"Predicted-class mix drifted from the training mix "
                f"(PSI {mix['psi']:.2f} over {mix['n']} predictions)",
                "detail": mix,
            }
        )
    if confidence and confidence["psi"] >= drift.PSI_MAJOR:
        out.append(
            {
                "kind": "drift_confidence",
                "value": confidence["psi"],
                "threshold": drift.PSI_MAJOR,
                "message": f"Confidence drifted (PSI {confidence['psi']:.2f}; mean "
                f"{confidence['reference_mean']:.2f} → "
                f"{confidence['recent_mean']:.2f})",
                "detail": confidence,
            }
        )
    for version in found.get("versions", []):
        if (
            version["version_id"] == found.get("champion_id")
            and (version["p95_ms"] or 0) > LATENCY_P95_ALERT_MS
        ):
            out.append(
                {
                    "kind": "latency",
                    "value": version["p95_ms"],
                    "threshold": LATENCY_P95_ALERT_MS,
                    "detail": version,
                    "message": f"Prediction latency p95 {version['p95_ms']:.0f} ms",
                }
            )
    honest = found.get("production_accuracy")
    if honest and honest["n"] >= MIN_LABELED_AFTER and honest["test_accuracy"] is not None:
        floor = honest["test_accuracy"] - ACCURACY_DROP_ALERT
        if honest["accuracy"] < floor:
            out.append(
                {
                    "kind": "accuracy_drop",
                    "value": honest["accuracy"],
                    "threshold": floor,
                    "detail": honest,
                    "message": f"Accuracy on newly labeled items {honest['accuracy']:.2f} "
                    f"vs {honest['test_accuracy']:.2f} on the test split",
                }
            )
    return out


def raise_alerts(project: Project, found: dict[str, Any]) -> list[str]:
    """Write or refresh one open alert per crossing; return the kinds newly raised."""
    new: list[str] = []
    for crossing in crossings(found):
        open_alert = db.session.scalar(
            select(Alert).where(
                Alert.project_id == project.id,
                Alert.kind == crossing["kind"],
                Alert.resolved_at.is_(None),
            )
        )
        detail = {key: _plain(value) for key, value in crossing["detail"].items()}
        if open_alert is None:
            db.session.add(
                Alert(
                    project_id=project.id,
                    kind=crossing["kind"],
                    message=crossing["message"],
                    value=crossing["value"],
                    threshold=crossing["threshold"],
                    detail=detail,
                )
            )
            new.append(crossing["kind"])
            webhooks.emit(
                project,
                "drift.alert",
                {
                    "kind": crossing["kind"],
                    "message": crossing["message"],
                    "value": _plain(crossing["value"]),
                },
            )
        else:
            open_alert.message, open_alert.value = crossing["message"], crossing["value"]
            open_alert.detail = detail
    return new


def open_alerts(project: Project) -> list[Alert]:
    return list(
        db.session.scalars(
            select(Alert)
            .where(Alert.project_id == project.id, Alert.resolved_at.is_(None))
            .order_by(Alert.id)
        )
    )


def resolve_alert(project: Project, alert_id: int, user_id: int) -> Alert:
    alert = db.session.get(Alert, alert_id)
    if alert is None or alert.project_id != project.id:
        raise ServiceError(f"alert {alert_id} not found in this project")
    if alert.resolved_at is None:
        alert.resolved_at, alert.resolved_by = utcnow(), user_id
    return alert


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
