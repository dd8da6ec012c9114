"""Importing from the browser: upload a file, map its columns, import in one go."""

from __future__ import annotations

import secrets
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from labeler.auth import admin_required
from labeler.extensions import db
from labeler.services import ServiceError
from labeler.services.imports import ColumnMapping, ImportFailed, import_file, preview
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
)


def _upload_path(token: str) -> Path:
    if not token.isalnum():
        abort(404)
    return Path(current_app.config["UPLOAD_FOLDER"]) / f"{token}.upload"


@bp.route("/projects/<int:project_id>/import", methods=["GET", "POST"])
@admin_required
def upload(project_id: int):
    project = load_project(project_id, "admin")
    if request.method == "POST":
        file = request.files.get("file")
        if file is None or not file.filename:
            flash("Choose a CSV or JSONL file.", "error")
            return redirect(request.url)
        fmt = "jsonl" if file.filename.lower().endswith((".jsonl", ".ndjson", ".json")) else "csv"
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
    path = _upload_path(upload_info["token"])
    try:
        with path.open("rb") as stream:
            columns, sample = preview(stream, upload_info["format"])
    except (ImportFailed, OSError) as exc:
        flash(f"{upload_info['name']}: {getattr(exc, 'message', exc)}", "error")
        return redirect(url_for("importing.upload", project_id=project.id))
    if request.method == "POST":
        return _run_import(project, path, upload_info, columns)
    return render_template(
        "importing/mapping.html",
        project=project,
        columns=columns,
        sample=sample,
        roles=ROLES_OF_COLUMNS,
        upload=upload_info,
        guess=_guess_roles(columns),
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
            else "ignore"
        )
    return guess


def _run_import(project, path: Path, upload_info: dict, columns: list[str]):
    chosen: dict[str, list[str]] = {}
    for column in columns:
        role = request.form.get(f"role:{column}", "ignore")
        if role not in ROLES_OF_COLUMNS:
            abort(400)
        chosen.setdefault(role, []).append(column)
    try:
        for single in ("id", "image", "label", "annotator", "gold"):
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
            duplicates=request.form.get("duplicates", "keep"),
        )
        with path.open("rb") as stream:
            report = import_file(
                project,
                stream,
                upload_info["format"],
                mapping,
                chunk_rows=current_app.config["IMPORT_CHUNK_ROWS"],
            )
    except ServiceError as exc:
        db.session.rollback()
        flash(f"Nothing was imported. {upload_info['name']}: {exc.message}", "error")
        return redirect(url_for("importing.mapping", project_id=project.id))
    db.session.commit()
    path.unlink(missing_ok=True)
    session.pop("upload", None)
    flash(
        f"Imported {upload_info['name']}: {report.added} added, {report.updated} updated, "
        f"{report.skipped} unchanged; {report.annotations_added} labels brought in; "
        f"{report.duplicates_found} duplicates found ({report.duplicates_skipped} skipped, "
        f"{report.duplicates_linked} linked); {report.gold_marked} gold items.",
        "info",
    )
    return redirect(url_for("projects.show", project_id=project.id))
