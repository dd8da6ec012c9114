"""Label SMS texts in a real browser until training starts by itself, then read the
model page: a version whose test accuracy beats the majority baseline."""

from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item, Job, ModelVersion
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_frame
from labeler.services.projects.store import create_project, set_member
from tests.conftest import DATA, PASSWORDS, user
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

N_ITEMS = 60


def _sms_project() -> tuple[int, dict[str, str]]:
    """Thirty spam and thirty ham messages: a balanced set, so the majority scores 1/2."""
    sms = pd.read_csv(DATA / "sms-spam.csv")
    frame = pd.concat(
        [sms[sms["spam"] == 1].head(N_ITEMS // 2), sms[sms["spam"] == 0].head(N_ITEMS // 2)]
    )
    frame = frame.assign(id=[f"sms{i}" for i in range(len(frame))])[["id", "text", "spam"]]
    project = create_project(
        "SMS loop",
        [{"name": "ham", "hotkey": "1"}, {"name": "spam", "hotkey": "2"}],
        test_fraction=0.3,
        retrain_every=20,
        min_labels_per_class=2,
        sampling_strategy="margin",
    )
    import_frame(project, frame[["id", "text"]], ColumnMapping(id="id", text=("text",)))
    set_member(project, user("alice"), "annotator")
    set_member(project, user("rita"), "reviewer")
    truth = {row.id: "spam" if row.spam else "ham" for row in frame.itertuples()}
    return project.id, truth


def test_labeling_triggers_training_and_the_model_page_shows_it(page, app):
    with app.app_context():
        project_id, truth = _sms_project()
        db.session.commit()
    login(page, "alice", PASSWORDS["alice"])
    page.goto(f"/projects/{project_id}/annotate")
    page.wait_for_selector("#item:not([hidden])")
    for n in range(N_ITEMS):
        shown = page.locator("#item-external-id").inner_text()
        page.keyboard.press("2" if truth[shown] == "spam" else "1")
        if n < N_ITEMS - 1:
            expect(page.locator("#item-external-id")).not_to_have_text(shown, timeout=30_000)
    expect(page.locator("#session-count")).to_have_text(str(N_ITEMS), timeout=30_000)

    with app.app_context():
        # training jobs (a new champion also starts the items index job: not counted here)
        jobs = db.session.scalars(select(Job).where(Job.kind == "train").order_by(Job.id)).all()
        # only train labels count toward retrain_every (test labels never train a model)
        train_labels = db.session.scalar(
            select(db.func.count(Item.id)).where(
                Item.project_id == project_id,
                Item.split == "train",
                Item.final_label.is_not(None),
            )
        )
        assert train_labels < N_ITEMS
        expected = train_labels // 20
        assert expected >= 2
        assert [job.params["reason"] for job in jobs] == ["automatic"] * expected
        assert all(job.status == "done" for job in jobs), [job.error for job in jobs]
        newest = db.session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())).first()
        accuracy = newest.metrics["accuracy"]
        majority = newest.baseline_metrics["majority"]["accuracy"]
        assert accuracy > majority

    login(page, "rita", PASSWORDS["rita"])  # model internals are for reviewers
    page.goto(f"/projects/{project_id}/model")
    row = page.locator("#versions tr.version").first
    shown_accuracy = float(row.locator(".metric-accuracy").inner_text().split()[0])
    shown_majority = float(row.locator(".baseline-majority").inner_text())
    assert shown_accuracy == pytest.approx(accuracy, abs=1e-3)
    assert shown_accuracy > shown_majority
    assert page.locator("svg.curve").count() == 2
    assert page.locator("svg.heatmap").count() == 1
    page.click("text=Errors")
    page.wait_for_url(f"**/projects/{project_id}/model/errors")
    assert page.locator("h1").inner_text().startswith("Error analysis")
