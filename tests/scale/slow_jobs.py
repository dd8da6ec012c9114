"""Job kinds for the worker tests; a worker loads them with ``--import tests.scale.slow_jobs``.

``test-slow-train`` behaves like training from the outside: it creates a model
version in status ``training``, reports its process id, then works for a while.
"""

from __future__ import annotations

import os
import time

from labeler import jobs
from labeler.extensions import db
from labeler.models import ModelVersion


@jobs.periodic("test chore", "WEBHOOK_RETRY_CHECK_SECONDS")
def note_chore():
    """A chore that leaves a line in ``LABELER_TEST_CHORE_FILE`` (when set) each time."""
    path = os.environ.get("LABELER_TEST_CHORE_FILE")
    if path:
        with open(path, "a") as out:
            out.write(f"{os.getpid()}\n")


@jobs.runner("test-echo")
def echo(job, progress):
    return {"echo": job.params.get("value"), "pid": os.getpid()}


@jobs.runner("test-slow-train")
def slow_train(job, progress):
    version = ModelVersion(
        project_id=job.project_id, n_labels=0, strategy="test", status="training", job_id=job.id
    )
    db.session.add(version)
    db.session.commit()
    progress(0.1, f"pid={os.getpid()}")
    deadline = time.monotonic() + float(job.params.get("seconds", 60))
    while time.monotonic() < deadline:
        time.sleep(0.1)
    version.status = "candidate"
    return {"version_id": version.id}
