"""Pairwise projects through the API: import with a field mapping, the order shown,
votes stored in A/B terms."""

from __future__ import annotations

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Item, Project
from labeler.services.projects.store import set_member
from tests.conftest import bearer, user

MAPPING = {
    "id": "id",
    "text": ["question", "response_a", "response_b"],
    "meta": ["system_a", "system_b"],
}


def _pairs(n: int) -> list[dict[str, str]]:
    return [
        {"id": f"p{i}", "question": f"How do I sort list {i}?",
         "response_a": f"Use sorted(xs) — answer A{i}\n    indented <b>code</b>",
         "response_b": f"Write a loop — answer B{i}", "system_a": "alpha", "system_b": "beta"}
        for i in range(n)
    ]  # fmt: skip


def make_pairwise(client, tokens, app, n: int = 6, k: int = 2) -> int:
    created = client.post(
        "/api/v1/projects",
        json={
            "name": "Answers",
            "labels": [{"name": "unused"}],
            "task_kind": "pairwise",
            "task_settings": {"both_bad": True, "fields": {"prompt": "question"}},
            "annotations_per_item": k,
            "test_fraction": 0.0,
        },
        headers=bearer(tokens["admin"]),
    )
    assert created.status_code == 201, created.json
    project_id = created.json["id"]
    imported = client.post(
        f"/api/v1/projects/{project_id}/items",
        json={"mapping": MAPPING, "items": _pairs(n)},
        headers=bearer(tokens["admin"]),
    )
    assert imported.status_code == 201 and imported.json["added"] == n
    with app.app_context():
        project = db.session.get(Project, project_id)
        for name in ("alice", "bob", "carol"):
            set_member(project, user(name), "annotator")
        db.session.commit()
    return project_id


def test_an_item_without_a_response_b_stops_the_import_and_names_line_and_column(
    client, tokens, app
):
    project_id = make_pairwise(client, tokens, app, n=1)
    rows = _pairs(3)
    rows[2]["response_b"] = "  "
    refused = client.post(
        f"/api/v1/projects/{project_id}/items",
        json={"mapping": MAPPING, "items": rows},
        headers=bearer(tokens["admin"]),
    )
    assert refused.status_code == 422
    assert "line 3" in refused.json["error"] and "'response_b'" in refused.json["error"]
    assert "needs a response b" in refused.json["error"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Item.id))) == 1  # nothing more was added


def test_each_annotator_sees_a_stable_random_order_and_votes_are_stored_as_a_or_b(
    client, tokens, app
):
    project_id = make_pairwise(client, tokens, app, n=6, k=3)
    base = f"/api/v1/projects/{project_id}"
    orders = {}
    for name in ("alice", "bob", "carol"):
        headers = bearer(tokens[name])
        for _ in range(6):
            item = client.get(f"{base}/next", headers=headers).json["items"][0]
            shown = item["presentation"]
            assert shown["prompt"].startswith("How do I sort list")
            left_is_a = shown["left"].startswith("Use sorted")
            assert shown["shown"] == ("AB" if left_is_a else "BA")
            assert "<b>code</b>" in (shown["left"] + shown["right"])  # raw text; the page escapes
            again = client.get(f"{base}/items/{item['id']}", headers=headers).json["presentation"]
            assert again == shown  # a reload shows the same order
            orders[(name, item["id"])] = shown["shown"]
            # Everyone prefers the response on the left: stored in A/B terms.
            choice = "A" if left_is_a else "B"
            saved = client.post(
                f"{base}/items/{item['id']}/annotation",
                json={"value": {"choice": choice}},
                headers=headers,
            )
            assert saved.status_code == 201, saved.json
            assert saved.json["value"] == {"choice": choice, "shown": shown["shown"]}
    assert len(set(orders.values())) == 2  # both orders were drawn
    with app.app_context():
        annotations = db.session.scalars(select(Annotation))
        stored = {(a.user_id, a.item_id): (a.label, a.value) for a in annotations}
        assert len(stored) == 18
        for (name, item_id), shown in orders.items():
            label, value = stored[(user(name).id, item_id)]
            assert label == shown[0] and value["shown"] == shown


def test_an_answer_that_contradicts_the_order_shown_is_refused(client, tokens, app):
    project_id = make_pairwise(client, tokens, app, n=2)
    base = f"/api/v1/projects/{project_id}"
    headers = bearer(tokens["alice"])
    item = client.get(f"{base}/next", headers=headers).json["items"][0]
    other = "BA" if item["presentation"]["shown"] == "AB" else "AB"
    refused = client.post(
        f"{base}/items/{item['id']}/annotation",
        json={"value": {"choice": "A", "shown": other}},
        headers=headers,
    )
    assert refused.status_code == 422 and refused.json["detail"]["field"] == "shown"
    bad = client.post(
        f"{base}/items/{item['id']}/annotation",
        json={"value": {"choice": "both_good"}},
        headers=headers,
    )
    assert bad.status_code == 422 and bad.json["detail"]["field"] == "choice"
    both_bad = client.post(
        f"{base}/items/{item['id']}/annotation", json={"value": "both_bad"}, headers=headers
    )
    assert both_bad.status_code == 201 and both_bad.json["label"] == "both_bad"
    with app.app_context():
        assert db.session.scalar(select(func.count(Annotation.id))) == 1
