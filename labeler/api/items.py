"""API: the annotation queue — next items, one item, submit, skip, progress."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, g, session
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project, int_arg, json_body, project_read_first
from labeler.api.item_schemas import SuggestionReport
from labeler.api.schemas import (
    AnnotationIn,
    AnnotationResult,
    Item,
    MyAnnotations,
    NextItems,
    Progress,
    SkipResult,
    integer,
)
from labeler.api.serialize import item_payload
from labeler.db_engine import begin_write, commit_keeping_loaded, reads_before_writing, writes
from labeler.extensions import db
from labeler.models import Annotation, Project, utcnow
from labeler.services import NotFound, ServiceError
from labeler.services.items import suggestions
from labeler.services.labeling import queue as queue_service
from labeler.services.labeling import queue_submit
from labeler.services.labeling.labels import retrain_due
from labeler.services.learning.modeling import maybe_start_training
from labeler.services.projects import kinds


def _progress(project: Project) -> dict:
    started = session.get("started_at")  # a browser session's start; tokens have none
    labeled = (
        queue_service.labeled_since(project, g.api_user, datetime.fromisoformat(started))
        if started
        else 0  # labeled since now: nothing yet
    )
    return {
        "session_labeled": labeled,
        "coverage": round(project.coverage, 4),
        "filled_slots": project.filled_slots,
        "goal": project.n_queued * project.annotations_per_item,
    }


@bp.get("/projects/<int:project_id>/next")
@documented(
    schema=NextItems,
    errors=(401, 404, 422),
    params=(("n", integer(1, 5), "how many items to lease"),),
)
@writes  # leases: the request's transaction begins as a write
@project_read_first  # it writes leases only
def next_items(project_id: int):
    """Lease up to ``n`` items (default 1, at most 5) for the caller; held items come first."""
    n = int_arg("n", 1, 1, 5)
    project, _ = api_project(project_id)  # read before the turn (project_read_first)
    begin_write()
    leased = queue_service.lease_next(project, g.api_user, n, current_app.config["LEASE_SECONDS"])
    # The leases are stored: the write turn ends before the items are loaded and the
    # answer is built (a spans model's suggestions take milliseconds a text, and every
    # other writer would wait).
    commit_keeping_loaded()
    with reads_before_writing():  # reads, if any, outside the write turn
        progress = _progress(project)
    shown = _leased_payload(project, leased)
    db.session.expire_all()  # as a commit would have: nothing stale outlives the request
    return {"items": shown, "progress": progress}


def _leased_payload(project: Project, item_ids: list[int]) -> list[dict]:
    """The items a request leased, as the form shows them (with the model's suggestion),
    loaded and built after the leases are committed: outside the write turn."""
    with reads_before_writing():  # reads, if any, outside the write turn
        items = queue_service.load_items(item_ids)
        shown = [item_payload(project, item, viewer_id=g.api_user.id) for item in items]
        suggested = suggestions.for_items(project, items)
    for payload, item in zip(shown, items, strict=True):
        payload["suggestion"] = suggested[item.id].payload() if item.id in suggested else None
    return shown


def _next_arg(body: dict) -> int:
    """``next`` of a submit's body: how many items to lease after recording the label."""
    wanted = body.get("next", 0)
    if isinstance(wanted, bool) or not isinstance(wanted, int) or not 0 <= wanted <= 5:
        raise ServiceError("next must be a whole number between 0 and 5", {"field": "next"})
    return wanted


@bp.get("/projects/<int:project_id>/items/<int:item_id>")
@documented(schema=Item)
def get_item(project_id: int, item_id: int):
    """One item with the caller's own label. Annotators see only items they hold or labeled."""
    project, role = api_project(project_id)
    item = queue_service.get_item(project, item_id)
    mine = queue_service.my_annotation(item, g.api_user)
    if (
        role == "annotator"
        and mine is None
        and not queue_service.holds_live_lease(item, g.api_user, utcnow())
    ):
        raise NotFound(f"item {item_id} not found in your work")
    if mine is None:
        return item_payload(project, item, viewer_id=g.api_user.id)
    return item_payload(project, item, mine.label, mine.value, viewer_id=g.api_user.id)


@bp.post("/projects/<int:project_id>/items/<int:item_id>/annotation")
@documented(201, AnnotationResult, body=AnnotationIn, errors=(400, 401, 404, 409, 422))
@project_read_first  # the project's counters move in the database (queue_submit, labels)
def annotate(project_id: int, item_id: int):
    """Label an item: ``{"label": "spam", "seconds": 4.2}``, or ``{"value": ...}`` in the
    project's task kind (``["spam", "urgent"]`` for multi_label, ``4`` for rating).
    ``suggestion`` is the suggestion the form showed pre-selected (as ``next`` gave
    it), so the label records whether it was accepted. Safe to retry.

    ``"next": n`` (1-5) also leases the caller's next ``n`` items, as ``GET .../next?n=``
    would, in the same write: the answer's ``next`` holds them, so the form labels with
    one request per item instead of two."""
    api_project(project_id)  # who may ask comes before what they ask (read before the turn)
    body = json_body()
    answer = body["value"] if "value" in body else body.get("label")
    seconds = body.get("seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)):
        raise ServiceError("seconds must be a number", {"field": "seconds"})
    wanted = _next_arg(body)
    for attempt in range(2):
        begin_write()
        project, _ = api_project(project_id)
        now = utcnow()
        item, votes = queue_submit.read_for_submit(project, item_id, g.api_user, now)
        suggestion = suggestions.shown(project, item, body.get("suggestion"))
        try:
            result = queue_service.submit(
                project,
                item=item,
                user=g.api_user,
                label=answer,
                seconds=seconds,
                now=now,
                require_lease=True,
                votes=votes,
            )
            mine = result.annotation
            suggestions.record(mine, suggestion, result.outcome == "created")
            payload = {
                "outcome": result.outcome,
                "label": mine.label,
                "value": kinds.read_value(project, mine.label, mine.value),
                "item": item.id,
                "progress": _progress(project),
            }
            due = retrain_due(project)  # read before the commit expires the project
            if wanted:
                lease_seconds = current_app.config["LEASE_SECONDS"]
                leased = queue_service.lease_next(project, g.api_user, wanted, lease_seconds)
                commit_keeping_loaded()  # the leased items answer below, as GET /next's do
                payload["next"] = {
                    "items": _leased_payload(project, leased),
                    "progress": payload["progress"],
                }
                db.session.expire_all()  # as the commit would have
            else:
                db.session.commit()
            if due:
                maybe_start_training(project)  # after the commit: a job starts only from it
        except IntegrityError:  # a concurrent retry won the race; read its result
            db.session.rollback()
            if attempt:
                raise
            continue
        return payload, 201 if result.outcome == "created" else 200
    raise AssertionError("unreachable")


@bp.post("/projects/<int:project_id>/items/<int:item_id>/skip")
@documented(schema=SkipResult, errors=(400, 401, 404))
def skip(project_id: int, item_id: int):
    """Give an item back; you will not be asked for it again."""
    begin_write()
    project, _ = api_project(project_id)
    item = queue_service.get_item(project, item_id)
    queue_service.skip(project, g.api_user, item)
    db.session.commit()
    return {"outcome": "skipped", "item": item.id}


@bp.get("/projects/<int:project_id>/progress")
@documented(schema=Progress)
def progress(project_id: int):
    """Your labels this session and the project's coverage toward k."""
    project, _ = api_project(project_id)
    return _progress(project)


@bp.get("/projects/<int:project_id>/my-annotations")
@documented(
    schema=MyAnnotations, errors=(401, 404, 422), params=(("limit", integer(1, 200), "how many"),)
)
def my_annotations(project_id: int):
    """The caller's own most recent labels (for the form's back button)."""
    project, _ = api_project(project_id)
    limit = int_arg("limit", 20, 1, 200)
    rows = db.session.scalars(
        select(Annotation)
        .where(Annotation.project_id == project.id, Annotation.user_id == g.api_user.id)
        .order_by(Annotation.updated_at.desc(), Annotation.id.desc())
        .limit(limit)
    )
    return {
        "annotations": [
            {"item": a.item_id, "label": a.label, "updated_at": a.updated_at.isoformat()}
            for a in rows
        ]
    }


@bp.get("/projects/<int:project_id>/suggestions")
@documented(schema=SuggestionReport, errors=(401, 403, 404))
def suggestion_report(project_id: int):
    """Labels given with a suggestion against those without: how often it was taken, the
    seconds per label and agreement with the final label (reviewers and admins)."""
    project, _ = api_project(project_id, "reviewer")
    return suggestions.report(project)
