"""The browser's fast pages list exactly what the straightforward query lists.

Pages in id order walk an index (the search's FTS5 rowids, one annotator's labels, the
model's label) and a bounded probe picks between a walk and reading a range whole
(``browse.PROBE``, ``browse.DATE_PROBE``). On random data, every filter mix, every sort
and both sides of each probe, the pages walked with keyset cursors must add up to the
result of one plain query: every condition an IN or a comparison, one ORDER BY.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy import and_, exists, select

from labeler.extensions import db
from labeler.models import Annotation, Item
from labeler.services.items import browse, search
from tests.conftest import make_project, sqlite_only, user

WORDS = ("free", "freedom", "freed", "call", "called", "caller", "now", "win", "prize", "hello")
LABELS = ("ham", "spam")
ANNOTATORS = ("alice", "bob", "dave")
START = datetime(2026, 1, 1)


def _fill(project, rng: random.Random) -> None:
    """Random texts, splits, consensus, final labels, predictions, states and labels."""
    items = db.session.scalars(select(Item).where(Item.project_id == project.id)).all()
    for item in items:
        item.data = {"text": " ".join(rng.choices(WORDS, k=rng.randint(1, 5)))}
        item.split = rng.choice(("train", "test"))
        labeled = rng.random() < 0.7
        item.n_annotations = 0
        if labeled:
            item.consensus_label = rng.choice(LABELS)
            # a few ties on the value, so the (value, id) cursor is exercised
            item.consensus_confidence = rng.choice((0.5, rng.random()))
            item.final_label = item.consensus_label if rng.random() < 0.8 else None
            item.disputed = item.final_label is None and rng.random() < 0.5
        if rng.random() < 0.8:
            item.predicted_label = rng.choice(LABELS)
            item.predicted_confidence = rng.choice((0.75, rng.random()))
        item.is_gold = rng.random() < 0.1
        item.ambiguous = rng.random() < 0.05
    db.session.flush()
    for name in ANNOTATORS:
        annotator = user(name)
        for item in rng.sample(items, k=len(items) // 2):
            when = START + timedelta(days=rng.randint(0, 330))
            db.session.add(
                Annotation(
                    item_id=item.id,
                    user_id=annotator.id,
                    project_id=project.id,
                    label=rng.choice(LABELS),
                    created_at=when,
                    updated_at=when,
                )
            )
            item.n_annotations += 1
    db.session.commit()


def _plain(project, filters: browse.Filters, annotator_id: int | None) -> list[int]:
    """The ids the filters select, in the sort's order, by the straightforward query."""
    where = [Item.project_id == project.id]
    dated = []
    if filters.labeled_since:
        dated.append(Annotation.updated_at >= filters.labeled_since)
    if filters.labeled_until:
        dated.append(Annotation.updated_at < filters.labeled_until)
    if annotator_id is not None:
        where.append(
            Item.id.in_(
                select(Annotation.item_id).where(
                    Annotation.user_id == annotator_id,
                    Annotation.project_id == project.id,
                    *dated,
                )
            )
        )
    elif dated:
        where.append(exists().where(and_(Annotation.item_id == Item.id, *dated)))
    if filters.search:
        where.append(search.matching(filters.search))
    if filters.split:
        where.append(Item.split == filters.split)
    if filters.status:
        where.append(browse.STATUSES[filters.status]())
    if filters.final_label:
        where.append(Item.final_label == filters.final_label)
    for column, low, high in (
        (Item.consensus_confidence, filters.min_confidence, filters.max_confidence),
        (Item.predicted_confidence, filters.min_prediction, filters.max_prediction),
    ):
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column <= high)
    if filters.predicted_label:
        where.append(Item.predicted_label == filters.predicted_label)
    attribute, ascending = browse.SORTS[filters.sort]
    if attribute is None:
        order = [Item.id if ascending else Item.id.desc()]
    else:
        where.append(getattr(Item, attribute).is_not(None))
        order = [getattr(Item, attribute), Item.id]
    return list(db.session.scalars(select(Item.id).where(*where).order_by(*order)))


def _walked(project, viewer, role, filters: browse.Filters, limit: int) -> list[int]:
    """Every page of the browse, cursor after cursor."""
    seen, after = [], None
    for _ in range(1000):
        page = browse.browse(project, viewer, role, filters, after=after, limit=limit)
        seen += [row.item.id for row in page.rows]
        assert len(page.rows) <= limit
        after = page.next_cursor
        if after is None:
            return seen
    raise AssertionError("the cursor never ended")


def _random_filters(rng: random.Random, annotator: bool) -> browse.Filters:
    def some(values, chance=0.4):
        return rng.choice(values) if rng.random() < chance else None

    low = some((0.0, 0.2, 0.4, 0.5, 0.75))
    high = some((0.5, 0.6, 0.75, 0.9, 1.0))
    plow = some((0.0, 0.3, 0.7, 0.75))
    phigh = some((0.75, 0.8, 0.95, 1.0))
    since = some([START + timedelta(days=d) for d in (0, 100, 250, 320)], 0.35)
    until = some([START + timedelta(days=d) for d in (120, 300, 400)], 0.25)
    return browse.Filters(
        search=some(("free", "fre", "free call", "call", "called now", "win p", "nothing"), 0.5)
        or "",
        split=some(("train", "test"), 0.3),
        status=some(tuple(browse.STATUSES), 0.3),
        final_label=some(LABELS, 0.2),
        annotator=some(ANNOTATORS, 0.4) if annotator else None,
        min_confidence=low,
        max_confidence=high,
        predicted_label=some(LABELS, 0.5),
        min_prediction=plow,
        max_prediction=phigh,
        labeled_since=since,
        labeled_until=until,
        sort=rng.choice(tuple(browse.SORTS)),
    )


@pytest.mark.parametrize("probe", ["walk", "read whole"])
def test_walked_pages_equal_the_plain_query_for_random_filters(app, monkeypatch, probe):
    # a probe of 2 walks nearly every range; a huge one reads every range whole
    monkeypatch.setattr(browse, "PROBE", 2 if probe == "walk" else 10**9)
    monkeypatch.setattr(browse, "DATE_PROBE", 2 if probe == "walk" else 10**9)
    rng = random.Random(18)
    with app.app_context():
        project = make_project(n_items=240)
        other = make_project("Other", n_items=60)  # its matches must never show
        _fill(project, rng)
        _fill(other, rng)
        admin = user("admin")
        nonempty = 0
        for _ in range(120):
            filters = _random_filters(rng, annotator=True)
            annotator = user(filters.annotator).id if filters.annotator else None
            expected = _plain(project, filters, annotator)
            got = _walked(project, admin, "admin", filters, limit=rng.choice((1, 7, 50)))
            assert got == expected, filters
            nonempty += bool(expected)
        assert nonempty > 60  # the random filters mostly select something
        # an annotator browses their own labels: the walk of ix_annotation_user_item
        for name in ANNOTATORS:
            viewer = user(name)
            for _ in range(15):
                filters = _random_filters(rng, annotator=False)
                filters = browse.Filters(
                    search=filters.search,
                    split=filters.split,
                    labeled_since=filters.labeled_since,
                    labeled_until=filters.labeled_until,
                    sort=rng.choice(("id", "newest")),
                )
                expected = _plain(project, filters, viewer.id)
                assert _walked(project, viewer, "annotator", filters, limit=5) == expected


@sqlite_only
def test_the_walks_lead_with_their_index(app, monkeypatch):
    """The statement of a page in id order starts from the walked index and orders by
    its key, so SQLite stops after a page; a narrow range is read whole."""
    monkeypatch.setattr(browse, "DATE_PROBE", 5)
    with app.app_context():
        project = make_project(n_items=30)
        _fill(project, random.Random(1))
        admin = user("admin")

        def plan(**kw):
            stmt = browse.statement(project, admin, "admin", browse.Filters(**kw))
            sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
            rows = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql)
            return sql, " | ".join(row[-1] for row in rows)

        sql, steps = plan(search="free")
        assert sql.split("FROM", 1)[1].lstrip().startswith("item_search JOIN item")
        assert "TEMP B-TREE" not in steps and "LIST SUBQUERY" not in steps
        sql, steps = plan(annotator="bob")
        assert "ix_annotation_user_item" in steps and "TEMP B-TREE" not in steps
        # few labels in the date range: read whole from ix_annotation_user_time
        late = START + timedelta(days=329)
        sql, steps = plan(annotator="bob", labeled_since=late)
        assert "ix_annotation_user_time" in steps and "ix_annotation_user_item" not in steps
        # the newest first walks the same index backwards
        sql, _ = plan(search="free", sort="newest")
        assert "ORDER BY item_search.rowid DESC" in sql


@sqlite_only
def test_pages_in_id_order_walk_ids_without_the_planners_figures(app):
    """No ANALYZE has run (as on every instance): SQLite would take an equality on
    project_id for a handful of rows and read a large project through an index, then
    sort it. The project's share of the items keeps the id walk; a small project among
    large ones is still read through an index."""
    with app.app_context():
        big = make_project(n_items=200)
        small = make_project("Small", n_items=2)
        db.session.commit()
        admin = user("admin")
        assert (
            db.session.connection()
            .exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
            .first()
            is None
        )

        def steps(project, **kw):
            stmt = browse.statement(project, admin, "admin", browse.Filters(**kw))
            sql = str(stmt.compile(db.engine, compile_kwargs={"literal_binds": True}))
            rows = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql)
            return " | ".join(row[-1] for row in rows)

        for filters in ({}, {"status": "unlabeled"}, {"sort": "newest"}, {"split": "test"}):
            assert "TEMP B-TREE" not in steps(big, **filters), filters
        assert "USING INDEX" in steps(small) or "COVERING INDEX" in steps(small)
        first = browse.browse(big, admin, "admin", browse.Filters(), limit=3)
        assert [row.item.id for row in first.rows] == [i.id for i in _items_of(big)][:3]


def _items_of(project):
    return db.session.scalars(
        select(Item).where(Item.project_id == project.id).order_by(Item.id)
    ).all()
