"""The consensus job on a multi-label project: per-label Dawid-Skene, each label a yes/no
question over the annotators, written as sets; gold sets teach it who flips labels."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from labeler import jobs
from labeler.core.kinds import kind_for
from labeler.extensions import db
from labeler.models import Item
from labeler.services import ServiceError
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.labeling import gold, queue, review
from labeler.services.labeling.agreement_report import kind_votes
from labeler.services.projects import admin, kinds
from labeler.services.projects.store import create_project, set_member
from tests.conftest import user

LABELS = ("sports", "politics", "tech")
KIND = kind_for("multi_label")


def _project(n_items=40, k=3):
    project = create_project(
        "Topics",
        [{"name": name} for name in LABELS],
        annotations_per_item=k,
        test_fraction=0.0,
        task_kind="multi_label",
        task_settings={"allow_empty": True},
    )
    rows = [(i + 1, {"id": f"n{i}", "text": f"story {i}"}) for i in range(n_items)]
    import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
    for name in ("alice", "bob", "carol", "dave"):
        set_member(project, user(name), "annotator")
    return project


def _items(project):
    return list(
        db.session.scalars(select(Item).where(Item.project_id == project.id).order_by(Item.id))
    )


def _flip(labels):
    return [label for label in LABELS if label not in labels]


def test_the_job_writes_each_items_per_label_dawid_skene_set(app):
    """alice and bob are right; carol and dave flip 'tech' on every item: per-label
    majority ties on tech, per-label Dawid-Skene learns who to trust from gold."""
    with app.app_context():
        project = _project(k=4)
        rng = np.random.default_rng(0)
        truth = {}
        for item in _items(project):
            truth[item.id] = [lbl for lbl in LABELS if rng.random() < 0.5]
            flipped = [lbl for lbl in LABELS if (lbl in truth[item.id]) != (lbl == "tech")]
            for name, answer in (
                ("alice", truth[item.id]),
                ("bob", truth[item.id]),
                ("carol", flipped),
                ("dave", flipped),
            ):
                queue.submit(project, user(name), item, answer)
        for item in _items(project)[:8]:
            gold.mark(project, item, truth[item.id])
        db.session.commit()
        assert sum(item.disputed for item in _items(project)) == len(truth)  # tech ties

        with pytest.raises(ServiceError):
            admin.update_project_settings(project, {"consensus_method": "mode"}, None)
        changed, run_job = admin.update_project_settings(
            project, {"consensus_method": "dawid_skene"}, None
        )
        assert changed == ["consensus_method"] and run_job
        db.session.commit()
        job = jobs.start("consensus", project.id)
        db.session.refresh(job)
        assert job.status == "done", job.error
        assert job.result["n_gold"] == 8 and job.result["converged"]
        reliability = {row["annotator"]: row["dawid_skene"] for row in job.result["annotators"]}
        # Right on 2 of 3 labels; alice and bob on all three.
        assert reliability["alice"] > 0.95 and 0.6 < reliability["carol"] < 0.7

        expected = KIND.fit_consensus(
            kind_votes(project),
            kinds.context(project),
            "dawid_skene",
            known={item.id: truth[item.id] for item in _items(project)[:8]},
        ).items
        db.session.expire_all()
        for item in _items(project):
            assert item.consensus_value == truth[item.id] == expected.loc[item.id, "value"]
            assert item.consensus_label == KIND.key(truth[item.id])
            assert (item.final_value, item.final_source) == (truth[item.id], "dawid_skene")
            assert item.final_label == KIND.key(truth[item.id]) and not item.disputed


def test_the_review_queue_shows_each_vote_as_the_kind_displays_it(app, client, auth):
    with app.app_context():
        project = _project(n_items=2, k=2)
        set_member(project, user("rita"), "reviewer")
        first = _items(project)[0]
        queue.submit(project, user("alice"), first, ["sports", "tech"])
        queue.submit(project, user("bob"), first, [])
        db.session.commit()
        page = review.disputed_queue(project)
        assert [item.id for item in page.items] == [first.id]
        assert page.shown == {
            KIND.key(["sports", "tech"]): "sports, tech",
            KIND.key([]): "(none of these)",
        }
        project_id = project.id
    auth.login("rita")
    body = client.get(f"/projects/{project_id}/review").get_data(as_text=True)
    assert "sports, tech × 1" in body and "(none of these) × 1" in body
    assert "[&#34;sports&#34;" not in body and '["sports"' not in body
