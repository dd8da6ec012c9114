"""A bulk import of labels leaves every item and the project exactly as the same labels
submitted one by one do (issue 21): counts, queue tiers, consensus, disputes, final labels,
filled slots and the retrain counter, whether the votes are new, changed or unchanged,
on items that were there before or that the import creates, spread over several chunks."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, Item
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.labeling import queue
from tests.conftest import make_project, user

VOTERS = ("alice", "bob", "carol", "dave")
LABELS = ("ham", "spam")
ITEM_MAPPING = ColumnMapping(id="id", text=("text",))
LABEL_MAPPING = ColumnMapping(id="id", text=("text",), label="label", annotator="who")
STATE = (
    Item.n_annotations,
    Item.queue_tier,
    Item.consensus_label,
    Item.consensus_confidence,
    Item.disputed,
    Item.final_label,
    Item.final_source,
)


def _plan(seed: int, k: int, relabels: bool):
    """(votes submitted before the import, votes of the import) as (item number,
    voter, label); items 0-39 exist before, 40-59 arrive with the import. No item gets
    more votes than it needs (a submit past k is refused)."""
    rng = random.Random(seed)
    extra = {i: rng.choice([0, 0, 1]) for i in range(40)}
    before, imported = [], []
    for i in range(60):
        target = k + extra.get(i, 0)
        voters = rng.sample(VOTERS, rng.randint(0, min(target, len(VOTERS))))
        split = 0 if i >= 40 else rng.randint(0, len(voters))
        before += [(i, v, rng.choice(LABELS)) for v in voters[:split]]
        imported += [(i, v, rng.choice(LABELS)) for v in voters[split:]]
        if relabels:  # some earlier voters send their label again, changed or not
            imported += [(i, v, rng.choice(LABELS)) for v in voters[:split] if rng.random() < 0.5]
    rng.shuffle(imported)  # one item's votes land in different chunks
    return extra, before, imported


def _project(name: str, k: int, extra: dict[int, int]):
    project = make_project(name, n_items=40, k=k, members=VOTERS, test_fraction=0.3)
    for item in db.session.scalars(select(Item).where(Item.project_id == project.id)):
        item.extra_annotations = extra[int(item.external_id.removeprefix("m"))]
    db.session.flush()
    return project


def _item(project, number: int) -> Item:
    return db.session.scalar(
        select(Item).where(Item.project_id == project.id, Item.external_id == f"m{number}")
    )


def _submit(project, votes) -> None:
    for number, voter, label in votes:
        queue.submit(project, user(voter), _item(project, number), label)


def _state(project):
    db.session.flush()
    db.session.refresh(project)
    items = {
        row[0]: tuple(row[1:])
        for row in db.session.execute(
            select(Item.external_id, *STATE).where(Item.project_id == project.id)
        )
    }
    votes = sorted(
        db.session.execute(
            select(Item.external_id, Annotation.user_id, Annotation.label)
            .join(Item, Item.id == Annotation.item_id)
            .where(Annotation.project_id == project.id)
        ).all()
    )
    totals = (project.n_items, project.filled_slots, project.labels_since_training)
    return items, votes, totals


@pytest.mark.parametrize(
    ("k", "seed", "relabels"),
    [(1, 1, False), (2, 2, False), (3, 3, False), (2, 4, True), (3, 5, True)],
)
def test_an_import_of_labels_ends_where_the_same_submits_end(app, k, seed, relabels):
    with app.app_context():
        extra, before, imported = _plan(seed, k, relabels)
        bulk, one_by_one = _project("Bulk", k, extra), _project("Submits", k, extra)
        for project in (bulk, one_by_one):
            _submit(project, before)

        rows = [
            (line, {"id": f"m{i}", "text": f"message number {i}", "label": label, "who": voter})
            for line, (i, voter, label) in enumerate(imported, start=2)
        ]
        report = import_rows(bulk, rows, LABEL_MAPPING, chunk_rows=7)
        new_items = sorted({i for i, _, _ in imported if i >= 40})
        import_rows(
            one_by_one,
            [(n, {"id": f"m{i}", "text": f"message number {i}"}) for n, i in enumerate(new_items)],
            ITEM_MAPPING,
        )
        _submit(one_by_one, imported)

        bulk_items, bulk_votes, bulk_totals = _state(bulk)
        items, votes, totals = _state(one_by_one)
        assert report.annotations_added > 20
        assert bulk_votes == votes  # no label lost or doubled
        assert {i: s for i, s in bulk_items.items() if s != items[i]} == {}
        assert bulk_totals[:2] == totals[:2]
        if not relabels:
            # A changed vote may move an item's final label and back among one-by-one
            # submits, each move counting toward a retrain; the import counts the net change.
            assert bulk_totals[2] == totals[2]
        tiers = {s[1] for s in items.values()}
        assert tiers >= {0, 2} and (k == 1 or 1 in tiers)  # done, fresh (and started) seen
        assert any(s[4] for s in items.values()) or k == 1  # a dispute decided alike


def test_votes_past_k_count_once_toward_the_filled_slots(app):
    with app.app_context():
        project = make_project("Past k", n_items=1, k=1, members=VOTERS)  # m0, unlabeled
        rows = [
            (line, {"id": f"n{i}", "text": f"new {i}", "label": "spam", "who": who})
            for line, (i, who) in enumerate(((i, w) for i in range(6) for w in VOTERS[:2]), 2)
        ]
        import_rows(project, rows, LABEL_MAPPING, chunk_rows=5)  # item n2 spans two chunks
        db.session.flush()
        counts = db.session.scalars(
            select(Item.n_annotations).where(Item.project_id == project.id).order_by(Item.id)
        )
        assert list(counts) == [0] + [2] * 6
        assert (project.n_items, project.filled_slots) == (7, 6)
        assert project.labels_since_training == 6
