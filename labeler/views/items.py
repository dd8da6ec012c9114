"""The item browser, one item's page, bulk actions on a selection, and comments.

Every member may open the browser; what it lists and what an item's page shows follow
the blind-labeling rules (labeler.services.items): an annotator sees only the items
they labeled and only their own labels.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from labeler.api.browse import row_payload
from labeler.api.serialize import item_payload
from labeler.auth import project_role
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import Item
from labeler.services import ServiceError
from labeler.services.data.export import ExportFilter, item_columns, item_rows
from labeler.services.data.export_formats import csv_chunks
from labeler.services.items import browse as browsing
from labeler.services.items import bulk, comments, record, similar, suggestions
from labeler.services.items.preview import preview
from labeler.services.labeling import review
from labeler.views.common import load_project
from labeler.web.redirects import safe_target

bp = Blueprint("items", __name__)


@bp.route("/projects/<int:project_id>/items")
@login_required
def browse(project_id: int):
    project = load_project(project_id)
    role = project_role(current_user, project)
    jump = (request.args.get("jump") or "").strip()
    if jump:
        found = browsing.find(project, jump)
        if found is not None and record.may_open(found, current_user, role):
            return redirect(url_for("items.show", project_id=project.id, item_id=found.id))
        flash(f"No item {jump!r} among the items you may open.", "error")
    values = browsing.form_values(request.args)
    error, rows, next_after = None, [], None
    try:
        filters = browsing.parse_filters(request.args)
        page = browsing.browse(project, current_user, role, filters, request.args.get("after"))
        rows = [row_payload(project, row, role) for row in page.rows]
        next_after = page.next_cursor
    except ServiceError as exc:
        error = exc
    html = render_template(
        "items/browse.html",
        project=project,
        role=role,
        rows=rows,
        next_after=next_after,
        values=values,
        error=error,
        statuses=browsing.STATUSES,
        sorts=browsing.SORTS,
        actions=bulk.ACTIONS,
    )
    return html, (error.status if error else 200)


@bp.route("/projects/<int:project_id>/items/<int:item_id>")
@login_required
def show(project_id: int, item_id: int):
    project = load_project(project_id)
    role = project_role(current_user, project)
    try:
        item = record.open_item(project.id, db.session.get(Item, item_id), current_user, role)
    except ServiceError:
        return render_template("error.html", code=404, title="Not found"), 404
    staff = role != "annotator"
    return render_template(
        "items/show.html",
        project=project,
        role=role,
        item=item,
        shown=item_payload(project, item),
        history=record.label_history(item, current_user, role),
        decisions=record.decisions(item) if staff else [],
        opinion=review.model_opinion(project, item) if staff else None,
        comments=comments.visible(item, current_user, role),
    )


@bp.post("/projects/<int:project_id>/items/bulk")
@login_required
def bulk_action(project_id: int):
    load_project(project_id, need="reviewer")  # who may ask comes first
    action = request.form.get("action", "")
    back = safe_target(request.form.get("back"), url_for("items.browse", project_id=project_id))
    if action == "export":
        return _export(project_id, back)
    begin_write()
    project = load_project(project_id, need="reviewer")
    role = project_role(current_user, project)
    try:
        items = bulk.selection(project, request.form.getlist("items"))
        message = bulk.apply(project, current_user, role, action, items)
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(back)
    db.session.commit()
    flash(message, "info")
    return redirect(back)


def _export(project_id: int, back: str):
    """The selected items as CSV, in the columns of the items export (comments included)."""
    project = load_project(project_id, need="reviewer")
    try:
        items = bulk.selection(project, request.form.getlist("items"))
    except ServiceError as exc:
        flash(exc.message, "error")
        return redirect(back)
    selected = ExportFilter(item_ids=tuple(item.id for item in items))
    body = "".join(csv_chunks(item_rows(project, selected), item_columns(project)))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{project.name}-selection.csv"'},
    )


@bp.post("/projects/<int:project_id>/items/<int:item_id>/comments")
@login_required
def comment(project_id: int, item_id: int):
    load_project(project_id)
    begin_write()
    project = load_project(project_id)
    role = project_role(current_user, project)
    try:
        item = record.open_item(project.id, db.session.get(Item, item_id), current_user, role)
    except ServiceError:
        return render_template("error.html", code=404, title="Not found"), 404
    try:
        comments.add(
            project,
            item,
            current_user,
            role,
            request.form.get("kind", ""),
            request.form.get("body", ""),
            send_to_review=request.form.get("send_to_review") == "on",
        )
    except ServiceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("items.show", project_id=project_id, item_id=item_id))
    db.session.commit()
    flash("Comment saved.", "info")
    return redirect(url_for("items.show", project_id=project_id, item_id=item_id) + "#comments")


@bp.post("/projects/<int:project_id>/items/index")
@login_required
def build_index(project_id: int):
    project = load_project(project_id, need="reviewer")
    try:
        job = similar.start(project, current_user.id)
    except ServiceError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Items index job #{job.id} started: the model's opinions and similar items.", "info")
    return redirect(url_for("items.similar_page", project_id=project_id))


@bp.route("/projects/<int:project_id>/items/similar")
@login_required
def similar_page(project_id: int):
    """Items like one item (``?item=``) or a typed text (``?q=``); reviewers and admins,
    since an annotator may not open items they have not labeled."""
    project = load_project(project_id, need="reviewer")
    query, item_arg = request.args.get("q", ""), request.args.get("item", "")
    neighbours, asked, error = [], None, None
    try:
        if item_arg:
            asked = browsing.find(project, item_arg)
            if asked is None:
                raise ServiceError(f"no item {item_arg!r} in this project", {"field": "item"})
            neighbours = similar.similar_to_item(project, asked, 20)
        elif query:
            neighbours = similar.similar_to_text(project, query, 20)
    except ServiceError as exc:
        error = exc
    html = render_template(
        "items/similar.html",
        project=project,
        role=project_role(current_user, project),
        query=query,
        asked=asked,
        neighbours=[(n, preview(project, n.item)) for n in neighbours],
        index=similar.load_index(project),
        error=error,
    )
    return html, (error.status if error and error.status != 409 else 200)


SUGGESTION_MODES = (
    ("off", "no suggestions"),
    ("model", "the serving model's prediction"),
    ("imported", "the import's suggestion column"),
    ("any", "the imported suggestion, else the model's"),
)


@bp.route("/projects/<int:project_id>/items/suggestions", methods=["GET", "POST"])
@login_required
def suggestions_page(project_id: int):
    """Whether the form pre-selects a suggestion (admins switch it), and what labels
    given with one look like against labels given without (reviewers and admins)."""
    project = load_project(project_id, need="reviewer")
    error = None
    if request.method == "POST":
        project = load_project(project_id, need="admin")
        try:
            changed = suggestions.set_mode(project, request.form.get("suggestions"))
        except ServiceError as exc:
            db.session.rollback()
            error = exc
        else:
            db.session.commit()
            flash("Suggestions saved." if changed else "Nothing changed.", "info")
            return redirect(url_for("items.suggestions_page", project_id=project_id))
    html = render_template(
        "items/suggestions.html",
        project=project,
        role=project_role(current_user, project),
        modes=SUGGESTION_MODES,
        report=suggestions.report(project),
        error=error,
    )
    return html, (error.status if error else 200)
