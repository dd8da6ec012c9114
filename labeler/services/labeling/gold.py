"""Gold items (honeypots): items with a known answer, mixed into everyone's queue.

A gold item sits in its own queue tier (:data:`TIER_GOLD`, below "done"), so the
ordinary pick never sees it and the gold pick is a second walk of the same
``ix_item_queue`` index that touches only gold items. With probability
``project.gold_rate`` a pick looks at gold first; every annotator may label every
gold item once (they are not limited to k). Nothing tells an annotator an item
is gold: the form and the API show it like any other.

An annotator's gold accuracy is a proportion with a Wilson interval; when the
whole interval lies under ``project.gold_alert_threshold`` an :class:`Alert`
is raised (one open alert per annotator).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, select, update

from labeler.core.quality import wilson_interval
from labeler.extensions import db
from labeler.models import (
    TIER_DONE,
    TIER_FRESH,
    TIER_STARTED,
    Alert,
    Annotation,
    Assignment,
    Item,
    Project,
    User,
)
from labeler.services.projects import kinds

TIER_GOLD = -1  # below TIER_DONE: the ordinary pick (queue_tier > TIER_DONE) skips it
ALERT_KIND = "gold_accuracy"
MIN_GOLD_FOR_ALERT = 5  # fewer gold answers say too little to raise an alert

_draw = random.Random()  # tests seed it for reproducible mixing


def gold_first(project: Project) -> bool:
    """Whether this pick looks at gold items first (probability ``gold_rate``)."""
    return project.gold_rate > 0 and _draw.random() < project.gold_rate


def pick_gold(project: Project, user: User, now: datetime, exclude: list[int]) -> Item | None:
    """A gold item ``user`` has not labeled, skipped or been leased yet (random order)."""
    mine = or_(Assignment.skipped.is_(True), Assignment.expires_at > now)
    stmt = (
        select(Item)
        .where(
            Item.project_id == project.id,
            Item.queue_tier == TIER_GOLD,
            ~exists().where(Annotation.item_id == Item.id, Annotation.user_id == user.id),
            ~exists().where(
                and_(Assignment.item_id == Item.id, Assignment.user_id == user.id, mine)
            ),
        )
        .order_by(Item.queue_tier, Item.queue_rank)
        .limit(1)
    )
    if exclude:
        stmt = stmt.where(Item.id.not_in(exclude))
    return db.session.scalar(stmt)


def gold_item_ids(project: Project) -> set[int]:
    """Ids of ``project``'s gold items: the training code leaves them out of test results
    (an admin chose them, so they are not a random sample) or reports them apart."""
    return set(
        db.session.scalars(
            select(Item.id).where(Item.project_id == project.id, Item.is_gold.is_(True))
        )
    )


def mark(project: Project, item: Item, label: object) -> None:
    """Make ``item`` gold with the known answer ``label`` (an answer in the project's
    kind), or change its answer."""
    key, value = kinds.check_value(project, label, "label", item)
    item.is_gold, item.gold_label, item.gold_value, item.queue_tier = True, key, value, TIER_GOLD
    db.session.flush()


def unmark(project: Project, item: Item) -> None:
    """Make ``item`` an ordinary item again; it rejoins the queue by its label count."""
    target = project.annotations_per_item + item.extra_annotations
    item.is_gold, item.gold_label, item.gold_value = False, None, None
    item.queue_tier = (
        TIER_DONE
        if item.n_annotations >= target
        else TIER_STARTED
        if item.n_annotations
        else TIER_FRESH
    )
    db.session.flush()


def restore_gold_tier(project: Project) -> None:
    """Put gold items back in their tier after a bulk recount reset every tier."""
    db.session.execute(
        update(Item)
        .where(Item.project_id == project.id, Item.is_gold.is_(True))
        .values(queue_tier=TIER_GOLD)
    )


@dataclass(frozen=True)
class GoldAccuracy:
    user_id: int
    username: str
    n: int
    correct: int
    low: float  # Wilson 95% interval of the accuracy
    high: float

    @property
    def accuracy(self) -> float:
        return self.correct / self.n if self.n else float("nan")

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "annotator": self.username,
            "n": self.n,
            "correct": self.correct,
            "accuracy": self.accuracy if self.n else None,
            "ci_low": self.low,
            "ci_high": self.high,
        }


def accuracy(project: Project, user: User | None = None) -> list[GoldAccuracy]:
    """Per annotator: gold items labeled, how many match the gold answer, Wilson interval."""
    right = func.sum(case((Annotation.label == Item.gold_label, 1), else_=0))
    stmt = (
        select(Annotation.user_id, User.username, func.count(Annotation.id), right)
        .join(Item, Item.id == Annotation.item_id)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.project_id == project.id, Item.is_gold.is_(True))
        .group_by(Annotation.user_id, User.username)
        .order_by(User.username)
    )
    if user is not None:
        stmt = stmt.where(Annotation.user_id == user.id)
    rows = []
    for user_id, name, n, correct in db.session.execute(stmt).all():
        low, high = wilson_interval(int(correct or 0), int(n))
        rows.append(GoldAccuracy(user_id, name, int(n), int(correct or 0), low, high))
    return rows


def check_annotator(project: Project, user: User) -> Alert | None:
    """Raise an alert when ``user``'s gold accuracy is confidently under the threshold
    (the Wilson interval's upper end below it); return the open alert, if any."""
    figures = accuracy(project, user)
    if not figures or figures[0].n < MIN_GOLD_FOR_ALERT:
        return None
    figure, threshold = figures[0], project.gold_alert_threshold
    open_alert = db.session.scalar(
        select(Alert)
        .where(
            Alert.project_id == project.id, Alert.kind == ALERT_KIND, Alert.resolved_at.is_(None)
        )
        .where(Alert.detail["user_id"].as_integer() == user.id)
        .limit(1)
    )
    if figure.high >= threshold:
        return open_alert
    message = (
        f"{user.username} answers gold items correctly {figure.accuracy:.0%} of the "
        f"time ({figure.correct}/{figure.n}; 95% interval {figure.low:.0%}–"
        f"{figure.high:.0%}), under the {threshold:.0%} threshold"
    )
    if open_alert is None:
        open_alert = Alert(
            project_id=project.id,
            kind=ALERT_KIND,
            message=message,
            value=figure.accuracy,
            threshold=threshold,
            detail={"user_id": user.id, "n": figure.n},
        )
        db.session.add(open_alert)
    else:
        open_alert.message, open_alert.value = message, figure.accuracy
    db.session.flush()
    return open_alert


def gold_items(project: Project, limit: int = 500) -> list[Item]:
    return list(
        db.session.scalars(
            select(Item)
            .where(Item.project_id == project.id, Item.is_gold.is_(True))
            .order_by(Item.id)
            .limit(limit)
        )
    )


def count_gold(project: Project) -> int:
    return (
        db.session.scalar(
            select(func.count(Item.id)).where(Item.project_id == project.id, Item.is_gold.is_(True))
        )
        or 0
    )


def answers_for(project: Project, voted: Iterable[int]) -> dict[int, str]:
    """``project``'s gold items with at least one vote in ``voted`` (item ids): their
    known answer, which Dawid-Skene takes as each one's true label."""
    rows = db.session.execute(
        select(Item.id, Item.gold_label).where(
            Item.project_id == project.id,
            Item.is_gold.is_(True),
            Item.gold_label.is_not(None),
            Item.n_annotations > 0,
        )
    ).all()
    present = set(voted)
    return {int(item): str(label) for item, label in rows if item in present}
