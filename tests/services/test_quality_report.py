"""The quality report and duplicate handling at import: keep, skip or link."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import func, select

from labeler import jobs
from labeler.core.quality import normalise
from labeler.extensions import db
from labeler.models import TIER_DONE, Item, Job
from labeler.services.data import quality as quality_service
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_file
from labeler.services.labeling import queue
from labeler.services.projects.store import create_project, recount
from tests.conftest import DATA, user

LABELS = [{"name": "ham"}, {"name": "spam"}]
SMS = (DATA / "sms-spam.csv").read_bytes()
# The file's index column has no name: give it one, so it can be the id.
SMS_BODY = b"row" + SMS


def _sms(project, duplicates="keep", label=False):
    mapping = ColumnMapping(
        id="row", text=("text",), duplicates=duplicates, label="spam" if label else None
    )
    return import_file(project, io.BytesIO(SMS_BODY), "csv", mapping, chunk_rows=1000)


def _expected_copies() -> int:
    texts = pd.read_csv(DATA / "sms-spam.csv")["text"].astype(str).map(normalise)
    return int(texts.duplicated().sum())


@pytest.fixture
def project(app):
    with app.app_context():
        labels = [{"name": "0"}, {"name": "1"}]
        project = create_project("SMS spam", labels, test_fraction=0.2)
        db.session.commit()
        yield project


def test_the_report_finds_every_repeated_sms(project):
    report = _sms(project)
    assert report.duplicates_found == _expected_copies() >= 315
    figures = quality_service.compute(project)
    exact = figures["exact_duplicates"]
    assert exact["copies"] == _expected_copies()
    assert exact["largest"][0]["size"] >= exact["largest"][-1]["size"] > 1
    assert figures["near_duplicates"]["groups"] > 0
    assert figures["fields"]["text"]["missing"] == 0
    assert figures["n_items"] == 4837


def test_linked_copies_share_their_originals_split(project):
    _sms(project, "link")
    pairs = db.session.execute(
        select(Item.split, Item.duplicate_of).where(Item.duplicate_of.is_not(None))
    ).all()
    splits = dict(db.session.execute(select(Item.id, Item.split)).all())
    assert len(pairs) == _expected_copies()
    assert all(split == splits[original] for split, original in pairs)


def test_skip_leaves_one_item_per_text(project):
    report = _sms(project, "skip")
    assert report.duplicates_skipped == _expected_copies()
    assert report.added == 4837 - _expected_copies()
    hashes = db.session.execute(
        select(Item.content_hash, func.count()).group_by(Item.content_hash).having(func.count() > 1)
    ).all()
    assert hashes == []


def test_linked_copies_are_never_asked_and_carry_the_originals_label(app):
    with app.app_context():
        project = create_project("Linked", LABELS, test_fraction=0)
        body = "id,text\n1,Win a prize\n2,see you\n3,WIN  a prize\n4,win a prize \n"
        mapping = ColumnMapping(id="id", text=("text",), duplicates="link")
        report = import_file(project, io.BytesIO(body.encode()), "csv", mapping)
        assert (report.added, report.duplicates_linked) == (4, 2)
        again = import_file(project, io.BytesIO(b"id,text\n5,win A PRIZE\n"), "csv", mapping)
        assert again.duplicates_linked == 1
        copies = list(db.session.scalars(select(Item).where(Item.duplicate_of.is_not(None))))
        original = db.session.scalar(select(Item).where(Item.external_id == "1"))
        assert {c.duplicate_of for c in copies} == {original.id} and len(copies) == 3
        assert all(c.queue_tier == TIER_DONE for c in copies)
        asked = []
        while items := queue.next_items(project, user("alice")):
            asked.append(items[0].external_id)
            queue.submit(project, user("alice"), items[0], "spam")
        assert sorted(asked) == ["1", "2"]  # each text once
        # Two texts, each labeled k = 1 time: the job is done, copies need no labels.
        assert (project.n_items, project.n_linked, project.n_queued) == (5, 3, 2)
        assert project.coverage == 1.0
        recount(project)
        assert (project.n_linked, project.coverage) == (3, 1.0)
        db.session.expire_all()
        assert {
            c.final_label
            for c in db.session.scalars(select(Item).where(Item.duplicate_of.is_not(None)))
        } == {"spam"}


def test_the_report_job_stores_its_result(app):
    with app.app_context():
        project = create_project("Job", LABELS, test_fraction=0)
        body = "id,text,n\n" + "".join(f"{i},text {i % 7},{i}\n" for i in range(60))
        mapping = ColumnMapping(id="id", text=("text",), categorical=("n",))
        import_file(project, io.BytesIO(body.encode() + b"61,hello,n/a\n"), "csv", mapping)
        db.session.commit()
        job = jobs.start("quality", project.id, {"threshold": 0.9})
        db.session.expire_all()
        job = db.session.get(Job, job.id)
        assert job.status == "done", job.error
        assert job.result["exact_duplicates"]["copies"] == 53
        assert job.result["fields"]["n"]["unparseable"] == 1
        assert quality_service.latest_job(project).id == job.id


def test_the_dataset_card_carries_the_quality_block(project):
    from labeler.services.data.dataset_card import card_markdown, dataset_card

    _sms(project, "link")
    card = dataset_card(project)
    assert card["quality"]["exact_duplicate_copies"] == _expected_copies()
    assert card["quality"]["linked_duplicates"] == _expected_copies()
    assert "## Data quality" in card_markdown(card)


def test_the_cli_prints_the_report(app, project):
    _sms(project)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["quality", "SMS spam", "--save"])
    assert result.exit_code == 0, result.output
    assert f"Exact duplicates: {_expected_copies():,} copies" in result.output
    assert quality_service.latest_job(project) is not None
