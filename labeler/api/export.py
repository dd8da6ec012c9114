"""API: export items or annotations, large exports as jobs, the dataset card."""

from __future__ import annotations

from flask import current_app, g, request, send_file

from labeler import jobs
from labeler.api.blueprint import bp, documented
from labeler.api.common import api_project
from labeler.api.schemas import JobOut, one_of
from labeler.extensions import db
from labeler.models import Job
from labeler.services import NotFound, ServiceError
from labeler.services.data.dataset_card import dataset_card
from labeler.services.data.document_export import check_format
from labeler.services.data.export import flag, parse_filter
from labeler.services.data.export_job import export_path
from labeler.services.learning.model_reports import job_payload
from labeler.views.export import stream_export

ISO_DATE = {"type": "string", "format": "date"}
FILTERS = (
    ("view", one_of("items", "annotations"), "one row per item or per annotation"),
    (
        "format",
        one_of("csv", "jsonl", "parquet", "spans_jsonl", "conll"),
        "spans_jsonl and conll: span projects only",
    ),
    ("final_only", "boolean", "only items with a final label"),
    ("split", one_of("train", "test"), ""),
    ("min_confidence", {"type": "number", "minimum": 0, "maximum": 1}, ""),
    # a date (a date and time is read too): a string that is neither is refused with 422
    ("since", ISO_DATE, "annotations updated on or after (ISO date)"),
    ("until", ISO_DATE, "annotations updated before (ISO date)"),
    ("adjudicated_only", "boolean", ""),
    ("include_ambiguous", "boolean", ""),
    ("pseudonymize", "boolean", "stable pseudonymous annotator ids"),
)


DOWNLOADS = (
    "text/csv",
    "application/x-ndjson",
    "application/vnd.apache.parquet",
    "text/plain",
    "application/octet-stream",
)


@bp.get("/projects/<int:project_id>/export")
@documented(errors=(401, 403, 404, 422), params=FILTERS, files=DOWNLOADS)
def export(project_id: int):
    """Download an export, streamed (reviewer or admin)."""
    project, _ = api_project(project_id, "reviewer")
    return stream_export(project, request.args.to_dict(), current_app.config["SECRET_KEY"])


@bp.post("/projects/<int:project_id>/export/jobs")
@documented(202, JobOut, errors=(401, 403, 404, 422), params=FILTERS)
def export_job(project_id: int):
    """Start a background export (same parameters, in the query string)."""
    project, _ = api_project(project_id, "reviewer")
    args = request.args.to_dict()
    params = {
        "view": args.pop("view", "") or "items",
        "format": args.pop("format", "") or "csv",
        "pseudonymize": flag(args.pop("pseudonymize", ""), "pseudonymize"),
    }
    check_format(project, params["format"])
    if params["view"] not in ("items", "annotations"):
        raise ServiceError("view must be items or annotations", {"field": "view"})
    parse_filter(args)
    params["filters"] = args
    job = jobs.start("export", project.id, params, g.api_user.id, unique=False)
    return job_payload(db.session.get(Job, job.id)), 202


@bp.get("/projects/<int:project_id>/export/jobs/<int:job_id>")
@documented(schema=JobOut, errors=(401, 403, 404))
def export_job_status(project_id: int, job_id: int):
    project, _ = api_project(project_id, "reviewer")
    return job_payload(_export_job(project.id, job_id))


@bp.get("/projects/<int:project_id>/export/jobs/<int:job_id>/file")
@documented(errors=(401, 403, 404), files=DOWNLOADS)
def export_job_file(project_id: int, job_id: int):
    """The file a finished export job wrote."""
    project, _ = api_project(project_id, "reviewer")
    job = _export_job(project.id, job_id)
    path = export_path(job)
    if job.status != "done" or not path.exists():
        raise NotFound(f"export {job_id} has no file (status {job.status})")
    return send_file(path, as_attachment=True, download_name=path.name)


def _export_job(project_id: int, job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.project_id != project_id or job.kind != "export":
        raise NotFound(f"export job {job_id} not found")
    return job


@bp.get("/projects/<int:project_id>/export/card")
@documented(errors=(401, 403, 404), free_json=True)
def card(project_id: int):
    """The dataset card: counts per label and split, agreement, annotators, model metrics."""
    project, _ = api_project(project_id, "reviewer")
    return dataset_card(project)
