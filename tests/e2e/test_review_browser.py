"""Review in a real browser: two annotators disagree, the reviewer resolves with a note."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Adjudication, Item
from labeler.services.labeling import queue
from tests.conftest import PASSWORDS, make_project, user
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


@pytest.fixture
def disputed(app) -> tuple[int, int, str]:
    with app.app_context():
        project = make_project("Pairs", n_items=5, k=2)
        item = queue.next_items(project, user("alice"))[0]
        queue.submit(project, user("alice"), item, "spam")
        assert queue.next_items(project, user("bob"))[0].id == item.id
        queue.submit(project, user("bob"), item, "ham")
        db.session.commit()
        assert item.disputed
        return project.id, item.id, item.external_id


def test_reviewer_resolves_a_disagreement_with_a_note(page, app, disputed):
    project_id, item_id, external_id = disputed
    login(page, "rita", PASSWORDS["rita"])
    page.goto(f"/projects/{project_id}")
    page.click("nav.project-nav >> text=Review")
    assert page.locator("#review-count").inner_text().startswith("1 disputed item")
    page.click("table.review-queue >> text=Review")
    page.wait_for_url(f"**/review/{item_id}")
    votes = page.locator("table.votes tbody").inner_text()
    assert "alice" in votes and "spam" in votes and "bob" in votes and "ham" in votes
    page.fill("#note", "mentions a prize: spam by the guidelines")
    page.keyboard.press("Escape")  # leave the note; hotkeys work again
    page.keyboard.press("2")  # spam's hotkey
    page.wait_for_url(f"**/projects/{project_id}/review")
    assert "The review queue is empty." in page.locator("main").inner_text()
    assert page.locator("table.review-queue").count() == 0

    with app.app_context():
        item = db.session.get(Item, item_id)
        assert (item.final_label, item.final_source, item.disputed) == (
            "spam",
            "adjudicated",
            False,
        )
        decision = db.session.scalars(select(Adjudication)).one()
        assert (decision.action, decision.label, decision.reviewer.username) == (
            "resolve",
            "spam",
            "rita",
        )
        assert decision.note == "mentions a prize: spam by the guidelines"

    page.goto(f"/projects/{project_id}/review/{item_id}")
    history = page.locator("#history").inner_text()
    assert "resolve: spam" in history and "rita" in history and "mentions a prize" in history
    page.goto(f"/projects/{project_id}/agreement")
    assert page.locator("#alpha svg, #pairwise svg").count() >= 1
    assert "How to read it" in page.locator("#alpha").inner_text()
