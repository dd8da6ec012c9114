"""The item browser, item records, comments and bulk actions over the API and the pages."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item, ItemComment
from tests.conftest import bearer


def _label(client, project, token, label):
    headers = bearer(token)
    item = client.get(f"/api/v1/projects/{project}/next", headers=headers).json["items"][0]
    response = client.post(
        f"/api/v1/projects/{project}/items/{item['id']}/annotation",
        json={"label": label},
        headers=headers,
    )
    assert response.status_code == 201
    return item["id"]


def test_browse_pages_and_filters_over_the_api(client, project, tokens):
    headers = bearer(tokens["rita"])
    url = f"/api/v1/projects/{project}/items/browse"
    first = client.get(f"{url}?limit=8", headers=headers).json
    assert len(first["items"]) == 8 and first["next_after"]
    rest = client.get(f"{url}?limit=50&after={first['next_after']}", headers=headers).json
    ids = [row["id"] for row in first["items"] + rest["items"]]
    assert len(ids) == 20 == len(set(ids)) and rest["next_after"] is None
    found = client.get(f"{url}?q=number+13", headers=headers).json["items"]
    assert [row["external_id"] for row in found] == ["m13"]
    assert found[0]["preview"] == "message number 13" and found[0]["status"] == ["unlabeled"]
    bad = client.get(f"{url}?min_confidence=lots", headers=headers)
    assert bad.status_code == 422 and bad.json["detail"]["field"] == "min_confidence"


def test_annotators_see_only_their_labels_in_browser_and_record(client, app, project, tokens):
    """Blind labeling holds on every new route: nothing of bob's reaches alice."""
    with app.app_context():
        db.session.get(Item, 1).project.annotations_per_item = 2
        db.session.commit()
    item_id = _label(client, project, tokens["bob"], "spam")
    # alice is asked the same item (0 < n < k comes first) and gives another label
    assert _label(client, project, tokens["alice"], "ham") == item_id
    alice = bearer(tokens["alice"])
    client.post(
        f"/api/v1/projects/{project}/items/{item_id}/comments",
        json={"kind": "question", "body": "bob thinks so too?"},
        headers=bearer(tokens["bob"]),
    )
    rows = client.get(f"/api/v1/projects/{project}/items/browse", headers=alice).json["items"]
    assert [(row["id"], row["my_label"]) for row in rows] == [(item_id, "ham")]
    assert "final_label" not in rows[0] and "status" not in rows[0]
    record = client.get(f"/api/v1/projects/{project}/items/{item_id}/record", headers=alice)
    body = json.dumps(record.json)
    assert record.status_code == 200 and "spam" not in body and "bob" not in body
    assert record.json["consensus"] is None and record.json["decisions"] == []
    comments = client.get(f"/api/v1/projects/{project}/items/{item_id}/comments", headers=alice)
    assert comments.json == {"comments": []}  # another annotator's comment stays his
    refused = client.get(f"/api/v1/projects/{project}/items/browse?status=final", headers=alice)
    assert refused.status_code == 403 and refused.json["detail"]["field"] == "status"
    # the reviewer sees both labels
    staff = client.get(
        f"/api/v1/projects/{project}/items/{item_id}/record", headers=bearer(tokens["rita"])
    ).json
    assert sorted(entry["label"] for entry in staff["labels"]) == ["ham", "spam"]
    # an item alice never labeled is not hers to open, and her page hides others' work
    other = client.get(f"/api/v1/projects/{project}/items/{item_id + 1}/record", headers=alice)
    assert other.status_code == 404


def test_an_annotator_asks_and_a_reviewer_answers(client, app, project, tokens):
    item_id = _label(client, project, tokens["alice"], "spam")
    url = f"/api/v1/projects/{project}/items/{item_id}/comments"
    alice, rita = bearer(tokens["alice"]), bearer(tokens["rita"])
    asked = client.post(
        url, json={"kind": "flag", "body": "not English", "send_to_review": True}, headers=alice
    )
    assert asked.status_code == 201 and asked.json["comments"][0]["open"] is True
    refused = client.post(url, json={"kind": "answer", "body": "I decide"}, headers=alice)
    assert refused.status_code == 403
    empty = client.post(url, json={"kind": "question", "body": "  "}, headers=alice)
    assert empty.status_code == 422 and empty.json["detail"]["field"] == "body"
    waiting = client.get(f"/api/v1/projects/{project}/comments/open", headers=rita).json
    assert waiting["total"] == 1 and waiting["comments"][0]["body"] == "not English"
    with app.app_context():
        assert db.session.get(Item, item_id).disputed  # the flag sent it to review
    answered = client.post(url, json={"kind": "answer", "body": "label it as is"}, headers=rita)
    assert [c["open"] for c in answered.json["comments"]] == [False, False]
    assert client.get(f"/api/v1/projects/{project}/comments/open", headers=rita).json["total"] == 0
    mine = client.get(url, headers=alice).json["comments"]
    assert [(c["kind"], c["author"]) for c in mine] == [("flag", "alice"), ("answer", "rita")]


def test_bulk_over_the_api_is_whole_or_nothing(client, app, project, tokens):
    rita = bearer(tokens["rita"])
    url = f"/api/v1/projects/{project}/items/bulk"
    sent = client.post(url, json={"action": "send_to_review", "items": [1, 2]}, headers=rita)
    assert sent.status_code == 200 and sent.json["items"] == [1, 2]
    wrong = client.post(url, json={"action": "send_to_review", "items": [3, 99999]}, headers=rita)
    assert wrong.status_code == 422 and wrong.json["detail"]["missing"] == [99999]
    gold = client.post(url, json={"action": "mark_gold", "items": [3]}, headers=rita)
    assert gold.status_code == 403
    annotator = client.post(
        url, json={"action": "send_to_review", "items": [4]}, headers=bearer(tokens["alice"])
    )
    assert annotator.status_code == 403
    with app.app_context():
        flags = db.session.execute(select(Item.id, Item.disputed).order_by(Item.id)).all()
    assert [i for i, disputed in flags if disputed] == [1, 2]


def test_pages_browse_jump_bulk_export_and_comment(client, auth, app, project):
    auth.login("rita")
    page = client.get(f"/projects/{project}/items?q=number+7")
    assert page.status_code == 200 and "message number 7" in page.get_data(as_text=True)
    bad = client.get(f"/projects/{project}/items?q=x&min_confidence=lots")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "min_confidence must be a number" in html
    assert 'value="lots"' in html and 'value="x"' in html  # the form keeps what was typed
    jump = client.get(f"/projects/{project}/items?jump=m3")
    assert jump.status_code == 302 and jump.headers["Location"].endswith("/items/4")
    sent = auth.post(
        f"/projects/{project}/items/bulk", {"action": "send_to_review", "items": ["1", "2"]}
    )
    assert sent.status_code == 302
    with app.app_context():
        assert [i.disputed for i in db.session.scalars(select(Item).order_by(Item.id))][:3] == [
            True,
            True,
            False,
        ]
    auth.post(f"/projects/{project}/items/1/comments", {"kind": "note", "body": "looks odd"})
    with app.app_context():
        assert db.session.scalar(select(ItemComment.body)) == "looks odd"
    exported = auth.post(
        f"/projects/{project}/items/bulk", {"action": "export", "items": ["1", "3"]}
    )
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [row["external_id"] for row in rows] == ["m0", "m2"]
    assert rows[0]["comments"] == "note: looks odd" and rows[1]["comments"] == ""
    shown = client.get(f"/projects/{project}/items/1").get_data(as_text=True)
    assert "looks odd" in shown and "Review decisions" in shown


def test_the_api_documents_exactly_the_filters_the_browser_reads():
    from labeler.api.browse import BROWSE_PARAMS
    from labeler.services.items.browse import QUERY_NAMES

    assert [param[0] for param in BROWSE_PARAMS] == [*QUERY_NAMES, "after", "limit"]
