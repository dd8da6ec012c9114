"""Comments on items: an annotator asks or flags, a reviewer or admin answers.

A question or a flag stays open until someone answers it; the project page lists the
open ones. A flag may also send the item to review. Comments are free text and never
carry a label; annotators see their own comments and the answers of reviewers and
admins, never another annotator's comment (which might name that annotator's label).
"""

from __future__ import annotations

from sqlalchemy import func, or_, select, update

from labeler.extensions import db
from labeler.models import AuditEvent, Item, ItemComment, Project, User, utcnow
from labeler.services import Forbidden, ServiceError

MAX_BODY = 4000
ASKING = ("question", "flag")  # open until answered
ANSWERING = ("answer", "note")  # reviewers and admins only


def add(
    project: Project,
    item: Item,
    author: User,
    role: str,
    kind: str,
    body: str,
    send_to_review: bool = False,
) -> ItemComment:
    """Record a comment; an answer closes every open question and flag on the item."""
    body = (body or "").strip()
    kind = (kind or "").strip()
    if kind not in (*ASKING, *ANSWERING):
        raise ServiceError(
            f"kind must be one of {', '.join((*ASKING, *ANSWERING))}",
            {"field": "kind", "allowed": [*ASKING, *ANSWERING]},
        )
    if kind in ANSWERING and role == "annotator":
        raise Forbidden("only reviewers and admins answer; ask a question or flag the item")
    if not body:
        raise ServiceError("write something in the comment", {"field": "body"})
    if len(body) > MAX_BODY:
        raise ServiceError(f"a comment is limited to {MAX_BODY} characters", {"field": "body"})
    if send_to_review and kind != "flag":
        raise ServiceError("only a flag can send the item to review", {"field": "send_to_review"})
    now = utcnow()
    comment = ItemComment(
        item_id=item.id,
        project_id=project.id,
        user_id=author.id,
        kind=kind,
        body=body,
        is_open=kind in ASKING,
        created_at=now,
    )
    if kind == "answer":
        db.session.execute(
            update(ItemComment)
            .where(ItemComment.item_id == item.id, ItemComment.is_open.is_(True))
            .values(is_open=False)
        )
    db.session.add(comment)
    if send_to_review and not item.disputed:
        item.disputed = True
        db.session.add(
            AuditEvent(
                project_id=project.id,
                user_id=author.id,
                action="item.flag_to_review",
                detail={"item": item.id},
                created_at=now,
            )
        )
    db.session.flush()
    return comment


def visible(item: Item, viewer: User, role: str) -> list[ItemComment]:
    """The comments on ``item`` the viewer may read, oldest first."""
    stmt = select(ItemComment).where(ItemComment.item_id == item.id)
    if role == "annotator":
        # Answers and notes are written by reviewers and admins only (see add).
        stmt = stmt.where(or_(ItemComment.user_id == viewer.id, ItemComment.kind.in_(ANSWERING)))
    return list(db.session.scalars(stmt.order_by(ItemComment.id)))


def open_questions(project: Project, limit: int = 20) -> list[tuple[ItemComment, Item]]:
    """Unanswered questions and flags, oldest first, with their items (project page)."""
    rows = db.session.execute(
        select(ItemComment, Item)
        .join(Item, Item.id == ItemComment.item_id)
        .where(ItemComment.project_id == project.id, ItemComment.is_open.is_(True))
        .order_by(ItemComment.id)
        .limit(limit)
    )
    return [(comment, item) for comment, item in rows]


def count_open(project: Project) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(ItemComment)
            .where(ItemComment.project_id == project.id, ItemComment.is_open.is_(True))
        )
        or 0
    )


def comment_texts(item_ids: list[int]) -> dict[int, str]:
    """Each item's comments as one line for exports ("question: … | answer: …"), oldest
    first. Authors are left out, so a pseudonymous export stays pseudonymous."""
    texts: dict[int, list[str]] = {}
    if item_ids:
        rows = db.session.execute(
            select(ItemComment.item_id, ItemComment.kind, ItemComment.body)
            .where(ItemComment.item_id.in_(item_ids))
            .order_by(ItemComment.item_id, ItemComment.id)
        )
        for item_id, kind, body in rows:
            texts.setdefault(item_id, []).append(f"{kind}: {body}")
    return {item_id: " | ".join(parts) for item_id, parts in texts.items()}
