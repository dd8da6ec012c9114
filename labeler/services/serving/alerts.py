"""Alerts: which monitoring figures cross their thresholds, and the open alerts.

One open :class:`~labeler.models.Alert` per kind of alert, refreshed while it stays
open; a new one emits the ``drift.alert`` webhook in the caller's transaction.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from labeler.core import drift
from labeler.extensions import db
from labeler.models import Alert, Project, utcnow
from labeler.services import ServiceError
from labeler.services.projects import webhooks

LATENCY_P95_ALERT_MS = 250.0
ACCURACY_DROP_ALERT = 0.10  # production accuracy (or the kind's metric) this far below test
MIN_LABELED_AFTER = 30


def _plain(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


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
    drop = _score_drop(found.get("production_accuracy"))
    if drop is not None:
        out.append(drop)
    return out


def _score_drop(honest: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ``accuracy_drop`` crossing: the champion's score on items labeled after it was
    trained is ACCURACY_DROP_ALERT worse than on the test split (accuracy for a label
    classifier, the kind's headline metric otherwise; lower is better for some)."""
    if not honest or honest["n"] < MIN_LABELED_AFTER:
        return None
    score, test_score = honest.get("score"), honest.get("test_score")
    if score is None or test_score is None:
        return None
    sign = 1.0 if honest.get("higher_is_better", True) else -1.0
    floor = test_score - sign * ACCURACY_DROP_ALERT
    if sign * (score - floor) >= 0:
        return None
    metric = str(honest.get("metric", "accuracy")).replace("_", " ")
    return {
        "kind": "accuracy_drop",
        "value": score,
        "threshold": floor,
        "detail": honest,
        "message": f"{metric.capitalize()} on newly labeled items {score:.2f} "
        f"vs {test_score:.2f} on the test split",
    }


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
