"""Bulk actions on a selection of items: send to review, ask one more label, mark or
unmark gold. Each runs in the caller's transaction, so a selection changes whole or
not at all, and each leaves an audit trail (review decisions or an audit event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import AuditEvent, Item, Project, User, row_id, utcnow
from labeler.services import Forbidden, ServiceError
from labeler.services.labeling import gold, review

MAX_SELECTION = 500
_RANK = {"annotator": 1, "reviewer": 2, "admin": 3}


@dataclass(frozen=True)
class Action:
    """A bulk action: the lowest role allowed, and what it does to one item."""

    need: str
    apply: Callable[[Project, Item, User], None]
    done: str  # what the page says afterwards, with {n}


def _send_to_review(project: Project, item: Item, user: User) -> None:
    item.disputed = True


def _request_label(project: Project, item: Item, user: User) -> None:
    review.decide(project, item, user, "send_back", note="asked from the item browser")


def _mark_gold(project: Project, item: Item, user: User) -> None:
    if item.final_label is None:
        raise ServiceError(
            f"item {item.external_id} has no final label to be its gold answer",
            {"field": "items", "item": item.external_id},
        )
    gold.mark(project, item, item.final_label)


def _unmark_gold(project: Project, item: Item, user: User) -> None:
    if item.is_gold:
        gold.unmark(project, item)


ACTIONS: dict[str, Action] = {
    "send_to_review": Action("reviewer", _send_to_review, "Sent {n} items to review."),
    "request_label": Action("reviewer", _request_label, "Asked one more label on {n} items."),
    "mark_gold": Action("admin", _mark_gold, "Marked {n} items gold (their final label)."),
    "unmark_gold": Action("admin", _unmark_gold, "Unmarked {n} gold items."),
}


def selection(project: Project, raw_ids: list[str]) -> list[Item]:
    """The items of ``project`` with these ids; an unknown or foreign id is a 422."""
    read = {row_id(value) for value in raw_ids}
    if None in read:
        raise ServiceError("items must be item ids", {"field": "items"})
    ids = sorted(v for v in read if v is not None)
    if not ids:
        raise ServiceError("select at least one item", {"field": "items"})
    if len(ids) > MAX_SELECTION:
        raise ServiceError(f"select at most {MAX_SELECTION} items", {"field": "items"})
    items = list(
        db.session.scalars(
            select(Item).where(Item.project_id == project.id, Item.id.in_(ids)).order_by(Item.id)
        )
    )
    missing = sorted(set(ids) - {item.id for item in items})
    if missing:
        raise ServiceError(
            f"{len(missing)} selected items are not in this project",
            {"field": "items", "missing": missing[:20]},
        )
    return items


def apply(project: Project, user: User, role: str, name: str, items: list[Item]) -> str:
    """Apply action ``name`` to every item; returns what to tell the user."""
    action = ACTIONS.get(name)
    if action is None:
        raise ServiceError(
            f"action must be one of {', '.join(ACTIONS)}",
            {"field": "action", "allowed": list(ACTIONS)},
        )
    if _RANK[role] < _RANK[action.need]:
        raise Forbidden(f"{name} needs the {action.need} role on the project; you are {role}")
    for item in items:
        action.apply(project, item, user)
    db.session.add(
        AuditEvent(
            project_id=project.id,
            user_id=user.id,
            action=f"items.{name}",
            detail={"items": [item.id for item in items]},
            created_at=utcnow(),
        )
    )
    db.session.flush()
    return action.done.format(n=len(items))
