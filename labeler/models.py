"""The data model (see DESIGN.md, "Data model").

Counters that the queue filters on (``Item.n_annotations``, ``Item.queue_tier``)
are kept on the row and updated in the same transaction as the annotation that
changes them, so that choosing the next item is one indexed query whatever the
pool size.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false, text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from labeler.extensions import db

ROLES = ("admin", "reviewer", "annotator")
PROJECT_ROLES = ("reviewer", "annotator")
SPLITS = ("train", "test")

# Item.queue_tier: 0 = has all the labels it needs; 1 = started (0 < n < k), asked
# first so consensus arrives; 2 = not started.
TIER_DONE, TIER_STARTED, TIER_FRESH = 0, 1, 2

# werkzeug's default (scrypt). The test suite lowers it to keep fixtures fast.
PASSWORD_METHOD = "scrypt"

# A typed label value (labeler.core.kinds) beside its key; None is SQL NULL ("the key
# is the value"), not the JSON text null.
VALUE_JSON = JSON(none_as_null=True)


def utcnow() -> datetime:
    """Naive UTC: SQLite has no time zones, so every timestamp is stored naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="annotator")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot log in
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=PASSWORD_METHOD)

    def check_password(self, password: str) -> bool:
        return self.password_hash is not None and check_password_hash(self.password_hash, password)


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored, the token is shown once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    name: Mapped[str] = mapped_column(String(80), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class UserSession(db.Model):
    """A browser session, so logging out (or a password reset) ends it on the server.

    The signed session cookie carries the secret; only its SHA-256 is stored. A session
    is live while ``ended_at`` is empty.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


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
    split_seed: Mapped[int] = mapped_column(default=0)
    n_items: Mapped[int] = mapped_column(default=0)
    # Linked duplicates among n_items: they take their original's label, never queue.
    n_linked: Mapped[int] = mapped_column(default=0, server_default="0")
    # Sum over items of min(n_annotations, k): the numerator of coverage toward k.
    filled_slots: Mapped[int] = mapped_column(default=0)
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

    user: Mapped[User] = relationship(back_populates="memberships")
    project: Mapped[Project] = relationship(back_populates="memberships")


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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[Project] = relationship()


class Annotation(db.Model):
    __table_args__ = (
        UniqueConstraint("item_id", "user_id"),
        # The item browser's annotator and date filters.
        Index("ix_annotation_user_time", "user_id", "project_id", "updated_at"),
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


class AuditEvent(db.Model):
    """Who did what, when and why, for actions that change shared state
    (label-set edits, promotions and rollbacks, settings)."""

    # The login guard counts recent failures by action and time.
    __table_args__ = (Index("ix_audit_event_action_time", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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


class GuidelineVersion(db.Model):
    """One version of a project's guidelines; every change makes a new one."""

    __table_args__ = (UniqueConstraint("project_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    version: Mapped[int]
    text: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
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


class Webhook(db.Model):
    """A URL an admin registered for some of a project's events; deliveries are signed
    with ``secret``. ``failing_since``: the first failure after the last success."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True, server_default="1")
    failing_since: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(db.Model):
    """One event sent (or to be sent) to one webhook.

    status: pending (due at ``next_attempt_at``) | delivered | failed (given up);
    ``latency_ms`` and ``response_status`` are those of the last attempt."""

    __table_args__ = (Index("ix_webhook_delivery_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    response_status: Mapped[int | None]
    latency_ms: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
