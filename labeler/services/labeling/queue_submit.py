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

from labeler.db_engine import run_core
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
from labeler.services.labeling.labels import (
    asked_votes,
    count_train_label,
    item_target,
    project_counter_statement,
    refresh_item,
)
from labeler.services.projects import kinds

MAX_SECONDS = 3600.0  # a tab left open over lunch is not an hour of work


@dataclass(frozen=True)
class SubmitResult:
    annotation: Annotation
    outcome: str  # "created" | "changed" | "unchanged"


@dataclass(frozen=True)
class Votes:
    """An item's annotations and the submitting user's lease on it (True: live, False:
    run out or skipped, None: none), as :func:`read_for_submit` found them."""

    annotations: list[Annotation]
    lease: bool | None


def read_for_submit(
    project: Project, item_id: int, user: User, now: datetime
) -> tuple[Item, Votes]:
    """The item, its annotations and ``user``'s lease on it, in one read (what
    :func:`submit` needs before it writes; a handler reads them at once in its turn).

    Raises:
        NotFound: no such item in ``project``.
    """
    rows = db.session.execute(
        _item_votes_and_lease_statement(), {"item_id": item_id, "user_id": user.id, "now": now}
    ).all()
    if not rows or rows[0][0].project_id != project.id:
        raise NotFound(f"item {item_id} not found in project {project.name!r}")
    state = rows[0][2]
    votes = Votes([a for _, a, _ in rows if a is not None], None if state is None else bool(state))
    return rows[0][0], votes


def submit(
    project: Project,
    user: User,
    item: Item,
    label: object,
    seconds: float | None = None,
    now: datetime | None = None,
    *,
    require_lease: bool = False,
    votes: Votes | None = None,
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
    if votes is None:
        votes = read_for_submit(project, item.id, user, now)[1]
    others, lease = votes.annotations, votes.lease
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
    row = {
        "item_id": item.id,
        "user_id": user.id,
        "project_id": project.id,
        "label": key,
        "value": value,
        "seconds": seconds,
        "created_at": now,
        "updated_at": now,
        "guideline_version": project.guideline_version,
    }
    annotation = _insert(row)
    _count_new_annotation(project, item)
    if lease is not None:  # a live one, or one run out or skipped: the label replaces it
        run_core(_end_lease_statement(), {"item_id": item.id, "user_id": user.id})
    db.session.flush()
    kind = kinds.kind_of(project)
    votes = [kind.decode(a.label, a.value) for a in others] + [kind.decode(key, value)]
    # The counter moves under the item's row lock: when it matches, no vote came between
    # our read and our write (PostgreSQL), so the votes read above are all of them.
    counted = _after_vote(project, user, item, votes if item.n_annotations == len(votes) else None)
    if not counted and asked_votes(project, item, item.n_annotations - 1, item.n_annotations):
        count_train_label(project)
    return SubmitResult(annotation, "created")


@cache
def _insert_statement() -> Any:
    return insert(Annotation.__table__).returning(Annotation.__table__.c.id)


_UNSET = {"suggestion_label": None, "suggestion_source": None, "suggestion_accepted": None}


def _insert(row: dict[str, Any]) -> Annotation:
    """INSERT the annotation as a statement and attach it to the session as stored.

    A flush's unit of work (or the ORM's bulk INSERT) cost more Python time inside the
    write turn than the rest of the submit's statements; every column is given here,
    so nothing of the object is left to load."""
    annotation_id = run_core(_insert_statement(), row).scalar_one()
    annotation = Annotation(id=annotation_id, **_UNSET, **row)
    make_transient_to_detached(annotation)
    db.session.add(annotation)
    return annotation


def _lease_state() -> Any:
    live = and_(Assignment.expires_at > bindparam("now"), Assignment.skipped.is_(False))
    return (
        select(case((live, 1), else_=0))
        .where(
            Assignment.item_id == bindparam("item_id"), Assignment.user_id == bindparam("user_id")
        )
        .scalar_subquery()
    )


@cache
def _item_votes_and_lease_statement() -> Any:
    return (
        select(Item, Annotation, _lease_state())
        .outerjoin(Annotation, Annotation.item_id == Item.id)
        .where(Item.id == bindparam("item_id"))
    )


@cache
def _end_lease_statement() -> Any:
    table = Assignment.__table__  # a Core delete: no in-session synchronization (run_core)
    return delete(table).where(
        table.c.item_id == bindparam("item_id"), table.c.user_id == bindparam("user_id")
    )


def _after_vote(
    project: Project, user: User, item: Item, votes: list[object] | None = None
) -> bool:
    """Consensus of the item, its linked copies, and the annotator's gold record; True
    when a new final train label was counted (``refresh_item``)."""
    counted = refresh_item(project, item, votes)
    sync_copies(project, item)
    if item.is_gold:
        gold.check_annotator(project, user)
    return counted


def _change(
    annotation: Annotation, key: str, value: object, seconds: float | None, now: datetime
) -> SubmitResult:
    if annotation.label == key and annotation.value == value:
        return SubmitResult(annotation, "unchanged")
    annotation.relabel(key, seconds, now, value)
    db.session.flush()
    return SubmitResult(annotation, "changed")


@cache
def _count_statement(is_gold: bool) -> Any:
    """The item's counter and tier, moved in place (``k``: the project's k)."""
    table = Item.__table__
    n = table.c.n_annotations + 1
    target = bindparam("k", type_=Integer) + table.c.extra_annotations
    tier = gold.TIER_GOLD if is_gold else case((n >= target, TIER_DONE), else_=TIER_STARTED)
    return (
        update(table)
        .where(table.c.id == bindparam("item_id"))
        .values(n_annotations=n, queue_tier=tier)
        .returning(table.c.n_annotations, table.c.queue_tier)
    )


def _count_new_annotation(project: Project, item: Item) -> None:
    """Count the new label on the item (and its tier) and on the project, in place:
    the item's new count comes back from the UPDATE, not from a second read."""
    counted = run_core(
        _count_statement(bool(item.is_gold)),
        {"item_id": item.id, "k": project.annotations_per_item},
    ).one()
    set_committed_value(item, "n_annotations", counted.n_annotations)
    set_committed_value(item, "queue_tier", counted.queue_tier)
    if counted.n_annotations <= project.annotations_per_item:
        filled = run_core(
            project_counter_statement("filled_slots"), {"project_id": project.id}
        ).scalar_one()
        set_committed_value(project, "filled_slots", filled)
