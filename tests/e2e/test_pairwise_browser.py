"""Vote on pairs by keyboard in a real browser: the sides shown are random, the votes
stored are in A/B terms."""

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


@pytest.fixture
def pairs(app) -> int:
    with app.app_context():
        project = create_project(
            "Answers",
            [{"name": "unused"}],
            task_kind="pairwise",
            task_settings={"both_bad": True},
            test_fraction=0.0,
        )
        rows = [
            (i + 1, {"id": f"p{i}", "prompt": f"Question {i}?",
                     "response_a": f"answer A{i}\n    kept  <b>indent</b>",
                     "response_b": f"answer B{i}"})
            for i in range(8)
        ]  # fmt: skip
        texts = ("prompt", "response_a", "response_b")
        import_rows(project, rows, ColumnMapping(id="id", text=texts))
        set_member(project, user("alice"), "annotator")
        db.session.commit()
        return project.id


def _on_screen(page) -> tuple[str, str, str]:
    """(external id, order shown, the left response's text)."""
    answer = page.locator("#answer")
    return (
        page.locator("#item-external-id").inner_text(),
        answer.get_attribute("data-shown"),
        page.locator(".pair-left .pair-text").text_content(),
    )


def test_vote_on_five_pairs_by_keyboard_change_one_and_find_a_b_votes(page, app, pairs):
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{pairs}/annotate")
    page.wait_for_selector("#item:not([hidden])")
    expected: dict[str, str] = {}
    orders: dict[str, str] = {}
    keys = ["1", "ArrowRight", "3", "2", "4"]  # left, right, tie, right, both bad
    external, shown, left = _on_screen(page)
    assert "<b>indent</b>" in page.locator(".pair-responses").inner_text()  # text, not markup
    for key in keys:
        assert left.startswith("answer " + shown[0])  # the left pane holds what shown says
        side = {"1": 0, "ArrowLeft": 0, "ArrowRight": 1, "2": 1}.get(key)
        expected[external] = shown[side] if side is not None else {"3": "tie", "4": "both_bad"}[key]
        orders[external] = shown
        page.keyboard.press(key)
        expect(page.locator("#item-external-id")).not_to_have_text(external)
        external, shown, left = _on_screen(page)
    expect(page.locator("#session-count")).to_have_text("5")
    assert set(orders.values()) <= {"AB", "BA"}

    # back to the last pair (both bad): it is marked; change it to "left is better"
    page.keyboard.press("b")
    expect(page.locator("#item-mode")).to_be_visible()
    last, last_shown, _ = _on_screen(page)
    assert expected[last] == "both_bad" and last_shown == orders[last]
    expect(page.locator(".label-button.chosen")).to_have_attribute("data-side", "both_bad")
    page.keyboard.press("1")
    expected[last] = last_shown[0]
    expect(page.locator("#item-mode")).to_be_hidden()

    with app.app_context():
        votes = db.session.execute(
            select(Item.external_id, Annotation.label, Annotation.value)
            .join(Annotation.item)
            .where(Annotation.user_id == user("alice").id)
        ).all()
        assert {external: label for external, label, _ in votes} == expected
        assert {external: value["shown"] for external, _, value in votes} == orders
        assert all(value["choice"] == label for _, label, value in votes)
        assert [r.label for r in db.session.scalars(select(AnnotationRevision))] == ["both_bad"]


def test_strength_is_toggled_by_key_and_sent_with_a_vote(page, app):
    with app.app_context():
        project = create_project(
            "Graded", [{"name": "unused"}], task_kind="pairwise",
            task_settings={"strength": True}, test_fraction=0.0,
        )  # fmt: skip
        rows = [(i + 1, {"id": f"g{i}", "prompt": "p", "response_a": f"a{i}",
                         "response_b": f"b{i}"}) for i in range(3)]  # fmt: skip
        texts = ("prompt", "response_a", "response_b")
        import_rows(project, rows, ColumnMapping(id="id", text=texts))
        set_member(project, user("alice"), "annotator")
        db.session.commit()
        project_id = project.id
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{project_id}/annotate")
    page.wait_for_selector("#item:not([hidden])")
    expect(page.locator(".pair-strength")).to_contain_text("slightly")
    assert page.locator('[data-side="both_bad"]').count() == 0  # not a project option here
    first = page.locator("#item-external-id").inner_text()
    page.keyboard.press("m")
    expect(page.locator(".pair-strength")).to_contain_text("much")
    page.keyboard.press("2")
    expect(page.locator("#item-external-id")).not_to_have_text(first)
    second = page.locator("#item-external-id").inner_text()
    page.keyboard.press("3")  # a tie carries no strength
    expect(page.locator("#item-external-id")).not_to_have_text(second)
    expect(page.locator("#session-count")).to_have_text("2")  # both votes are saved
    with app.app_context():
        stored = select(Item.external_id, Annotation.value).join(Annotation.item)
        values = dict(db.session.execute(stored).all())
        assert values[first]["strength"] == "much" and values[first]["choice"] in ("A", "B")
        assert values[second]["choice"] == "tie" and "strength" not in values[second]


LONG = "\n".join(
    f"def step_{i}(xs):\n    return  sorted(xs)[{i}]  # keep  spaces" for i in range(80)
)


def test_long_responses_scroll_on_their_own_keep_code_and_stack_on_a_narrow_screen(
    browser, live_server, app
):
    with app.app_context():
        project = create_project("Long", [], task_kind="pairwise", test_fraction=0.0)
        row = {"id": "long", "prompt": "Write <i>it</i>", "response_a": LONG, "response_b": "short"}
        texts = ("prompt", "response_a", "response_b")
        import_rows(project, [(1, row)], ColumnMapping(id="id", text=texts))
        set_member(project, user("alice"), "annotator")
        db.session.commit()
        project_id = project.id
    for width in (1280, 390):
        context = browser.new_context(
            base_url=live_server, viewport={"width": width, "height": 800}
        )
        page = context.new_page()
        login(page, "alice", PASSWORDS["alice"])
        page.goto(f"/projects/{project_id}/annotate")
        page.wait_for_selector("#item:not([hidden])")
        expect(page.locator(".pair-prompt .pair-text")).to_have_text("Write <i>it</i>")
        shown = page.locator("#answer").get_attribute("data-shown")
        long_side, short_side = ("left", "right") if shown == "AB" else ("right", "left")
        long_pane = page.locator(f".pair-{long_side} .pair-text")
        short_pane = page.locator(f".pair-{short_side} .pair-text")
        assert long_pane.text_content() == LONG  # every space and line kept, as text
        assert long_pane.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
        # the long response scrolls inside its own pane; the other one does not move
        assert long_pane.evaluate("e => e.scrollHeight > e.clientHeight")
        long_pane.evaluate("e => { e.scrollTop = 400; }")
        assert long_pane.evaluate("e => e.scrollTop") > 0
        assert short_pane.evaluate("e => e.scrollTop") == 0
        assert page.evaluate("window.scrollY") == 0
        left = page.locator(".pair-left").bounding_box()
        right = page.locator(".pair-right").bounding_box()
        if width == 1280:  # side by side
            assert right["x"] >= left["x"] + left["width"] and right["y"] == left["y"]
        else:  # stacked, one above the other, and nothing wider than the screen
            assert right["y"] >= left["y"] + left["height"] and right["x"] == left["x"]
            assert page.evaluate("document.documentElement.scrollWidth") <= width
        context.close()
