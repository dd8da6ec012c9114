"""A rating project in a real browser: number keys pick a point of the scale; five
items, back, change one, watch the progress bar."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, AnnotationRevision, Item, User
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.projects.store import create_project, set_member
from tests.conftest import PASSWORDS, user
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


@pytest.fixture
def stars(app) -> int:
    with app.app_context():
        project = create_project(
            "Stars",
            [{"name": str(point), "description": f"{point} of 5"} for point in range(1, 6)],
            task_kind="rating",
            label_scale="ordinal",
            test_fraction=0.0,
        )
        rows = [(i + 1, {"id": f"f{i}", "text": f"film {i}"}) for i in range(10)]
        import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
        set_member(project, user("alice"), "annotator")
        db.session.commit()
        return project.id


def _shown(page) -> str:
    return page.locator("#item-external-id").inner_text()


def _next(page, previous: str) -> str:
    expect(page.locator("#item-external-id")).not_to_have_text(previous)
    return _shown(page)


def test_rate_five_items_by_keyboard_then_change_one(page, app, stars):
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{stars}/annotate")
    page.wait_for_selector("#item:not([hidden])")
    expect(page.locator('.label-button[data-label="3"]')).to_have_attribute("title", "3 of 5")
    chosen: dict[str, int] = {}
    current = _shown(page)
    for key in ["5", "1", "3", "4", "2"]:
        chosen[current] = int(key)
        page.keyboard.press(key)
        current = _next(page, current)
    expect(page.locator("#session-count")).to_have_text("5")
    expect(page.locator("#coverage-text")).to_have_text("50.0%")

    page.keyboard.press("b")
    last = _next(page, current)
    assert chosen[last] == 2
    expect(page.locator(".label-button.chosen")).to_have_attribute("data-label", "2")
    page.keyboard.press("4")
    chosen[last] = 4
    assert _next(page, last) == current

    with app.app_context():
        alice = db.session.scalar(select(User).where(User.username == "alice"))
        rows = db.session.execute(
            select(Item.external_id, Annotation.value)
            .join(Annotation.item)
            .where(Annotation.user_id == alice.id)
        ).all()
        assert dict(rows) == chosen
        history = db.session.scalars(select(AnnotationRevision)).all()
        assert [h.value for h in history] == [2]
