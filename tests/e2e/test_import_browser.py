"""Import a file in a real browser: the job page's bar moves while rows go in, then the
counts and a link to the project appear."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from labeler import jobs
from labeler.extensions import db
from labeler.jobs import progress as job_progress
from labeler.models import Item
from tests.conftest import PASSWORDS
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

ROWS = 2_000


@pytest.fixture
def background_jobs(app, monkeypatch):
    """The server's default thread executor, each progress figure held a moment so the
    page polls (every 1.5 s) while the import still runs."""
    write = job_progress.write

    def slowly(job_id: int, fraction: float, message: str = "") -> None:
        write(job_id, fraction, message)
        time.sleep(0.15)

    monkeypatch.setattr(job_progress, "write", slowly)
    app.config["IMPORT_CHUNK_ROWS"] = 100
    executor = app.extensions["labeler.jobs"] = jobs.ThreadExecutor(app)
    yield
    executor.pool.shutdown(wait=True)


def test_the_import_page_follows_the_job_to_its_counts(
    page, app, project, tmp_path, background_jobs
):
    upload = tmp_path / "more.csv"
    upload.write_text("id,text\n" + "".join(f"n{i},new text {i}\n" for i in range(ROWS)))
    login(page, "admin", PASSWORDS["admin"])
    page.goto(f"/projects/{project}/import")
    page.set_input_files("input[name=file]", str(upload))
    page.click("text=Upload and map columns")
    page.wait_for_url(f"**/projects/{project}/import/mapping")
    expect(page.locator("select[name='role:text']")).to_have_value("text")
    page.click("button:has-text('Import')")
    page.wait_for_url(f"**/projects/{project}/import/jobs/*")

    row = page.locator("#import-job")
    expect(row.locator(".job-message")).to_contain_text(f"of about {ROWS:,} rows", timeout=20_000)
    result = page.locator("#import-result")
    expect(result).to_contain_text(f"{ROWS:,} added", timeout=60_000)
    expect(row.locator("progress")).to_have_attribute("value", "1.0")
    page.click("text=Go to SMS")
    page.wait_for_url(f"**/projects/{project}")
    with app.app_context():
        count = db.session.scalar(select(func.count()).where(Item.project_id == project))
        assert count == 20 + ROWS
