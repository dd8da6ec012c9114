"""What the task kinds' browser tests share: a small project of one kind with ten text
items and its members, and reading which item the form shows."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from labeler.extensions import db
from labeler.models import Project
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.labeling import queue
from labeler.services.projects.store import create_project, set_member
from tests.conftest import user


def kind_project(
    app,
    name: str,
    labels: list[dict[str, Any]],
    task_kind: str,
    prefix: str,
    annotators: tuple[str, ...] = ("alice",),
    reviewers: tuple[str, ...] = (),
    n_items: int = 10,
    **settings: Any,
) -> int:
    """A committed ``task_kind`` project of ``n_items`` texts ("<prefix>0"...), no test
    split; ``settings`` go to ``create_project`` (task_settings, label_scale, k...)."""
    with app.app_context():
        project = create_project(name, labels, task_kind=task_kind, test_fraction=0.0, **settings)
        rows = [(i + 1, {"id": f"{prefix}{i}", "text": f"{name} text {i}"}) for i in range(n_items)]
        import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
        for member in annotators:
            set_member(project, user(member), "annotator")
        for member in reviewers:
            set_member(project, user(member), "reviewer")
        db.session.commit()
        return project.id


def vote_on_first_item(app, project_id: int, answers: dict[str, Any]) -> tuple[int, bool]:
    """Each annotator of ``answers`` labels the item the queue starts them on (the same
    one while it waits for k votes); returns its id and whether it is disputed."""
    with app.app_context():
        project = db.session.get(Project, project_id)
        item = None
        for name, answer in answers.items():
            served = queue.next_items(project, user(name))[0]
            assert item is None or served.id == item.id
            item = served
            queue.submit(project, user(name), item, answer)
        db.session.commit()
        return item.id, item.disputed


def shown(page) -> str:
    """The external id of the item the form shows."""
    return page.locator("#item-external-id").inner_text()


def next_item(page, previous: str) -> str:
    """Wait for the form to move on from ``previous``; the new item's external id."""
    expect(page.locator("#item-external-id")).not_to_have_text(previous)
    return shown(page)
