"""A multi-label project in a real browser: toggle labels by key, Enter submits, "none of
these" answers the empty set; five items, back, change one, watch the progress bar."""

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

LABELS = [{"name": "sports"}, {"name": "politics"}, {"name": "tech"}]


@pytest.fixture
def topics(app) -> int:
    return kind_project(
        app,
        "Topics",
        LABELS,
        "multi_label",
        "n",
        reviewers=("rita",),
        task_settings={"allow_empty": True},
    )


def test_label_five_sets_by_keyboard_then_change_one(page, app, topics):
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{topics}/annotate")
    page.wait_for_selector("#item:not([hidden])")
    expect(page.locator("#none-of-these")).to_be_visible()
    answers = [["1", "3"], ["2"], [], ["1", "2", "3"], ["3", "3", "2"]]  # 3 twice: off again
    expected = [["sports", "tech"], ["politics"], [], ["sports", "politics", "tech"], ["politics"]]
    chosen: dict[str, list[str]] = {}
    current = shown(page)
    for keys, value in zip(answers, expected, strict=True):
        chosen[current] = value
        for key in keys:
            page.keyboard.press(key)
        page.keyboard.press("Enter" if keys else "0")
        current = next_item(page, current)
    expect(page.locator("#session-count")).to_have_text("5")
    expect(page.locator("#coverage-text")).to_have_text("50.0%")

    # Back: the last set returns marked; add sports and submit again.
    page.keyboard.press("b")
    last = next_item(page, current)
    assert chosen[last] == ["politics"]
    expect(page.locator('.label-toggle[aria-pressed="true"]')).to_have_count(1)
    expect(page.locator('.label-toggle[data-label="politics"]')).to_have_class(
        "label-button label-toggle chosen"
    )
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    chosen[last] = ["sports", "politics"]
    assert next_item(page, last) == current

    with app.app_context():
        alice = db.session.scalar(select(User).where(User.username == "alice"))
        rows = db.session.execute(
            select(Item.external_id, Annotation.label, Annotation.value)
            .join(Annotation.item)
            .where(Annotation.user_id == alice.id)
        ).all()
        stored = {external: value for external, _, value in rows}
        assert stored == chosen
        history = db.session.scalars(select(AnnotationRevision)).all()
        assert [h.value for h in history] == [["politics"]]


def test_reviewer_picks_the_final_set_with_the_labels_hotkeys(page, app):
    project_id = kind_project(
        app,
        "Topics review",
        LABELS,
        "multi_label",
        "r",
        ("alice", "bob"),
        ("rita",),
        annotations_per_item=2,
    )
    # tech splits 1 to 1: no consensus, a dispute.
    item_id, disputed = vote_on_first_item(
        app, project_id, {"alice": ["sports", "tech"], "bob": ["sports"]}
    )
    assert disputed
    login(page, "rita", PASSWORDS["rita"])
    page.goto(f"/projects/{project_id}/review/{item_id}")
    votes = page.locator("table.votes tbody").inner_text()
    assert "sports, tech" in votes and '["' not in votes
    boxes = {
        lbl["name"]: page.locator(f'#set-picker input[value="{lbl["name"]}"]') for lbl in LABELS
    }
    # It starts from what most annotators chose: sports (2 of 2), not tech (1 of 2).
    expect(boxes["sports"]).to_be_checked()
    expect(boxes["tech"]).not_to_be_checked()
    expect(page.locator("#set-picker")).to_contain_text("chosen by 1 of 2")
    page.keyboard.press("3")  # tech on
    page.keyboard.press("2")  # politics on ...
    page.keyboard.press("2")  # ... and off again
    expect(boxes["tech"]).to_be_checked()
    expect(boxes["politics"]).not_to_be_checked()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/projects/{project_id}/review")
    assert "Resolved as sports, tech." in page.locator("main").inner_text()

    with app.app_context():
        item = db.session.get(Item, item_id)
        assert (item.final_value, item.final_source, item.disputed) == (
            ["sports", "tech"],
            "adjudicated",
            False,
        )
        decision = db.session.scalars(select(Adjudication)).one()
        assert (decision.action, decision.value) == ("resolve", ["sports", "tech"])

    page.goto(f"/projects/{project_id}/review/{item_id}")
    expect(page.locator("#history")).to_contain_text("resolve: sports, tech")
    expect(page.locator(".item-id")).to_contain_text("final: sports, tech (adjudicated)")
