"""The item browser and comments in a real browser: search, filter, open, bulk review;
an annotator asks on an item, a reviewer answers."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item, ItemComment
from labeler.services.labeling import queue
from tests.conftest import PASSWORDS, make_project, user
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


@pytest.fixture
def labeled(app) -> int:
    with app.app_context():
        project = make_project("Texts", n_items=30)
        for item in queue.next_items(project, user("alice"), 3):
            queue.submit(project, user("alice"), item, "spam")
        db.session.commit()
        return project.id


def test_search_filter_open_and_send_two_to_review(page, app, labeled):
    login(page, "rita", PASSWORDS["rita"])
    page.goto(f"/projects/{labeled}")
    page.click("nav.project-nav >> text=Items")
    expect(page.locator("#items tbody tr")).to_have_count(30)
    page.fill("#search", "number 2")
    page.click("#apply-filters")
    # "2" is a prefix as the last word: 2 and 20..29
    expect(page.locator("#items tbody tr")).to_have_count(11)
    page.select_option("#status", "final")
    page.fill("#search", "")
    page.click("#apply-filters")
    rows = page.locator("#items tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("spam")
    page.locator("#items tbody tr").nth(0).locator("input[type=checkbox]").check()
    page.locator("#items tbody tr").nth(1).locator("input[type=checkbox]").check()
    page.click("#bulk-send_to_review")
    expect(page.locator(".flash")).to_contain_text("Sent 2 items to review.")
    expect(page.locator("#status")).to_have_value("final")  # the filters stay
    expect(page.locator("#items .badge", has_text="disputed")).to_have_count(2)
    page.locator("#items tbody tr").nth(2).locator("a").click()
    expect(page.locator("#item-content")).to_contain_text("message number")
    expect(page.locator("#label-history")).to_contain_text("alice")
    with app.app_context():
        disputed = db.session.scalars(select(Item.id).where(Item.disputed.is_(True))).all()
    assert len(disputed) == 2
    page.goto(f"/projects/{labeled}/review")
    expect(page.locator("#review-count")).to_contain_text("2 disputed items")


def test_an_annotator_asks_and_a_reviewer_answers(browser, live_server, app, labeled):
    with app.app_context():
        item_id = db.session.scalars(
            select(Item.id).where(Item.n_annotations > 0).order_by(Item.id)
        ).first()
    alice = browser.new_context(base_url=live_server).new_page()
    login(alice, "alice", PASSWORDS["alice"])
    alice.goto(f"/projects/{labeled}/items")
    expect(alice.locator("#items tbody tr")).to_have_count(3)  # only what she labeled
    expect(alice.locator("#status")).to_have_count(0)  # no filter on others' labels
    alice.goto(f"/projects/{labeled}/items/{item_id}")
    alice.select_option("#comment-kind", "question")
    alice.fill("#comment-body", "Is a lottery ad spam even if I asked for it?")
    alice.click("#post-comment")
    expect(alice.locator("#comments")).to_contain_text("question · open")

    rita = browser.new_context(base_url=live_server).new_page()
    login(rita, "rita", PASSWORDS["rita"])
    rita.goto(f"/projects/{labeled}")
    questions = rita.locator("#open-questions")
    expect(questions).to_contain_text("Is a lottery ad spam")
    questions.locator("a").first.click()
    rita.select_option("#comment-kind", "answer")
    rita.fill("#comment-body", "Yes: it is unsolicited advertising.")
    rita.click("#post-comment")
    expect(rita.locator("#comments .comment")).to_have_count(2)
    rita.goto(f"/projects/{labeled}")
    expect(rita.locator("#open-questions")).to_have_count(0)

    alice.reload()
    expect(alice.locator("#comments")).to_contain_text("Yes: it is unsolicited advertising.")
    expect(alice.locator("#comments")).not_to_contain_text("open")
    with app.app_context():
        kinds = db.session.scalars(select(ItemComment.kind).order_by(ItemComment.id)).all()
    assert kinds == ["question", "answer"]
    alice.context.close()
    rita.context.close()
