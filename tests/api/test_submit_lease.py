"""A first label needs the item to have been served: a live lease, else 409 and nothing stored.

Without it an annotator could label any item id they guess, and push it past k.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Assignment, Item, Project, utcnow
from tests.conftest import bearer


def _post(client, project, item_id, token, label="spam"):
    return client.post(
        f"/api/v1/projects/{project}/items/{item_id}/annotation",
        json={"label": label},
        headers=bearer(token),
    )


def _stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Annotation.id)))


def test_an_item_never_served_is_refused_with_409_and_nothing_stored(app, client, project, tokens):
    with app.app_context():
        item_id = db.session.scalars(select(Item.id).order_by(Item.id.desc())).first()
    response = _post(client, project, item_id, tokens["alice"])
    assert response.status_code == 409
    assert "not served to you" in response.json["error"]
    assert _stored(app) == 0
    with app.app_context():
        assert db.session.get(Item, item_id).n_annotations == 0


def test_an_item_someone_else_holds_cannot_be_pushed_past_k(app, client, project, tokens):
    alice = client.get(f"/api/v1/projects/{project}/next", headers=bearer(tokens["alice"]))
    held = alice.json["items"][0]["id"]  # k = 1: alice's lease fills the item
    assert _post(client, project, held, tokens["bob"]).status_code == 409
    assert _post(client, project, held, tokens["alice"]).status_code == 201
    with app.app_context():
        assert db.session.get(Item, held).n_annotations == 1
        assert db.session.get(Project, project).annotations_per_item == 1


def test_an_expired_lease_is_refused_but_a_change_of_ones_own_label_is_not(
    app, client, project, tokens
):
    served = client.get(f"/api/v1/projects/{project}/next?n=2", headers=bearer(tokens["alice"]))
    first, second = (item["id"] for item in served.json["items"])
    assert _post(client, project, first, tokens["alice"], "ham").status_code == 201
    with app.app_context():
        for lease in db.session.scalars(select(Assignment)):
            lease.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert _post(client, project, second, tokens["alice"]).status_code == 409
    changed = _post(client, project, first, tokens["alice"], "spam")  # no lease needed
    assert changed.status_code == 200 and changed.json["outcome"] == "changed"
    assert _stored(app) == 1
