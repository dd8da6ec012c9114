"""The browser import as a job (``import``): an uploaded file lands whole, with progress.

The upload page saves the file as ``<UPLOAD_FOLDER>/<token>.upload`` under a random
hex token of the server's choosing. The job's params carry that token, never a
path, with the column mapping and the file's format. The runner streams the file
through :func:`labeler.services.data.imports.import_file` in one transaction that
:func:`labeler.jobs.run` commits only when every line has passed, so a bad line
anywhere leaves the project as it was; its progress therefore never commits (see
:mod:`labeler.jobs.progress`). The upload is deleted when the job ends, however it
ends.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from flask import current_app

from labeler import jobs
from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import Job, Project
from labeler.services.data.import_spec import ColumnMapping, ImportFailed
from labeler.services.data.imports import import_file

KIND = "import"
READ_SHARE = 0.9  # of the progress bar: reading and writing rows; the rest is saving


def upload_path(token: str) -> Path:
    """The file an upload token names, always inside the upload folder."""
    if not re.fullmatch(r"[0-9a-f]{16,64}", token or ""):
        raise ImportFailed("the uploaded file is gone; upload it again")
    return Path(current_app.config["UPLOAD_FOLDER"]) / f"{token}.upload"


STALE_UPLOAD_HOURS = 48  # an upload nobody mapped or imported by then is forgotten


def forget_stale_uploads(now: float | None = None) -> int:
    """Delete uploads older than STALE_UPLOAD_HOURS (a mapping page left open, a second
    import never retried); return how many. An import job deletes its own file."""
    cutoff = (now if now is not None else time.time()) - STALE_UPLOAD_HOURS * 3600
    removed = 0
    for path in Path(current_app.config["UPLOAD_FOLDER"]).glob("*.upload"):
        with contextlib.suppress(OSError):  # another process may have removed it
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
    return removed


def job_params(token: str, name: str, fmt: str, mapping: ColumnMapping) -> dict[str, Any]:
    """What an import job needs: the upload's token, its file name (to show) and format."""
    return {"token": token, "name": name, "format": fmt, "mapping": asdict(mapping)}


def count_rows(path: Path, fmt: str) -> int:
    """About how many rows ``path`` holds: its lines, less a CSV's header.

    A quoted CSV value that spans lines counts once per line; blank lines count too.
    Counting newlines in 1 MiB blocks reads a 100 MB file in well under a second.
    """
    lines, last = 0, b"\n"
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            lines, last = lines + block.count(b"\n"), block[-1:]
    lines += last != b"\n"  # a last line without its newline
    return max(lines - (fmt == "csv"), 0)


def error_message(job: Job) -> str | None:
    """A failed import's error as the user reads it (``line 3, column 'id': ...``)."""
    if job.error is None:
        return None
    return job.error.removeprefix(f"{ImportFailed.__name__}: ")


@jobs.runner(KIND, whole_transaction=True)
def run_import(job: Job, progress: jobs.Progress) -> dict[str, Any]:
    params = dict(job.params)
    path = upload_path(params["token"])
    if not path.is_file():
        raise ImportFailed("the uploaded file is gone; upload it again")
    try:
        mapping = ColumnMapping.from_dict(params["mapping"])
        total = count_rows(path, params["format"])
        size = max(path.stat().st_size, 1)

        def step(rows: int, read: int) -> None:
            progress(READ_SHARE * read / size, f"{rows:,} of about {total:,} rows")

        progress(0.0, f"about {total:,} rows to read")
        # One write transaction from the first read (labeler.db_engine.begin_write).
        begin_write()
        project = db.session.get(Project, job.project_id)
        if project is None:
            raise LookupError(f"project {job.project_id} no longer exists")
        with path.open("rb") as stream:
            report = import_file(
                project,
                stream,
                params["format"],
                mapping,
                chunk_rows=current_app.config["IMPORT_CHUNK_ROWS"],
                progress=step,
            )
        progress(READ_SHARE + (1 - READ_SHARE) / 2, f"{report.rows:,} rows read; saving")
    finally:
        path.unlink(missing_ok=True)
    return report.as_dict()
