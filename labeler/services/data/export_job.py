"""Large exports as a job: the file is written under the instance folder with progress."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app

from labeler import jobs
from labeler.extensions import db
from labeler.models import Job, Project
from labeler.services.data.document_export import document_chunks, is_document_format
from labeler.services.data.export import count_rows, export_rows, parse_filter
from labeler.services.data.export_formats import csv_chunks, jsonl_chunks, write_parquet
from labeler.services.projects import webhooks


def export_path(job: Job) -> Path:
    folder = Path(current_app.instance_path) / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"project-{job.project_id}-export-{job.id}.{job.params['format']}"


def write_export(
    project: Project, params: dict[str, Any], path: Path, progress: jobs.Progress | None = None
) -> int:
    """Write one export file; return its row count."""
    flt = parse_filter(params.get("filters", {}))
    view, fmt = params.get("view", "items"), params["format"]
    if is_document_format(project, fmt):  # the kind's own format: one document per item
        with path.open("w", encoding="utf-8", newline="") as handle:
            for chunk in document_chunks(
                project,
                view,
                fmt,
                flt,
                bool(params.get("pseudonymize")),
                current_app.config["SECRET_KEY"],
            ):
                handle.write(chunk)
        return count_rows(project, "items", flt)
    total = max(count_rows(project, view, flt), 1)
    rows, columns = export_rows(
        project, view, flt, bool(params.get("pseudonymize")), current_app.config["SECRET_KEY"]
    )
    done = 0

    def counted():
        nonlocal done
        for row in rows:
            done += 1
            if progress and done % 20_000 == 0:
                progress(done / total, f"{done:,} of {total:,} rows")
            yield row

    if fmt == "parquet":
        return write_parquet(counted(), columns, path)
    chunks = csv_chunks(counted(), columns) if fmt == "csv" else jsonl_chunks(counted())
    with path.open("w", encoding="utf-8", newline="") as handle:
        for chunk in chunks:
            handle.write(chunk)
    return done


@jobs.runner("export")
def run_export(job: Job, progress: jobs.Progress) -> dict[str, Any]:
    project = db.session.get(Project, job.project_id)
    path = export_path(job)
    rows = write_export(project, job.params, path, progress)
    result = {"rows": rows, "file": path.name, "bytes": path.stat().st_size}
    webhooks.emit(project, "export.finished", {"job_id": job.id, **job.params, **result})
    return result
