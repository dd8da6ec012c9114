"""Export pages: choose a view, format and filters; download now or as a job."""

from __future__ import annotations

import tempfile
from itertools import chain
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from labeler import jobs
from labeler.extensions import db
from labeler.models import Job, Project
from labeler.services import ServiceError
from labeler.services.data.dataset_card import card_markdown, dataset_card
from labeler.services.data.document_export import (
    check_format,
    document_chunks,
    formats_for,
    is_document_format,
    media_type,
)
from labeler.services.data.export import export_rows, flag, parse_filter
from labeler.services.data.export_formats import MEDIA_TYPES, csv_chunks, jsonl_chunks
from labeler.services.data.export_job import export_path, write_export
from labeler.services.projects.kinds import kind_of
from labeler.views.common import load_project

bp = Blueprint("export", __name__)


def stream_export(project: Project, args: dict, secret: str) -> Response:
    """A download response that streams CSV or JSONL; Parquet goes through a temp file."""
    view, fmt = args.get("view") or "items", args.get("format") or "csv"
    check_format(project, fmt)
    flt = parse_filter(args)
    pseudonymize = flag(args.get("pseudonymize"), "pseudonymize")
    name = f"{_slug(project.name)}-{view}.{fmt.replace('_', '.')}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if is_document_format(project, fmt):
        documents = document_chunks(project, view, fmt, flt, pseudonymize, secret)
        next_chunk = next(documents, "")  # a bad view is refused before the download starts
        return Response(
            stream_with_context(c.encode("utf-8") for c in chain([next_chunk], documents)),
            mimetype=media_type(project, fmt),
            headers=headers,
        )
    rows, columns = export_rows(project, view, flt, pseudonymize, secret)
    if fmt == "parquet":
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            write_export(
                project,
                {"view": view, "format": fmt, "filters": dict(args), "pseudonymize": pseudonymize},
                path,
            )
            data = path.read_bytes()
        return Response(data, mimetype=MEDIA_TYPES[fmt], headers=headers)
    chunks = csv_chunks(rows, columns) if fmt == "csv" else jsonl_chunks(rows)
    return Response(
        stream_with_context(c.encode("utf-8") for c in chunks),
        mimetype=MEDIA_TYPES[fmt],
        headers=headers,
    )


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "project"


@bp.route("/projects/<int:project_id>/export")
@login_required
def page(project_id: int):
    return _page(load_project(project_id, "reviewer"), {})


def _page(project: Project, values: dict, error: ServiceError | None = None):
    """The export page; after a bad filter, a 422 that names it and keeps what was chosen."""
    recent = db.session.scalars(
        select(Job)
        .where(Job.project_id == project.id, Job.kind == "export")
        .order_by(Job.id.desc())
        .limit(10)
    )
    html = render_template(
        "export/page.html",
        project=project,
        jobs=list(recent),
        formats=formats_for(project),
        ranks_systems=kind_of(project).ranks_systems,
        values=values,
        error=error,
    )
    return html, (error.status if error else 200)


@bp.route("/projects/<int:project_id>/export/download")
@login_required
def download(project_id: int):
    project = load_project(project_id, "reviewer")
    try:
        return stream_export(project, request.args.to_dict(), current_app.config["SECRET_KEY"])
    except ServiceError as exc:
        return _page(project, request.args.to_dict(), exc)


@bp.route("/projects/<int:project_id>/export/jobs", methods=["POST"])
@login_required
def start_job(project_id: int):
    project = load_project(project_id, "reviewer")
    form = request.form.to_dict()
    params = {
        "view": form.pop("view", "items"),
        "format": form.pop("format", "csv"),
        "pseudonymize": form.pop("pseudonymize", "") == "on",
    }
    form.pop("csrf_token", None)
    try:
        parse_filter(form)
        check_format(project, params["format"])
    except ServiceError as exc:
        return _page(project, request.form.to_dict(), exc)
    params["filters"] = form
    jobs.start("export", project.id, params, current_user.id, unique=False)
    flash("Export started; it appears below when ready.", "info")
    return redirect(url_for("export.page", project_id=project.id))


@bp.route("/projects/<int:project_id>/export/files/<int:job_id>")
@login_required
def file(project_id: int, job_id: int):
    project = load_project(project_id, "reviewer")
    job = db.session.get(Job, job_id)
    if job is None or job.project_id != project.id or job.kind != "export" or job.status != "done":
        abort(404)
    path = export_path(job)
    if not path.exists():
        abort(404)
    return send_file(path, as_attachment=True, download_name=path.name)


@bp.route("/projects/<int:project_id>/export/card.md")
@login_required
def card(project_id: int):
    project = load_project(project_id, "reviewer")
    return Response(
        card_markdown(dataset_card(project)),
        mimetype="text/markdown",
        headers={"Content-Disposition": f'attachment; filename="{_slug(project.name)}-card.md"'},
    )
