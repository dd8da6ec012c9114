"""The set-based refresh after a bulk write decides exactly what the per-item refresh does."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import insert, select

from labeler.extensions import db
from labeler.models import Adjudication, Annotation, Item, User
from labeler.services.labeling.labels import refresh_item, refresh_project
from labeler.services.projects.store import recount
from tests.conftest import make_project, user

COLUMNS = ("consensus_label", "consensus_confidence", "disputed", "final_label", "final_source")


def _random_votes(project, seed: int) -> None:
    """Votes of 0-4 annotators per item, stale consensus fields, and some reviewer decisions."""
    rng = random.Random(seed)
    voters = [user(name).id for name in ("alice", "bob", "carol", "dave")]
    items = list(db.session.scalars(select(Item).where(Item.project_id == project.id)))
    rows, decisions = [], []
    for item in items:
        item.extra_annotations = rng.choice([0, 0, 0, 1])
        item.final_label = rng.choice([None, "ham", "spam"])
        item.final_source = rng.choice([None, "majority", "unanimous", "adjudicated"])
        item.consensus_label = rng.choice([None, "spam"])
        item.disputed = rng.random() < 0.3
        for voter in rng.sample(voters, rng.randint(0, 4)):
            rows.append(
                {
                    "item_id": item.id,
                    "user_id": voter,
                    "project_id": project.id,
                    "label": rng.choice(["ham", "spam"]),
                }
            )
        if item.final_source == "adjudicated" and rng.random() < 0.6:
            action = rng.choice(["resolve", "resolve", "more_labels"])
            decisions.append(
                Adjudication(
                    item_id=item.id,
                    project_id=project.id,
                    reviewer_id=user("rita").id,
                    action=action,
                    label=item.final_label,
                )
            )
    db.session.execute(insert(Annotation), rows)
    db.session.add_all(decisions)
    db.session.flush()
    recount(project)


def _state(project) -> tuple[dict[int, tuple], int]:
    db.session.flush()
    rows = db.session.execute(
        select(Item.id, *(getattr(Item, c) for c in COLUMNS)).where(Item.project_id == project.id)
    )
    return {row[0]: tuple(row[1:]) for row in rows}, project.labels_since_training


def _restore(project, state: tuple[dict[int, tuple], int]) -> None:
    items, since = state
    for item in db.session.scalars(select(Item).where(Item.project_id == project.id)):
        for column, value in zip(COLUMNS, items[item.id], strict=True):
            setattr(item, column, value)
    project.labels_since_training = since
    db.session.flush()


@pytest.mark.parametrize(
    ("k", "threshold", "unanimity", "seed"),
    [
        (1, 0.5, False, 1),
        (2, 0.5, False, 2),
        (3, 0.6, False, 3),
        (2, 0.5, True, 4),
        (3, 0.7, True, 5),
    ],
)
def test_bulk_refresh_matches_the_per_item_refresh(app, k, threshold, unanimity, seed):
    with app.app_context():
        project = make_project(n_items=400, k=k)
        project.dispute_threshold, project.require_unanimity = threshold, unanimity
        _random_votes(project, seed)
        before = _state(project)

        refresh_project(project, batch=97)  # chunks that do not divide the items evenly
        bulk = _state(project)
        _restore(project, before)
        assert _state(project) == before
        for item in db.session.scalars(
            select(Item).where(Item.project_id == project.id, Item.n_annotations > 0)
        ):
            refresh_item(project, item)
        per_item = _state(project)

        diff = {
            i: (bulk[0][i], per_item[0][i], before[0][i])
            for i in bulk[0]
            if bulk[0][i] != per_item[0][i]
        }
        assert not diff
        assert bulk == per_item
        assert bulk != before  # the data exercised changes, not a no-op on both paths
        changed = sum(bulk[0][i] != before[0][i] for i in before[0])
        assert changed > 50
        assert {v[4] for v in bulk[0].values()} >= {None, "majority", "unanimous", "adjudicated"}


def test_bulk_refresh_updates_items_already_loaded_in_the_session(app):
    with app.app_context():
        project = make_project(n_items=5, k=1)
        item = db.session.scalars(select(Item).where(Item.project_id == project.id)).first()
        db.session.execute(
            insert(Annotation),
            [
                {
                    "item_id": item.id,
                    "user_id": user("alice").id,
                    "project_id": project.id,
                    "label": "spam",
                }
            ],
        )
        recount(project)
        refresh_project(project)
        assert (item.final_label, item.final_source) == ("spam", "unanimous")
        assert project.labels_since_training == 1
        assert db.session.get(User, user("alice").id) is not None
