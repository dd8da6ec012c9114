"""Mark spans in a real browser: three by keyboard, one by mouse, delete one, submit,
go back, change one, and find the code-point offsets stored."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, AnnotationRevision, Item
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.projects.store import create_project, set_member
from tests.conftest import PASSWORDS, user
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

# The emoji is two UTF-16 units but one code point: offsets after it prove which is stored.
TEXT = "\U0001f44d Call 0845 281 at 10am or visit www.ex.com today £5"
LABELS = [
    {"name": "PHONE", "hotkey": "p"},
    {"name": "TIME", "hotkey": "t"},
    {"name": "URL", "hotkey": "u"},
    {"name": "PRICE", "hotkey": "r"},
]


@pytest.fixture
def spans_project(app):
    with app.app_context():
        project = create_project(
            "Entities", LABELS, "Mark what you find.", test_fraction=0.0, task_kind="spans"
        )
        rows = [
            (1, {"id": "ad", "text": TEXT}),
            (2, {"id": "plain", "text": "nothing <b>here</b>"}),
        ]
        import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
        set_member(project, user("alice"), "annotator")
        db.session.commit()
        return project.id


def _span(text: str, label: str) -> dict:
    start = TEXT.index(text)
    return {"start": start, "end": start + len(text), "label": label}


def _press(page, key: str, times: int = 1) -> None:
    for _ in range(times):
        page.keyboard.press(key)


def _drag(page, first, last) -> None:
    a, b = first.bounding_box(), last.bounding_box()
    page.mouse.move(a["x"] + 1, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] - 1, b["y"] + b["height"] / 2, steps=5)
    page.mouse.up()


def _expect_back_on(page, external_id: str) -> None:
    """Wait until going back has drawn `external_id` in "changing" mode. After the last
    item the form hides the item it showed but keeps its content, so its id and marks
    alone would match before the earlier item is drawn, and keys pressed then do nothing."""
    expect(page.locator("#item-mode")).to_be_visible()
    expect(page.locator("#item")).to_be_visible()
    expect(page.locator("#item-external-id")).to_have_text(external_id)


def _answer_plain(page) -> None:
    expect(page.locator(".span-text")).to_have_text("nothing <b>here</b>")  # escaped
    page.keyboard.press("Enter")  # "no entities" is an answer


def test_mark_spans_by_keyboard_and_mouse_then_change_one(page, app, spans_project):
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{spans_project}/annotate")
    page.wait_for_selector("#item:not([hidden])")
    plain_first = page.locator("#item-external-id").inner_text() == "plain"
    if plain_first:
        _answer_plain(page)
        expect(page.locator("#item-external-id")).to_have_text("ad")
    text = page.locator(".span-text")
    expect(text).to_contain_text("visit www.ex.com")
    assert page.locator(".text-body").count() == 0  # the widget draws the text, once
    # tokens: 👍(0) Call(1) 0845(2) 281(3) at(4) 10am(5) or(6) visit(7) www(8) .(9) ex(10)
    #         .(11) com(12) today(13) £(14) 5(15)
    _press(page, "ArrowRight", 2)
    _press(page, "Shift+ArrowRight")
    _press(page, "p")  # PHONE "0845 281"
    _press(page, "ArrowRight", 2)
    _press(page, "t")  # TIME "10am"
    _press(page, "ArrowRight", 3)
    _press(page, "Shift+ArrowRight", 4)
    _press(page, "u")  # URL "www.ex.com"
    _drag(page, text.locator(".tok[data-i='14']"), text.locator(".tok[data-i='15']"))
    _press(page, "r")  # PRICE "£5", selected with the mouse
    expect(text.locator("mark.span")).to_have_count(4)
    expect(text.locator("mark[data-label='PRICE']")).to_contain_text("£5")
    _press(page, "ArrowLeft", 10)  # back to "10am"
    _press(page, "Delete")
    expect(text.locator("mark.span")).to_have_count(3)
    expect(text.locator("mark[data-label='URL'] .span-name")).to_have_text("URL")
    _press(page, "Enter")
    if plain_first:
        expect(page.locator("#status")).to_contain_text("No more items")
    else:
        expect(page.locator("#item-external-id")).to_have_text("plain")
        _answer_plain(page)
        page.keyboard.press("b")  # back over "plain" to "ad"
        _expect_back_on(page, "plain")

    page.keyboard.press("b")
    _expect_back_on(page, "ad")
    expect(text.locator("mark.span")).to_have_count(3)
    _press(page, "ArrowRight", 2)
    _press(page, "p")  # PHONE is now "0845" alone; the wider one it overlapped goes
    expect(text.locator("mark[data-label='PHONE']")).to_contain_text("0845")
    expect(text.locator("mark[data-label='PHONE']")).not_to_contain_text("281")
    _press(page, "Enter")
    expect(page.locator("#item-mode")).to_be_hidden()

    with app.app_context():
        stored = db.session.scalar(
            select(Annotation).join(Annotation.item).where(Item.external_id == "ad")
        )
        assert stored.value == [
            _span("0845", "PHONE"),
            _span("www.ex.com", "URL"),
            _span("£5", "PRICE"),
        ]
        assert stored.value[0]["start"] == 7  # code points: the emoji counts once
        revision = db.session.scalar(select(AnnotationRevision))
        assert revision.value == [
            _span("0845 281", "PHONE"),
            _span("www.ex.com", "URL"),
            _span("£5", "PRICE"),
        ]
