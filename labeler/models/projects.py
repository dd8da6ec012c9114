"""A project, its members and its guideline versions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from labeler.extensions import db
from labeler.models.base import utcnow

if TYPE_CHECKING:
    from labeler.models.accounts import User


class Project(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # What an annotation is (labeler.core.kinds): single_label | multi_label | rating | ...
    # Fixed at creation. ``task_settings`` holds the kind's own options (checked by it).
    task_kind: Mapped[str] = mapped_column(
        String(24), default="single_label", server_default="single_label"
    )
    task_settings: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    # Ordered list of {"name": str, "hotkey": str | None, "description": str}.
    labels: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    guidelines: Mapped[str] = mapped_column(Text, default="")
    annotations_per_item: Mapped[int] = mapped_column(default=1)
    consensus_method: Mapped[str] = mapped_column(String(16), default="majority")
    dispute_threshold: Mapped[float] = mapped_column(default=0.5)
    sampling_strategy: Mapped[str] = mapped_column(String(32), default="random")
    # {"text": [...], "numeric": [...], "categorical": [...]}: what the model reads.
    model_inputs: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    # How items are shown: {"text": [...], "image": field | None,
    # "pixel_grid": {"fields": [...], "width": 8, "height": 8, "max": 16} | None}.
    display: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    test_fraction: Mapped[float] = mapped_column(default=0.2)
    retrain_every: Mapped[int] = mapped_column(default=50)
    # Any disagreement is a dispute (instead of only ties and low confidence).
    require_unanimity: Mapped[bool] = mapped_column(default=False)
    # nominal | ordinal | interval: how agreement treats the label order.
    label_scale: Mapped[str] = mapped_column(String(16), default="nominal")
    estimator: Mapped[str] = mapped_column(String(32), default="logistic_regression")
    estimator_params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Share of the queue kept random even once a model ranks the pool (0..1).
    random_share: Mapped[float] = mapped_column(default=0.1)
    # Cold start: random order until every label has this many final labels.
    min_labels_per_class: Mapped[int] = mapped_column(default=5)
    # Relabel or label new (ActiveLab; with model-aware consensus): after each training
    # the consensus job may ask one more label for an item when that beats a first label.
    relabel_or_new: Mapped[bool] = mapped_column(default=False)
    # Final labels gained since the last training job was queued (retrain trigger).
    labels_since_training: Mapped[int] = mapped_column(default=0)
    champion_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_version.id", use_alter=True, ondelete="SET NULL")
    )
    # Data quality: share of queue picks that are gold items (0..1), the gold accuracy
    # under which an annotator is flagged, and the current guidelines version.
    gold_rate: Mapped[float] = mapped_column(default=0.0)
    gold_alert_threshold: Mapped[float] = mapped_column(default=0.7)
    guideline_version: Mapped[int] = mapped_column(default=1)
    # Monitoring: start a training job when a drift alert is raised.
    auto_retrain_on_drift: Mapped[bool] = mapped_column(default=False)
    # Pre-annotation in the form (labeler.services.items.suggestions): off | model (the
    # champion's prediction) | imported (the import's suggestion column) | any (imported,
    # else the model). Off by default: a suggestion anchors the annotator.
    suggestions: Mapped[str] = mapped_column(String(16), default="off", server_default="off")
    split_seed: Mapped[int] = mapped_column(default=0)
    n_items: Mapped[int] = mapped_column(default=0)
    # Linked duplicates among n_items: they take their original's label, never queue.
    n_linked: Mapped[int] = mapped_column(default=0, server_default="0")
    # Sum over items of min(n_annotations, k): the numerator of coverage toward k.
    filled_slots: Mapped[int] = mapped_column(default=0)
    # The strategy whose model order the open train items' ranks follow (None: the seeded
    # random order): once set, a retrain of a large pool rescores a bounded window only
    # (labeler.services.learning.scoring_window).
    queue_ranked_by: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )

    @property
    def label_names(self) -> list[str]:
        return [label["name"] for label in self.labels]

    @property
    def n_queued(self) -> int:
        """Items that need labels: all but the linked copies."""
        return self.n_items - (self.n_linked or 0)

    @property
    def coverage(self) -> float:
        """Share of the k-labels-per-item goal reached, 0..1 (linked copies need none)."""
        goal = self.n_queued * self.annotations_per_item
        return min(self.filled_slots / goal, 1.0) if goal else 0.0


class Membership(db.Model):
    __table_args__ = (UniqueConstraint("user_id", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="annotator")

    user: Mapped[User] = relationship()
    project: Mapped[Project] = relationship(back_populates="memberships")


class GuidelineVersion(db.Model):
    """One version of a project's guidelines; every change makes a new one."""

    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    version: Mapped[int]
    text: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
