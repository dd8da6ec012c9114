"""API: the review queue, a reviewer's decision, and the agreement figures (reviewer+)."""

from __future__ import annotations

from flask import g, request
from marshmallow import Schema, fields, validate

from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project, int_arg, json_body
from labeler.api.schemas import one_field_of, states
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import Adjudication, Item
from labeler.services import ServiceError
from labeler.services.labeling import agreement_report, review, span_errors
from labeler.services.labeling import queue as queue_service
from labeler.services.learning.modeling import maybe_start_training
from labeler.services.projects import kinds


def _item(item: Item, votes) -> dict:
    return {
        "id": item.id,
        "external_id": item.external_id,
        "data": item.data,
        "votes": dict(votes),
        "n_annotations": item.n_annotations,
        "consensus_label": item.consensus_label,
        "consensus_confidence": item.consensus_confidence,
    }


def _decision(decision: Adjudication) -> dict:
    return {
        "id": decision.id,
        "item": decision.item_id,
        "action": decision.action,
        "label": decision.label,
        "note": decision.note,
        "reviewer": decision.reviewer.username,
        "created_at": decision.created_at.isoformat(),
    }


@bp.get("/projects/<int:project_id>/review")
def review_queue(project_id: int):
    """Disputed items, oldest first: ``?after=<last id>&limit=50`` walks the queue."""
    project, _ = api_project(project_id, need="reviewer")
    page = review.disputed_queue(
        project, after=int_arg("after", 0, 0, 2**62), limit=int_arg("limit", 50, 1, 500)
    )
    return {
        "items": [_item(item, page.votes[item.id]) for item in page.items],
        "next_after": page.next_after,
        "total": page.total,
    }


@states(
    anyOf=[
        {"properties": {"action": {"enum": ["send_back", "ambiguous"]}}},
        *one_field_of("label", "value"),  # resolve names the answer
    ]
)
class ReviewIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(review.ACTIONS))
    label = fields.String(metadata={"description": "resolve: the final label"})
    value = fields.Raw(metadata={"description": "resolve: the answer in the project's task kind"})
    note = fields.String()


class ReviewDecision(Schema):
    id = fields.Integer()
    item = fields.Integer()
    action = fields.String(validate=validate.OneOf(review.ACTIONS))
    label = fields.String(allow_none=True)
    note = fields.String()
    reviewer = fields.String()
    created_at = fields.String()


class ReviewResult(Schema):
    decision = fields.Nested(ReviewDecision)
    final_label = fields.String(allow_none=True)
    final_value = fields.Raw(allow_none=True)
    final_source = fields.String(allow_none=True)
    disputed = fields.Boolean()
    ambiguous = fields.Boolean()
    extra_annotations = fields.Integer()


@bp.post("/projects/<int:project_id>/items/<int:item_id>/review")
@documented(status=201, schema=ReviewResult, body=ReviewIn, errors=(400, 401, 403, 404, 409, 422))
def review_item(project_id: int, item_id: int):
    """Decide: ``{"action": "resolve", "label": "spam", "note": "..."}`` (or ``"value"``:
    the answer in the project's task kind, e.g. a list of labels); or send_back,
    ambiguous (no label)."""
    api_project(project_id, need="reviewer")  # who may ask comes before what they ask
    body = json_body()
    for field in ("action", "label", "note"):
        if body.get(field) is not None and not isinstance(body[field], str):
            raise ServiceError(f"{field} must be a string", {"field": field})
    begin_write()
    project, _ = api_project(project_id, need="reviewer")
    item = queue_service.get_item(project, item_id)
    decision = review.decide(
        project,
        item,
        g.api_user,
        body.get("action") or "",
        body["value"] if "value" in body else body.get("label"),
        body.get("note") or "",
    )
    payload = {
        "decision": _decision(decision),
        "final_label": item.final_label,
        "final_value": kinds.read_value(project, item.final_label, item.final_value),
        "final_source": item.final_source,
        "disputed": item.disputed,
        "ambiguous": item.ambiguous,
        "extra_annotations": item.extra_annotations,
    }
    db.session.commit()
    maybe_start_training(project)  # an adjudication is a new final label
    return payload, 201


@bp.get("/projects/<int:project_id>/agreement")
def agreement_figures(project_id: int):
    """The agreement page's figures: computed now (small projects) or the latest job's."""
    project, _ = api_project(project_id, need="reviewer")
    report = agreement_report.page_report(project)
    job = report.job
    return {
        "figures": report.figures,
        "computed_by_job": None
        if job is None
        else {
            "id": job.id,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        },
        "current_annotations": report.current_annotations,
    }


@bp.get("/projects/<int:project_id>/annotation-errors")
def annotation_errors(project_id: int):
    """Annotators' errors against the final answers (``?reference=gold``: the gold
    ones), for kinds that offer it (spans: exact, label, boundary, boundary_label,
    spurious, missed; precision / recall / F1; the label confusion; example item ids).
    ``available`` is false for kinds that offer none."""
    project, _ = api_project(project_id, need="reviewer")
    reference = request.args.get("reference") or "final"
    report = span_errors.annotation_errors(project, reference)
    return (
        {"available": False, "reference": reference}
        if report is None
        else {
            "available": True,
            **report,
        }
    )
