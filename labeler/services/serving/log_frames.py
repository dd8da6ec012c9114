"""The prediction log read back as frames (the monitoring page's and the drift checks').

Rows are read through Core as plain tuples; a busy window is read as a systematic
sample whose rows carry their weight (:func:`window_frame`).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import PredictionLog, Project

MAX_LOG_ROWS = 50_000  # log rows the page reads at most (a sample beyond)


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
