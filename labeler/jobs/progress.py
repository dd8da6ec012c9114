"""Progress of a job whose runner holds one transaction from start to end.

:func:`labeler.jobs.run` normally commits a job's progress to its row, and commits
the runner's writes with it. A runner that must land whole or not at all (the
browser import) cannot allow that, and on SQLite no other connection may write the
row while its transaction is open. Its figures go to a small file under the
instance folder instead (a worker on another machine shares that folder, as it
shares the uploads), and whoever shows a running job reads them through
:func:`current`.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from flask import current_app

from labeler.models import Job


def _path(job_id: int) -> Path:
    return Path(current_app.instance_path) / "jobs" / f"{job_id}.progress.json"


def write(job_id: int, fraction: float, message: str = "") -> None:
    """Record ``fraction`` (0..1) and ``message``; readers never see half a file."""
    path = _path(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps({"progress": max(0.0, min(1.0, fraction)), "message": message}))
    os.replace(partial, path)


def current(job: Job) -> tuple[float, str]:
    """(progress 0..1, message) to show for ``job``: the file's while it runs, else the row's."""
    if job.status == "running":
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            figures = json.loads(_path(job.id).read_text())
            return float(figures["progress"]), str(figures["message"])
    return job.progress, job.message


def clear(job_id: int) -> None:
    """Forget the figures once the job has ended (its row holds the outcome)."""
    _path(job_id).unlink(missing_ok=True)
