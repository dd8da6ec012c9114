"""The pages in a real browser: "?" lists the keys, dark mode, a 390 px phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from labeler.extensions import db
from labeler.services.labeling import queue
from tests.conftest import PASSWORDS, make_project, user
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e


@pytest.fixture
def disputed(app) -> tuple[int, int]:
    with app.app_context():
        project = make_project("Keys", n_items=3, k=2)
        item = queue.next_items(project, user("alice"))[0]
        queue.submit(project, user("alice"), item, "spam")
        queue.next_items(project, user("bob"))
        queue.submit(project, user("bob"), item, "ham")
        db.session.commit()
        return project.id, item.id


def test_question_mark_lists_the_keys_of_the_page(page, disputed):
    project_id, item_id = disputed
    login(page, "rita", PASSWORDS["rita"])
    page.goto(f"/projects/{project_id}/review/{item_id}")
    page.keyboard.press("?")
    help_list = page.locator("#key-help")
    expect(help_list).to_be_visible()
    for text in ("ham", "spam", "Send back for one more label", "Mark ambiguous", "Back to the"):
        expect(help_list).to_contain_text(text)
    page.keyboard.press("Escape")
    expect(help_list).to_be_hidden()
    assert page.url.endswith(f"/review/{item_id}")  # "?" decided nothing
    expect(page.locator("#review-count")).to_have_count(0)
    page.fill("#note", "what?")  # typing "?" in a field stays typing
    expect(help_list).to_be_hidden()
    page.goto(f"/projects/{project_id}")
    page.keyboard.press("?")
    expect(page.locator("#key-help")).to_contain_text("Show or hide this list")


def test_dark_mode_follows_the_system(browser, live_server, disputed):
    context = browser.new_context(base_url=live_server, color_scheme="dark")
    page = context.new_page()
    login(page, "rita", PASSWORDS["rita"])
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(21, 25, 34)"
    context.close()


def test_navigation_and_tables_fit_a_390_px_phone(browser, live_server, disputed):
    project_id, _ = disputed
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    page = context.new_page()
    login(page, "admin", PASSWORDS["admin"])
    for path in ("/", f"/projects/{project_id}", f"/projects/{project_id}/items"):
        page.goto(path)
        logout = page.locator(".topbar button.link").bounding_box()
        assert logout["x"] + logout["width"] <= 390, path
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide"
    context.close()
