"""The browser import: upload, map the columns, follow the job's page to its outcome."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.jobs import progress as job_progress
from labeler.models import Item, Job
from labeler.services.data.import_spec import ImportReport


def _upload(auth, project: int, body: bytes, name: str = "more.csv"):
    return auth.post(
        f"/projects/{project}/import",
        {"file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )


def _uploads(app) -> list[Path]:
    return list(Path(app.config["UPLOAD_FOLDER"]).iterdir())


def _items(app, project: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).where(Item.project_id == project))


def test_upload_map_and_the_job_page_shows_what_landed(app, client, auth, project):
    auth.login("admin")
    _upload(auth, project, b"id,text\nn1,first new text\nn2,second new text\n")
    assert len(_uploads(app)) == 1
    response = auth.post(
        f"/projects/{project}/import/mapping", {"role:id": "id", "role:text": "text"}
    )
    page = response.headers["Location"]
    assert re.search(rf"/projects/{project}/import/jobs/\d+$", page)
    html = " ".join(client.get(page).get_data(as_text=True).split())
    assert "Imported more.csv: 2 added, 0 updated, 0 unchanged; 0 labels brought in" in html
    assert f'href="/projects/{project}"' in html
    assert '<progress class="job-progress wide" max="1" value="1.0"' in html
    assert _items(app, project) == 22
    assert _uploads(app) == []  # the job deleted the upload
    # the upload is spent: mapping again asks for a file
    assert client.get(f"/projects/{project}/import/mapping").status_code == 302


def test_a_bad_line_shows_on_the_job_page_and_nothing_lands(app, client, auth, project):
    auth.login("admin")
    _upload(auth, project, b'{"id": "a", "text": "fine"}\n{"id": "b", "text": 7}\n', "x.jsonl")
    response = auth.post(
        f"/projects/{project}/import/mapping",
        {"role:id": "id", "role:text": "text"},
        follow_redirects=True,
    )
    html = " ".join(response.get_data(as_text=True).split())
    assert "Nothing was imported. x.jsonl: line 2, column &#39;text&#39;: expected text" in html
    assert "ImportFailed" not in html
    assert f'href="/projects/{project}/import"' in html  # upload a corrected file
    assert _items(app, project) == 20 and _uploads(app) == []


def test_a_mapping_mistake_goes_back_to_the_form_and_keeps_the_file(app, client, auth, project):
    auth.login("admin")
    _upload(auth, project, b"id,text,other\n1,a,b\n")
    response = auth.post(
        f"/projects/{project}/import/mapping",
        {"role:id": "id", "role:text": "text", "role:other": "id"},
        follow_redirects=True,
    )
    assert "choose at most one id column" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 0
    assert len(_uploads(app)) == 1
    assert client.get(f"/projects/{project}/import/mapping").status_code == 200


def test_a_second_import_waits_for_the_running_one(app, client, auth, project):
    with app.app_context():
        running = Job(kind="import", project_id=project, status="running", params={"name": "a"})
        db.session.add(running)
        db.session.commit()
        running_id = running.id
    auth.login("admin")
    _upload(auth, project, b"id,text\nn1,new\n", "b.csv")
    response = auth.post(
        f"/projects/{project}/import/mapping",
        {"role:id": "id", "role:text": "text"},
        follow_redirects=True,
    )
    assert response.request.path == f"/projects/{project}/import/jobs/{running_id}"
    assert "Another import into this project is running; b.csv waits" in response.get_data(True)
    assert len(_uploads(app)) == 1 and _items(app, project) == 20
    assert client.get(f"/projects/{project}/import/mapping").status_code == 200


def test_a_running_import_shows_live_progress_here_and_in_the_job_api(app, client, auth, project):
    with app.app_context():
        running = Job(kind="import", project_id=project, status="running", params={"name": "a"})
        db.session.add(running)
        db.session.commit()
        job_progress.write(running.id, 0.42, "4,200 of about 10,000 rows")
        job_id = running.id
    auth.login("admin")
    html = client.get(f"/projects/{project}/import/jobs/{job_id}").get_data(as_text=True)
    assert 'value="0.42"' in html and "4,200 of about 10,000 rows" in html
    assert f'data-job-url="/api/v1/jobs/{job_id}"' in html and 'data-status="running"' in html
    # no inline script (strict CSP): the page polls with static/models.js
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/common.js" defer>',
        '<script type="module" src="/static/help.js">',  # the "?" keys overlay, every page
        '<script src="/static/models.js" defer>',
    ]
    status = client.get(f"/api/v1/jobs/{job_id}").json
    assert (status["progress"], status["message"]) == (0.42, "4,200 of about 10,000 rows")


def test_the_page_shows_only_import_jobs_of_its_project(app, client, auth, project):
    with app.app_context():
        export = Job(kind="export", project_id=project, status="done", result={"rows": 1})
        done = Job(kind="import", project_id=project, status="done")
        done.result = ImportReport(added=3).as_dict()
        db.session.add_all([export, done])
        db.session.commit()
        export_id, done_id = export.id, done.id
    auth.login("admin")
    assert client.get(f"/projects/{project}/import/jobs/{export_id}").status_code == 404
    assert client.get(f"/projects/{project + 1}/import/jobs/{done_id}").status_code == 404
    assert client.get(f"/projects/{project}/import/jobs/{done_id}").status_code == 200


def test_uploads_nobody_imported_are_forgotten_after_two_days(app, client, auth, project):
    auth.login("admin")
    folder = Path(app.config["UPLOAD_FOLDER"])
    stale, fresh = folder / ("a" * 32 + ".upload"), folder / ("b" * 32 + ".upload")
    for path, hours in ((stale, 49), (fresh, 47)):
        path.write_text("id,text\n1,x\n")
        then = time.time() - hours * 3600
        os.utime(path, (then, then))
    _upload(auth, project, b"id,text\nn1,first new text\n")
    left = set(_uploads(app))
    assert stale not in left and fresh in left and len(left) == 2  # the fresh one, the new one
