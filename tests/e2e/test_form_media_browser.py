"""The form in a real browser: an item shows only with its picture, keys are inert until
then, the next picture is fetched ahead, pictures zoom, and suggestions are accepted
with Enter or overridden with a label key."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, Item, Project
from labeler.services.projects.store import set_member
from tests.conftest import PASSWORDS, make_project, user
from tests.e2e.conftest import login
from tests.serving_helpers import add_version, sms_project

pytestmark = pytest.mark.e2e

IMAGES = "**/projects/*/items/*/image"


def _pixel_project(app, n_items: int = 6) -> int:
    with app.app_context():
        project = make_project("Digits", n_items=n_items)
        project.display = {
            "pixel_grid": {"fields": [f"p{i}" for i in range(16)], "width": 4, "height": 4}
        }
        project.model_inputs = {"numeric": [f"p{i}" for i in range(16)]}
        for n, item in enumerate(
            db.session.scalars(select(Item).where(Item.project_id == project.id))
        ):
            item.data = {f"p{i}": (i * (n + 1)) % 256 for i in range(16)}
        db.session.commit()
        return project.id


def _image_urls(app, project_id: int) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(
            select(Item.external_id, Item.id).where(Item.project_id == project_id)
        ).all()
    return {external: f"/projects/{project_id}/items/{item_id}/image" for external, item_id in rows}


def _labels(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Annotation.id)).all())


def test_an_item_waits_for_its_picture_and_keys_do_nothing_meanwhile(page, app):
    project = _pixel_project(app)
    urls = _image_urls(app, project)
    held = []
    page.route(IMAGES, lambda route: held.append(route))
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{project}/annotate")
    expect(page.locator("#status")).to_have_text("Loading the picture…")
    expect(page.locator("#item")).to_be_hidden()
    page.keyboard.press("1")  # a label key before the picture: ignored, not queued
    page.keyboard.press("Enter")
    assert _labels(app) == 0
    for route in held:
        route.continue_()
    page.unroute(IMAGES)
    expect(page.locator("#item")).to_be_visible()
    first = page.locator("#item-external-id").inner_text()
    image = page.locator("#item-image")
    assert image.get_attribute("src").endswith(urls[first])
    assert page.evaluate("document.getElementById('item-image').naturalWidth") > 0
    assert _labels(app) == 0  # the early keys did not land on this item either

    # the next item's picture was fetched while this one was on screen: it shows at once,
    # and never under the previous picture
    for _ in range(3):
        shown = page.locator("#item-external-id").inner_text()
        page.keyboard.press("1")
        expect(page.locator("#item-external-id")).not_to_have_text(shown)
        now = page.locator("#item-external-id").inner_text()
        assert image.get_attribute("src").endswith(urls[now])
        assert page.evaluate("document.getElementById('item-image').complete")
    expect(page.locator("#session-count")).to_have_text("3")
    assert _labels(app) == 3


# Every state of the page in which the item is on screen: its id, its picture, and
# whether that picture is decoded. Recorded on each change of the page (a
# MutationObserver runs after each batch of DOM changes, before the next paint).
WATCH_ITEM = """() => {
  window.__seen = [];
  const note = () => {
    const item = document.getElementById('item');
    const img = document.getElementById('item-image');
    if (!item || item.hidden) return;
    window.__seen.push({
      id: document.getElementById('item-external-id').textContent,
      src: img ? img.getAttribute('src') : null,
      decoded: Boolean(img && img.complete && img.naturalWidth > 0),
    });
  };
  new MutationObserver(note).observe(document.body,
    {subtree: true, childList: true, attributes: true, characterData: true});
  note();
}"""


def test_a_slow_next_picture_never_shows_the_old_one_under_the_new_id(page, app):
    project = _pixel_project(app)
    urls = _image_urls(app, project)
    held: list = []
    passing = {"first": True, "all": False}

    def handle(route):
        # the first picture comes at once; the ones after it wait until released
        if passing["all"] or passing["first"]:
            passing["first"] = False
            route.continue_()
        else:
            held.append(route)

    page.route(IMAGES, handle)
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{project}/annotate")
    expect(page.locator("#item")).to_be_visible()
    page.evaluate(WATCH_ITEM)
    first = page.locator("#item-external-id").inner_text()
    page.wait_for_function("document.getElementById('item-image').complete")

    page.keyboard.press("1")  # labels the first item; the next one's picture is held
    expect(page.locator("#status")).to_have_text("Loading the picture…")
    expect(page.locator("#item")).to_be_hidden()
    expect(page.locator("#session-count")).to_have_text("1")
    assert held, "the next picture was not requested ahead"
    for key in ["1", "2", "Enter", "1"]:  # keys while the picture is on its way: inert
        page.keyboard.press(key)
    page.wait_for_timeout(300)
    expect(page.locator("#item")).to_be_hidden()
    assert _labels(app) == 1

    passing["all"] = True
    for route in held:
        route.continue_()
    expect(page.locator("#item")).to_be_visible()
    second = page.locator("#item-external-id").inner_text()
    assert second != first
    assert page.locator("#item-image").get_attribute("src").endswith(urls[second])
    page.keyboard.press("1")
    expect(page.locator("#item-external-id")).not_to_have_text(second)
    expect(page.locator("#session-count")).to_have_text("2")
    assert _labels(app) == 2

    seen = page.evaluate("window.__seen")
    assert {s["id"] for s in seen} >= {first, second}
    for state in seen:  # never an id over another item's picture, nor over a half-loaded one
        assert state["src"] and state["src"].endswith(urls[state["id"]]), state
        assert state["decoded"], state


def test_a_picture_that_fails_to_load_is_never_labeled(page, app):
    project = _pixel_project(app, n_items=2)
    # a broken file rather than a network error (which the page would log as one)
    page.route(
        IMAGES, lambda route: route.fulfill(status=200, content_type="image/png", body=b"broken")
    )
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{project}/annotate")
    expect(page.locator("#status")).to_contain_text("could not be loaded")
    expect(page.locator("#item")).to_be_hidden()
    page.keyboard.press("1")
    assert _labels(app) == 0


def test_the_picture_zooms_by_keyboard_and_mouse(page, app):
    project = _pixel_project(app, n_items=2)
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{project}/annotate")
    media = page.locator("#item-media")
    expect(page.locator("#item-image")).to_be_visible()
    fit = page.locator("#item-image").bounding_box()["width"]
    page.keyboard.press("+")
    page.keyboard.press("+")
    expect(media).to_have_attribute("data-zoom", "2")
    assert page.locator("#item-image").bounding_box()["width"] == pytest.approx(2 * fit, rel=0.05)
    page.keyboard.press("-")
    expect(media).to_have_attribute("data-zoom", "1.5")
    page.locator("#item-image").hover()
    page.mouse.wheel(0, -100)
    expect(media).to_have_attribute("data-zoom", "2")
    page.locator("#item-image").dblclick()
    expect(media).to_have_attribute("data-zoom", "1")
    assert _labels(app) == 0  # zoom keys are not answers


def test_a_suggestion_is_accepted_with_enter_and_overridden_with_a_key(page, app):
    with app.app_context():
        project = sms_project(n_items=20, test_fraction=0.0)
        project.labels = [{"name": "ham", "hotkey": "1"}, {"name": "spam", "hotkey": "2"}]
        add_version(project, status="champion")
        project.suggestions = "model"
        set_member(project, user("alice"), "annotator")
        db.session.commit()
        project_id = project.id
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{project_id}/annotate")
    badge = page.locator("#item-suggestion")
    expect(badge).to_contain_text("Model suggestion")
    suggested = page.locator("#answer .label-button.chosen")
    expect(suggested).to_have_count(1)
    first = page.locator("#item-external-id").inner_text()
    first_label = suggested.get_attribute("data-label")
    page.keyboard.press("Enter")
    expect(page.locator("#item-external-id")).not_to_have_text(first)
    second = page.locator("#item-external-id").inner_text()
    expect(badge).to_be_visible()
    second_suggestion = page.locator("#answer .label-button.chosen").get_attribute("data-label")
    override = "1" if second_suggestion == "spam" else "2"
    page.keyboard.press(override)
    expect(page.locator("#item-external-id")).not_to_have_text(second)
    expect(page.locator("#session-count")).to_have_text("2")
    with app.app_context():
        rows = {
            external: (label, suggestion, accepted)
            for external, label, suggestion, accepted in db.session.execute(
                select(
                    Item.external_id,
                    Annotation.label,
                    Annotation.suggestion_label,
                    Annotation.suggestion_accepted,
                ).join(Annotation.item)
            )
        }
        assert db.session.get(Project, project_id).suggestions == "model"
    assert rows[first] == (first_label, first_label, True)
    other = "ham" if override == "1" else "spam"
    assert rows[second] == (other, second_suggestion, False)
