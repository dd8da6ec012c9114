"""Label-set changes: every annotation is kept and moved, in one audited transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, AnnotationRevision, AuditEvent, Item
from labeler.services import Conflict, ServiceError
from labeler.services.data import labelset
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.labeling import gold, queue
from labeler.services.projects.store import create_project
from tests.conftest import user

LABELS = [{"name": n} for n in ("um", "uh", "word", "noise", "laugh")]


@pytest.fixture
def fillers(app):
    """Three annotators split between "um" and "uh" on the same fillers (k = 3)."""
    with app.app_context():
        project = create_project("Fillers", LABELS, annotations_per_item=3, test_fraction=0)
        rows = [(i + 1, {"id": f"c{i}", "text": f"clip {i}"}) for i in range(6)]
        import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
        items = list(db.session.scalars(select(Item).order_by(Item.id)))
        votes = {"alice": "um", "bob": "uh", "dave": "um"}
        for item in items[:4]:
            for name, label in votes.items():
                queue.submit(project, user(name), item, label, now=None)
        queue.submit(project, user("alice"), items[4], "noise")
        queue.submit(project, user("bob"), items[0], "word")  # a change keeps history
        db.session.commit()
        yield project


def _labels(project):
    return sorted(
        db.session.scalars(select(Annotation.label).where(Annotation.project_id == project.id))
    )


def test_a_merge_keeps_every_annotation_and_settles_the_disagreement(fillers):
    project = fillers
    before = db.session.scalar(select(func.count(Annotation.id)))
    assert {i.final_label for i in db.session.scalars(select(Item))} >= {"um"}
    detail = labelset.change(
        project,
        user("admin"),
        "merge",
        {"labels": ["um", "uh"], "into": "filler"},
        reason="same thing",
    )
    db.session.commit()
    assert db.session.scalar(select(func.count(Annotation.id))) == before
    assert project.label_names == ["filler", "word", "noise", "laugh"]
    assert detail["annotations_moved"] == 11
    assert _labels(project).count("filler") == 11 and "um" not in _labels(project)
    finals = [i.final_label for i in db.session.scalars(select(Item).order_by(Item.id))][1:4]
    assert finals == ["filler"] * 3
    assert all(
        i.final_source == "unanimous"
        for i in db.session.scalars(select(Item).order_by(Item.id).limit(4).offset(1))
        if i.final_label
    )
    history = list(db.session.scalars(select(AnnotationRevision.label)))
    assert history == ["filler"]  # bob's earlier "uh", renamed with the rest
    event = db.session.scalars(select(AuditEvent)).one()
    assert event.action == "labelset_merge" and event.reason == "same thing"
    assert event.detail["labels_before"] == ["um", "uh", "word", "noise", "laugh"]


def test_rename_split_and_refusals(fillers):
    project = fillers
    labelset.change(project, None, "rename", {"label": "noise", "to": "silence"})
    assert "silence" in project.label_names and _labels(project).count("silence") == 1
    with pytest.raises(Conflict):
        labelset.change(project, None, "rename", {"label": "um", "to": "uh"})
    with pytest.raises(ServiceError, match="annotations_to"):
        labelset.change(project, None, "split", {"label": "um", "into": ["um-short", "um-long"]})
    detail = labelset.change(
        project,
        None,
        "split",
        {"label": "um", "into": ["um-short", "um-long"], "annotations_to": "um-short"},
    )
    assert detail["annotations_moved"] == 8
    assert project.label_names[:2] == ["um-short", "um-long"]


def test_deleting_a_used_label_needs_a_destination(fillers):
    project = fillers
    item = db.session.scalars(select(Item).order_by(Item.id)).first()
    gold.mark(project, item, "uh")
    with pytest.raises(Conflict, match="choose a label"):
        labelset.change(project, None, "delete", {"label": "uh"})
    labelset.change(project, None, "delete", {"label": "laugh"})  # unused: goes at once
    detail = labelset.change(project, None, "delete", {"label": "uh", "annotations_to": "um"})
    assert detail["annotations_moved"] == 3 and item.gold_label == "um"
    detail = labelset.change(
        project, None, "delete", {"label": "noise", "annotations_to": labelset.DISCARD}
    )
    db.session.commit()
    assert detail["discarded"] == 1 and project.label_names == ["um", "word"]
    clip4 = db.session.scalar(select(Item).where(Item.external_id == "c4"))
    assert clip4.n_annotations == 0 and clip4.queue_tier == 2
    assert item.queue_tier == gold.TIER_GOLD  # the recount did not unmark the gold item
