"""The monitoring page in a real browser: traffic from another data set shows up as
drift, the check raises an alert, and an admin promotes and rolls back a version
with the audit trail to show for it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from labeler.extensions import db
from tests.conftest import PASSWORDS, bearer
from tests.e2e.conftest import login
from tests.serving_helpers import add_version, movie_snippets, sms_project

pytestmark = pytest.mark.e2e


def test_drift_shows_alerts_fire_and_an_admin_promotes_then_rolls_back(page, app, client, tokens):
    app.config["MONITOR_INTERVAL_SECONDS"] = 0  # no automatic check: the button does it
    with app.app_context():
        project = sms_project()
        champion = add_version(project, status="champion")
        candidate = add_version(project, "naive_bayes", macro_f1=0.8)
        db.session.commit()
        project_id, champion_id, candidate_id = project.id, champion.id, candidate.id
    # Film reviews sent to a model trained on text messages: a shifted stream.
    items = [{"text": text} for text in movie_snippets()[:300]]
    for start in range(0, 300, 50):
        response = client.post(
            f"/api/v1/projects/{project_id}/predict",
            json={"items": items[start : start + 50]},
            headers=bearer(tokens["rita"]),
        )
        assert response.status_code == 200, response.json

    login(page, "admin", PASSWORDS["admin"])
    page.goto(f"/projects/{project_id}/monitoring")
    row = page.locator("#latency tbody tr").first
    expect(row.locator("td").nth(0)).to_have_text(f"#{champion_id}")
    expect(row.locator("td").nth(2)).to_have_text("300")  # predictions
    expect(row.locator("td").nth(3)).to_have_text("6")  # requests: latency is per request
    expect(page.locator("#class-mix .badge")).to_have_text("major")
    expect(page.locator("#alerts")).to_have_count(0)

    page.click("#check-now")
    expect(page.locator("#alerts li[data-kind=drift_class_mix]")).to_be_visible()
    page.goto(f"/projects/{project_id}")
    expect(page.locator("#alerts li[data-kind=drift_class_mix]")).to_be_visible()

    page.goto(f"/projects/{project_id}/monitoring")
    page.once("dialog", lambda dialog: dialog.accept())
    candidate_row = page.locator("#rollout-versions tr", has_text=f"#{candidate_id}")
    candidate_row.locator("form[action$='/promote'] input[name=reason]").fill("try NB on reviews")
    candidate_row.locator("form[action$='/promote'] button").click()
    expect(page.locator("#rollout-versions tr[data-status=champion]")).to_contain_text(
        f"#{candidate_id}"
    )
    expect(page.locator("#audit li").first).to_contain_text(
        f"promote #{candidate_id} by admin — try NB on reviews"
    )
    response = client.post(
        f"/api/v1/projects/{project_id}/predict",
        json={"item": items[0]},
        headers=bearer(tokens["rita"]),
    )
    assert response.json["model_version_id"] == candidate_id

    page.once("dialog", lambda dialog: dialog.accept())
    champion_row = page.locator("#rollout-versions tr[data-status=champion]")
    champion_row.locator("form[action$='/rollback'] input[name=reason]").fill("worse")
    champion_row.locator("form[action$='/rollback'] button").click()
    expect(page.locator("#rollout-versions tr[data-status=champion]")).to_contain_text(
        f"#{champion_id}"
    )
    expect(page.locator("#audit li").first).to_contain_text("by admin — worse")
    response = client.post(
        f"/api/v1/projects/{project_id}/predict",
        json={"item": items[0]},
        headers=bearer(tokens["rita"]),
    )
    assert response.json["model_version_id"] == champion_id

    page.locator("#alerts li[data-kind=drift_class_mix] button").click()
    expect(page.locator("#alerts li[data-kind=drift_class_mix]")).to_have_count(0)
