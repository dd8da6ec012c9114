"""Guidelines are versioned; annotations record their version; agreement per version."""

from __future__ import annotations

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, GuidelineVersion, Item
from labeler.services.data import guidelines
from labeler.services.labeling import queue
from tests.conftest import make_project, user


def test_each_change_is_a_version_and_submits_record_it(app):
    with app.app_context():
        project = make_project(n_items=4, k=1)
        assert guidelines.update(project, project.guidelines, user("admin")) is None
        version = guidelines.update(project, "Spam: any unsolicited offer.", user("admin"))
        assert version.version == 2 and project.guideline_version == 2
        stored = {v.version: v.text for v in db.session.scalars(select(GuidelineVersion))}
        assert stored == {1: "Spam is **unwanted** advertising.", 2: "Spam: any unsolicited offer."}
        item = queue.next_items(project, user("alice"))[0]
        queue.submit(project, user("alice"), item, "spam")
        guidelines.update(project, "Spam: any unsolicited offer, also from friends.", None)
        queue.submit(project, user("alice"), item, "ham")  # a change re-records the version
        assert db.session.scalars(select(Annotation.guideline_version)).one() == 3


def test_agreement_before_and_after_a_guideline_change(app):
    """Version 1: annotators agree on half the items; version 2: on all of them."""
    with app.app_context():
        project = make_project(n_items=16, k=2)
        items = list(db.session.scalars(select(Item).order_by(Item.id)))
        for n, item in enumerate(items[:8]):
            queue.submit(project, user("alice"), item, "spam")
            queue.submit(project, user("bob"), item, "spam" if n % 2 else "ham")
        guidelines.update(project, "New: links from strangers are spam.", user("admin"))
        for n, item in enumerate(items[8:]):
            label = "spam" if n % 2 else "ham"
            queue.submit(project, user("alice"), item, label)
            queue.submit(project, user("bob"), item, label)
        rows = {row["version"]: row for row in guidelines.agreement_by_version(project)}
        assert set(rows) == {1, 2}
        assert (rows[1]["n_items_compared"], rows[2]["n_items_compared"]) == (8, 8)
        assert rows[1]["percent"] == 0.5 and rows[2]["percent"] == 1.0
        assert rows[2]["alpha"] == 1.0 and rows[1]["alpha"] < 0.2
        assert rows[2]["current"] and not rows[1]["current"]
