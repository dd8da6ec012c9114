"""Bounded rescoring (issue 21): past SCORING_POOL_LIMIT open train items, a retrain
scores the queue head, never-scored items and the stalest scores (a window that rotates
through the pool) and reorders them among their own rank slots; a small pool, a first
ranking and a change of champion score the whole pool."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from sqlalchemy import select

from labeler.core import sampling
from labeler.extensions import db
from labeler.models import TIER_DONE, Item, ModelVersion, Project
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.learning import artifacts, modeling, scoring
from tests.services.test_rescore import queue_state, ranked_project
from tests.serving_helpers import add_version

HEAD, WINDOW = 10, 40


def bounded(app) -> None:
    app.config.update(SCORING_POOL_LIMIT=WINDOW, SCORING_WINDOW=WINDOW, SCORING_HEAD=HEAD)


def retrain(project: Project, estimator: str = "logistic_regression") -> tuple[int, dict]:
    """What the training job does for a new champion: rank the pool with it."""
    version = add_version(project, estimator)
    db.session.commit()
    train = modeling.usable_train(project, [], estimator)
    ranked = scoring.rank_open_pool(
        project, artifacts.load(version), train, version.id, lambda f, m: db.session.commit()
    )
    db.session.commit()
    return version.id, ranked


def open_train(project: Project) -> list[tuple[int, float, float | None, int | None]]:
    db.session.expire_all()
    return db.session.execute(
        select(Item.id, Item.queue_rank, Item.score, Item.scored_by_version)
        .where(Item.project_id == project.id, Item.split == "train", Item.queue_tier > TIER_DONE)
        .order_by(Item.queue_rank, Item.id)
    ).all()


def test_a_small_pool_and_a_first_ranking_score_the_whole_pool(app):
    with app.app_context():
        project, champion = ranked_project()  # default limits: 20,000
        assert project.queue_ranked_by == "least_confident"
        _, ranked = retrain(project)
        assert ranked["bounded"] is False and ranked["n_scored"] == ranked["n_open"]
        bounded(app)
        project.queue_ranked_by = None  # e.g. the strategy changed, or no model ranked yet
        version_id, ranked = retrain(project)
        assert ranked["bounded"] is False and ranked["n_scored"] == ranked["n_open"] > WINDOW
        assert {row.scored_by_version for row in open_train(project)} == {version_id}


def test_a_retrain_of_a_large_pool_reorders_a_window_among_its_own_slots(app):
    bounded(app)
    with app.app_context():
        project, _ = ranked_project()  # the champion's rescore ranks the whole pool
        assert project.queue_ranked_by == "least_confident"
        before = {row.id: row for row in open_train(project)}
        head = [row.id for row in open_train(project)][:HEAD]
        tests_before = {k: v for k, v in queue_state(project).items() if k not in before}
        version_id, ranked = retrain(project, "naive_bayes")
        assert ranked["bounded"] is True and ranked["n_scored"] == WINDOW
        after = {row.id: row for row in open_train(project)}
        window = {i for i, row in after.items() if row.scored_by_version == version_id}
        assert len(window) == WINDOW and set(head) <= window
        for item_id in set(after) - window:  # outside the window nothing moved
            assert after[item_id] == before[item_id]
        # the window took its own slots: the set of ranks is the same, test items untouched
        assert sorted(r.queue_rank for r in after.values()) == sorted(
            r.queue_rank for r in before.values()
        )
        assert {k: v for k, v in queue_state(project).items() if k not in after} == tests_before
        # inside the window the new model's order holds (random_share is 0 here)
        in_window = sorted(window, key=lambda i: after[i].queue_rank)
        scores = [after[i].score for i in in_window]
        assert scores == sorted(scores, reverse=True)
        texts = pd.DataFrame({"text": [db.session.get(Item, i).data["text"] for i in in_window]})
        model = artifacts.load(db.session.get(ModelVersion, version_id))
        assert np.allclose(sampling.score_pool(model, texts, "least_confident"), scores)


def test_the_window_rotates_through_the_pool_and_takes_new_items_first(app):
    bounded(app)
    with app.app_context():
        project, champion = ranked_project()
        first = open_train(project)
        rounds = math.ceil((len(first) - HEAD) / (WINDOW - HEAD))
        for _ in range(rounds):
            retrain(project)
        assert all(row.scored_by_version > champion.id for row in open_train(project)), (
            "every open item was rescored within pool / (window - head) retrains"
        )
        rows = [(9000 + i, {"id": f"new{i}", "text": f"a new message {i}"}) for i in range(5)]
        import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
        db.session.commit()
        new = set(
            db.session.scalars(
                select(Item.id).where(
                    Item.project_id == project.id,
                    Item.external_id.startswith("new"),
                    Item.split == "train",
                )
            )
        )
        assert new
        version_id, ranked = retrain(project)
        assert ranked["bounded"] is True
        scored = {row.id for row in open_train(project) if row.scored_by_version == version_id}
        assert new <= scored
