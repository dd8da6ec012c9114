"""A bulk import of labels (issue 21): webhooks hear one summary per chunk, not one
delivery per item, and a label that arrives by import ends its annotator's lease."""

from __future__ import annotations

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Assignment, Item, WebhookDelivery
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.labeling import queue
from labeler.services.projects import webhooks
from tests.conftest import make_project, user

MAPPING = ColumnMapping(id="id", text=("text",), label="label", annotator="who")


def _rows(n: int, who: str = "alice", start: int = 0):
    return [
        (i + 2, {"id": f"m{i}", "text": f"message number {i}", "label": "spam", "who": who})
        for i in range(start, start + n)
    ]


def test_an_import_of_labels_sends_one_summary_per_chunk_to_each_webhook(app):
    with app.app_context():
        project = make_project(n_items=30)  # k = 1: every imported label settles its item
        webhooks.register(project, "http://127.0.0.1:9/hook", ["item.final_label"], None)
        webhooks.register(project, "http://127.0.0.1:9/other", ["item.disputed"], None)
        import_rows(project, _rows(30), MAPPING)
        db.session.flush()
        deliveries = list(db.session.scalars(select(WebhookDelivery)))
        assert [d.event for d in deliveries] == ["item.final_label"]  # nothing disputed
        data = deliveries[0].payload["data"]
        assert data["bulk"] is True and data["count"] == 30
        settled = db.session.scalars(
            select(Item.id).where(Item.project_id == project.id, Item.final_label == "spam")
        ).all()
        assert sorted(entry["item_id"] for entry in data["items"]) == sorted(settled)
        assert {entry["final_label"] for entry in data["items"]} == {"spam"}
        assert {entry["decided_by"] for entry in data["items"]} == {"unanimous"}
        db.session.rollback()  # nothing is sent from a rolled-back import


def test_a_chunked_refresh_sends_one_delivery_per_chunk(app):
    from labeler.services.labeling.labels import refresh_project

    with app.app_context():
        project = make_project(n_items=30)
        webhooks.register(project, "http://127.0.0.1:9/hook", ["item.final_label"], None)
        import_rows(project, _rows(30), MAPPING)
        db.session.flush()
        db.session.execute(db.delete(WebhookDelivery))
        db.session.execute(
            db.update(Item).where(Item.project_id == project.id).values(final_label=None)
        )
        refresh_project(project, batch=12)  # 30 items: chunks of 12, 12 and 6
        counts = [d.payload["data"]["count"] for d in db.session.scalars(select(WebhookDelivery))]
        assert sorted(counts) == [6, 12, 12]
        db.session.rollback()


def test_an_imported_label_ends_its_annotators_lease_and_no_one_elses(app):
    with app.app_context():
        project = make_project(n_items=5, k=2)
        alice_item = queue.next_items(project, user("alice"))[0]
        bob_item = queue.next_items(project, user("bob"))[0]
        assert alice_item.id == bob_item.id  # k = 2: both hold the first item
        number = int(alice_item.external_id.removeprefix("m"))
        import_rows(project, _rows(1, start=number), MAPPING)  # alice's label, by import
        db.session.flush()
        holders = db.session.scalars(
            select(Assignment.user_id).where(Assignment.item_id == alice_item.id)
        ).all()
        assert holders == [user("bob").id]
        assert db.session.get(Item, alice_item.id).n_annotations == 1
        db.session.commit()
        assert db.session.scalar(select(func.count(Assignment.id))) == 1
