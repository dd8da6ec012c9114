"""The Dawid-Skene consensus job learns annotators from gold answers, and a gold item's
own consensus and final label still come from its votes."""

from __future__ import annotations

from sqlalchemy import select

from labeler import jobs
from labeler.core.consensus import dawid_skene
from labeler.extensions import db
from labeler.models import Item
from labeler.services.labeling import gold, queue
from labeler.services.labeling.agreement_report import ratings_frame
from tests.conftest import make_project, user

FLIP = {"ham": "spam", "spam": "ham"}


def _items(project):
    return list(
        db.session.scalars(select(Item).where(Item.project_id == project.id).order_by(Item.id))
    )


def _project_with_a_flipping_annotator():
    """alice is always right and dave always answers the opposite.

    Ten gold items carry both their votes; twenty ordinary items only dave's (k = 1),
    so there dave alone decides. One more gold item has a wrong answer ("ham") that
    both votes contradict: alice says spam, and dave, flipping, says ham. One gold
    item has no votes at all.
    """
    project = make_project(n_items=33, k=1)
    project.consensus_method = "dawid_skene"
    items = _items(project)
    truth = {item.id: ("spam" if n % 3 == 0 else "ham") for n, item in enumerate(items)}
    anchors, dave_only = items[:10], items[10:30]
    misjudged, unvoted = items[30], items[31]
    for item in anchors:
        gold.mark(project, item, truth[item.id])
        queue.submit(project, user("alice"), item, truth[item.id])
        queue.submit(project, user("dave"), item, FLIP[truth[item.id]])
    for item in dave_only:
        queue.submit(project, user("dave"), item, FLIP[truth[item.id]])
    gold.mark(project, misjudged, "ham")
    queue.submit(project, user("alice"), misjudged, "spam")
    queue.submit(project, user("dave"), misjudged, "ham")
    gold.mark(project, unvoted, "spam")
    db.session.commit()
    return project, truth, anchors, dave_only, misjudged


def test_gold_answers_teach_the_job_that_an_annotator_flips(app):
    with app.app_context():
        project, truth, anchors, dave_only, _ = _project_with_a_flipping_annotator()
        # Without the gold answers alice and dave are mirror images: Dawid-Skene
        # cannot tell who is right and takes dave at his word where he is alone.
        unanchored = dawid_skene(
            ratings_frame(project).assign(label=lambda f: f["label"].astype(str))
        ).items
        assert all(unanchored.loc[i.id, "label"] == FLIP[truth[i.id]] for i in dave_only)

        job = jobs.start("consensus", project.id)
        db.session.refresh(job)
        assert job.status == "done", job.error
        assert job.result["n_gold"] == 11  # the gold item nobody answered is left out
        reliability = {row["annotator"]: row["dawid_skene"] for row in job.result["annotators"]}
        assert reliability["alice"] > 0.9 and reliability["dave"] < 0.1

        db.session.expire_all()
        for item in dave_only:  # dave's answer, read through his learnt flip
            item = db.session.get(Item, item.id)
            assert item.consensus_label == truth[item.id] != FLIP[truth[item.id]]
            assert (item.final_label, item.final_source) == (truth[item.id], "dawid_skene")
            assert item.consensus_confidence > 0.75 and not item.disputed  # threshold 0.5
        for item in anchors:  # their two votes, both read right, agree with the answer
            item = db.session.get(Item, item.id)
            assert (item.final_label, item.final_source) == (truth[item.id], "dawid_skene")


def test_a_gold_items_final_label_is_its_annotators_verdict_not_its_answer(app):
    with app.app_context():
        project, _, _, _, misjudged = _project_with_a_flipping_annotator()
        # On submit, majority left it tied (spam vs ham): disputed, no final label.
        assert misjudged.final_label is None and misjudged.disputed
        job = jobs.start("consensus", project.id)
        db.session.refresh(job)
        assert job.status == "done", job.error
        db.session.expire_all()
        item = db.session.get(Item, misjudged.id)
        assert item.is_gold and item.gold_label == "ham"  # the answer is untouched
        assert item.consensus_label == "spam" and item.final_label == "spam"
        assert item.final_source == "dawid_skene" and item.consensus_confidence < 1.0


def test_the_agreement_page_reads_annotators_with_the_same_gold_answers(app):
    with app.app_context():
        project, *_ = _project_with_a_flipping_annotator()
        job = jobs.start("agreement", project.id)
        db.session.refresh(job)
        assert job.status == "done", job.error
        figures = {row["annotator"]: row["dawid_skene"] for row in job.result["annotators"]}
        assert figures["alice"] > 0.9 and figures["dave"] < 0.1
