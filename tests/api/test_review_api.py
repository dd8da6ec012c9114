"""API and pages of review and agreement: reviewers decide; annotators see nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Adjudication, Item
from labeler.services.labeling import queue
from tests.conftest import bearer, make_project, user


@pytest.fixture
def tied(app) -> tuple[int, int]:
    """A k=2 project whose first item alice and bob labeled differently."""
    with app.app_context():
        project = make_project(n_items=6, k=2)
        item = queue.next_items(project, user("alice"))[0]
        queue.submit(project, user("alice"), item, "spam")
        queue.next_items(project, user("bob"))
        queue.submit(project, user("bob"), item, "ham")
        db.session.commit()
        return project.id, item.id


def test_the_review_queue_lists_disputed_items_with_votes(client, tokens, tied):
    project_id, item_id = tied
    response = client.get(f"/api/v1/projects/{project_id}/review", headers=bearer(tokens["rita"]))
    assert response.status_code == 200
    body = response.json
    assert body["total"] == 1 and body["next_after"] is None
    assert body["items"][0]["id"] == item_id
    assert body["items"][0]["votes"] == {"spam": 1, "ham": 1}


def test_a_decision_resolves_the_item(client, tokens, tied, app):
    project_id, item_id = tied
    response = client.post(
        f"/api/v1/projects/{project_id}/items/{item_id}/review",
        json={"action": "resolve", "label": "spam", "note": "a shop link"},
        headers=bearer(tokens["rita"]),
    )
    assert response.status_code == 201, response.json
    assert response.json["final_label"] == "spam"
    assert response.json["decision"]["reviewer"] == "rita"
    queue_now = client.get(
        f"/api/v1/projects/{project_id}/review", headers=bearer(tokens["admin"])
    ).json
    assert queue_now["total"] == 0
    with app.app_context():
        item = db.session.get(Item, item_id)
        assert (item.final_label, item.final_source) == ("spam", "adjudicated")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"action": "resolve", "label": "eggs"}, 422),
        ({"action": "explode"}, 422),
        ({"action": "resolve", "label": 3}, 422),
        ([], 422),
    ],
)
def test_bad_decisions_get_json_errors(client, tokens, tied, body, status):
    project_id, item_id = tied
    response = client.post(
        f"/api/v1/projects/{project_id}/items/{item_id}/review",
        json=body,
        headers=bearer(tokens["rita"]),
    )
    assert response.status_code == status and response.json["error"]


def test_deciding_on_another_projects_item_is_404(client, tokens, tied, app):
    project_id, _ = tied
    with app.app_context():
        other = make_project("Other", n_items=2)
        db.session.commit()
        foreign = db.session.scalars(select(Item.id).where(Item.project_id == other.id)).first()
    response = client.post(
        f"/api/v1/projects/{project_id}/items/{foreign}/review",
        json={"action": "ambiguous"},
        headers=bearer(tokens["rita"]),
    )
    assert response.status_code == 404


def test_agreement_figures_are_served(client, tokens, tied):
    project_id, _ = tied
    response = client.get(
        f"/api/v1/projects/{project_id}/agreement", headers=bearer(tokens["rita"])
    )
    assert response.status_code == 200
    figures = response.json["figures"]
    assert figures["n_annotations"] == 2 and figures["percent"]["value"] == 0.0
    assert {row["annotator"] for row in figures["annotators"]} == {"alice", "bob"}


@pytest.mark.parametrize("who", ["alice", "bob", "dave"])
def test_annotators_never_see_votes_or_agreement(client, tokens, tied, auth, who):
    """Annotators of the project get 403 everywhere others' labels would show."""
    project_id, item_id = tied
    api = [
        ("GET", f"/api/v1/projects/{project_id}/review", None),
        ("GET", f"/api/v1/projects/{project_id}/agreement", None),
        (
            "POST",
            f"/api/v1/projects/{project_id}/items/{item_id}/review",
            {"action": "resolve", "label": "ham"},
        ),
    ]
    for method, url, body in api:
        response = client.open(url, method=method, json=body, headers=bearer(tokens[who]))
        assert response.status_code == 403, (url, response.status_code)
        assert "spam" not in response.get_data(as_text=True)
    auth.login(who)
    pages = [
        f"/projects/{project_id}/review",
        f"/projects/{project_id}/review/{item_id}",
        f"/projects/{project_id}/agreement",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "spam ×" not in response.get_data(as_text=True)
    response = auth.post(f"/projects/{project_id}/review/{item_id}/decide", {"label": "ham"})
    assert response.status_code == 403
    show = client.get(f"/projects/{project_id}").get_data(as_text=True)
    assert "/review" not in show and "/agreement" not in show  # no links for annotators


def test_outsiders_get_404(client, tokens, tied, auth):
    project_id, item_id = tied
    assert (
        client.get(
            f"/api/v1/projects/{project_id}/review", headers=bearer(tokens["carol"])
        ).status_code
        == 404
    )
    auth.login("carol")
    assert client.get(f"/projects/{project_id}/agreement").status_code == 404


def test_review_pages_show_votes_and_record_a_decision(client, auth, tied, app):
    project_id, item_id = tied
    auth.login("rita")
    listing = client.get(f"/projects/{project_id}/review").get_data(as_text=True)
    assert "1 disputed item" in listing and "spam × 1" in listing
    page = client.get(f"/projects/{project_id}/review/{item_id}").get_data(as_text=True)
    assert "alice" in page and "bob" in page and "unwanted" in page  # votes and guidelines
    assert 'style="' not in page and "<script>" not in page
    response = auth.post(
        f"/projects/{project_id}/review/{item_id}/decide",
        {"action": "send_back", "note": "unclear"},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/projects/{project_id}/review")
    with app.app_context():
        decision = db.session.scalars(select(Adjudication)).one()
        assert (decision.action, decision.note) == ("send_back", "unclear")
    page = client.get(f"/projects/{project_id}/review/{item_id}").get_data(as_text=True)
    assert "send back" in page and "unclear" in page  # the history
    bad = auth.post(f"/projects/{project_id}/review/{item_id}/decide", {"label": "eggs"})
    assert bad.status_code == 302
    assert "not in the label set" in client.get(bad.headers["Location"]).get_data(as_text=True)


def test_agreement_page_renders_charts_without_inline_style(client, auth, tied):
    project_id, _ = tied
    auth.login("rita")
    html = client.get(f"/projects/{project_id}/agreement").get_data(as_text=True)
    assert "Krippendorff" in html and "<svg" in html and "How to read it" in html
    assert 'style="' not in html and "<script>" not in html
    response = auth.post(f"/projects/{project_id}/agreement/recompute")
    assert response.status_code == 302
