"""The data model (see DESIGN.md, "Data model"), one module per area.

Counters that the queue filters on (``Item.n_annotations``, ``Item.queue_tier``)
are kept on the row and updated in the same transaction as the annotation that
changes them, so that choosing the next item is one indexed query whatever the
pool size.

Everything is importable from ``labeler.models``; the modules are ``base`` (roles,
tiers, the typed value column), ``accounts``, ``projects``, ``items``, ``runs`` (jobs,
model versions, prediction logs, alerts), ``quality`` (out-of-sample probabilities)
and ``events`` (audit log, webhooks).
"""

from labeler.models.accounts import PASSWORD_METHOD, ApiToken, User, UserSession
from labeler.models.base import (
    MAX_BOUND_INT,
    MAX_ROW_ID,
    PROJECT_ROLES,
    ROLES,
    SPLITS,
    TIER_DONE,
    TIER_FRESH,
    TIER_STARTED,
    VALUE_JSON,
    row_id,
    utcnow,
)
from labeler.models.events import AuditEvent, Webhook, WebhookDelivery
from labeler.models.items import (
    COMMENT_KINDS,
    Adjudication,
    Annotation,
    AnnotationRevision,
    Assignment,
    Item,
    ItemComment,
)
from labeler.models.projects import GuidelineVersion, Membership, Project
from labeler.models.quality import ModelProbabilities
from labeler.models.runs import JOB_ACTIVE_TRAIN, Alert, Job, ModelVersion, PredictionLog

__all__ = [
    "MAX_BOUND_INT",
    "MAX_ROW_ID",
    "row_id",
    "Adjudication",
    "Alert",
    "Annotation",
    "AnnotationRevision",
    "ApiToken",
    "Assignment",
    "AuditEvent",
    "COMMENT_KINDS",
    "GuidelineVersion",
    "Item",
    "ItemComment",
    "JOB_ACTIVE_TRAIN",
    "Job",
    "Membership",
    "ModelProbabilities",
    "ModelVersion",
    "PASSWORD_METHOD",
    "PROJECT_ROLES",
    "PredictionLog",
    "Project",
    "ROLES",
    "SPLITS",
    "User",
    "TIER_DONE",
    "TIER_FRESH",
    "TIER_STARTED",
    "UserSession",
    "VALUE_JSON",
    "Webhook",
    "WebhookDelivery",
    "utcnow",
]
