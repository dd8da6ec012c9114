"""Guidelines as versioned documents, and agreement compared across versions.

Every change to a project's guidelines stores a :class:`GuidelineVersion` and
bumps ``project.guideline_version``; every annotation records the version it
was made under (``queue.submit``). Agreement per version then answers "did the
new guideline help?": it is computed on the annotations made under each version,
so an item counts for a version once two or more people labeled it under it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select

from labeler.core import agreement
from labeler.extensions import db
from labeler.models import Annotation, GuidelineVersion, Project, User, utcnow
from labeler.services.labeling.agreement_report import label_order


def versions(project: Project) -> list[GuidelineVersion]:
    """Stored versions, newest first."""
    return list(
        db.session.scalars(
            select(GuidelineVersion)
            .where(GuidelineVersion.project_id == project.id)
            .order_by(GuidelineVersion.version.desc())
        )
    )


def _ensure_current_stored(project: Project) -> None:
    """Projects older than versioning have text but no rows: store it as the current version."""
    stored = db.session.scalar(
        select(GuidelineVersion.id).where(
            GuidelineVersion.project_id == project.id,
            GuidelineVersion.version == project.guideline_version,
        )
    )
    if stored is None:
        db.session.add(
            GuidelineVersion(
                project_id=project.id,
                version=project.guideline_version,
                text=project.guidelines or "",
                created_at=project.created_at,
            )
        )


def update(project: Project, text: str, user: User | None) -> GuidelineVersion | None:
    """Set the guidelines; a changed text becomes a new version (None when unchanged)."""
    text = text.replace("\r\n", "\n")
    if text == (project.guidelines or "").replace("\r\n", "\n"):
        return None
    _ensure_current_stored(project)
    project.guideline_version += 1
    project.guidelines = text
    version = GuidelineVersion(
        project_id=project.id,
        version=project.guideline_version,
        text=text,
        created_by=user.id if user else None,
        created_at=utcnow(),
    )
    db.session.add(version)
    db.session.flush()
    return version


def get_version(project: Project, number: int) -> GuidelineVersion | None:
    return db.session.scalar(
        select(GuidelineVersion).where(
            GuidelineVersion.project_id == project.id, GuidelineVersion.version == number
        )
    )


def _votes(project: Project) -> pd.DataFrame:
    rows = db.session.execute(
        select(
            Annotation.item_id, Annotation.user_id, Annotation.label, Annotation.guideline_version
        ).where(Annotation.project_id == project.id)
    ).all()
    return pd.DataFrame(rows, columns=["item", "annotator", "label", "version"]).astype(
        {"label": object}
    )


def agreement_by_version(project: Project) -> list[dict[str, Any]]:
    """Per guidelines version (oldest first): annotations, items with 2+ labels, alpha and
    percent agreement on the annotations made under that version.

    Annotations from before versioning (no version recorded) are shown as version None.
    Read alpha as on the agreement page (>= 0.8 reliable); compare neighbouring rows
    with their item counts in mind: a handful of items says little.
    """
    frame = _votes(project)
    stored = {v.version: v for v in versions(project)}
    order = label_order(project, frame.assign(label=frame["label"].astype("category")))
    numbers = sorted(set(stored) | set(frame["version"].dropna().astype(int)))
    rows = []
    for number in [*numbers, None]:
        part = (
            frame[frame["version"].isna()] if number is None else frame[frame["version"] == number]
        )
        if number is None and part.empty:
            continue
        ratings = part[["item", "annotator", "label"]]
        alpha = agreement.krippendorff_alpha(ratings, level=project.label_scale, order=order)
        percent = agreement.percent_agreement(ratings)
        version = stored.get(number) if number is not None else None
        rows.append(
            {
                "version": number,
                "current": number == project.guideline_version,
                "created_at": version.created_at.isoformat(timespec="seconds") if version else None,
                "n_annotations": len(part),
                "n_items": int(part["item"].nunique()),
                "n_items_compared": alpha.n_items,
                "alpha": _number(alpha.value),
                "percent": _number(percent.value),
                "reason": alpha.reason,
            }
        )
    return rows


def _number(value: float | None) -> float | None:
    return None if value is None or value != value else float(value)
