"""A rating project in a real browser: number keys pick a point of the scale; five
items, back, change one, watch the progress bar."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Adjudication, Annotation, AnnotationRevision, Item, User
from tests.conftest import PASSWORDS
from tests.e2e.conftest import login
from tests.e2e.kind_projects import kind_project, next_item, shown, vote_on_first_item

pytestmark = pytest.mark.e2e

SCALE = [{"name": str(point), "description": f"{point} of 5"} for point in range(1, 6)]


@pytest.fixture
def stars(app) -> int:
    return kind_project(
        app,
        "Stars",
        SCALE,
        "rating",
        "f",
        reviewers=("rita",),
        label_scale="ordinal",
    )


def test_rate_five_items_by_keyboard_then_change_one(page, app, stars):
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{stars}/annotate")
    page.wait_for_selector("#item:not([hidden])")
    expect(page.locator('.label-button[data-label="3"]')).to_have_attribute("title", "3 of 5")
    chosen: dict[str, int] = {}
    current = shown(page)
    for key in ["5", "1", "3", "4", "2"]:
        chosen[current] = int(key)
        page.keyboard.press(key)
        current = next_item(page, current)
    expect(page.locator("#session-count")).to_have_text("5")
    expect(page.locator("#coverage-text")).to_have_text("50.0%")

    page.keyboard.press("b")
    last = next_item(page, current)
    assert chosen[last] == 2
    expect(page.locator(".label-button.chosen")).to_have_attribute("data-label", "2")
    page.keyboard.press("4")
    chosen[last] = 4
    assert next_item(page, last) == current

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


def test_reviewer_settles_a_spread_rating_on_the_scale_picker(page, app):
    project_id = kind_project(
        app,
        "Stars review",
        SCALE,
        "rating",
        "r",
        ("alice", "bob"),
        ("rita",),
        annotations_per_item=2,
        label_scale="ordinal",
    )
    # 1 and 5: a spread of 2 points passes max_spread (1), so a reviewer decides.
    item_id, disputed = vote_on_first_item(app, project_id, {"alice": 1, "bob": 5})
    assert disputed
    login(page, "rita", PASSWORDS["rita"])
    page.goto(f"/projects/{project_id}/review/{item_id}")
    points = page.locator("#scale-picker .scale-point")
    expect(points).to_have_count(5)
    expect(points.nth(0)).to_contain_text("1 of 5")
    expect(points.nth(0)).to_contain_text("1 vote")
    expect(points.nth(2)).to_contain_text("0 votes")
    expect(page.locator("#scale-picker .chosen")).to_have_attribute("value", "1")  # lower median
    page.keyboard.press("3")
    page.wait_for_url(f"**/projects/{project_id}/review")
    assert "Resolved as 3." in page.locator("main").inner_text()

    with app.app_context():
        item = db.session.get(Item, item_id)
        assert (item.final_value, item.final_label, item.final_source) == (3, "3", "adjudicated")
        assert db.session.scalars(select(Adjudication.value)).one() == 3
