"""Each annotator week by week: labels, pace, agreement with others, gold accuracy, flags.

Reads every vote of the project as a long frame (annotator, item, label, seconds,
time, the item's gold answer) and hands it to :mod:`labeler.core.annotator_trends`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from labeler.core.annotator_trends import weekly_stats
from labeler.core.quality import wilson_interval
from labeler.extensions import db
from labeler.models import Annotation, Item, Project, User

CHUNK = 50_000


def votes_frame(project: Project) -> pd.DataFrame:
    stmt = (
        select(
            Annotation.item_id,
            Annotation.user_id,
            Annotation.label,
            Annotation.seconds,
            Annotation.created_at,
            Item.gold_label,
        )
        .join(Item, Item.id == Annotation.item_id)
        .where(Annotation.project_id == project.id)
        .execution_options(yield_per=CHUNK)
    )
    columns = ["item", "annotator", "label", "seconds", "created_at", "gold_label"]
    rows = [row for part in db.session.execute(stmt).partitions() for row in part]
    frame = pd.DataFrame(rows, columns=columns).astype({"label": object, "gold_label": object})
    frame["seconds"] = frame["seconds"].astype(float)
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    return frame


def weekly(project: Project) -> list[dict[str, Any]]:
    """One JSON-safe row per annotator and week (see :func:`weekly_stats`), by name."""
    frame = votes_frame(project)
    if frame.empty:
        return []
    table = weekly_stats(frame)
    ids = [int(i) for i in table["annotator"].unique()]
    names = dict(db.session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    rows = []
    for row in table.itertuples(index=False):
        gold_n, gold_correct = int(row.gold_n), int(row.gold_correct)
        low, high = wilson_interval(gold_correct, gold_n) if gold_n else (None, None)
        rows.append(
            {
                "user_id": int(row.annotator),
                "annotator": names.get(row.annotator, "?"),
                "week": row.week.date().isoformat(),
                "n_items": int(row.n_items),
                "median_seconds": _number(row.median_seconds),
                "agreement": _number(row.agreement),
                "compared": int(row.compared),
                "gold_n": gold_n,
                "gold_accuracy": _number(row.gold_accuracy),
                "gold_ci_low": low,
                "gold_ci_high": high,
                "flags": list(row.flags),
            }
        )
    return sorted(rows, key=lambda r: (r["annotator"], r["week"]))


def _number(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)
