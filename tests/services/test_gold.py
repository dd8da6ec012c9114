"""Gold items: marking, mixing into queues at the project rate, accuracy and alerts."""

from __future__ import annotations

import io

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import TIER_FRESH, Alert, Item
from labeler.services.data.import_spec import ColumnMapping, ImportFailed
from labeler.services.data.imports import import_file
from labeler.services.labeling import gold, queue
from labeler.services.serving import monitoring
from tests.conftest import make_project, sqlite_only, user


def _items(project):
    return list(
        db.session.scalars(select(Item).where(Item.project_id == project.id).order_by(Item.id))
    )


def test_gold_is_mixed_in_at_the_project_rate(app):
    with app.app_context():
        project = make_project(n_items=1000, k=1, members=("alice",))
        for item in _items(project)[:300]:
            gold.mark(project, item, "ham")
        project.gold_rate = 0.2
        gold._draw.seed(7)
        alice, golden = user("alice"), 0
        for _ in range(400):
            item = queue.next_items(project, alice)[0]
            golden += item.is_gold
            queue.submit(project, alice, item, "ham")
        assert 0.15 < golden / 400 < 0.25  # 80 expected; binomial sd 8


@sqlite_only
def test_gold_pick_walks_the_queue_index_and_gold_is_never_full(app):
    with app.app_context():
        project = make_project(n_items=5, k=1)
        item = _items(project)[0]
        gold.mark(project, item, "spam")
        project.gold_rate = 1.0
        for name in ("alice", "bob", "dave"):  # k = 1, yet all three answer the gold item
            picked = queue.next_items(project, user(name))[0]
            assert picked.id == item.id
            queue.submit(project, user(name), picked, "spam")
        assert item.n_annotations == 3 and item.queue_tier == gold.TIER_GOLD
        stmt = (
            select(Item)
            .where(Item.project_id == project.id, Item.queue_tier == gold.TIER_GOLD)
            .order_by(Item.queue_tier, Item.queue_rank)
            .limit(1)
        )
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = " ".join(
            str(r[-1]) for r in db.session.execute(db.text("EXPLAIN QUERY PLAN " + sql))
        )
        assert "ix_item_queue" in plan and "TEMP B-TREE" not in plan


def test_ordinary_picks_never_return_gold_and_unmarking_requeues(app):
    with app.app_context():
        project = make_project(n_items=3, k=1, members=("alice",))
        first = _items(project)[0]
        gold.mark(project, first, "ham")
        seen = []
        while items := queue.next_items(project, user("alice")):
            seen.append(items[0].id)
            queue.submit(project, user("alice"), items[0], "ham")
        assert first.id not in seen and len(seen) == 2
        gold.unmark(project, first)
        assert first.queue_tier == TIER_FRESH and gold.gold_item_ids(project) == set()
        assert queue.next_items(project, user("alice"))[0].id == first.id


def test_accuracy_has_a_wilson_interval_and_a_low_annotator_raises_one_alert(app):
    with app.app_context():
        project = make_project(n_items=12, k=1)
        project.gold_rate, project.gold_alert_threshold = 1.0, 0.7
        for item in _items(project)[:10]:
            gold.mark(project, item, "spam")
        for name, right in (("alice", 9), ("bob", 2)):
            for i in range(10):
                item = queue.next_items(project, user(name))[0]
                queue.submit(project, user(name), item, "spam" if i < right else "ham")
        figures = {row.username: row for row in gold.accuracy(project)}
        assert (figures["alice"].correct, figures["alice"].n) == (9, 10)
        assert 0.59 < figures["alice"].low < 0.6 and figures["alice"].high > 0.98
        alerts = list(db.session.scalars(select(Alert)))
        assert len(alerts) == 1 and alerts[0].detail["user_id"] == user("bob").id
        assert "bob" in alerts[0].message and alerts[0].value == 0.2
        monitoring.resolve_alert(project, alerts[0].id, user("admin").id)
        assert monitoring.open_alerts(project) == []


def test_a_gold_column_at_import_marks_items_and_is_not_shown(app):
    with app.app_context():
        project = make_project(n_items=1, k=1)
        body = "id,text,answer\ng1,free prize,spam\ng2,see you,\ng3,win now,spam\n"
        mapping = ColumnMapping(id="id", text=("text",), gold="answer")
        report = import_file(project, io.BytesIO(body.encode()), "csv", mapping)
        assert report.gold_marked == 2
        marked = {i.external_id: i.gold_label for i in _items(project) if i.is_gold}
        assert marked == {"g1": "spam", "g3": "spam"}
        assert all("answer" not in i.data for i in _items(project))
        assert gold.gold_item_ids(project) == {i.id for i in _items(project) if i.is_gold}
        bad = "id,text,answer\nx,hello,maybe\n"
        try:
            import_file(project, io.BytesIO(bad.encode()), "csv", mapping)
        except ImportFailed as exc:
            assert "line 2, column 'answer'" in exc.message
        else:
            raise AssertionError("a gold answer outside the label set must be refused")


def test_the_api_never_tells_an_annotator_an_item_is_gold(app, client, tokens):
    with app.app_context():
        project = make_project(n_items=2, k=1)
        item = _items(project)[0]
        gold.mark(project, item, "spam")
        project.gold_rate = 1.0
        db.session.commit()
        project_id = project.id
    gold._draw.seed(1)
    response = client.get(
        f"/api/v1/projects/{project_id}/next",
        headers={"Authorization": f"Bearer {tokens['alice']}"},
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 200 and "gold" not in text.lower()
    with app.app_context():
        assert db.session.get(Item, response.json["items"][0]["id"]).is_gold
