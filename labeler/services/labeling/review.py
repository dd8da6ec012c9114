"""The review queue: disputed items, who voted what, and a reviewer's decision.

The queue walks ``ix_item_review`` (project_id, disputed, id) with keyset
pagination, so a page costs the same on item 10 and item 100,000. A decision
writes an :class:`~labeler.models.Adjudication` row (the audit trail: who, when,
what, why) and updates the item in the same transaction.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import (
    TIER_DONE,
    TIER_FRESH,
    TIER_STARTED,
    Adjudication,
    Annotation,
    Item,
    Project,
    User,
    utcnow,
)
from labeler.services import ServiceError
from labeler.services.data.quality import sync_copies
from labeler.services.labeling.agreement_report import Reliability, annotator_reliability
from labeler.services.labeling.labels import item_event, item_target
from labeler.services.projects import kinds, webhooks

ACTIONS = ("resolve", "send_back", "ambiguous")
MAX_NOTE = 4000


class InvalidDecision(ServiceError):
    """A decision that cannot be applied as asked (unknown action or label, long note)."""


@dataclass(frozen=True)
class QueuePage:
    """One page of disputed items, oldest first; ``next_after`` continues the walk."""

    items: list[Item]
    votes: dict[int, Counter[str]]
    next_after: int | None
    total: int
    shown: dict[str, str] = field(default_factory=dict)  # a vote's key as pages show it


@dataclass(frozen=True)
class Vote:
    annotator: str
    user_id: int
    label: str
    seconds: float | None
    labeled_at: Any
    reliability: Reliability | None
    value: Any = None  # the answer as the project's kind reads it
    shown: str = ""  # and as pages show it


def disputed_queue(project: Project, after: int = 0, limit: int = 50) -> QueuePage:
    """Disputed items with id > ``after`` (keyset pagination), and their vote counts."""
    items = list(
        db.session.scalars(
            select(Item)
            .where(Item.project_id == project.id, Item.disputed.is_(True), Item.id > after)
            .order_by(Item.id)
            .limit(limit + 1)
        )
    )
    more = len(items) > limit
    items = items[:limit]
    votes: dict[int, Counter[str]] = {item.id: Counter() for item in items}
    shown: dict[str, str] = {}
    if items:  # a page holds at most ``limit`` items of a few votes each
        rows = db.session.execute(
            select(Annotation.item_id, Annotation.label, Annotation.value).where(
                Annotation.item_id.in_([item.id for item in items])
            )
        )
        for item_id, label, value in rows:
            votes[item_id][label] += 1
            if label not in shown:
                shown[label] = kinds.display(project, label, value)
    return QueuePage(items, votes, items[-1].id if more else None, count_disputed(project), shown)


def count_disputed(project: Project) -> int:
    """How many items wait for a reviewer (an index-only count on ix_item_review)."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Item)
            .where(Item.project_id == project.id, Item.disputed.is_(True))
        )
        or 0
    )


def next_disputed(project: Project, after: int) -> Item | None:
    """The disputed item after ``after``, wrapping to the first: the reviewer's next stop."""
    base = select(Item).where(Item.project_id == project.id, Item.disputed.is_(True))
    return db.session.scalar(
        base.where(Item.id > after).order_by(Item.id).limit(1)
    ) or db.session.scalar(base.where(Item.id != after).order_by(Item.id).limit(1))


def item_votes(project: Project, item: Item) -> list[Vote]:
    """Each annotator's label on ``item`` with that annotator's estimated reliability."""
    rows = db.session.execute(
        select(Annotation, User.username)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.item_id == item.id)
        .order_by(Annotation.created_at, Annotation.id)
    ).all()
    reliability = annotator_reliability(project)
    kind = kinds.kind_of(project)
    votes = []
    for a, username in rows:
        value = kind.decode(a.label, a.value)
        votes.append(
            Vote(
                username,
                a.user_id,
                a.label,
                a.seconds,
                a.updated_at,
                reliability.get(a.user_id),
                value,
                kind.display(value),
            )
        )
    return votes


def history(item: Item) -> list[Adjudication]:
    """Earlier decisions on ``item``, newest first (the audit trail)."""
    return list(
        db.session.scalars(
            select(Adjudication)
            .where(Adjudication.item_id == item.id)
            .order_by(Adjudication.created_at.desc(), Adjudication.id.desc())
        )
    )


def decide(
    project: Project,
    item: Item,
    reviewer: User,
    action: str,
    label: object = None,
    note: str = "",
) -> Adjudication:
    """Apply a reviewer's decision to ``item`` and record it.

    - ``resolve``: ``label`` (an answer in the project's kind: a label, a set of
      labels, a rating...) becomes the final label (source ``adjudicated``);
    - ``send_back``: one more annotation is asked for (k + 1 for this item); the
      item leaves the review queue until the new vote decides again;
    - ``ambiguous``: kept in exports, left out of training and evaluation.
    """
    action, note = (action or "").strip(), (note or "").strip()
    if action not in ACTIONS:
        raise InvalidDecision(
            f"action must be one of {', '.join(ACTIONS)}",
            {"field": "action", "allowed": list(ACTIONS)},
        )
    if item.project_id != project.id:
        raise InvalidDecision(f"item {item.id} is not in project {project.name!r}")
    if len(note) > MAX_NOTE:
        raise InvalidDecision(f"the note is limited to {MAX_NOTE} characters", {"field": "note"})
    key, value = None, None
    if action == "resolve":
        try:
            key, value = kinds.check_value(project, label, "label", item)
        except ServiceError as error:
            raise InvalidDecision(error.message, error.detail) from None
        _resolve(project, item, key, value)
    else:
        (_send_back if action == "send_back" else _mark_ambiguous)(project, item)
    decision = Adjudication(
        item_id=item.id,
        project_id=project.id,
        reviewer_id=reviewer.id,
        action=action,
        label=key,
        value=value,
        note=note,
        created_at=utcnow(),
    )
    db.session.add(decision)
    db.session.flush()
    sync_copies(project, item)  # linked duplicates follow their original
    return decision


def _resolve(project: Project, item: Item, key: str, value: object) -> None:
    if item.final_label != key and item.split == "train":
        project.labels_since_training += 1  # test labels never train a model
    item.final_label, item.final_value, item.final_source = key, value, "adjudicated"
    item.disputed = item.ambiguous = False
    webhooks.emit(project, "item.final_label", item_event(item))


def _send_back(project: Project, item: Item) -> None:
    item.extra_annotations += 1
    target = item_target(project, item)
    item.queue_tier = (
        TIER_DONE
        if item.n_annotations >= target
        else TIER_STARTED
        if item.n_annotations > 0
        else TIER_FRESH
    )
    # The latest decision wins: an earlier adjudication no longer holds the label,
    # the next vote settles it (or brings it back here).
    item.final_label = item.final_value = item.final_source = None
    item.disputed = False


def _mark_ambiguous(project: Project, item: Item) -> None:
    item.ambiguous, item.disputed = True, False


def model_opinion(project: Project, item: Item) -> dict[str, Any] | None:
    """What the serving champion predicts for ``item``: its label, the probability of
    each label (0..1, best first) and the version; None without a champion. Reviewers
    see it beside the votes; it is not logged as served traffic."""
    from labeler.core.artifacts import ModelArtifactError
    from labeler.services.serving import predict as serving

    if not project.champion_id:
        return None
    try:
        version = serving.champion(project)
        found = serving.serve_items(project, version, [item.data])
    except (ServiceError, ModelArtifactError, ValueError, KeyError, TypeError) as exc:
        return {"error": str(getattr(exc, "message", exc))}
    probabilities = found.details[0].get("probabilities") or {}
    ranked = sorted(probabilities.items(), key=lambda pair: -pair[1])
    return {
        "label": kinds.kind_of(project).display(found.values[0]),
        "confidence": found.confidences[0],
        "probabilities": ranked[:5],
        "version_id": version.id,
    }
