"""Review spans in a real browser: two annotators' spans aligned on the text, accept one
annotator's set by keyboard, then edit and draw spans as the reviewer on the next item."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Adjudication, Item
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.labeling import queue
from labeler.services.projects.store import create_project, set_member
from tests.conftest import PASSWORDS, user
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

# The emoji is one code point (two UTF-16 units): offsets after it prove which is stored.
TEXT = "\U0001f44d Call 0845 281 at 10am <b>now</b>"
LABELS = [{"name": "PHONE", "hotkey": "p"}, {"name": "TIME", "hotkey": "t"}]


def _span(text: str, part: str, label: str) -> dict:
    start = text.index(part)
    return {"start": start, "end": start + len(part), "label": label}


@pytest.fixture
def disputed_spans(app):
    with app.app_context():
        project = create_project(
            "Entities",
            LABELS,
            "Mark phones and times.",
            annotations_per_item=2,
            test_fraction=0.0,
            task_kind="spans",
            task_settings={"colours": {"PHONE": 5}},
        )
        rows = [(1, {"id": "one", "text": TEXT}), (2, {"id": "two", "text": TEXT + " again"})]
        import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
        for name in ("alice", "bob"):
            set_member(project, user(name), "annotator")
        set_member(project, user("rita"), "reviewer")
        answers = {
            "alice": [_span(TEXT, "0845 281", "PHONE"), _span(TEXT, "10am", "TIME")],
            "bob": [_span(TEXT, "0845", "PHONE")],
        }
        for name, spans in answers.items():
            for item in db.session.scalars(select(Item).order_by(Item.id)):
                queue.submit(project, user(name), item, spans)
        db.session.commit()
        ids = [i.id for i in db.session.scalars(select(Item).order_by(Item.id))]
        assert all(db.session.get(Item, i).disputed for i in ids)
        return project.id, ids


def test_reviewer_accepts_one_set_then_edits_and_draws(page, app, disputed_spans):
    project_id, (first, second) = disputed_spans
    login(page, "rita", PASSWORDS["rita"])
    page.goto(f"/projects/{project_id}/review/{first}")
    rows = page.locator("#span-rows .span-row")
    expect(rows).to_have_count(3)  # alice, bob, the consensus
    alice = page.locator(".span-row[data-who='alice'] .span-text")
    bob = page.locator(".span-row[data-who='bob'] .span-text")
    expect(alice.locator("mark")).to_have_count(2)
    expect(alice.locator("mark[data-label='PHONE']")).to_contain_text("0845 281")
    expect(alice.locator("mark[data-label='PHONE']")).to_have_class("span span-c5 span-differs")
    expect(bob.locator("mark[data-label='PHONE']")).to_have_text("0845PHONE")
    expect(bob).to_contain_text("<b>now</b>")  # escaped, not markup
    assert "no entities" not in page.locator("table.votes").inner_text()
    assert "PHONE" in page.locator("table.votes").inner_text()

    editor = page.locator("#span-editor .span-text")
    page.keyboard.press("1")  # alice's set into the editor
    expect(editor.locator("mark.span")).to_have_count(2)
    page.fill("#note", "alice has the whole number")
    page.keyboard.press("Escape")
    page.keyboard.press("Enter")  # resolve with the editor's spans
    page.wait_for_url(f"**/review/{second}")
    expect(page.locator(".flash")).to_contain_text("Resolved as PHONE 7–15, TIME 19–23")

    # Second item: bob's set, then draw TIME and widen PHONE by keyboard. The keys work
    # once spans_review.js has drawn the rows (it listens from the same task): a key
    # pressed while the module still loads does nothing, so wait for the rows first.
    expect(page.locator("#span-rows .span-row").first).to_be_visible()
    editor = page.locator("#span-editor .span-text")
    page.keyboard.press("2")
    expect(editor.locator("mark.span")).to_have_count(1)
    # tokens: 👍(0) Call(1) 0845(2) 281(3) at(4) 10am(5)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("p")  # PHONE "0845 281" replaces "0845"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # the cursor was on "281"
    page.keyboard.press("t")  # TIME "10am"
    expect(editor.locator("mark.span")).to_have_count(2)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/projects/{project_id}/review")
    assert "The review queue is empty." in page.locator("main").inner_text()

    with app.app_context():
        expected = [_span(TEXT, "0845 281", "PHONE"), _span(TEXT, "10am", "TIME")]
        one, two = db.session.get(Item, first), db.session.get(Item, second)
        assert (one.final_value, one.final_source, one.disputed) == (
            expected,
            "adjudicated",
            False,
        )
        assert expected[0]["start"] == 7  # code points: the emoji counts once
        assert two.final_value == expected
        decisions = db.session.scalars(select(Adjudication).order_by(Adjudication.id)).all()
        assert [(d.action, d.reviewer.username) for d in decisions] == [
            ("resolve", "rita"),
            ("resolve", "rita"),
        ]
        assert decisions[0].note == "alice has the whole number"
