"""The item browser: search, filters, keyset paging, blind rules, record, bulk actions."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Adjudication, AuditEvent, Item
from labeler.services import Forbidden, ServiceError
from labeler.services.items import browse, bulk, record
from labeler.services.labeling import queue
from tests.conftest import make_project, user


def _label(project, item, name, label):
    return queue.submit(project, item=item, user=user(name), label=label, seconds=1.0)


def _items(project):
    return list(
        db.session.scalars(select(Item).where(Item.project_id == project.id).order_by(Item.id))
    )


def _ids(page):
    return [row.item.id for row in page.rows]


def test_search_finds_every_word_and_prefixes_the_last(app):
    with app.app_context():
        project = make_project(n_items=30)
        db.session.commit()
        admin = user("admin")
        found = browse.browse(project, admin, "admin", browse.Filters(search="number 1"))
        numbers = sorted(row.item.external_id for row in found.rows)
        # "1" as the last word is a prefix: 1 and 10..19
        assert numbers == sorted(["m1", *[f"m{i}" for i in range(10, 20)]])
        assert browse.browse(project, admin, "admin", browse.Filters(search="nothing")).rows == []
        # FTS operators typed by a person are words, not syntax
        unbalanced = browse.browse(project, admin, "admin", browse.Filters(search='"message*'))
        assert len(unbalanced.rows) == 30
        either = browse.browse(project, admin, "admin", browse.Filters(search="message OR nothing"))
        assert either.rows == []  # OR is a word to find, so "nothing" must appear too


def test_search_follows_edits_and_deletes_of_items(app):
    with app.app_context():
        project = make_project(n_items=3)
        db.session.commit()
        admin = user("admin")
        first, second, _ = _items(project)
        first.data = {"text": "a brand new text"}
        db.session.delete(second)
        db.session.commit()
        assert _ids(browse.browse(project, admin, "admin", browse.Filters(search="brand"))) == [
            first.id
        ]
        left = browse.browse(project, admin, "admin", browse.Filters(search="message"))
        assert first.id not in _ids(left) and second.id not in _ids(left) and len(left.rows) == 1


def test_keyset_pages_walk_every_match_once_in_each_sort(app):
    with app.app_context():
        project = make_project(n_items=23)
        for i, item in enumerate(_items(project)):
            item.consensus_confidence = None if i % 5 == 0 else (i % 7) / 7
        db.session.commit()
        admin = user("admin")
        for sort, (attribute, _) in browse.SORTS.items():
            seen, after = [], None
            while True:
                page = browse.browse(
                    project, admin, "admin", browse.Filters(sort=sort), after=after, limit=4
                )
                seen += _ids(page)
                after = page.next_cursor
                if after is None:
                    break
            # a sort by a value lists the items that have it
            expected = [i.id for i in _items(project) if getattr(i, attribute or "id") is not None]
            assert sorted(seen) == expected and len(seen) == len(set(seen)), sort
        least = browse.browse(project, admin, "admin", browse.Filters(sort="least_sure"), limit=30)
        values = [row.item.consensus_confidence for row in least.rows]
        assert len(values) == 18 and values == sorted(values)
        newest = browse.browse(project, admin, "admin", browse.Filters(sort="newest"), limit=3)
        assert _ids(newest) == [i.id for i in _items(project)][::-1][:3]


def test_filters_select_by_status_label_annotator_and_confidence(app):
    with app.app_context():
        project = make_project(n_items=6)
        items = _items(project)
        _label(project, items[0], "alice", "spam")
        _label(project, items[1], "bob", "ham")
        items[2].disputed = True
        items[3].is_gold = True
        items[0].consensus_confidence, items[1].consensus_confidence = 0.9, 0.4
        items[4].predicted_label, items[4].predicted_confidence = "spam", 0.55
        db.session.commit()
        admin = user("admin")

        def ids(**kw):
            return _ids(browse.browse(project, admin, "admin", browse.Filters(**kw)))

        assert ids(status="final") == [items[0].id, items[1].id]
        assert ids(status="disputed") == [items[2].id]
        assert ids(status="gold") == [items[3].id]
        assert ids(status="unlabeled") == [i.id for i in items[2:]]
        assert ids(final_label="spam") == [items[0].id]
        assert ids(annotator="bob") == [items[1].id]
        assert ids(min_confidence=0.5) == [items[0].id]
        assert ids(max_confidence=0.5) == [items[1].id]
        assert ids(predicted_label="spam", min_prediction=0.5, max_prediction=0.6) == [items[4].id]
        assert ids(predicted_label="spam", min_prediction=0.6) == []
        with pytest.raises(ServiceError) as error:
            ids(annotator="nobody")
        assert error.value.detail == {"field": "annotator"}


def test_annotators_browse_only_their_own_items_and_labels(app):
    with app.app_context():
        project = make_project(n_items=4, k=2)
        items = _items(project)
        _label(project, items[0], "alice", "spam")
        _label(project, items[0], "bob", "ham")
        _label(project, items[1], "bob", "ham")
        db.session.commit()
        alice = user("alice")
        page = browse.browse(project, alice, "annotator", browse.Filters())
        assert [(row.item.id, row.my_label) for row in page.rows] == [(items[0].id, "spam")]
        for forbidden in (
            {"status": "disputed"},
            {"final_label": "ham"},
            {"annotator": "bob"},
            {"min_confidence": 0.1},
            {"predicted_label": "ham"},
            {"sort": "least_sure"},
        ):
            with pytest.raises(Forbidden):
                browse.browse(project, alice, "annotator", browse.Filters(**forbidden))
        # the record: only her own label, and bob's item is not hers to open
        history = record.label_history(items[0], alice, "annotator")
        assert [(h.annotator, h.label) for h in history] == [("alice", "spam")]
        assert not record.may_open(items[1], alice, "annotator")
        assert record.may_open(items[1], user("rita"), "reviewer")


def test_bad_filter_values_name_their_field():
    for args, field in (
        ({"split": "dev"}, "split"),
        ({"status": "done"}, "status"),
        ({"min_confidence": "high"}, "min_confidence"),
        ({"max_prediction": "2"}, "max_prediction"),
        ({"labeled_since": "yesterday"}, "labeled_since"),
        ({"sort": "random"}, "sort"),
        ({"q": "x" * 201}, "q"),
    ):
        with pytest.raises(ServiceError) as error:
            browse.parse_filters(args)
        assert error.value.detail["field"] == field, args


def test_a_forged_cursor_is_a_clear_error(app):
    with app.app_context():
        project = make_project(n_items=2)
        db.session.commit()
        for sort, cursor in (("id", "abc"), ("least_sure", "0.5")):
            with pytest.raises(ServiceError) as error:
                browse.browse(project, user("admin"), "admin", browse.Filters(sort=sort), cursor)
            assert error.value.detail == {"field": "after"}


def test_history_keeps_the_labels_a_change_replaced(app):
    with app.app_context():
        project = make_project(n_items=1)
        (item,) = _items(project)
        _label(project, item, "alice", "spam")
        _label(project, item, "alice", "ham")
        db.session.commit()
        (entry,) = record.label_history(item, user("rita"), "reviewer")
        assert entry.label == "ham" and [r.label for r in entry.revisions] == ["spam"]
        assert entry.guideline_version == 1


def test_jump_finds_by_external_id_then_id(app):
    with app.app_context():
        project = make_project(n_items=3)
        db.session.commit()
        items = _items(project)
        assert browse.find(project, "m2").id == items[2].id
        assert browse.find(project, str(items[1].id)).id == items[1].id
        assert browse.find(project, "m99") is None
        assert browse.find(project, "9" * 30) is None


def test_bulk_actions_change_the_selection_and_leave_a_trail(app):
    with app.app_context():
        project = make_project(n_items=4)
        items = _items(project)
        _label(project, items[0], "alice", "spam")
        db.session.commit()
        rita, admin = user("rita"), user("admin")
        chosen = bulk.selection(project, [str(items[1].id), str(items[2].id)])
        bulk.apply(project, rita, "reviewer", "send_to_review", chosen)
        assert [i.disputed for i in items] == [False, True, True, False]
        bulk.apply(project, rita, "reviewer", "request_label", [items[0]])
        assert items[0].final_label is None and items[0].extra_annotations == 1
        assert db.session.scalar(select(Adjudication.action)) == "send_back"
        with pytest.raises(Forbidden):
            bulk.apply(project, rita, "reviewer", "mark_gold", [items[0]])
        with pytest.raises(ServiceError) as error:  # no final label: no gold answer
            bulk.apply(project, admin, "admin", "mark_gold", [items[3]])
        assert error.value.detail["item"] == items[3].external_id
        items[3].final_label = "ham"
        bulk.apply(project, admin, "admin", "mark_gold", [items[3]])
        assert items[3].is_gold and items[3].gold_label == "ham"
        bulk.apply(project, admin, "admin", "unmark_gold", [items[3]])
        assert not items[3].is_gold
        events = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert events[0] == "items.send_to_review" and events[-1] == "items.unmark_gold"


def test_a_selection_from_another_project_changes_nothing(app):
    with app.app_context():
        project = make_project(n_items=2)
        other = make_project("Other", n_items=1)
        db.session.commit()
        (foreign,) = _items(other)
        with pytest.raises(ServiceError) as error:
            bulk.selection(project, [str(_items(project)[0].id), str(foreign.id)])
        assert error.value.detail["missing"] == [foreign.id]
        for bad in ([], ["x"], ["0"], [str(2**63)]):
            with pytest.raises(ServiceError):
                bulk.selection(project, bad)


@pytest.mark.postgres
@pytest.mark.skipif(
    not os.environ.get("LABELER_TEST_DATABASE_URL"), reason="reads PostgreSQL's query plan"
)
def test_postgres_search_walks_the_gin_index(app):
    """The search condition spells the indexed expression, so the planner can use it."""
    from sqlalchemy import text

    from labeler.services.items import search

    with app.app_context():
        project = make_project(n_items=3000)
        db.session.commit()
        db.session.execute(text("ANALYZE item"))
        filters = browse.Filters(search="number 2999")  # one item in 3,000: the index pays
        stmt = browse.statement(project, user("admin"), "admin", filters)
        sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(db.session.scalars(text(f"EXPLAIN {sql}")))
        assert search.PG_INDEX in plan, plan
        assert [item.external_id for item in db.session.scalars(stmt)] == ["m2999"]
