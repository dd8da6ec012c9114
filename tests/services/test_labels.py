"""Consensus and final labels stay current as votes arrive, item by item."""

from __future__ import annotations

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item
from labeler.services.labeling import queue
from tests.conftest import make_project, user


def _label_one(project, names_and_labels):
    item = None
    for name, label in names_and_labels:
        got = queue.next_items(project, user(name))[0]
        item = item or got
        assert got.id == item.id  # started items come first
        queue.submit(project, user(name), got, label)
    return db.session.get(Item, item.id)


def test_final_label_waits_for_k_then_follows_the_majority(app):
    with app.app_context():
        project = make_project(n_items=5, k=3)
        item = _label_one(project, [("alice", "spam"), ("bob", "spam")])
        assert item.consensus_label == "spam" and item.final_label is None
        queue.submit(project, user("dave"), queue.next_items(project, user("dave"))[0], "ham")
        item = db.session.get(Item, item.id)
        assert (item.final_label, item.final_source, item.disputed) == ("spam", "majority", False)
        assert item.consensus_confidence == 2 / 3
        assert project.labels_since_training == 1


def test_a_tie_is_disputed_and_has_no_final_label(app):
    with app.app_context():
        project = make_project(n_items=5, k=2)
        item = _label_one(project, [("alice", "spam"), ("bob", "ham")])
        assert item.disputed and item.consensus_label is None and item.final_label is None


def test_unanimity_makes_any_disagreement_a_dispute(app):
    with app.app_context():
        project = make_project(n_items=5, k=3)
        project.require_unanimity = True
        item = _label_one(project, [("alice", "spam"), ("bob", "spam"), ("dave", "ham")])
        assert item.disputed and item.final_label is None
        other = _label_one(project, [("alice", "ham"), ("bob", "ham"), ("dave", "ham")])
        assert (other.final_label, other.final_source) == ("ham", "unanimous")


def test_changing_a_vote_updates_the_final_label(app):
    with app.app_context():
        project = make_project(n_items=3, k=1)
        item = _label_one(project, [("alice", "spam")])
        assert item.final_label == "spam"
        queue.submit(project, user("alice"), item, "ham")
        assert db.session.scalar(select(Item.final_label).where(Item.id == item.id)) == "ham"
