"""A multi-label project in a real browser: toggle labels by key, Enter submits, "none of
these" answers the empty set; five items, back, change one, watch the progress bar."""

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
def topics(app) -> int:
    with app.app_context():
        project = create_project(
            "Topics",
            [{"name": "sports"}, {"name": "politics"}, {"name": "tech"}],
            task_kind="multi_label",
            task_settings={"allow_empty": True},
            test_fraction=0.0,
        )
        rows = [(i + 1, {"id": f"n{i}", "text": f"story {i}"}) for i in range(10)]
        import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
        set_member(project, user("alice"), "annotator")
        db.session.commit()
        return project.id


def _shown(page) -> str:
    return page.locator("#item-external-id").inner_text()


def _next(page, previous: str) -> str:
    expect(page.locator("#item-external-id")).not_to_have_text(previous)
    return _shown(page)


def test_label_five_sets_by_keyboard_then_change_one(page, app, topics):
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{topics}/annotate")
    page.wait_for_selector("#item:not([hidden])")
    expect(page.locator("#none-of-these")).to_be_visible()
    answers = [["1", "3"], ["2"], [], ["1", "2", "3"], ["3", "3", "2"]]  # 3 twice: off again
    expected = [["sports", "tech"], ["politics"], [], ["sports", "politics", "tech"], ["politics"]]
    chosen: dict[str, list[str]] = {}
    current = _shown(page)
    for keys, value in zip(answers, expected, strict=True):
        chosen[current] = value
        for key in keys:
            page.keyboard.press(key)
        page.keyboard.press("Enter" if keys else "0")
        current = _next(page, current)
    expect(page.locator("#session-count")).to_have_text("5")
    expect(page.locator("#coverage-text")).to_have_text("50.0%")

    # Back: the last set returns marked; add sports and submit again.
    page.keyboard.press("b")
    last = _next(page, current)
    assert chosen[last] == ["politics"]
    expect(page.locator('.label-toggle[aria-pressed="true"]')).to_have_count(1)
    expect(page.locator('.label-toggle[data-label="politics"]')).to_have_class(
        "label-button label-toggle chosen"
    )
    page.keyboard.press("1")
    page.keyboard.press("Enter")
    chosen[last] = ["sports", "politics"]
    assert _next(page, last) == current

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
