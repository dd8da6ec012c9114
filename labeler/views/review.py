"""The review queue: disputed items, one item's votes, and the reviewer's decision.

Reviewers and admins only: the page shows every annotator's label, and
annotators never see other people's labels.
"""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from labeler.api.serialize import item_payload
from labeler.auth import project_role
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.services import ServiceError
from labeler.services.items.preview import has_picture, preview
from labeler.services.labeling import queue as queue_service
from labeler.services.labeling import review
from labeler.services.labeling.labels import item_target
from labeler.services.learning.modeling import maybe_start_training
from labeler.services.projects import kinds
from labeler.views.common import load_project

bp = Blueprint("review", __name__)

DONE_MESSAGES = {
    "resolve": "Resolved as {label}.",
    "send_back": "Sent back for one more label.",
    "ambiguous": "Marked ambiguous.",
}


@bp.route("/projects/<int:project_id>/review")
@login_required
def queue(project_id: int):
    project = load_project(project_id, need="reviewer")
    after = request.args.get("after", 0, type=int)
    page = review.disputed_queue(project, after=max(after, 0))
    return render_template(
        "review/queue.html",
        project=project,
        page=page,
        after=after,
        role=project_role(current_user, project),
        previews={item.id: preview(project, item, 120) for item in page.items},
        thumbnails=_thumbnails(project, page.items),
    )


def _thumbnails(project, items) -> dict[int, str]:
    """Each item's picture URL, for a project whose items show one (else none)."""
    if not has_picture(project):
        return {}
    return {item.id: item_payload(project, item)["image_url"] for item in items}


@bp.route("/projects/<int:project_id>/review/<int:item_id>")
@login_required
def item(project_id: int, item_id: int):
    project = load_project(project_id, need="reviewer")
    try:
        found = queue_service.get_item(project, item_id)
    except ServiceError:
        abort(404)
    kind = kinds.kind_of(project)
    decisions = review.history(found)
    return render_template(
        "review/item.html",
        project=project,
        item=found,
        kind=kind,
        consensus=kinds.read_value(project, found.consensus_label, found.consensus_value),
        shown=item_payload(project, found),
        control=kind.review_control,
        consensus_shown=kinds.display(project, found.consensus_label, found.consensus_value),
        choices=kind.answer_choices(kinds.context(project)) or project.labels,
        votes=review.item_votes(project, found),
        history=decisions,
        history_shown={d.id: kinds.display(project, d.label, d.value) for d in decisions},
        final_shown=kinds.display(project, found.final_label, found.final_value),
        opinion=review.model_opinion(project, found),
        target=item_target(project, found),
        waiting=review.count_disputed(project),
        role=project_role(current_user, project),
    )


@bp.post("/projects/<int:project_id>/review/<int:item_id>/decide")
@login_required
def decide(project_id: int, item_id: int):
    load_project(project_id, need="reviewer")  # who may ask comes first
    begin_write()
    project = load_project(project_id, need="reviewer")
    answer = kinds.kind_of(project).review_answer(request.form.getlist("label"))
    action = request.form.get("action") or ("resolve" if answer else "")
    try:
        if request.form.get("value"):  # a kind's review control may send it as JSON
            answer = _json_value(request.form["value"])
        found = queue_service.get_item(project, item_id)
        decision = review.decide(
            project, found, current_user, action, answer, request.form.get("note", "")
        )
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("review.item", project_id=project_id, item_id=item_id))
    following = review.next_disputed(project, item_id)
    db.session.commit()
    maybe_start_training(project)  # an adjudication is a new final label
    shown = kinds.display(project, decision.label, decision.value)
    flash(DONE_MESSAGES[action].format(label=shown), "info")
    if following is None:
        flash("The review queue is empty.", "info")
        return redirect(url_for("review.queue", project_id=project_id))
    return redirect(url_for("review.item", project_id=project_id, item_id=following.id))


def _json_value(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ServiceError("the answer is not valid JSON", {"field": "value"}) from None
