"""Hostile text in labels, guidelines, user names and project names stays inert in a real
browser: it shows as text, runs nothing, and the CSP would refuse it anyway."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from labeler.extensions import db
from labeler.models import User
from labeler.services.projects.store import create_project, set_member
from tests.conftest import PASSWORDS, user
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

PAYLOAD = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'


def test_hostile_names_labels_and_guidelines_render_inert(page, app):
    with app.app_context():
        project = create_project(
            f"P {PAYLOAD}"[:120],
            [
                {"name": f"L{PAYLOAD}"[:120], "hotkey": "1", "description": PAYLOAD},
                {"name": "ok", "hotkey": "2"},
            ],
            guidelines=f"# Rules\n\n{PAYLOAD}\n\n[click](javascript:document.title='pwned')",
        )
        hostile = User(username="x<script>y", role="annotator")
        hostile.set_password("long-enough-password")
        db.session.add(hostile)
        db.session.flush()
        set_member(project, user("alice"), "annotator")
        set_member(project, hostile, "annotator")
        db.session.commit()
        project_id = project.id
    login(page, "admin", PASSWORDS["admin"])
    for path in (
        "/",
        f"/projects/{project_id}",
        f"/projects/{project_id}/annotate",
        f"/projects/{project_id}/settings",
        "/admin/users",
    ):
        page.goto(path)
        expect(page.locator("body")).to_be_visible()
        assert page.title() != "pwned", path
        assert page.locator("img[src=x]").count() == 0, path
    page.goto(f"/projects/{project_id}/annotate")
    expect(page.locator(".label-button").first).to_contain_text("<img src=x")
    expect(page.locator(".guidelines")).to_contain_text("<script>")
    assert page.locator('.guidelines a[href^="javascript:"]').count() == 0
    page.goto("/admin/users")
    expect(page.locator("body")).to_contain_text("x<script>y")
