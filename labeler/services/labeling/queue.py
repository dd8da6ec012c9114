"""The annotation queue: which item a user gets next (recording a label: ``queue_submit``).

DESIGN.md, "The queue": (1) an item the user already holds a live lease on; (2)
items started by others (0 < n < k) that this user has not labeled; (3-4) the
rest by ``queue_rank`` (a seeded random key until a model ranks the pool).
Steps 2-4 walk the ``ix_item_queue`` index in (queue_tier, queue_rank) order, so
their cost does not grow with the pool. Step 2 looks at the :data:`STARTED_WINDOW`
started items of lowest rank; the started items past them come last, after the
fresh ones: an annotator far ahead of the others (every item they labeled waits in
the started tier for a second label) otherwise paid the walk's lookups past all of
their own labels on every pick, a cost that grew with their count (in process, a
one-request label cycle took 5.9 ms after 1,600 such labels and 9.0 ms after 7,600;
now 4.0-4.6 ms throughout).
Gold items (:mod:`labeler.services.labeling.gold`) live in a tier of their own that this
walk never reaches; with probability ``project.gold_rate`` a pick first walks
that tier (a second indexed query touching only gold items).

Callers run :func:`next_items` and :func:`submit` inside ``begin_write()``: on
SQLite that serialises writers, on PostgreSQL the pick locks rows with SKIP
LOCKED, so two annotators asking at once never push an item past k.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer, and_, bindparam, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from labeler.db_engine import run_core
from labeler.extensions import db
from labeler.models import TIER_STARTED, Annotation, Assignment, Item, Project, User, utcnow
from labeler.services import NotFound
from labeler.services.labeling import gold
from labeler.services.labeling.queue_submit import MAX_SECONDS, SubmitResult, submit

__all__ = ["MAX_SECONDS", "SubmitResult", "submit"]  # the submit half lives in queue_submit

# The statements of every next are built once per dialect, with bound parameters:
# building one in SQLAlchemy (coercing each operand, then its cache key) cost more
# Python time than running it.


@cache
def _held_statement() -> Any:
    return (
        select(Assignment.item_id)
        .where(
            Assignment.user_id == bindparam("user_id"),
            Assignment.project_id == bindparam("project_id"),
            Assignment.expires_at > bindparam("now"),
            Assignment.skipped.is_(False),
        )
        .order_by(Assignment.created_at, Assignment.id)
        .limit(bindparam("limit", type_=Integer))
    )


def held_ids(project: Project, user: User, now: datetime, limit: int) -> list[int]:
    """Ids of the items this user holds a live lease on, oldest lease first."""
    params = {"user_id": user.id, "project_id": project.id, "now": now, "limit": limit}
    return list(run_core(_held_statement(), params).scalars())


STARTED_WINDOW = 256  # started items a pick looks at before the fresh ones
# The parts of the open queue a pick walks, in turn (see the module's docstring): the
# started window then the fresh tier in one walk, the started items past the window.
OPEN, STARTED_REST = "open", "started past the window"
PARTS = (OPEN, STARTED_REST)


def _part(part: str) -> Any:
    """The WHERE of one part: a range of ``ix_item_queue`` (the edge of the started
    window, the rank of its last item, is read once per statement). In the open part
    a started item past the edge costs the walk one comparison, not the subqueries'
    lookups (those come after it in the WHERE)."""
    edge = (
        select(Item.queue_rank)
        .where(Item.project_id == bindparam("project_id"), Item.queue_tier == TIER_STARTED)
        .order_by(Item.queue_rank)
        .limit(1)
        .offset(STARTED_WINDOW - 1)
        .scalar_subquery()
    )
    edge = func.coalesce(edge, sys.float_info.max)  # fewer started items: all in the window
    if part == OPEN:
        return and_(
            Item.queue_tier >= TIER_STARTED,
            or_(Item.queue_tier > TIER_STARTED, Item.queue_rank <= edge),
        )
    return and_(Item.queue_tier == TIER_STARTED, Item.queue_rank > edge)


@cache
def _built_pick(dialect: str, excluding: bool, part: str = OPEN) -> Any:
    """The pick in one part of the queue, with parameters ``project_id``, ``user_id``,
    ``now``, ``k`` (the project's k), ``limit`` and, when ``excluding``, ``exclude``
    (item ids). It selects rows (id, count, extra labels), not mapped items: loading
    ``Item`` objects inside the write turn cost more than the statement."""
    target = bindparam("k", type_=Integer) + Item.extra_annotations
    now, user_id = bindparam("now"), bindparam("user_id")
    others_leases = (
        select(func.count(Assignment.id))
        .where(
            Assignment.item_id == Item.id,
            Assignment.expires_at > now,
            Assignment.skipped.is_(False),
            Assignment.user_id != user_id,
        )
        .scalar_subquery()
    )
    mine = or_(Assignment.skipped.is_(True), Assignment.expires_at > now)
    stmt = (
        select(Item.id, Item.n_annotations, Item.extra_annotations)
        .where(
            Item.project_id == bindparam("project_id"),
            _part(part),
            ~exists().where(Annotation.item_id == Item.id, Annotation.user_id == user_id),
            ~exists().where(
                and_(Assignment.item_id == Item.id, Assignment.user_id == user_id, mine)
            ),
            Item.n_annotations + others_leases < target,
        )
        .order_by(Item.queue_tier, Item.queue_rank)
        .limit(bindparam("limit", type_=Integer))
    )
    if excluding:
        stmt = stmt.where(Item.id.not_in(bindparam("exclude", expanding=True)))
    if dialect == "postgresql":
        stmt = stmt.with_for_update(of=Item.__table__, skip_locked=True)
    return stmt


def _pick_parameters(
    project: Project, user: User, now: datetime, limit: int, exclude: list[int]
) -> dict[str, Any]:
    params = {
        "project_id": project.id,
        "user_id": user.id,
        "now": now,
        "k": project.annotations_per_item,
        "limit": limit,
    }
    if exclude:
        params["exclude"] = list(exclude)
    return params


def _pick_statement(
    project: Project, user: User, now: datetime, limit: int, exclude: list[int], part: str = OPEN
):
    """The pick with its values bound (what EXPLAIN and tests read)."""
    stmt = _built_pick(db.engine.dialect.name, bool(exclude), part)
    return stmt.params(_pick_parameters(project, user, now, limit, exclude))


def _pick(
    project: Project, user: User, now: datetime, limit: int, exclude: list[int], part: str
) -> list[Any]:
    """Rows (id, n_annotations, extra_annotations) of the items picked."""
    stmt = _built_pick(db.engine.dialect.name, bool(exclude), part)
    return list(run_core(stmt, _pick_parameters(project, user, now, limit, exclude)))


def lease_next(
    project: Project,
    user: User,
    n: int = 1,
    lease_seconds: int = 600,
    now: datetime | None = None,
) -> list[int]:
    """Lease up to ``n`` items to ``user`` and return their ids, held ones first (a
    reload skips nothing): the write-turn half of :func:`next_items`, in rows only, so
    a caller can end the turn before it loads the items (:func:`load_items`).
    """
    now = now or utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    ids = held_ids(project, user, now, n)
    if len(ids) < n:
        exclude = list(ids)
        gold_ids = [i.id for i in _pick_gold(project, user, now, n - len(ids), exclude)]
        ids += gold_ids
        exclude += gold_ids
        for part in PARTS:
            for _ in range(3):  # PostgreSQL may hand back rows filled meanwhile: _still_open
                if len(ids) >= n:
                    break
                batch = _pick(project, user, now, n - len(ids), exclude, part)
                open_ids = _still_open(project, user, batch, now)
                ids += open_ids
                exclude += [row.id for row in batch]
                if len(open_ids) == len(batch):
                    break
    _lease(project, user, ids, expires)
    return ids


def load_items(item_ids: list[int]) -> list[Item]:
    """The items of ``item_ids``, in that order. Loaded after the leases' commit, so an
    item deleted in between is left out rather than failing the request."""
    if not item_ids:
        return []
    found = {
        item.id: item for item in db.session.scalars(select(Item).where(Item.id.in_(item_ids)))
    }
    return [found[i] for i in item_ids if i in found]


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
    return load_items(lease_next(project, user, n, lease_seconds, now))


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


def _still_open(project: Project, user: User, rows: list[Any], now: datetime) -> list[int]:
    """Ids of the picked ``rows`` that others did not fill while we waited for their
    row locks (PostgreSQL).

    Under READ COMMITTED the pick counts leases in the snapshot its statement began
    with; a lease committed between that snapshot and our lock on the row is not in
    the count, so k could be exceeded. Holding the locks now, a new statement sees
    every committed lease. SQLite serialises writers (BEGIN IMMEDIATE): nothing to do.
    """
    if not rows or db.engine.dialect.name != "postgresql":
        return [row.id for row in rows]
    leases = dict(
        run_core(
            select(Assignment.item_id, func.count(Assignment.id))
            .where(
                Assignment.item_id.in_([row.id for row in rows]),
                Assignment.expires_at > now,
                Assignment.skipped.is_(False),
                Assignment.user_id != user.id,
            )
            .group_by(Assignment.item_id)
        ).all()
    )
    return [
        row.id
        for row in rows
        if row.n_annotations + leases.get(row.id, 0)
        < project.annotations_per_item + row.extra_annotations
    ]


@cache
def _lease_statement(dialect: str) -> Any:
    table = Assignment.__table__
    stmt = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.item_id, table.c.user_id],
        set_={"expires_at": stmt.excluded.expires_at, "skipped": False},
    )


def _lease(project: Project, user: User, item_ids: list[int], expires: datetime) -> None:
    """Lease ``item_ids`` to ``user`` until ``expires``, in one statement: an upsert on
    (item, user) renews a held lease or clears an old skip, as a new lease would."""
    if not item_ids:
        return
    rows = [
        {
            "item_id": item_id,
            "user_id": user.id,
            "project_id": project.id,
            "expires_at": expires,
            "skipped": False,
        }
        for item_id in item_ids
    ]
    stmt = _lease_statement(db.engine.dialect.name)
    run_core(stmt, rows[0] if len(rows) == 1 else rows)


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
