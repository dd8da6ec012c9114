"""The agreement page's figures and the Dawid-Skene consensus job, on real project rows."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import select

from labeler import jobs
from labeler.core import agreement
from labeler.core.consensus import dawid_skene
from labeler.extensions import db
from labeler.models import Adjudication, Item, Job, Project
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_rows
from labeler.services.labeling import agreement_report, review
from labeler.services.labeling.consensus_job import apply_dawid_skene
from labeler.services.projects.store import create_project
from tests.conftest import user

# item -> labels by annotators a1..a4 (None: not rated)
VOTES = {
    "i1": ["pos", "pos", "pos", "neg"],
    "i2": ["neg", "neg", "neu", None],
    "i3": ["neu", "neu", "neu", "neu"],
    "i4": ["pos", "neu", "pos", "pos"],
    "i5": ["neg", "neg", None, "neg"],
    "i6": ["pos", "neg", "pos", "neu"],
    "i7": ["neu", None, "neu", "neg"],
    "i8": ["pos", "pos", "pos", "pos"],
}


def _rows():
    line = 0
    for item, labels in VOTES.items():
        for position, label in enumerate(labels, start=1):
            if label is not None:
                line += 1
                yield (
                    line,
                    {
                        "id": item,
                        "text": f"tweet {item}",
                        "label": label,
                        "annotator": f"a{position}",
                    },
                )


def _project(name="Votes", **settings) -> Project:
    project = create_project(
        name,
        [{"name": "neg"}, {"name": "neu"}, {"name": "pos"}],
        annotations_per_item=3,
        **settings,
    )
    import_rows(
        project,
        _rows(),
        ColumnMapping(
            id="id", text=("text",), label="label", annotator="annotator", add_annotators=True
        ),
    )
    return project


def _long() -> pd.DataFrame:
    return pd.DataFrame(
        [
            (item, f"a{i}", label)
            for item, labels in VOTES.items()
            for i, label in enumerate(labels, start=1)
            if label is not None
        ],
        columns=["item", "annotator", "label"],
    )


def test_figures_equal_the_core_on_the_same_votes(app):
    with app.app_context():
        project = _project(label_scale="ordinal")
        figures = agreement_report.compute(project)
        json.dumps(figures, allow_nan=False)  # stored and served as strict JSON
        frame = _long()
        order = ["neg", "neu", "pos"]
        alpha = agreement.krippendorff_alpha(frame, "ordinal", order, bootstrap=200)
        assert figures["alpha"]["value"] == pytest.approx(alpha.value)
        assert figures["alpha"]["ci_low"] == pytest.approx(alpha.ci_low)
        assert figures["fleiss"]["value"] == pytest.approx(agreement.fleiss_kappa(frame).value)
        assert figures["percent"]["value"] == pytest.approx(
            agreement.percent_agreement(frame).value
        )
        assert (figures["n_items"], figures["n_annotations"], figures["n_annotators"]) == (8, 29, 4)
        loo = agreement.leave_one_out_accuracy(frame).set_index("annotator")["accuracy"]
        ds = dawid_skene(frame).annotator_accuracy
        rows = {row["annotator"]: row for row in figures["annotators"]}
        for name in ("a1", "a2", "a3", "a4"):
            assert rows[name]["leave_one_out"] == pytest.approx(loo[name], nan_ok=True)
            assert rows[name]["dawid_skene"] == pytest.approx(ds[name])
        assert rows["a1"]["n_items"] == 8 and rows["a1"]["user_id"] == user("a1").id
        pairs = figures["pairwise"]
        assert pairs["annotators"] == ["a1", "a2", "a3", "a4"]
        kappa = agreement.pairwise_cohen_kappa(frame).set_index(["annotator_a", "annotator_b"])
        assert pairs["matrix"][0][2] == pytest.approx(kappa.loc[("a1", "a3"), "kappa"])
        assert pairs["matrix"][2][0] == pairs["matrix"][0][2]
        assert [row["label"] for row in figures["per_label"]] == order


def test_label_confusion_counts_pairs_within_items(app):
    with app.app_context():
        project = create_project("Tiny", [{"name": "x"}, {"name": "y"}])
        rows = [
            (1, {"id": "u", "t": "u", "label": "x", "annotator": "p"}),
            (2, {"id": "u", "t": "u", "label": "y", "annotator": "q"}),
            (3, {"id": "v", "t": "v", "label": "x", "annotator": "p"}),
            (4, {"id": "v", "t": "v", "label": "x", "annotator": "q"}),
        ]
        import_rows(
            project,
            rows,
            ColumnMapping(
                id="id", text=("t",), label="label", annotator="annotator", add_annotators=True
            ),
        )
        confusion = agreement_report.compute(project)["confusion"]
        # pairs (x,y),(y,x) on u; (x,x) twice on v: x->x 2/3, x->y 1/3, y->x 1
        assert confusion["counts"] == [[2.0, 1.0], [1.0, 0.0]]
        assert confusion["matrix"][0] == pytest.approx([2 / 3, 1 / 3])


def test_an_empty_project_gives_reasons_not_errors(app):
    with app.app_context():
        project = create_project("Empty", [{"name": "a"}, {"name": "b"}])
        figures = agreement_report.compute(project)
        json.dumps(figures, allow_nan=False)
        assert figures["alpha"]["value"] is None
        assert figures["alpha"]["interpretation"].startswith("undefined")
        assert figures["annotators"] == [] and figures["n_items"] == 0


def test_a_large_project_shows_the_latest_job(app, monkeypatch):
    monkeypatch.setattr(agreement_report, "INLINE_LIMIT", 10)
    with app.app_context():
        project = _project()
        db.session.commit()
        report = agreement_report.page_report(project)
        assert report.figures is None and report.job is None
        assert agreement_report.annotator_reliability(project) == {}
        job = jobs.start("agreement", project.id)
        db.session.refresh(job)
        assert job.status == "done", job.error
        report = agreement_report.page_report(project)
        assert report.job.id == job.id and report.figures["n_annotations"] == 29
        assert report.current_annotations == 29
        reliability = agreement_report.annotator_reliability(project)
        assert reliability[user("a1").id].source == "Dawid-Skene"


def test_the_consensus_job_writes_dawid_skene_labels(app):
    with app.app_context():
        project = _project(consensus_method="dawid_skene", dispute_threshold=0.6)
        db.session.commit()
        job = jobs.start("consensus", project.id)
        db.session.refresh(job)
        assert job.status == "done", job.error
        fit = dawid_skene(_long()).items
        items = {i.external_id: i for i in db.session.scalars(select(Item))}
        for external_id, item in items.items():
            expected = fit.loc[external_id]
            assert item.consensus_label == expected["label"]
            assert item.consensus_confidence == pytest.approx(expected["confidence"])
            settled = expected["confidence"] >= 0.6 and expected["label"] is not None
            assert item.disputed == (not settled), external_id
            assert item.final_label == (expected["label"] if settled else None)
            assert item.final_source == ("dawid_skene" if settled else None)
        assert job.result["n_items"] == 8 and job.result["converged"]


def test_the_consensus_job_never_overrides_a_reviewer(app):
    with app.app_context():
        project = _project(consensus_method="dawid_skene", dispute_threshold=0.99)
        disputed = db.session.scalars(select(Item).where(Item.disputed.is_(True))).all()
        assert len(disputed) >= 2
        first, second = disputed[:2]
        review.decide(project, first, user("rita"), "resolve", "neu", "my call")
        review.decide(project, second, user("rita"), "ambiguous")
        apply_dawid_skene(project, commit_batches=False)
        db.session.expire_all()
        first, second = db.session.get(Item, first.id), db.session.get(Item, second.id)
        assert (first.final_label, first.final_source, first.disputed) == (
            "neu",
            "adjudicated",
            False,
        )
        assert second.ambiguous and not second.disputed
        assert (
            db.session.scalar(select(Adjudication.note).where(Adjudication.item_id == first.id))
            == "my call"
        )


def test_the_consensus_job_skips_majority_projects(app):
    with app.app_context():
        project = _project()
        db.session.commit()
        job = jobs.start("consensus", project.id)
        db.session.refresh(job)
        assert job.status == "done" and "skipped" in job.result
        assert db.session.scalar(select(Job.kind)) == "consensus"
