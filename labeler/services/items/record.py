"""One item's full record: every label with who, when and under which guidelines, the
labels each change replaced, the consensus, the review decisions and the model's view.

What a role sees follows the blind-labeling rules: an annotator's record holds only
their own labels and revisions, no consensus, final label, decisions or other people's
comments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Adjudication, Annotation, AnnotationRevision, Item, User, utcnow
from labeler.services import NotFound
from labeler.services.labeling import queue as queue_service


@dataclass(frozen=True)
class Revision:
    """A label an annotation held until ``replaced_at``."""

    label: str
    labeled_at: datetime
    replaced_at: datetime


@dataclass(frozen=True)
class LabelHistory:
    """One annotator's label on the item, and the earlier values it replaced (oldest first)."""

    annotator: str
    user_id: int
    label: str
    created_at: datetime
    updated_at: datetime
    guideline_version: int | None
    seconds: float | None
    revisions: list[Revision] = field(default_factory=list)


def may_open(item: Item, viewer: User, role: str) -> bool:
    """Reviewers and admins open any item; an annotator only one they labeled or hold."""
    if role != "annotator":
        return True
    return queue_service.my_annotation(item, viewer) is not None or queue_service.holds_live_lease(
        item, viewer, utcnow()
    )


def open_item(project_id: int, item: Item | None, viewer: User, role: str) -> Item:
    if item is None or item.project_id != project_id or not may_open(item, viewer, role):
        raise NotFound("item not found" + (" in your work" if role == "annotator" else ""))
    return item


def label_history(item: Item, viewer: User, role: str) -> list[LabelHistory]:
    """Every label on ``item`` (an annotator: only their own), oldest first."""
    stmt = (
        select(Annotation, User.username)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.item_id == item.id)
        .order_by(Annotation.created_at, Annotation.id)
    )
    if role == "annotator":
        stmt = stmt.where(Annotation.user_id == viewer.id)
    rows = db.session.execute(stmt).all()
    revisions: dict[int, list[Revision]] = {}
    if rows:
        for revision in db.session.scalars(
            select(AnnotationRevision)
            .where(AnnotationRevision.annotation_id.in_([a.id for a, _ in rows]))
            .order_by(AnnotationRevision.replaced_at, AnnotationRevision.id)
        ):
            revisions.setdefault(revision.annotation_id, []).append(
                Revision(revision.label, revision.labeled_at, revision.replaced_at)
            )
    return [
        LabelHistory(
            annotator=username,
            user_id=annotation.user_id,
            label=annotation.label,
            created_at=annotation.created_at,
            updated_at=annotation.updated_at,
            guideline_version=annotation.guideline_version,
            seconds=annotation.seconds,
            revisions=revisions.get(annotation.id, []),
        )
        for annotation, username in rows
    ]


def decisions(item: Item) -> list[Adjudication]:
    """The review decisions on ``item``, oldest first."""
    return list(
        db.session.scalars(
            select(Adjudication)
            .where(Adjudication.item_id == item.id)
            .order_by(Adjudication.created_at, Adjudication.id)
        )
    )
