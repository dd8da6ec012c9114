"""A request reads its project before the write turn (issue 21): what another writer
commits in between must win. The project's counters are added in SQL (``x = x + n``),
never written back from the row read earlier, and k is re-read inside the turn, so a
lowered k never lets a lease or a label push an item past it."""

from __future__ import annotations

from sqlalchemy import select, update

from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import Annotation, Item, Project
from labeler.services.labeling import queue
from tests.conftest import make_project, user


def _read_then_let_another_writer_commit(project_id: int, **values) -> Project:
    """The project as a request reads it before its turn, then ``values`` committed by
    another connection before the turn begins."""
    project = db.session.get(Project, project_id)
    session = db.session()
    session.expire_on_commit = False  # what reads_before_writing does: nothing expires
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    with db.engine.begin() as other:
        other.execute(update(Project.__table__).where(Project.id == project_id).values(**values))
    begin_write()
    return project


def _fresh(project_id: int) -> Project:
    db.session.expire_all()
    return db.session.get(Project, project_id)


def test_a_settling_label_adds_to_the_training_counter_another_writer_reset(app):
    with app.app_context():
        project = make_project("Stale", n_items=4, k=2)
        project.retrain_every = 1000
        db.session.commit()
        pid = project.id
        item = queue.next_items(project, user("alice"))[0]
        queue.submit(project, user("alice"), item, "spam")
        project.labels_since_training = 7  # labels settled earlier
        db.session.commit()
        item_id = item.id

        queue.next_items(project, user("bob"))  # bob holds the item alice started
        db.session.commit()
        # a training job starts meanwhile and resets the counter it consumed
        stale = _read_then_let_another_writer_commit(pid, labels_since_training=0)
        assert stale.labels_since_training == 7  # what the request read
        result = queue.submit(stale, user("bob"), db.session.get(Item, item_id), "spam")
        db.session.commit()
        assert result.outcome == "created"
        fresh = _fresh(pid)
        assert db.session.get(Item, item_id).final_label == "spam"
        assert fresh.labels_since_training == 1  # 0 + this label, not 7 + 1
        assert fresh.filled_slots == 2


def test_a_lowered_k_is_seen_by_the_pick_read_before_it(app):
    with app.app_context():
        project = make_project("Lowered", n_items=1, k=2)
        db.session.commit()
        pid = project.id
        item = queue.next_items(project, user("alice"))[0]
        queue.submit(project, user("alice"), item, "spam")
        db.session.commit()

        # k goes to 1 after bob's request read the project (k = 2 in his row)
        stale = _read_then_let_another_writer_commit(pid, annotations_per_item=1)
        assert stale.annotations_per_item == 2
        assert queue.next_items(stale, user("bob")) == []  # the only item has its one label
        db.session.commit()


def test_a_lowered_k_counts_the_label_against_the_new_k(app):
    with app.app_context():
        project = make_project("Counted", n_items=1, k=3)
        db.session.commit()
        pid = project.id
        for name in ("alice", "bob"):
            queue.next_items(project, user(name))
        item = db.session.scalar(select(Item).where(Item.project_id == pid))
        queue.submit(project, user("alice"), item, "spam")
        db.session.commit()
        item_id = item.id

        # bob holds a lease from before; k goes from 3 to 2 before his label's turn
        stale = _read_then_let_another_writer_commit(pid, annotations_per_item=2)
        queue.submit(stale, user("bob"), db.session.get(Item, item_id), "spam", require_lease=True)
        db.session.commit()
        fresh_item = db.session.get(Item, item_id)
        fresh = _fresh(pid)
        fresh_item = db.session.get(Item, item_id)
        assert fresh_item.n_annotations == 2
        assert fresh_item.queue_tier == 0  # done at the new k
        assert fresh_item.final_label == "spam"  # settled: 2 of 2 agree
        assert fresh.filled_slots == 2
        votes = db.session.scalars(select(Annotation.label).where(Annotation.item_id == item_id))
        assert sorted(votes) == ["spam", "spam"]
