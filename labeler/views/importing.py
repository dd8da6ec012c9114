"""Importing from the browser: upload a file, map its columns, import it as a job.

The import runs as a job (labeler.services.data.import_job), so a million-row file
neither holds a request open nor leaves the user without progress; it still
lands whole or not at all."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from labeler import jobs
from labeler.auth import admin_required
from labeler.extensions import db
from labeler.jobs import progress as job_progress
from labeler.models import Job
from labeler.services.data import import_job, span_conll
from labeler.services.data.import_spec import ColumnMapping, ImportFailed, format_of
from labeler.services.data.readers import preview
from labeler.views.common import load_project

bp = Blueprint("importing", __name__)

ROLES_OF_COLUMNS = (
    "ignore",
    "id",
    "text",
    "image",
    "numeric",
    "categorical",
    "meta",
    "label",
    "annotator",
    "gold",
    "suggestion",
)


def _upload_path(token: str) -> Path:
    try:
        return import_job.upload_path(token)
    except ImportFailed:
        abort(404)


@bp.route("/projects/<int:project_id>/import", methods=["GET", "POST"])
@admin_required
def upload(project_id: int):
    project = load_project(project_id, "admin")
    if request.method == "POST":
        file = request.files.get("file")
        if file is None or not file.filename:
            flash("Choose a CSV or JSONL file.", "error")
            return redirect(request.url)
        fmt = format_of(file.filename)
        if fmt == "conll":  # refused before the upload is kept
            try:
                span_conll.check_kind(project)
            except ImportFailed as error:
                flash(f"{file.filename}: {error.message}.", "error")
                return redirect(request.url)
        import_job.forget_stale_uploads()
        token = secrets.token_hex(16)
        file.save(_upload_path(token))
        session["upload"] = {
            "token": token,
            "name": file.filename,
            "format": fmt,
            "project": project.id,
        }
        return redirect(url_for("importing.mapping", project_id=project.id))
    return render_template("importing/upload.html", project=project)


@bp.route("/projects/<int:project_id>/import/mapping", methods=["GET", "POST"])
@admin_required
def mapping(project_id: int):
    project = load_project(project_id, "admin")
    upload_info = session.get("upload")
    if not upload_info or upload_info.get("project") != project.id:
        flash("Upload a file first.", "error")
        return redirect(url_for("importing.upload", project_id=project.id))
    if upload_info["format"] == "conll":  # the file's columns are its own: no mapping
        return _conll(project, upload_info)
    path = _upload_path(upload_info["token"])
    try:
        with path.open("rb") as stream:
            columns, sample = preview(stream, upload_info["format"])
    except (ImportFailed, OSError) as exc:
        flash(f"{upload_info['name']}: {getattr(exc, 'message', exc)}", "error")
        return redirect(url_for("importing.upload", project_id=project.id))
    if request.method == "POST":
        return _start_import(project, upload_info, columns)
    return render_template(
        "importing/mapping.html",
        project=project,
        columns=columns,
        sample=sample,
        roles=ROLES_OF_COLUMNS,
        upload=upload_info,
        guess=_guess_roles(columns),
    )


def _conll(project, upload_info: dict):
    """A CoNLL file names its annotators on its ``# columns`` line (as labeler's export
    writes it); the form asks only who answered in a file without that line."""
    if request.method == "POST":
        annotator = request.form.get("annotator", "").strip() or current_user.username
        mapping = ColumnMapping(
            default_annotator=annotator,
            add_annotators=request.form.get("add_annotators") == "on",
        )
        return _start_job(project, upload_info, mapping)
    return render_template(
        "importing/conll.html", project=project, upload=upload_info, me=current_user.username
    )


def _guess_roles(columns: list[str]) -> dict[str, str]:
    guess = {}
    for column in columns:
        low = column.lower()
        guess[column] = (
            "id"
            if low in ("id", "external_id", "uid")
            else "text"
            if low in ("text", "body", "content", "sentence")
            else "label"
            if low in ("label", "class", "category")
            else "annotator"
            if low in ("annotator", "rater", "user")
            else "suggestion"
            if low in ("suggestion", "prediction", "pre_annotation")
            else "ignore"
        )
    return guess


def _chosen_mapping(columns: list[str]) -> ColumnMapping:
    chosen: dict[str, list[str]] = {}
    for column in columns:
        role = request.form.get(f"role:{column}", "ignore")
        if role not in ROLES_OF_COLUMNS:
            abort(400)
        chosen.setdefault(role, []).append(column)
    for single in ("id", "image", "label", "annotator", "gold", "suggestion"):
        if len(chosen.get(single, [])) > 1:
            raise ImportFailed(f"choose at most one {single} column")
    mapping = ColumnMapping(
        id=(chosen.get("id") or [None])[0],
        text=tuple(chosen.get("text", [])),
        image=(chosen.get("image") or [None])[0],
        numeric=tuple(chosen.get("numeric", [])),
        categorical=tuple(chosen.get("categorical", [])),
        meta=tuple(chosen.get("meta", [])),
        label=(chosen.get("label") or [None])[0],
        annotator=(chosen.get("annotator") or [None])[0],
        gold=(chosen.get("gold") or [None])[0],
        suggestion=(chosen.get("suggestion") or [None])[0],
        duplicates=request.form.get("duplicates", "keep"),
        add_annotators=request.form.get("add_annotators") == "on",
    )
    mapping.check()
    return mapping


def _start_import(project, upload_info: dict, columns: list[str]):
    """Start the import job; a mapping mistake sends the user back, the file kept."""
    try:
        mapping = _chosen_mapping(columns)
    except ImportFailed as exc:
        flash(f"Nothing was imported. {upload_info['name']}: {exc.message}", "error")
        return redirect(url_for("importing.mapping", project_id=project.id))
    return _start_job(project, upload_info, mapping)


def _start_job(project, upload_info: dict, mapping: ColumnMapping):
    params = import_job.job_params(
        upload_info["token"], upload_info["name"], upload_info["format"], mapping
    )
    job = jobs.start(import_job.KIND, project.id, params, current_user.id)
    page = url_for("importing.job", project_id=project.id, import_job_id=job.id)
    if job.params.get("token") != upload_info["token"]:  # one import per project at a time
        flash(
            f"Another import into this project is running; {upload_info['name']} waits. "
            "Map it again once this one has ended.",
            "error",
        )
        return redirect(page)
    session.pop("upload", None)  # the job owns the file now, and deletes it
    return redirect(page)


@bp.route("/projects/<int:project_id>/import/jobs/<int:import_job_id>")
@admin_required
def job(project_id: int, import_job_id: int):
    """The import's progress while it runs (static/models.js polls the job), then its outcome."""
    project = load_project(project_id, "admin")
    import_run = db.session.get(Job, import_job_id)
    if (
        import_run is None
        or import_run.project_id != project.id
        or import_run.kind != import_job.KIND
    ):
        abort(404)
    progress, message = job_progress.current(import_run)
    return render_template(
        "importing/job.html",
        project=project,
        job=import_run,
        progress=progress,
        message=message,
        error=import_job.error_message(import_run),
    )
