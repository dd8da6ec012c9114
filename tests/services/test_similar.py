"""The items index job: the champion's opinion on every item, and "find similar"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from labeler import jobs
from labeler.core import similarity
from labeler.extensions import db
from labeler.models import Item, Job, ModelVersion
from labeler.services import Conflict, ServiceError
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.items import similar
from labeler.services.labeling import queue
from labeler.services.learning import modeling
from labeler.services.projects.store import create_project, set_member
from tests.conftest import DATA, bearer, user


def test_nearest_ranks_by_cosine_and_leaves_the_asked_row_out():
    vectors = similarity.embed(np.array([[1.0, 0], [0.9, 0.1], [0, 1], [0, 0]]), np.eye(2))
    found, scores = similarity.nearest(vectors, vectors[0], k=2, exclude=0)
    assert found.tolist() == [1, 2] and scores[0] > 0.99 and abs(scores[1]) < 0.2
    assert np.allclose(np.linalg.norm(vectors[:3], axis=1), 1) and not vectors[3].any()


def _sms_project():
    frame = pd.read_csv(DATA / "sms-spam.csv").head(80)
    project = create_project(
        "Texts", [{"name": "ham"}, {"name": "spam"}], annotations_per_item=1, test_fraction=0.0
    )
    project.min_labels_per_class = 1
    rows = [(i + 1, {"id": f"s{i}", "text": text}) for i, text in enumerate(frame["text"])]
    import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
    set_member(project, user("alice"), "annotator")
    set_member(project, user("rita"), "reviewer")
    truth = dict(zip((f"s{i}" for i in range(len(frame))), frame["spam"], strict=True))
    for _ in range(60):
        item = queue.next_items(project, user("alice"))[0]
        queue.submit(project, user("alice"), item, "spam" if truth[item.external_id] else "ham")
    db.session.commit()
    return project


def test_the_index_job_writes_opinions_and_finds_look_alikes(app, client, tokens):
    with app.app_context():
        project = _sms_project()
        with pytest.raises(Conflict):  # nothing to search before the job
            similar.similar_to_text(project, "free prize")
        job = db.session.get(Job, modeling.start_training(project).id)
        assert job.status == "done", job.error
        version = db.session.scalars(select(ModelVersion)).one()
        version.status, project.champion_id = "champion", version.id
        db.session.commit()

        job = db.session.get(Job, jobs.start(similar.KIND, project.id).id)
        assert job.status == "done", job.error
        items = db.session.scalars(select(Item).order_by(Item.id)).all()
        assert all(item.predicted_label in ("ham", "spam") for item in items)
        assert all(0.5 <= item.predicted_confidence <= 1 for item in items)
        assert {item.predicted_version_id for item in items} == {version.id}  # suggestions

        # a copy of an item's text is its nearest neighbour
        original = items[3]
        copy = Item(
            project_id=project.id,
            external_id="copy",
            data=dict(original.data),
            split="train",
        )
        db.session.add(copy)
        db.session.commit()
        jobs.start(similar.KIND, project.id)
        nearest = similar.similar_to_item(project, original, k=3)
        assert nearest[0].item.id == copy.id and nearest[0].similarity > 0.99
        assert original.id not in [n.item.id for n in nearest]
        typed = similar.similar_to_text(project, original.data["text"], k=1)
        assert typed[0].item.id in (original.id, copy.id)
        with pytest.raises(ServiceError) as error:
            similar.similar_to_text(project, "  ")
        assert error.value.detail == {"field": "q"}

        project_id, original_id, copy_id = project.id, original.id, copy.id
    url = f"/api/v1/projects/{project_id}/items/similar"
    found = client.get(f"{url}?item={original_id}&k=2", headers=bearer(tokens["rita"]))
    assert found.status_code == 200 and found.json["items"][0]["id"] == copy_id
    blind = client.get(f"{url}?item={original_id}", headers=bearer(tokens["alice"]))
    assert blind.status_code == 403  # annotators open only the items they labeled
    built = client.post(
        f"/api/v1/projects/{project_id}/items/index", headers=bearer(tokens["rita"])
    )
    assert built.status_code == 202 and built.json["status"] == "done"
