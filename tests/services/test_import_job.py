"""The import job: a saved upload lands whole, with progress, and the upload goes away."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select

from labeler import jobs
from labeler.extensions import db
from labeler.jobs import progress as job_progress
from labeler.models import Item, Job, Project
from labeler.services.data.import_job import (
    KIND,
    count_rows,
    error_message,
    job_params,
    upload_path,
)
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.learning.model_reports import job_payload

MAPPING = ColumnMapping(id="id", text=("text",))


@pytest.fixture
def figures(monkeypatch) -> list[tuple[float, str]]:
    """Every progress figure the job reports, in order."""
    seen: list[tuple[float, str]] = []
    write = job_progress.write

    def record(job_id: int, fraction: float, message: str = "") -> None:
        seen.append((fraction, message))
        write(job_id, fraction, message)

    monkeypatch.setattr(job_progress, "write", record)
    return seen


def _csv(n: int, bad_line: int | None = None) -> bytes:
    rows = [f"new{i},fresh text {i}" for i in range(n)]
    if bad_line is not None:
        rows[bad_line - 2] = f"new{bad_line - 2}"  # one value where the header has two
    return ("id,text\n" + "\n".join(rows) + "\n").encode()


def _start(project_id: int, body: bytes, fmt: str = "csv", mapping=MAPPING) -> tuple[Job, str]:
    token = secrets.token_hex(16)
    upload_path(token).write_bytes(body)
    job = jobs.start(KIND, project_id, job_params(token, f"upload.{fmt}", fmt, mapping))
    db.session.expire_all()
    return db.session.get(Job, job.id), token


def _items(project_id: int) -> int:
    return db.session.scalar(select(func.count()).where(Item.project_id == project_id))


def test_the_job_imports_the_file_with_progress_up_to_one(app, project, figures):
    app.config["IMPORT_CHUNK_ROWS"] = 10
    with app.app_context():
        job, token = _start(project, _csv(95))
        assert job.status == "done", job.error
        assert (job.result["added"], job.result["updated"], job.result["skipped"]) == (95, 0, 0)
        assert _items(project) == 20 + 95
        assert db.session.get(Project, project).n_items == 115
        fractions = [fraction for fraction, _ in figures]
        assert len(fractions) >= 10 and fractions == sorted(fractions)
        assert fractions[0] == 0 and fractions[-1] < 1  # 1.0 once it has landed:
        assert job_payload(job)["progress"] == 1.0
        assert "of about 95 rows" in figures[5][1]
        assert not upload_path(token).exists()
        assert not job_progress._path(job.id).exists()


def test_a_bad_line_fails_the_job_names_it_and_leaves_nothing(app, project, figures):
    app.config["IMPORT_CHUNK_ROWS"] = 10
    with app.app_context():
        job, token = _start(project, _csv(95, bad_line=57))
        assert job.status == "failed"
        assert error_message(job) == "line 57: 1 values, but the header has 2 columns"
        # chunks before line 57 had been written and reported, yet none of them landed
        assert len(figures) >= 5
        assert _items(project) == 20 and db.session.get(Project, project).n_items == 20
        assert not upload_path(token).exists()


def test_an_error_names_the_column_and_keeps_the_options(app, project):
    body = b'{"id": "g1", "text": "known", "answer": "spam"}\n{"id": "g2", "text": 7}\n'
    mapping = ColumnMapping(id="id", text=("text",), gold="answer", duplicates="skip")
    with app.app_context():
        job, _ = _start(project, body, "jsonl", mapping)
        assert job.params["mapping"]["duplicates"] == "skip"
        assert error_message(job) == "line 2, column 'text': expected text, got int"
        assert _items(project) == 20


def test_gold_and_linked_duplicates_come_through(app, project):
    body = b"id,text,answer\nn1,message number 1,\nn2,brand new text,spam\n"
    mapping = ColumnMapping(id="id", text=("text",), gold="answer", duplicates="link")
    with app.app_context():
        job, _ = _start(project, body, "csv", mapping)
        assert job.status == "done", job.error
        assert (job.result["duplicates_linked"], job.result["gold_marked"]) == (1, 1)


def test_a_token_that_is_not_ours_reads_no_file(app, project, tmp_path):
    (tmp_path / "secret.upload").write_text("id,text\n1,secret\n")
    with app.app_context():
        params = job_params("0" * 32, "x.csv", "csv", MAPPING)
        params["token"] = "../secret"
        job = jobs.start(KIND, project, params)
        db.session.expire_all()
        job = db.session.get(Job, job.id)
        assert job.status == "failed" and "upload it again" in job.error
        assert _items(project) == 20 and (tmp_path / "secret.upload").exists()


def test_a_missing_upload_fails_with_a_plain_message(app, project):
    with app.app_context():
        job = jobs.start(KIND, project, job_params("ab" * 16, "x.csv", "csv", MAPPING))
        db.session.expire_all()
        assert error_message(db.session.get(Job, job.id)) == (
            "the uploaded file is gone; upload it again"
        )


@pytest.mark.parametrize(
    ("body", "fmt", "rows"),
    [
        (b"id,text\n1,a\n2,b\n", "csv", 2),
        (b"id,text\n1,a\n2,b", "csv", 2),
        (b"", "csv", 0),
        (b'{"a": 1}\n{"a": 2}\n{"a": 3}', "jsonl", 3),
    ],
)
def test_count_rows_estimates_from_lines(tmp_path, body, fmt, rows):
    path = tmp_path / "file"
    path.write_bytes(body)
    assert count_rows(path, fmt) == rows
