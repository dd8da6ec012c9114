"""What a new user hit on the pages: export filters, thumbnails, errors, docs links."""

from __future__ import annotations

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item, ModelVersion
from tests.conftest import make_project


def test_a_bad_export_filter_is_a_422_that_keeps_the_form(client, auth, project):
    auth.login("rita")
    response = client.get(
        f"/projects/{project}/export/download?view=annotations&format=jsonl&split=test"
        "&min_confidence=high&since=2026-01-02&final_only=true"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "min_confidence must be a number" in html
    assert '<option value="annotations" selected>' in html
    assert "<option selected>jsonl</option>" in html and "<option selected>test</option>" in html
    assert 'value="high"' in html and 'value="2026-01-02"' in html
    assert 'name="final_only" value="true" checked' in html
    job = auth.post(f"/projects/{project}/export/jobs", {"format": "xlsx", "split": "train"})
    assert job.status_code == 422 and "format must be one of" in job.get_data(as_text=True)


def test_every_page_links_the_api_docs(client, auth, project):
    auth.login("alice")
    assert 'href="/api/docs"' in client.get(f"/projects/{project}").get_data(as_text=True)


def _pixel_project(app) -> int:
    """Three items shown as 2 x 1 pixel grids, with one other field to show."""
    with app.app_context():
        project = make_project("Digits", n_items=3)
        project.display = {"pixel_grid": {"fields": ["p0", "p1"], "width": 2, "height": 1}}
        project.model_inputs = {"numeric": ["p0", "p1"]}
        for item in db.session.scalars(select(Item).where(Item.project_id == project.id)):
            item.data = {"p0": 3, "p1": 9, "source": "scan"}
        db.session.commit()
        return project.id


def test_the_review_list_shows_a_thumbnail_not_pixel_json(client, auth, app):
    project = _pixel_project(app)
    with app.app_context():
        db.session.get(Item, 1).disputed = True
        db.session.commit()
    auth.login("rita")
    html = client.get(f"/projects/{project}/review").get_data(as_text=True)
    assert f'<img class="thumb" src="/projects/{project}/items/1/image"' in html
    assert '"p0"' not in html and "scan" in html  # the shown field, never the pixels


def test_the_errors_page_shows_the_item_not_its_id_again(client, auth, app):
    project = _pixel_project(app)
    with app.app_context():
        entry = {"item": 2, "label": "ham", "predicted": "spam", "confidence": 0.9}
        errors = {"misclassified": [entry], "likely_label_errors": [entry]}
        db.session.add(
            ModelVersion(project_id=project, status="champion", metrics={"errors": errors})
        )
        db.session.commit()
    auth.login("rita")
    html = client.get(f"/projects/{project}/model/errors").get_data(as_text=True)
    assert f'src="/projects/{project}/items/2/image"' in html and "scan" in html
    assert "<td>m1</td>" in html  # the id once, in its own column


def test_each_empty_chart_says_why_it_is_empty(client, auth, project):
    auth.login("rita")
    monitoring = client.get(f"/projects/{project}/monitoring").get_data(as_text=True)
    assert "no predictions served in this window yet" in monitoring
    assert "no evaluated versions yet" not in monitoring
    model = client.get(f"/projects/{project}/model").get_data(as_text=True)
    assert "no model trained yet" in model
