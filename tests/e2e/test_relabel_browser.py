"""Relabel-or-new in a real browser: an admin turns it on in the model settings, and
after a training the model page says what it asked for."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from labeler.extensions import db
from labeler.models import Project
from labeler.services.learning import modeling
from tests.conftest import PASSWORDS
from tests.e2e.conftest import login
from tests.services.test_relabel_or_new import _half_labeled

pytestmark = pytest.mark.e2e


def test_turn_it_on_and_read_what_it_asked(page, app):
    with app.app_context():
        project_id = _half_labeled()
    login(page, "admin", PASSWORDS["admin"])
    page.goto(f"/projects/{project_id}/model/settings")
    select = page.locator("select[name=relabel_or_new]")
    expect(select).to_have_value("off")
    select.select_option("on")
    page.locator("#model-settings button.primary").click()
    expect(page.locator("select[name=relabel_or_new]")).to_have_value("on")
    with app.app_context():
        project = db.session.get(Project, project_id)
        assert project.relabel_or_new
        modeling.start_training(project)
    login(page, "rita", PASSWORDS["rita"])
    page.goto(f"/projects/{project_id}/model")
    expect(page.locator("#relabel")).to_contain_text("Relabel-or-new asked for")
