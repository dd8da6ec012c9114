"""The annotation queue: which item a user gets next, and recording their label.

DESIGN.md, "The queue": (1) an item the user already holds a live lease on; (2)
items started by others (0 < n < k) that this user has not labeled; (3-4) the
rest by ``queue_rank`` (a seeded random key until a model ranks the pool).
Steps 2-4 are one query walking the ``ix_item_queue`` index in
(queue_tier, queue_rank) order, so its cost does not grow with the pool.
Gold items (:mod:`labeler.services.labeling.gold`) live in a tier of their own that this
walk never reaches; with probability ``project.gold_rate`` a pick first walks
that tier (a second indexed query touching only gold items).

Callers run :func:`next_items` and :func:`submit` inside ``begin_write()``: on
SQLite that serialises writers, on PostgreSQL the pick locks rows with SKIP
LOCKED, so two annotators asking at once never push an item past k.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, or_, select, update

from labeler.extensions import db
from labeler.models import (
    TIER_DONE,
    TIER_STARTED,
    Annotation,
    Assignment,
    Item,
    Project,
    User,
    utcnow,
)
from labeler.services import Conflict, NotFound
from labeler.services.data.quality import sync_copies
from labeler.services.labeling import gold
from labeler.services.labeling.labels import item_target, refresh_item
from labeler.services.projects import kinds

MAX_SECONDS = 3600.0  # a tab left open over lunch is not an hour of work


@dataclass(frozen=True)
class SubmitResult:
    annotation: Annotation
    outcome: str  # "created" | "changed" | "unchanged"


def held_items(project: Project, user: User, now: datetime, limit: int) -> list[Item]:
    """Items this user holds a live lease on, oldest lease first."""
    stmt = (
        select(Item)
        .join(Assignment, Assignment.item_id == Item.id)
        .where(
            Assignment.user_id == user.id,
            Assignment.project_id == project.id,
            Assignment.expires_at > now,
            Assignment.skipped.is_(False),
        )
        .order_by(Assignment.created_at, Assignment.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def _pick_statement(project: Project, user: User, now: datetime, limit: int, exclude: list[int]):
    target = project.annotations_per_item + Item.extra_annotations
    others_leases = (
        select(func.count(Assignment.id))
        .where(
            Assignment.item_id == Item.id,
            Assignment.expires_at > now,
            Assignment.skipped.is_(False),
            Assignment.user_id != user.id,
        )
        .scalar_subquery()
    )
    mine = or_(Assignment.skipped.is_(True), Assignment.expires_at > now)
    stmt = (
        select(Item)
        .where(
            Item.project_id == project.id,
            Item.queue_tier > TIER_DONE,
            ~exists().where(Annotation.item_id == Item.id, Annotation.user_id == user.id),
            ~exists().where(
                and_(Assignment.item_id == Item.id, Assignment.user_id == user.id, mine)
            ),
            Item.n_annotations + others_leases < target,
        )
        .order_by(Item.queue_tier, Item.queue_rank)
        .limit(limit)
    )
    if exclude:
        stmt = stmt.where(Item.id.not_in(exclude))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Item, skip_locked=True)
    return stmt


def next_items(
    project: Project,
    user: User,
    n: int = 1,
    lease_seconds: int = 600,
    now: datetime | None = None,
) -> list[Item]:
    """Lease and return up to ``n`` items for ``user`` (held ones first; a reload skips nothing).

    ``n`` > 1 lets the form prefetch the item after the current one.
    """
    now = now or utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    held = held_items(project, user, now, n)
    picked: list[Item] = []
    if len(held) < n:
        exclude = [i.id for i in held]
        picked = _pick_gold(project, user, now, n - len(held), exclude)
        exclude += [i.id for i in picked]
        for _ in range(3):  # PostgreSQL may hand back rows filled meanwhile: see _still_open
            if len(held) + len(picked) >= n:
                break
            batch = list(
                db.session.scalars(
                    _pick_statement(project, user, now, n - len(held) - len(picked), exclude)
                )
            )
            open_items = _still_open(project, user, batch, now)
            picked += open_items
            exclude += [i.id for i in batch]
            if len(open_items) == len(batch):
                break
    items = held + picked
    for item in items:
        _lease(project, user, item, expires)
    return items


def _pick_gold(
    project: Project, user: User, now: datetime, slots: int, exclude: list[int]
) -> list[Item]:
    """Gold items for the slots that draw "gold first" (a second indexed walk)."""
    found: list[Item] = []
    for _ in range(slots):
        if not gold.gold_first(project):
            continue
        item = gold.pick_gold(project, user, now, exclude + [i.id for i in found])
        if item is None:
            break  # this user has seen every gold item
        found.append(item)
    return found


def _still_open(project: Project, user: User, items: list[Item], now: datetime) -> list[Item]:
    """Drop items that others filled while we waited for their row locks (PostgreSQL).

    Under READ COMMITTED the pick counts leases in the snapshot its statement began
    with; a lease committed between that snapshot and our lock on the row is not in
    the count, so k could be exceeded. Holding the locks now, a new statement sees
    every committed lease. SQLite serialises writers (BEGIN IMMEDIATE): nothing to do.
    """
    if not items or db.engine.dialect.name != "postgresql":
        return items
    leases = dict(
        db.session.execute(
            select(Assignment.item_id, func.count(Assignment.id))
            .where(
                Assignment.item_id.in_([i.id for i in items]),
                Assignment.expires_at > now,
                Assignment.skipped.is_(False),
                Assignment.user_id != user.id,
            )
            .group_by(Assignment.item_id)
        ).all()
    )
    return [
        item
        for item in items
        if item.n_annotations + leases.get(item.id, 0)
        < project.annotations_per_item + item.extra_annotations
    ]


def _lease(project: Project, user: User, item: Item, expires: datetime) -> None:
    lease = db.session.scalar(
        select(Assignment).where(Assignment.item_id == item.id, Assignment.user_id == user.id)
    )
    if lease is None:
        db.session.add(
            Assignment(item_id=item.id, user_id=user.id, project_id=project.id, expires_at=expires)
        )
    else:
        lease.expires_at, lease.skipped = expires, False
    db.session.flush()


def holds_live_lease(item: Item, user: User, now: datetime) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Assignment.item_id == item.id,
                    Assignment.user_id == user.id,
                    Assignment.expires_at > now,
                    Assignment.skipped.is_(False),
                )
            )
        )
    )


def submit(
    project: Project,
    user: User,
    item: Item,
    label: object,
    seconds: float | None = None,
    now: datetime | None = None,
    *,
    require_lease: bool = False,
) -> SubmitResult:
    """Record ``user``'s answer for ``item``; resubmitting is safe, changing keeps history.

    ``label`` is the answer in the project's kind (a label name, a set of them, a
    rating...); the kind checks it and gives its key (``Annotation.label``) and value.

    With ``require_lease`` (what an annotator's submit asks), a first label needs a live
    lease: an item never served to this user, or whose lease ran out, could push it past
    k. Changing one's own earlier label needs none. Scripts that record labels they were
    given (tests, simulations) leave it off.
    """
    now = now or utcnow()
    if item.project_id != project.id:
        raise NotFound(f"item {item.id} is not in project {project.name!r}")
    key, value = kinds.check_value(
        project, label, item=item, presented=kinds.presentation(project, item, user.id)
    )
    seconds = None if seconds is None else min(max(float(seconds), 0.0), MAX_SECONDS)
    existing = db.session.scalar(
        select(Annotation).where(Annotation.item_id == item.id, Annotation.user_id == user.id)
    )
    if existing is not None:
        result = _change(existing, key, value, seconds, now)
        if result.outcome == "changed":
            existing.guideline_version = project.guideline_version
            _after_vote(project, user, item)
        return result
    target = item_target(project, item)
    if require_lease and not holds_live_lease(item, user, now):
        raise Conflict(
            f"item {item.id} is not yours to label now: it was not served to you, or your "
            "lease ran out; ask for the next item (your label was not recorded)"
        )
    # Every annotator may answer a gold item: it is never "full".
    if not item.is_gold and item.n_annotations >= target and not holds_live_lease(item, user, now):
        raise Conflict(
            "this item already has all the labels it needs; "
            "your lease had expired, so your label was not recorded"
        )
    annotation = Annotation(
        item_id=item.id,
        user_id=user.id,
        project_id=project.id,
        label=key,
        value=value,
        seconds=seconds,
        created_at=now,
        updated_at=now,
        guideline_version=project.guideline_version,
    )
    db.session.add(annotation)
    _count_new_annotation(project, item, target)
    db.session.execute(
        delete(Assignment).where(Assignment.item_id == item.id, Assignment.user_id == user.id)
    )
    db.session.flush()
    _after_vote(project, user, item)
    return SubmitResult(annotation, "created")


def _after_vote(project: Project, user: User, item: Item) -> None:
    """Consensus of the item, its linked copies, and the annotator's gold record."""
    refresh_item(project, item)
    sync_copies(project, item)
    if item.is_gold:
        gold.check_annotator(project, user)


def _change(
    annotation: Annotation, key: str, value: object, seconds: float | None, now: datetime
) -> SubmitResult:
    if annotation.label == key and annotation.value == value:
        return SubmitResult(annotation, "unchanged")
    annotation.relabel(key, seconds, now, value)
    db.session.flush()
    return SubmitResult(annotation, "changed")


def _count_new_annotation(project: Project, item: Item, target: int) -> None:
    n = item.n_annotations + 1
    tier = gold.TIER_GOLD if item.is_gold else TIER_DONE if n >= target else TIER_STARTED
    db.session.execute(
        update(Item)
        .where(Item.id == item.id)
        .values(n_annotations=Item.n_annotations + 1, queue_tier=tier)
    )
    if n <= project.annotations_per_item:
        db.session.execute(
            update(Project)
            .where(Project.id == project.id)
            .values(filled_slots=Project.filled_slots + 1)
        )
    db.session.refresh(item)


def skip(project: Project, user: User, item: Item, now: datetime | None = None) -> None:
    """Give the item back; this user will not be asked for it again."""
    now = now or utcnow()
    lease = db.session.scalar(
        select(Assignment).where(Assignment.item_id == item.id, Assignment.user_id == user.id)
    )
    if lease is None:
        db.session.add(
            Assignment(
                item_id=item.id,
                user_id=user.id,
                project_id=project.id,
                expires_at=now,
                skipped=True,
            )
        )
    else:
        lease.expires_at, lease.skipped = now, True
    db.session.flush()


def my_annotation(item: Item, user: User) -> Annotation | None:
    return db.session.scalar(
        select(Annotation).where(Annotation.item_id == item.id, Annotation.user_id == user.id)
    )


def labeled_since(project: Project, user: User, since: datetime) -> int:
    """How many items ``user`` labeled in ``project`` since ``since`` (this session)."""
    return (
        db.session.scalar(
            select(func.count(Annotation.id)).where(
                Annotation.user_id == user.id,
                Annotation.project_id == project.id,
                Annotation.created_at >= since,
            )
        )
        or 0
    )


def get_item(project: Project, item_id: int) -> Item:
    item = db.session.get(Item, item_id)
    if item is None or item.project_id != project.id:
        raise NotFound(f"item {item_id} not found in project {project.name!r}")
    return item
