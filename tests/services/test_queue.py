"""The queue rules: k distinct annotators, leases, reloads, skips, blind and safe submits."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from labeler.db_engine import begin_write
from labeler.extensions import db
from labeler.models import (
    TIER_DONE,
    Annotation,
    AnnotationRevision,
    Assignment,
    Item,
    Project,
    utcnow,
)
from labeler.services import Conflict, ServiceError
from labeler.services.labeling import queue
from tests.conftest import make_project, sqlite_only, user


def _project(pid: int) -> Project:
    return db.session.get(Project, pid)


def test_items_reach_k_distinct_annotators_and_never_more(app):
    with app.app_context():
        project = make_project(n_items=3, k=2)
        db.session.commit()
        for name in ("alice", "bob", "dave"):
            while items := queue.next_items(project, user(name)):
                queue.submit(project, user(name), items[0], "ham")
        db.session.commit()
        counts = db.session.execute(
            select(Annotation.item_id, func.count()).group_by(Annotation.item_id)
        ).all()
        assert sorted(c for _, c in counts) == [2, 2, 2]
        pairs = db.session.execute(select(Annotation.item_id, Annotation.user_id)).all()
        assert len(pairs) == len(set(pairs)) == 6
        assert all(i.queue_tier == TIER_DONE for i in db.session.scalars(select(Item)))
        assert project.filled_slots == 6 and project.coverage == 1.0


def test_started_items_come_before_fresh_ones(app):
    with app.app_context():
        project = make_project(n_items=50, k=2)
        first = queue.next_items(project, user("alice"))[0]
        queue.submit(project, user("alice"), first, "spam")
        # bob must finish what alice started, whatever its random rank
        assert queue.next_items(project, user("bob"))[0].id == first.id


def test_a_reload_returns_the_held_item_and_prefetch_leases_two(app):
    with app.app_context():
        project = make_project(n_items=10)
        alice = user("alice")
        held = queue.next_items(project, alice, n=2)
        again = queue.next_items(project, alice, n=2)
        assert [i.id for i in again] == [i.id for i in held]
        assert queue.next_items(project, alice, n=1)[0].id == held[0].id


def test_a_leased_item_is_not_given_to_others_until_the_lease_expires(app):
    with app.app_context():
        project = make_project(n_items=1, k=1)
        start = utcnow()
        taken = queue.next_items(project, user("alice"), lease_seconds=600, now=start)
        assert taken and queue.next_items(project, user("bob"), now=start) == []
        later = start + timedelta(seconds=601)
        assert [i.id for i in queue.next_items(project, user("bob"), now=later)] == [taken[0].id]


def test_a_user_never_gets_an_item_twice_and_skips_stick(app):
    with app.app_context():
        project = make_project(n_items=3, k=3)
        alice = user("alice")
        seen = []
        first = queue.next_items(project, alice)[0]
        queue.skip(project, alice, first)
        while items := queue.next_items(project, alice):
            seen.append(items[0].id)
            queue.submit(project, alice, items[0], "ham")
        assert first.id not in seen and len(seen) == len(set(seen)) == 2
        # the skipped item is free for others
        assert first.id in {i.id for i in queue.next_items(project, user("bob"), n=3)}


def test_submitting_twice_records_one_annotation(app):
    with app.app_context():
        project = make_project(n_items=2)
        alice = user("alice")
        item = queue.next_items(project, alice)[0]
        assert queue.submit(project, alice, item, "spam", 3.0).outcome == "created"
        assert queue.submit(project, alice, item, "spam", 3.0).outcome == "unchanged"
        assert db.session.scalar(select(func.count(Annotation.id))) == 1
        assert db.session.get(Item, item.id).n_annotations == 1


def test_changing_a_label_keeps_its_history(app):
    with app.app_context():
        project = make_project(n_items=2)
        alice = user("alice")
        item = queue.next_items(project, alice)[0]
        queue.submit(project, alice, item, "spam", 3.0)
        result = queue.submit(project, alice, item, "ham", 1.5)
        assert result.outcome == "changed" and result.annotation.label == "ham"
        revision = db.session.scalar(select(AnnotationRevision))
        assert (revision.label, revision.seconds) == ("spam", 3.0)
        assert db.session.get(Item, item.id).n_annotations == 1


def test_labels_outside_the_set_and_expired_full_items_are_refused(app):
    with app.app_context():
        project = make_project(n_items=1, k=1)
        alice, bob = user("alice"), user("bob")
        start = utcnow()
        item = queue.next_items(project, alice, now=start)[0]
        with pytest.raises(ServiceError, match="not in the label set"):
            queue.submit(project, alice, item, "eggs")
        later = start + timedelta(hours=1)
        queue.submit(project, bob, queue.next_items(project, bob, now=later)[0], "ham", now=later)
        with pytest.raises(Conflict, match="lease had expired"):
            queue.submit(project, alice, item, "spam", now=later)
        assert db.session.scalar(select(func.count(Annotation.id))) == 1


def test_seconds_are_recorded_and_clamped(app):
    with app.app_context():
        project = make_project(n_items=2)
        alice = user("alice")
        one, two = queue.next_items(project, alice, n=2)
        assert queue.submit(project, alice, one, "ham", 4.25).annotation.seconds == 4.25
        assert queue.submit(project, alice, two, "ham", 99999).annotation.seconds == 3600.0


def test_concurrent_requests_never_push_an_item_past_k(app):
    """Six annotators ask at once, over and over, on SQLite with real threads."""
    with app.app_context():
        pid = make_project(
            n_items=12, k=2, members=("alice", "bob", "carol", "dave", "rita", "admin")
        ).id
        db.session.commit()
    names = ["alice", "bob", "carol", "dave", "rita", "admin"]
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with app.app_context():
                empty = 0
                while True:
                    begin_write()
                    project = _project(pid)
                    items = queue.next_items(project, user(name))
                    if not items:
                        db.session.commit()
                        # PostgreSQL's pick skips rows another writer holds locked: an
                        # empty answer can be that moment, not a full queue. Ask again
                        # before leaving, or an item can be left one label short.
                        empty += 1
                        if empty == 5:
                            return
                        time.sleep(0.05)
                        continue
                    empty = 0
                    queue.submit(project, user(name), items[0], "ham")
                    db.session.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    with app.app_context():
        counts = [
            c
            for _, c in db.session.execute(
                select(Annotation.item_id, func.count()).group_by(Annotation.item_id)
            )
        ]
        assert counts == [2] * 12
        assert db.session.scalar(select(func.count(Assignment.id))) == 0


@sqlite_only
@pytest.mark.parametrize("part", queue.PARTS)
def test_the_pick_walks_the_queue_index(app, part):
    """Each part of the pick must be a range of the index, not a scan and sort of the pool."""
    with app.app_context():
        project = make_project(n_items=5)
        stmt = queue._pick_statement(project, user("alice"), utcnow(), 1, [], part)
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = " ".join(
            str(r[-1]) for r in db.session.execute(db.text("EXPLAIN QUERY PLAN " + sql))
        )
        assert "ix_item_queue" in plan
        assert "TEMP B-TREE FOR ORDER BY" not in plan
        if part == queue.STARTED_REST:  # a range on the rank, not the whole tier
            assert "queue_rank>" in plan.replace(" ", "")


def test_an_annotator_far_ahead_gets_started_items_past_the_window_last(app, monkeypatch):
    """alice labeled the first items alone (k = 2): they wait in the started tier for a
    second label. With a window of 3 her pick looks at the 3 started items of lowest rank
    (all hers), then the fresh items, and only when those are gone the started items
    past the window, where bob's are: nothing is lost, only the order changes."""
    monkeypatch.setattr(queue, "STARTED_WINDOW", 3)
    queue._built_pick.cache_clear()
    try:
        with app.app_context():
            project = make_project(n_items=9, k=2)
            db.session.commit()
            alice, bob = user("alice"), user("bob")
            ranked = list(
                db.session.scalars(
                    select(Item).where(Item.project_id == project.id).order_by(Item.queue_rank)
                )
            )
            for item in ranked[:3]:
                queue.submit(project, alice, item, "ham")
            for item in ranked[3:5]:  # bob's, ranked after alice's
                queue.submit(project, bob, item, "spam")
            db.session.commit()
            order = []
            for _ in range(6):
                (item,) = queue.next_items(project, alice)
                order.append(item.external_id)
                queue.submit(project, alice, item, "ham")
                db.session.commit()
            fresh = [i.external_id for i in ranked[5:]]
            assert order == fresh + [i.external_id for i in ranked[3:5]]
            assert queue.next_items(project, alice) == []  # everything left is hers
            # bob, behind, gets alice's started items first (all within his window)
            (item,) = queue.next_items(project, bob)
            assert item.external_id == ranked[0].external_id
    finally:
        queue._built_pick.cache_clear()


def test_leased_items_load_in_lease_order_and_an_item_deleted_meanwhile_is_left_out(app):
    """The API loads the items it leased after the leases' commit (outside the write
    turn); an item deleted in between (its project was deleted) is left out, in order."""
    with app.app_context():
        project = make_project(n_items=4)
        db.session.commit()
        ids = queue.lease_next(project, user("alice"), n=3)
        db.session.commit()
        assert [i.id for i in queue.load_items(ids)] == ids
        assert [i.id for i in queue.load_items(list(reversed(ids)))] == ids[::-1]
        db.session.execute(delete(Assignment).where(Assignment.item_id == ids[1]))
        db.session.execute(delete(Item).where(Item.id == ids[1]))
        db.session.commit()
        assert [i.id for i in queue.load_items(ids)] == [ids[0], ids[2]]
        assert queue.load_items([]) == []
