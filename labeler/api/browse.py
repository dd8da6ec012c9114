"""API: the item browser, one item's full record, comments, and bulk actions.

What each role receives follows the blind-labeling rules (labeler.services.items.browse):
an annotator lists only items they labeled, with their own label and nothing of anyone
else's.
"""

from __future__ import annotations

from typing import Any

from flask import g, request

from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project, int_arg, json_body
from labeler.api.item_schemas import (
    BrowsePage,
    BulkIn,
    BulkResult,
    CommentIn,
    Comments,
    ItemRecord,
    OpenComments,
    Similar,
)
from labeler.api.schemas import integer, one_of
from labeler.api.serialize import item_payload
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import Item, ItemComment, Job, Project
from labeler.services import ServiceError
from labeler.services.items import browse, bulk, comments, record, similar
from labeler.services.items.preview import preview
from labeler.services.learning import model_reports as reports

BROWSE_PARAMS = (
    ("q", "string", "words that must all appear in the item's fields"),
    ("split", one_of("train", "test"), ""),
    ("status", one_of(*browse.STATUSES), "reviewers and admins"),
    ("final_label", "string", "reviewers and admins"),
    ("annotator", "string", "a username; reviewers and admins"),
    ("min_confidence", "number", "consensus confidence, 0..1; reviewers and admins"),
    ("max_confidence", "number", "consensus confidence, 0..1; reviewers and admins"),
    ("predicted_label", "string", "the model's label; reviewers and admins"),
    ("min_prediction", "number", "the model's confidence, 0..1; reviewers and admins"),
    ("max_prediction", "number", "the model's confidence, 0..1; reviewers and admins"),
    ("labeled_since", "string", "ISO date: labeled at or after"),
    ("labeled_until", "string", "ISO date: labeled before"),
    ("sort", one_of(*browse.SORTS), "id (default), newest, least_sure, model_least_sure"),
    ("after", "string", "next_after of the previous page"),
    ("limit", integer(1, browse.MAX_PAGE_SIZE), "page size"),
)


def status_of(item: Item) -> list[str]:
    return [name for name in browse.STATUS_FLAGS if browse.STATUS_FLAGS[name](item)]


def row_payload(project: Project, row: browse.Row, role: str) -> dict[str, Any]:
    item = row.item
    payload: dict[str, Any] = {
        "id": item.id,
        "external_id": item.external_id,
        "split": item.split,
        "preview": preview(project, item),
        "image_url": item_payload(project, item)["image_url"],
        "my_label": row.my_label,
    }
    if role != "annotator":
        payload.update(
            n_annotations=item.n_annotations,
            status=status_of(item),
            final_label=item.final_label,
            consensus_label=item.consensus_label,
            consensus_confidence=item.consensus_confidence,
            predicted_label=item.predicted_label,
            predicted_confidence=item.predicted_confidence,
        )
    return payload


def comment_payload(comment: ItemComment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "author": comment.user.username,
        "kind": comment.kind,
        "body": comment.body,
        "open": comment.is_open,
        "created_at": comment.created_at.isoformat(),
    }


@bp.get("/projects/<int:project_id>/items/browse")
@documented(schema=BrowsePage, errors=(401, 403, 404, 422), params=BROWSE_PARAMS)
def browse_items(project_id: int):
    """Search, filter and sort a project's items, one keyset page at a time
    (annotators: only the items they labeled, and only their own label)."""
    project, role = api_project(project_id)
    filters = browse.parse_filters(request.args)
    limit = int_arg("limit", browse.PAGE_SIZE, 1, browse.MAX_PAGE_SIZE)
    page = browse.browse(project, g.api_user, role, filters, request.args.get("after"), limit)
    return {
        "items": [row_payload(project, row, role) for row in page.rows],
        "next_after": page.next_cursor,
    }


def _item(project: Project, item_id: int, role: str) -> Item:
    return record.open_item(project.id, db.session.get(Item, item_id), g.api_user, role)


@bp.get("/projects/<int:project_id>/items/<int:item_id>/record")
@documented(schema=ItemRecord)
def item_record(project_id: int, item_id: int):
    """An item's content, its labels with their history, consensus, decisions and comments."""
    project, role = api_project(project_id)
    item = _item(project, item_id, role)
    history = record.label_history(item, g.api_user, role)
    staff = role != "annotator"
    return {
        "id": item.id,
        "external_id": item.external_id,
        "split": item.split,
        "fields": item_payload(project, item)["fields"],
        "labels": [
            {
                "annotator": entry.annotator,
                "label": entry.label,
                "created_at": entry.created_at.isoformat(),
                "updated_at": entry.updated_at.isoformat(),
                "guideline_version": entry.guideline_version,
                "seconds": entry.seconds,
                "revisions": [
                    {
                        "label": revision.label,
                        "labeled_at": revision.labeled_at.isoformat(),
                        "replaced_at": revision.replaced_at.isoformat(),
                    }
                    for revision in entry.revisions
                ],
            }
            for entry in history
        ],
        "consensus": {
            "label": item.consensus_label,
            "confidence": item.consensus_confidence,
            "final_label": item.final_label,
            "final_source": item.final_source,
            "disputed": item.disputed,
            "ambiguous": item.ambiguous,
        }
        if staff
        else None,
        "decisions": [
            {
                "action": decision.action,
                "label": decision.label,
                "note": decision.note,
                "reviewer": decision.reviewer.username,
                "created_at": decision.created_at.isoformat(),
            }
            for decision in (record.decisions(item) if staff else [])
        ],
        "comments": [comment_payload(c) for c in comments.visible(item, g.api_user, role)],
    }


@bp.get("/projects/<int:project_id>/items/<int:item_id>/comments")
@documented(schema=Comments)
def list_comments(project_id: int, item_id: int):
    """The comments on an item the caller may read, oldest first."""
    project, role = api_project(project_id)
    item = _item(project, item_id, role)
    return {"comments": [comment_payload(c) for c in comments.visible(item, g.api_user, role)]}


@bp.post("/projects/<int:project_id>/items/<int:item_id>/comments")
@documented(201, Comments, body=CommentIn, errors=(400, 401, 403, 404, 422))
def add_comment(project_id: int, item_id: int):
    """Ask (``question``), flag (``flag``, optionally ``send_to_review``), or, as a reviewer
    or admin, answer (``answer``: closes the open questions) or note (``note``)."""
    api_project(project_id)
    body = json_body()
    send = body.get("send_to_review", False)
    if not isinstance(send, bool):
        raise ServiceError("send_to_review must be true or false", {"field": "send_to_review"})
    for name in ("kind", "body"):
        if not isinstance(body.get(name), str):
            raise ServiceError(f"{name} must be a string", {"field": name})
    begin_write()
    project, role = api_project(project_id)
    item = _item(project, item_id, role)
    comments.add(project, item, g.api_user, role, body["kind"], body["body"], send)
    shown = [comment_payload(c) for c in comments.visible(item, g.api_user, role)]
    db.session.commit()
    return {"comments": shown}, 201


@bp.get("/projects/<int:project_id>/comments/open")
@documented(
    schema=OpenComments,
    errors=(401, 403, 404, 422),
    params=(("limit", integer(1, 200), "how many"),),
)
def open_comments(project_id: int):
    """Questions and flags no reviewer has answered yet, oldest first."""
    project, _ = api_project(project_id, "reviewer")
    limit = int_arg("limit", 50, 1, 200)
    return {
        "comments": [
            {**comment_payload(c), "item": item.id, "external_id": item.external_id}
            for c, item in comments.open_questions(project, limit)
        ],
        "total": comments.count_open(project),
    }


@bp.post("/projects/<int:project_id>/items/bulk")
@documented(schema=BulkResult, body=BulkIn, errors=(400, 401, 403, 404, 422))
def bulk_items(project_id: int):
    """Apply one action to up to 500 items: send_to_review, request_label (reviewers),
    mark_gold (its final label becomes the answer) or unmark_gold (admins)."""
    api_project(project_id, "reviewer")
    body = json_body()
    ids = body.get("items")
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise ServiceError("items must be a list of item ids", {"field": "items"})
    if not isinstance(body.get("action"), str):
        raise ServiceError("action must be a string", {"field": "action"})
    begin_write()
    project, role = api_project(project_id, "reviewer")
    items = bulk.selection(project, [str(i) for i in ids])
    message = bulk.apply(project, g.api_user, role, body["action"], items)
    db.session.commit()
    return {"message": message, "items": [item.id for item in items]}


def neighbour_payload(project: Project, neighbour: similar.Neighbour) -> dict[str, Any]:
    item = neighbour.item
    return {
        "id": item.id,
        "external_id": item.external_id,
        "preview": preview(project, item),
        "similarity": round(neighbour.similarity, 4),
        "final_label": item.final_label,
    }


@bp.get("/projects/<int:project_id>/items/similar")
@documented(
    schema=Similar,
    errors=(401, 403, 404, 409, 422),
    params=(
        ("item", integer(1, 2**62), "an item id: the items nearest to it"),
        ("q", "string", "or a text: the items nearest to it"),
        ("k", integer(1, 100), "how many (default 10)"),
    ),
)
def similar_items(project_id: int):
    """The items most like one item or a typed text, by the project's own features
    (reviewers and admins; 409 until the items index job has run)."""
    project, _ = api_project(project_id, "reviewer")
    k = int_arg("k", 10, 1, 100)
    if request.args.get("item"):
        item_id = int_arg("item", 0, 1, 2**62)
        item = _item(project, item_id, "reviewer")
        found = similar.similar_to_item(project, item, k)
    else:
        found = similar.similar_to_text(project, request.args.get("q", ""), k)
    return {"items": [neighbour_payload(project, n) for n in found]}


@bp.post("/projects/<int:project_id>/items/index")
@documented(202, errors=(401, 403, 404, 409), free_json=True)
def build_items_index(project_id: int):
    """Queue the items index job: the champion's opinion on every item (the browser's
    model filters) and the similar-items index. 202 with the job to poll."""
    project, _ = api_project(project_id, "reviewer")
    job = similar.start(project, g.api_user.id)
    return reports.job_payload(db.session.get(Job, job.id)), 202
