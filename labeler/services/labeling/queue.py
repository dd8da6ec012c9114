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

from sqlalchemy import and_, case, delete, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

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
    _lease(project, user, items, expires)
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


def _lease(project: Project, user: User, items: list[Item], expires: datetime) -> None:
    """Lease ``items`` to ``user`` until ``expires``, in one statement: an upsert on
    (item, user) renews a held lease or clears an old skip, as a new lease would."""
    if not items:
        return
    table = Assignment.__table__
    insert = sqlite_insert if db.engine.dialect.name == "sqlite" else postgresql_insert
    rows = [
        {
            "item_id": item.id,
            "user_id": user.id,
            "project_id": project.id,
            "expires_at": expires,
            "skipped": False,
        }
        for item in items
    ]
    stmt = insert(table).values(rows)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=[table.c.item_id, table.c.user_id],
            set_={"expires_at": stmt.excluded.expires_at, "skipped": False},
        )
    )


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
    others, lease = _votes_and_lease(item, user, now)
    existing = next((a for a in others if a.user_id == user.id), None)
    if existing is not None:
        result = _change(existing, key, value, seconds, now)
        if result.outcome == "changed":
            existing.guideline_version = project.guideline_version
            _after_vote(project, user, item)
        return result
    target = item_target(project, item)
    if require_lease and not lease:
        raise Conflict(
            f"item {item.id} is not yours to label now: it was not served to you, or your "
            "lease ran out; ask for the next item (your label was not recorded)"
        )
    # Every annotator may answer a gold item: it is never "full".
    if not item.is_gold and item.n_annotations >= target and not lease:
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
    _count_new_annotation(project, item)
    if lease is not None:  # a live one, or one run out or skipped: the label replaces it
        db.session.execute(
            delete(Assignment).where(Assignment.item_id == item.id, Assignment.user_id == user.id)
        )
    db.session.flush()
    kind = kinds.kind_of(project)
    votes = [kind.decode(a.label, a.value) for a in others] + [kind.decode(key, value)]
    # The counter moves under the item's row lock: when it matches, no vote came between
    # our read and our write (PostgreSQL), so the votes read above are all of them.
    _after_vote(project, user, item, votes if item.n_annotations == len(votes) else None)
    return SubmitResult(annotation, "created")


def _votes_and_lease(item: Item, user: User, now: datetime) -> tuple[list[Annotation], bool | None]:
    """The item's annotations (at most k or so) and this user's lease on it (True: live,
    False: run out or skipped, None: none), in one read."""
    live = and_(Assignment.expires_at > now, Assignment.skipped.is_(False))
    lease = (
        select(case((live, 1), else_=0))
        .where(Assignment.item_id == item.id, Assignment.user_id == user.id)
        .scalar_subquery()
    )
    rows = db.session.execute(
        select(Annotation, lease)
        .select_from(Item)
        .outerjoin(Annotation, Annotation.item_id == Item.id)
        .where(Item.id == item.id)
    ).all()
    state = rows[0][1] if rows else None
    return [a for a, _ in rows if a is not None], None if state is None else bool(state)


def _after_vote(
    project: Project, user: User, item: Item, votes: list[object] | None = None
) -> None:
    """Consensus of the item, its linked copies, and the annotator's gold record."""
    refresh_item(project, item, votes)
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


def _count_new_annotation(project: Project, item: Item) -> None:
    """Count the new label on the item (and its tier) and on the project, in place:
    the item's new count comes back from the UPDATE, not from a second read."""
    table = Item.__table__
    n = table.c.n_annotations + 1
    target = project.annotations_per_item + table.c.extra_annotations
    tier = gold.TIER_GOLD if item.is_gold else case((n >= target, TIER_DONE), else_=TIER_STARTED)
    counted = db.session.execute(
        update(table)
        .where(table.c.id == item.id)
        .values(n_annotations=n, queue_tier=tier)
        .returning(table.c.n_annotations, table.c.queue_tier)
    ).one()
    set_committed_value(item, "n_annotations", counted.n_annotations)
    set_committed_value(item, "queue_tier", counted.queue_tier)
    if counted.n_annotations <= project.annotations_per_item:
        db.session.execute(
            update(Project)
            .where(Project.id == project.id)
            .values(filled_slots=Project.filled_slots + 1)
        )


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
