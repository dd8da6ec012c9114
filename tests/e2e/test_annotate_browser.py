"""Label by keyboard in a real browser: five items, back, change one, watch progress."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, AnnotationRevision, Item, User
from tests.conftest import PASSWORDS
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


def _shown(page) -> str:
    return page.locator("#item-external-id").inner_text()


def _wait_for_new_item(page, previous: str) -> str:
    # expect() polls from Playwright's own script; wait_for_function would eval a string,
    # which the page's strict CSP (no 'unsafe-eval') rightly refuses.
    expect(page.locator("#item-external-id")).not_to_have_text(previous)
    return _shown(page)


def test_label_five_items_by_keyboard_then_change_one(page, app, project):
    login(page, "alice", PASSWORDS["alice"])
    api_calls: list[str] = []
    page.on("request", lambda r: "/api/" in r.url and api_calls.append(f"{r.method} {r.url}"))
    page.goto(f"/projects/{project}/annotate")
    page.wait_for_selector("#item:not([hidden])")
    chosen: dict[str, str] = {}
    keys = ["1", "2", "1", "2", "2"]
    current = _shown(page)
    for key in keys:
        chosen[current] = "ham" if key == "1" else "spam"
        page.keyboard.press(key)
        current = _wait_for_new_item(page, current)
    expect(page.locator("#session-count")).to_have_text("5")
    # one request a label: each submit leased the next items (no GET /next after it)
    page.wait_for_load_state("networkidle")
    assert [c for c in api_calls if "/next" in c] == [api_calls[0]]
    assert sum("/annotation" in c for c in api_calls) == 5
    assert page.evaluate("document.querySelector('#coverage').value") == pytest.approx(5 / 20)
    assert page.locator("#coverage-text").inner_text() == "25.0%"

    # back: the last labeled item returns with its label marked; change it to ham
    page.keyboard.press("b")
    last = _wait_for_new_item(page, current)
    assert chosen[last] == "spam"
    assert page.locator(".label-button.chosen").inner_text().strip().endswith("spam")
    assert page.locator("#item-mode").is_visible()
    page.keyboard.press("1")
    chosen[last] = "ham"
    assert _wait_for_new_item(page, last) == current  # back to where we were

    with app.app_context():
        alice = db.session.scalar(select(User).where(User.username == "alice"))
        stored = dict(
            db.session.execute(
                select(Item.external_id, Annotation.label)
                .join(Annotation.item)
                .where(Annotation.user_id == alice.id)
            ).all()
        )
        assert stored == chosen
        history = db.session.scalars(select(AnnotationRevision)).all()
        assert [h.label for h in history] == ["spam"]
        seconds = db.session.scalars(select(Annotation.seconds)).all()
        assert all(s is not None and s >= 0 for s in seconds)


def test_item_text_with_markup_shows_as_text(page, app, project):
    from labeler.models import Project
    from labeler.services.data.import_spec import ColumnMapping
    from labeler.services.data.imports import import_rows

    payload = (
        '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>'
    )
    with app.app_context():
        proj = db.session.get(Project, project)
        db.session.execute(db.delete(Item))
        import_rows(
            proj, [(1, {"id": "evil", "text": payload})], ColumnMapping(id="id", text=("text",))
        )
        db.session.commit()
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{project}/annotate")
    page.wait_for_selector("#item:not([hidden])")
    assert page.locator(".text-body").inner_text() == payload
    assert page.title() != "pwned"
