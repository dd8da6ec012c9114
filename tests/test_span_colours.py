"""Per-label colours of a span project: set on the settings page, checked by the kind,
sent to the form and the review page as settings (drawn with palette classes)."""

from __future__ import annotations

import html
import json

from labeler.extensions import db
from labeler.models import Project
from labeler.services.projects.store import create_project, set_member
from tests.conftest import make_project, user

LABELS = [{"name": "PER", "hotkey": "p"}, {"name": "ORG", "hotkey": "o"}]


def _spans(app) -> int:
    with app.app_context():
        project = create_project("Entities", LABELS, "", test_fraction=0.0, task_kind="spans")
        db.session.commit()
        return project.id


def set_member_of(app, project_id: int, name: str) -> None:
    with app.app_context():
        set_member(db.session.get(Project, project_id), user(name), "annotator")
        db.session.commit()


def test_admin_sets_colours_and_the_form_receives_them(app, client, auth):
    project_id = _spans(app)
    auth.login("admin")
    page = client.get(f"/projects/{project_id}/settings").get_data(as_text=True)
    assert 'id="label-colours"' in page and 'class="span span-c1" data-label="ORG"' in page
    response = auth.post(
        f"/projects/{project_id}/settings/colours", {"colour:PER": "6", "colour:ORG": "0"}
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Project, project_id).task_settings["colours"] == {
            "PER": 6,
            "ORG": 0,
        }
    page = client.get(f"/projects/{project_id}/settings").get_data(as_text=True)
    assert 'class="span span-c6" data-label="PER"' in page
    set_member_of(app, project_id, "alice")
    auth.login("alice")
    form = client.get(f"/projects/{project_id}/annotate").get_data(as_text=True)
    settings = form.split('data-settings="', 1)[1].split('"', 1)[0]
    assert json.loads(html.unescape(settings))["colours"] == {"PER": 6, "ORG": 0}


def test_a_bad_colour_is_refused_by_name_and_nothing_changes(app, client, auth):
    project_id = _spans(app)
    auth.login("admin")
    response = auth.post(
        f"/projects/{project_id}/settings/colours",
        {"colour:PER": "3", "colour:ORG": "9"},
        follow_redirects=True,
    )
    assert "the colour of &#39;ORG&#39; must be 0..7" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Project, project_id).task_settings["colours"] == {}
    response = auth.post(
        f"/projects/{project_id}/settings/colours", {"colour:NOBODY": "1"}, follow_redirects=True
    )
    assert "which is not a label" in response.get_data(as_text=True)


def test_kinds_without_colours_show_no_section_and_refuse_them(app, client, auth):
    with app.app_context():
        project_id = make_project("Plain", n_items=1).id
        db.session.commit()
    auth.login("admin")
    assert 'id="label-colours"' not in client.get(f"/projects/{project_id}/settings").get_data(
        as_text=True
    )
    response = auth.post(
        f"/projects/{project_id}/settings/colours", {"colour:ham": "1"}, follow_redirects=True
    )
    assert "has no label colours" in response.get_data(as_text=True)
