"""The review queue: disputed items page by page, votes with reliability, decisions."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import TIER_DONE, TIER_STARTED, Adjudication, Item
from labeler.services import ServiceError
from labeler.services.labeling import queue, review
from tests.conftest import make_project, sqlite_only, user


def _dispute(project, labels=(("alice", "spam"), ("bob", "ham"))) -> Item:
    """Label the next started item with ``labels`` (a k=2 tie makes a dispute)."""
    item = None
    for name, label in labels:
        got = queue.next_items(project, user(name))[0]
        item = item or got
        assert got.id == item.id
        queue.submit(project, user(name), got, label)
    return db.session.get(Item, item.id)


@pytest.fixture
def tied(app):
    with app.app_context():
        project = make_project(n_items=10, k=2)
        item = _dispute(project)
        db.session.commit()
        yield project, item


def test_a_tie_enters_the_queue_with_its_votes(tied):
    project, item = tied
    page = review.disputed_queue(project)
    assert [i.id for i in page.items] == [item.id] and page.total == 1
    assert page.votes[item.id] == {"spam": 1, "ham": 1} and page.next_after is None
    votes = review.item_votes(project, item)
    assert [(v.annotator, v.label) for v in votes] == [("alice", "spam"), ("bob", "ham")]


def test_the_queue_pages_by_keyset(app):
    with app.app_context():
        project = make_project(n_items=12, k=2)
        tied_ids = sorted(_dispute(project).id for _ in range(5))
        first = review.disputed_queue(project, limit=2)
        assert [i.id for i in first.items] == tied_ids[:2] and first.total == 5
        second = review.disputed_queue(project, after=first.next_after, limit=2)
        assert [i.id for i in second.items] == tied_ids[2:4]
        last = review.disputed_queue(project, after=second.next_after, limit=2)
        assert [i.id for i in last.items] == tied_ids[4:] and last.next_after is None


@sqlite_only
def test_the_queue_uses_the_review_index(tied):
    project, _ = tied
    stmt = (
        select(Item.id)
        .where(Item.project_id == project.id, Item.disputed.is_(True), Item.id > 0)
        .order_by(Item.id)
        .limit(51)
    )
    compiled = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = " ".join(
        str(row) for row in db.session.execute(db.text(f"EXPLAIN QUERY PLAN {compiled}"))
    )
    assert "ix_item_review" in plan


def test_resolve_sets_the_final_label_and_records_who_and_why(tied):
    project, item = tied
    before = project.labels_since_training
    decision = review.decide(project, item, user("rita"), "resolve", "spam", "link to a shop")
    assert (item.final_label, item.final_source, item.disputed) == ("spam", "adjudicated", False)
    assert (decision.action, decision.label, decision.note) == ("resolve", "spam", "link to a shop")
    assert decision.reviewer_id == user("rita").id and decision.created_at is not None
    assert project.labels_since_training == before + 1
    assert review.disputed_queue(project).total == 0
    assert [d.id for d in review.history(item)] == [decision.id]


def test_a_later_vote_change_keeps_the_adjudicated_label(tied):
    project, item = tied
    review.decide(project, item, user("rita"), "resolve", "spam")
    queue.submit(project, user("bob"), item, "spam")
    queue.submit(project, user("bob"), item, "ham")
    assert (item.final_label, item.final_source) == ("spam", "adjudicated")


def test_send_back_asks_one_more_annotator_then_the_vote_decides(tied):
    project, item = tied
    review.decide(project, item, user("rita"), "send_back", note="need a third view")
    assert (item.extra_annotations, item.queue_tier, item.disputed) == (1, TIER_STARTED, False)
    assert review.disputed_queue(project).total == 0
    # alice and bob labeled it: the queue gives it to dave, first
    assert queue.next_items(project, user("alice"))[0].id != item.id
    offered = queue.next_items(project, user("dave"))[0]
    assert offered.id == item.id
    queue.submit(project, user("dave"), offered, "spam")
    assert (item.final_label, item.final_source, item.queue_tier) == ("spam", "majority", TIER_DONE)


def test_ambiguous_leaves_the_queue_without_a_final_label(tied):
    project, item = tied
    review.decide(project, item, user("rita"), "ambiguous", note="sarcasm")
    assert item.ambiguous and not item.disputed and item.final_label is None
    assert db.session.scalar(select(Adjudication.action)) == "ambiguous"


@pytest.mark.parametrize(
    ("action", "label", "note", "field"),
    [
        ("delete", None, "", "action"),
        ("resolve", "eggs", "", "label"),
        ("resolve", None, "", "label"),
        ("resolve", "spam", "x" * 5000, "note"),
    ],
)
def test_bad_decisions_are_refused_and_change_nothing(tied, action, label, note, field):
    project, item = tied
    with pytest.raises(ServiceError) as error:
        review.decide(project, item, user("rita"), action, label, note)
    assert error.value.status == 422 and error.value.detail["field"] == field
    assert item.disputed and item.final_label is None
    assert db.session.scalar(select(Adjudication)) is None


def test_reliability_comes_from_leave_one_out_then_dawid_skene(app):
    from labeler import jobs

    with app.app_context():
        project = make_project(n_items=10, k=4, members=("alice", "bob", "carol", "dave"))
        for _ in range(4):
            _dispute(
                project, (("alice", "spam"), ("bob", "spam"), ("carol", "spam"), ("dave", "ham"))
            )
        db.session.commit()
        item = db.session.scalars(select(Item).where(Item.n_annotations == 4)).first()
        votes = {v.annotator: v.reliability for v in review.item_votes(project, item)}
        assert votes["alice"].source == "leave-one-out" and votes["alice"].value == 1.0
        assert votes["dave"].value == 0.0
        jobs.start("agreement", project.id)
        votes = {v.annotator: v.reliability for v in review.item_votes(project, item)}
        assert votes["alice"].source == "Dawid-Skene"
        assert votes["alice"].value > votes["dave"].value


def test_reviewers_see_the_serving_models_opinion(app, client, auth):
    from labeler.models import Item
    from labeler.services.labeling.review import model_opinion
    from tests.serving_helpers import add_version, sms_project

    with app.app_context():
        project = sms_project(n_items=5)
        item = db.session.scalars(db.select(Item).where(Item.project_id == project.id)).first()
        item.data = {"text": "WINNER!! Claim your free prize now, call 09061701461"}
        assert model_opinion(project, item) is None  # no model yet
        version = add_version(project, status="champion")
        db.session.commit()
        opinion = model_opinion(project, item)
        assert opinion["label"] == "spam" and opinion["version_id"] == version.id
        assert opinion["probabilities"][0][0] == "spam" and opinion["probabilities"][0][1] > 0.5
        pid, iid = project.id, item.id
    auth.login("rita")
    html = client.get(f"/projects/{pid}/review/{iid}").get_data(as_text=True)
    assert 'id="model-opinion"' in html and "<strong>spam</strong>" in html
