"""A version with no evaluation is never promoted by itself, and the model page says why.

The report's case: trained on a handful of labels with no test items, a version became
champion and ranked the pool. Without a test-split score there is nothing to judge by.
"""

from __future__ import annotations

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item, Job, ModelVersion
from labeler.services.labeling import queue
from labeler.services.learning import modeling
from tests.conftest import make_project, user


def test_a_version_without_test_items_waits_for_a_person(app, client, auth):
    with app.app_context():
        project = make_project("No test items", n_items=20, test_fraction=0.0)
        project.min_labels_per_class = 1
        for n in range(4):
            item = queue.next_items(project, user("alice"))[0]
            queue.submit(project, user("alice"), item, "spam" if n % 2 else "ham")
        db.session.commit()
        job = db.session.get(Job, modeling.start_training(project, user("admin").id).id)
        assert job.status == "done", job.error
        assert job.result["status"] == "candidate"
        assert any("no test-split score" in reason for reason in job.result["reasons"])
        version = db.session.scalars(select(ModelVersion)).one()
        assert version.status == "candidate" and project.champion_id is None
        scored = db.session.scalars(select(Item.scored_by_version).where(Item.score.isnot(None)))
        assert list(scored) == []  # the pool keeps its random order
        project_id = project.id
    auth.login("rita")
    page = client.get(f"/projects/{project_id}/model").get_data(as_text=True)
    assert "no test-split score: waits for a person" in page
    assert "not evaluated" in page
