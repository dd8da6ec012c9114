"""Items, their annotations (with revisions), comments, queue assignments and review decisions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labeler.extensions import db
from labeler.models.base import TIER_FRESH, VALUE_JSON, utcnow

if TYPE_CHECKING:
    from labeler.models.accounts import User
    from labeler.models.projects import Project


FINAL_ITEM = "final_label IS NOT NULL"


class Item(db.Model):
    __table_args__ = (
        UniqueConstraint("project_id", "external_id"),
        # The queue walks this index: open tiers first, then rank ascending.
        Index("ix_item_queue", "project_id", "queue_tier", "queue_rank"),
        Index("ix_item_review", "project_id", "disputed", "id"),
        Index("ix_item_final", "project_id", "split", "final_label"),
        Index("ix_item_content_hash", "project_id", "content_hash"),
        # The item browser: its filters on the model's opinion, and its two sorts.
        Index("ix_item_prediction", "project_id", "predicted_label", "predicted_confidence"),
        Index("ix_item_predicted_confidence", "project_id", "predicted_confidence"),
        # final_label rides along so "least sure first" among final items skips the
        # disputed ones (the least sure of all) inside the index, without row lookups.
        Index("ix_item_consensus_confidence", "project_id", "consensus_confidence", "final_label"),
        # A page in id order with the model's label (and a wide range of its confidence,
        # read inside the index) walks this and stops after a page.
        Index(
            "ix_item_prediction_id", "project_id", "predicted_label", "id", "predicted_confidence"
        ),
        # "least sure first" among final items: (confidence, id) order, final items only.
        Index(
            "ix_item_final_confidence",
            "project_id",
            "consensus_confidence",
            sqlite_where=text(FINAL_ITEM),
            postgresql_where=text(FINAL_ITEM),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    external_id: Mapped[str] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    split: Mapped[str] = mapped_column(String(8))
    n_annotations: Mapped[int] = mapped_column(default=0)
    # Extra labels asked for this item beyond the project's k (a reviewer's request).
    extra_annotations: Mapped[int] = mapped_column(default=0)
    queue_tier: Mapped[int] = mapped_column(default=TIER_FRESH)
    # Lower is asked sooner: a seeded random key at import, later the model's rank.
    queue_rank: Mapped[float] = mapped_column(default=0.0)
    score: Mapped[float | None]
    scored_by_version: Mapped[int | None]
    # Consensus of the votes so far (None until there is one) and how sure it is (0..1).
    # Every label column below holds a value's canonical key (labeler.core.kinds); its
    # ``*_value`` twin holds the typed value as JSON, null when the key is the value
    # (single-label rows).
    consensus_label: Mapped[str | None] = mapped_column(String(120))
    consensus_value: Mapped[Any | None] = mapped_column(VALUE_JSON)
    consensus_confidence: Mapped[float | None]
    # An item the review queue must settle: a tie, low confidence, or any
    # disagreement under unanimity.
    disputed: Mapped[bool] = mapped_column(default=False)
    # Marked by a reviewer: kept in exports, left out of training and evaluation.
    ambiguous: Mapped[bool] = mapped_column(default=False)
    # The label the dataset and the model use: an adjudication, else the undisputed
    # consensus once the item has its k labels. ``final_source`` says which:
    # unanimous | majority | dawid_skene | adjudicated.
    final_label: Mapped[str | None] = mapped_column(String(120))
    final_value: Mapped[Any | None] = mapped_column(VALUE_JSON)
    final_source: Mapped[str | None] = mapped_column(String(16))
    # A gold item (honeypot) has a known answer; annotators are never told which.
    is_gold: Mapped[bool] = mapped_column(default=False)
    gold_label: Mapped[str | None] = mapped_column(String(120))
    gold_value: Mapped[Any | None] = mapped_column(VALUE_JSON)
    # Normalised content fingerprint (exact duplicates) and the item this one copies,
    # whose labels then count for it too.
    content_hash: Mapped[str | None] = mapped_column(String(40))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("item.id"))
    # The champion's opinion of the item, written by the items index job (the item
    # browser filters on it): its label and that label's probability (0..1).
    predicted_label: Mapped[str | None] = mapped_column(String(120))
    predicted_confidence: Mapped[float | None]
    # The model version that wrote them (no foreign key: a plain column keeps SQLite's
    # item table); model suggestions read the opinion only while that version serves.
    predicted_version_id: Mapped[int | None]
    # An imported pre-annotation (the import's suggestion column): a key and its value,
    # shown pre-selected in the form when the project asks for imported suggestions.
    suggestion_label: Mapped[str | None] = mapped_column(String(120))
    suggestion_value: Mapped[Any | None] = mapped_column(VALUE_JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[Project] = relationship()


class Annotation(db.Model):
    __table_args__ = (
        UniqueConstraint("item_id", "user_id"),
        # The item browser's annotator and date filters (the item read inside the index).
        Index("ix_annotation_user_time", "user_id", "project_id", "updated_at", "item_id"),
        # One annotator's labels in item order (the date read inside the index): the
        # browser's annotator pages walk it and stop after a page.
        Index("ix_annotation_user_item", "user_id", "project_id", "item_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    # ``label`` is the value's key; ``value`` the typed value (null: the key is the value).
    label: Mapped[str] = mapped_column(String(120))
    value: Mapped[Any | None] = mapped_column(VALUE_JSON)
    seconds: Mapped[float | None]
    # The guidelines version the label was given under (Project.guideline_version).
    guideline_version: Mapped[int | None]
    # The suggestion shown in the form when this label was given (its key, and model |
    # imported; null: none was shown), and whether the label equals it (anchoring).
    suggestion_label: Mapped[str | None] = mapped_column(String(120))
    suggestion_source: Mapped[str | None] = mapped_column(String(16))
    suggestion_accepted: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship()
    user: Mapped[User] = relationship()

    def relabel(
        self, label: str, seconds: float | None, now: datetime, value: Any | None = None
    ) -> None:
        """Change the label (key and value), keeping the one it replaces as a revision:
        no label is lost."""
        db.session.add(
            AnnotationRevision(
                annotation_id=self.id,
                label=self.label,
                value=self.value,
                seconds=self.seconds,
                labeled_at=self.updated_at,
                replaced_at=now,
            )
        )
        self.label, self.value, self.seconds, self.updated_at = label, value, seconds, now


class AnnotationRevision(db.Model):
    """A label an annotation held before it was changed: editing never loses one."""

    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(ForeignKey("annotation.id"), index=True)
    label: Mapped[str] = mapped_column(String(120))
    value: Mapped[Any | None] = mapped_column(VALUE_JSON)
    seconds: Mapped[float | None]
    labeled_at: Mapped[datetime]
    replaced_at: Mapped[datetime] = mapped_column(default=utcnow)


COMMENT_KINDS = ("question", "flag", "answer", "note")


class ItemComment(db.Model):
    """A comment on an item: an annotator's question or flag, a reviewer's answer or note.

    ``is_open``: a question or flag that no one has answered yet (the project page lists
    them). A comment never holds a label, so it cannot reveal one annotator's vote to
    another.
    """

    __table_args__ = (
        Index("ix_item_comment_item", "item_id", "id"),
        Index("ix_item_comment_open", "project_id", "is_open"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(16), default="question", server_default="question")
    body: Mapped[str] = mapped_column(Text)
    reply_to: Mapped[int | None] = mapped_column(ForeignKey("item_comment.id"))
    is_open: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()


class Assignment(db.Model):
    """A lease: ``user`` holds ``item`` until ``expires_at``; a skip is remembered."""

    __table_args__ = (
        UniqueConstraint("item_id", "user_id"),
        Index("ix_assignment_user_project", "user_id", "project_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    expires_at: Mapped[datetime]
    skipped: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Adjudication(db.Model):
    """A reviewer's decision on an item: the audit trail of the review queue.

    ``action``: resolve (``label`` becomes final), send_back (one more label is
    asked for), ambiguous (left out of training and evaluation).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(16), default="resolve")
    label: Mapped[str | None] = mapped_column(String(120))
    value: Mapped[Any | None] = mapped_column(VALUE_JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    reviewer: Mapped[User] = relationship()
