"""Recording an annotator's label: the submit half of the queue (``queue.submit``).

Callers run :func:`submit` inside ``begin_write()`` (see :mod:`labeler.services.labeling.queue`).
Its statements are built once, with bound parameters: a submit runs them on every label,
and building a statement in SQLAlchemy (coercing each operand, then its cache key) cost
more Python time than running it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, and_, bindparam, case, delete, insert, select, update
from sqlalchemy.orm import make_transient_to_detached
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
    own = next((a.id for a in others if a.user_id == user.id), None)
    if own is not None:  # a change: the label's object, for its revision
        existing = db.session.get(Annotation, own)
        assert existing is not None  # read in this write transaction
        result = _change(existing, key, value, seconds, now)
        if result.outcome == "changed":
            existing.guideline_version = project.guideline_version
            _after_vote(project, user, item, slot=False)
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
    annotation = _insert_annotation(
        {
            "item_id": item.id,
            "user_id": user.id,
            "project_id": project.id,
            "label": key,
            "value": value,
            "seconds": seconds,
            "created_at": now,
            "updated_at": now,
            "guideline_version": project.guideline_version,
            "suggestion_label": None,
            "suggestion_source": None,
            "suggestion_accepted": None,
        }
    )
    counted = _count_new_annotation(project, item)
    if lease is not None:  # a live one, or one run out or skipped: the label replaces it
        db.session.execute(_end_lease_statement(), {"item_id": item.id, "user_id": user.id})
    db.session.flush()
    kind = kinds.kind_of(project)
    votes = [kind.decode(a.label, a.value) for a in others] + [kind.decode(key, value)]
    # The counter moves under the item's row lock: when it matches, no vote came between
    # our read and our write (PostgreSQL), so the votes read above are all of them.
    _after_vote(project, user, item, votes if counted == len(votes) else None, slot=True)
    return SubmitResult(annotation, "created")


@cache
def _votes_and_lease_statement() -> Any:
    live = and_(Assignment.expires_at > bindparam("now"), Assignment.skipped.is_(False))
    lease = (
        select(case((live, 1), else_=0))
        .where(
            Assignment.item_id == bindparam("item_id"), Assignment.user_id == bindparam("user_id")
        )
        .scalar_subquery()
    )
    return (
        select(Annotation.id, Annotation.user_id, Annotation.label, Annotation.value, lease)
        .select_from(Item)
        .outerjoin(Annotation, Annotation.item_id == Item.id)
        .where(Item.id == bindparam("item_id"))
    )


def _votes_and_lease(item: Item, user: User, now: datetime) -> tuple[list[Any], bool | None]:
    """The item's annotations (at most k or so: rows of id, user_id, label and value, no
    objects) and this user's lease on it (True: live, False: run out or skipped, None:
    none), in one read."""
    rows = db.session.execute(
        _votes_and_lease_statement(), {"item_id": item.id, "user_id": user.id, "now": now}
    ).all()
    state = rows[0][-1] if rows else None
    return [a for a in rows if a.id is not None], None if state is None else bool(state)


@cache
def _insert_statement() -> Any:
    table = Annotation.__table__
    return insert(table).returning(table.c.id)


def _insert_annotation(row: dict[str, Any]) -> Annotation:
    """Insert the new label as one Core statement (its id from RETURNING), and hand back
    the session's object for it, loaded as if read: no unit-of-work flush for one row.
    A duplicate (a concurrent retry) raises IntegrityError here, as a flush would."""
    new_id = db.session.execute(_insert_statement(), row).scalar_one()
    annotation = Annotation(id=new_id, **row)
    make_transient_to_detached(annotation)  # every column as given: nothing to reload
    db.session.add(annotation)
    return annotation


@cache
def _end_lease_statement() -> Any:
    return delete(Assignment).where(
        Assignment.item_id == bindparam("item_id"), Assignment.user_id == bindparam("user_id")
    )


def _after_vote(
    project: Project, user: User, item: Item, votes: list[object] | None = None, *, slot: bool
) -> None:
    """Consensus of the item, the project's counters (``slot``: a new label, which fills
    a slot while the item has at most k), its linked copies, the annotator's gold record."""
    new_finals = refresh_item(project, item, votes)
    if slot or new_finals:
        _count_on_project(project, item.n_annotations if slot else None, new_finals)
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


def _current_k() -> Any:
    """The project's k as the database holds it now (inside the write turn): the project
    row a request read before its turn may predate a change of k."""
    project = Project.__table__
    return (
        select(project.c.annotations_per_item)
        .where(project.c.id == bindparam("of_project"))
        .scalar_subquery()
    )


@cache
def _count_statement(is_gold: bool) -> Any:
    """The item's counter and tier, moved in place, against the project's current k
    (returned too, with the new count)."""
    table = Item.__table__
    n = table.c.n_annotations + 1
    k = _current_k()
    tier = (
        gold.TIER_GOLD
        if is_gold
        else case((n >= k + table.c.extra_annotations, TIER_DONE), else_=TIER_STARTED)
    )
    return (
        update(table)
        .where(table.c.id == bindparam("item_id"))
        .values(n_annotations=n, queue_tier=tier)
        .returning(table.c.n_annotations, table.c.queue_tier, k.label("k"))
    )


@cache
def _project_counts_statement() -> Any:
    """The project's filled slots (one more when the item's new count ``n`` is at most
    k, checked here against the row's k) and new final train labels, added in SQL."""
    table = Project.__table__
    slot = case((bindparam("n", type_=Integer) <= table.c.annotations_per_item, 1), else_=0)
    return (
        update(table)
        .where(table.c.id == bindparam("project_id"))
        .values(
            filled_slots=table.c.filled_slots + slot,
            labels_since_training=table.c.labels_since_training
            + bindparam("finals", type_=Integer),
        )
        .returning(table.c.filled_slots, table.c.labels_since_training)
    )


def _count_new_annotation(project: Project, item: Item) -> int:
    """Count the new label on the item (and its tier), in place: the item's new count
    (returned) and the project's current k come back from the UPDATE, not a second read."""
    counted = db.session.execute(
        _count_statement(bool(item.is_gold)), {"item_id": item.id, "of_project": project.id}
    ).one()
    set_committed_value(item, "n_annotations", counted.n_annotations)
    set_committed_value(item, "queue_tier", counted.queue_tier)
    if counted.k != project.annotations_per_item:  # changed since the request read it
        set_committed_value(project, "annotations_per_item", counted.k)
    return int(counted.n_annotations)


def _count_on_project(project: Project, n: int | None, new_finals: int) -> None:
    """Add to the project's counters in SQL (``x = x + n``), so a project row read before
    the write turn never writes a stale value back."""
    params = {"project_id": project.id, "n": n if n is not None else 2**62, "finals": new_finals}
    filled, since = db.session.execute(_project_counts_statement(), params).one()
    set_committed_value(project, "filled_slots", filled)
    set_committed_value(project, "labels_since_training", since)
