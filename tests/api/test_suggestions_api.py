"""Model suggestions (pre-annotation): off by default; the champion's prediction or an
imported suggestion, for every task kind; each label records whether it took the
suggestion; never another person's label."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, Assignment, Item, Project
from labeler.services.data.import_spec import ColumnMapping, ImportFailed
from labeler.services.data.imports import import_rows
from labeler.services.items import suggestions
from labeler.services.learning import modeling
from labeler.services.projects import kinds
from labeler.services.projects.store import create_project, set_member
from labeler.services.serving import predict as serving
from tests.conftest import Auth, bearer, user
from tests.services.test_kind_training import CASES, _label, _project
from tests.serving_helpers import add_version, sms_project


def _next(client, project_id, token, n=2):
    response = client.get(f"/api/v1/projects/{project_id}/next?n={n}", headers=bearer(token))
    assert response.status_code == 200, response.json
    return response.json["items"]


def _submit(client, project_id, item_id, token, value, suggestion=None):
    body = {"value": value, "seconds": 2.0}
    if suggestion is not None:
        body["suggestion"] = suggestion
    return client.post(
        f"/api/v1/projects/{project_id}/items/{item_id}/annotation",
        json=body,
        headers=bearer(token),
    )


def _set_mode(client, project_id, tokens, mode):
    response = client.patch(
        f"/api/v1/projects/{project_id}",
        json={"suggestions": mode},
        headers=bearer(tokens["admin"]),
    )
    assert response.status_code == 200, response.json
    return response.json


def test_suggestions_are_off_by_default_and_a_claimed_one_is_refused(app, client, project, tokens):
    items = _next(client, project, tokens["alice"])
    assert all(item["suggestion"] is None for item in items)
    refused = _submit(
        client, project, items[0]["id"], tokens["alice"], "ham", {"value": "ham", "source": "model"}
    )
    assert refused.status_code == 422
    assert refused.json["detail"]["field"] == "suggestion"
    with app.app_context():
        assert db.session.scalar(select(Annotation.id)) is None  # nothing was written


def test_a_bad_mode_names_the_field_and_changes_nothing(app, client, project, tokens):
    response = client.patch(
        f"/api/v1/projects/{project}",
        json={"suggestions": "always"},
        headers=bearer(tokens["admin"]),
    )
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Project, project).suggestions == "off"


def test_the_champions_prediction_is_suggested_and_acceptance_is_recorded(app, client, tokens):
    with app.app_context():
        project = sms_project(n_items=40, test_fraction=0.0)
        add_version(project, status="champion")
        set_member(project, user("bob"), "annotator")
        db.session.commit()
        project_id = project.id
    assert _set_mode(client, project_id, tokens, "model")["changed"] == ["suggestions"]
    items = _next(client, project_id, tokens["alice"])
    with app.app_context():
        model = serving.cache().get(serving.champion(db.session.get(Project, project_id)))
        texts = [next(f["value"] for f in item["fields"] if f["name"] == "text") for item in items]
        proba = model.predict_proba(pd.DataFrame({"text": texts}))
        expected = [model.classes[i] for i in proba.argmax(axis=1)]
    assert [item["suggestion"] for item in items] == [
        {"value": str(label), "source": "model"} for label in expected
    ]
    first, second = items
    taken = _submit(
        client,
        project_id,
        first["id"],
        tokens["alice"],
        first["suggestion"]["value"],
        first["suggestion"],
    )
    other = "ham" if second["suggestion"]["value"] == "spam" else "spam"
    changed = _submit(
        client, project_id, second["id"], tokens["alice"], other, second["suggestion"]
    )
    bob = _next(client, project_id, tokens["bob"], n=1)[0]
    plain = _submit(client, project_id, bob["id"], tokens["bob"], "ham")  # the form showed none
    assert {taken.status_code, changed.status_code, plain.status_code} == {201}
    with app.app_context():
        rows = {a.item_id: a for a in db.session.scalars(select(Annotation)).all()}
        assert rows[first["id"]].suggestion_accepted is True
        assert rows[first["id"]].suggestion_source == "model"
        assert rows[second["id"]].suggestion_accepted is False
        assert rows[second["id"]].suggestion_label == second["suggestion"]["value"]
        assert rows[bob["id"]].suggestion_label is None
        assert rows[bob["id"]].suggestion_accepted is None
        figures = suggestions.report(db.session.get(Project, project_id))
    assert figures["with_suggestion"]["labels"] == 2
    assert figures["with_suggestion"]["accepted"] == 0.5
    assert figures["without_suggestion"]["labels"] == 1
    assert figures["with_suggestion"]["mean_seconds"] == 2.0


def _model_suggesting_project(app, n_items: int) -> int:
    """An SMS project (no test split) whose champion's predictions are suggested."""
    with app.app_context():
        project = sms_project(n_items=n_items, test_fraction=0.0)
        add_version(project, status="champion")
        project.suggestions = "model"
        db.session.commit()
        return project.id


def test_changing_the_label_later_updates_whether_it_equals_the_suggestion(app, client, tokens):
    project_id = _model_suggesting_project(app, n_items=10)
    item = _next(client, project_id, tokens["alice"], n=1)[0]
    value = item["suggestion"]["value"]
    assert (
        _submit(
            client, project_id, item["id"], tokens["alice"], value, item["suggestion"]
        ).status_code
        == 201
    )
    other = "ham" if value == "spam" else "spam"
    assert _submit(client, project_id, item["id"], tokens["alice"], other).status_code == 200
    with app.app_context():
        mine = db.session.scalar(select(Annotation))
        assert (mine.label, mine.suggestion_label, mine.suggestion_accepted) == (
            other,
            value,
            False,
        )


def test_no_champion_no_suggestion_even_when_others_labeled_the_item(app, client, tokens):
    """Blind labeling: a colleague's label is never offered as a suggestion."""
    with app.app_context():
        project = sms_project(n_items=6, test_fraction=0.0)
        project.annotations_per_item = 2
        project.suggestions = "any"
        set_member(project, user("bob"), "annotator")
        db.session.commit()
        project_id = project.id
    bob = _next(client, project_id, tokens["bob"], n=1)[0]
    assert _submit(client, project_id, bob["id"], tokens["bob"], "spam").status_code == 201
    alice = _next(client, project_id, tokens["alice"], n=1)[0]
    assert alice["id"] == bob["id"]  # started items come first
    assert alice["suggestion"] is None


def _spans_project() -> Project:
    project = create_project(
        "Names", [{"name": "PER", "hotkey": "p"}], task_kind="spans", test_fraction=0.0
    )
    set_member(project, user("alice"), "annotator")
    return project


def test_imported_span_suggestions_are_snapped_and_shown(app, client, tokens):
    with app.app_context():
        project = _spans_project()
        rows = [
            (
                1,
                {
                    "id": "a",
                    "text": "Ann met Bob",
                    "prediction": [{"start": 0, "end": 2, "label": "PER"}],
                },
            ),
            (2, {"id": "b", "text": "nobody here", "prediction": None}),
        ]
        report = import_rows(
            project, rows, ColumnMapping(id="id", text=("text",), suggestion="prediction")
        )
        assert report.suggestions_imported == 1
        project.suggestions = "imported"
        db.session.commit()
        project_id = project.id
        assert "prediction" not in db.session.scalar(
            select(Item.data).where(Item.external_id == "a")
        )
    items = {item["external_id"]: item for item in _next(client, project_id, tokens["alice"])}
    # snapped to the token "Ann", as an annotator's span would be
    assert items["a"]["suggestion"] == {
        "value": [{"start": 0, "end": 3, "label": "PER"}],
        "source": "imported",
    }
    assert items["b"]["suggestion"] is None
    accepted = _submit(
        client,
        project_id,
        items["a"]["id"],
        tokens["alice"],
        items["a"]["suggestion"]["value"],
        items["a"]["suggestion"],
    )
    assert accepted.status_code == 201
    with app.app_context():
        assert db.session.scalar(select(Annotation.suggestion_accepted)) is True


def test_a_bad_imported_suggestion_names_line_and_column_and_imports_nothing(app):
    with app.app_context():
        project = _spans_project()
        rows = [
            (2, {"id": "a", "text": "Ann met Bob", "prediction": []}),
            (
                3,
                {
                    "id": "b",
                    "text": "Ann met Bob",
                    "prediction": [{"start": 0, "end": 3, "label": "ORG"}],
                },
            ),
        ]
        with pytest.raises(ImportFailed) as failed:
            import_rows(
                project, rows, ColumnMapping(id="id", text=("text",), suggestion="prediction")
            )
        assert (failed.value.line, failed.value.column) == (3, "prediction")
        db.session.rollback()
        assert db.session.scalar(select(Item.id)) is None


@pytest.mark.parametrize("kind_name", list(CASES))
def test_every_kind_suggests_its_champions_prediction(app, kind_name):
    with app.app_context():
        project, answers = _project(kind_name)
        _label(project, answers, 110)
        modeling.start_training(project)
        db.session.refresh(project)
        assert project.champion_id is not None
        project.suggestions = "model"
        open_items = list(
            db.session.scalars(
                select(Item).where(Item.project_id == project.id, Item.n_annotations == 0).limit(5)
            )
        )
        found = suggestions.for_items(project, open_items)
        assert set(found) == {item.id for item in open_items}
        for item in open_items:
            shown = found[item.id]
            assert shown.source == "model"
            # what the form shows is a valid answer of the kind, its key the kind's
            key, _ = kinds.check_value(project, shown.value, item=item)
            assert key == shown.key
            assert (
                kinds.read_value(
                    project, key, kinds.check_value(project, shown.value, item=item)[1]
                )
                == shown.value
            )


def test_the_report_page_and_api_follow_roles_and_an_admin_switches_the_mode(
    app, client, auth, project, tokens
):
    url = f"/projects/{project}/items/suggestions"
    assert (
        client.get(
            f"/api/v1/projects/{project}/suggestions", headers=bearer(tokens["alice"])
        ).status_code
        == 403
    )
    report = client.get(f"/api/v1/projects/{project}/suggestions", headers=bearer(tokens["rita"]))
    assert report.status_code == 200 and report.json["mode"] == "off"
    auth.login("rita")
    assert b"an admin changes it here" in client.get(url).data
    assert auth.post(url, {"suggestions": "model"}).status_code == 403
    admin = Auth(app.test_client())
    admin.login("admin")
    assert admin.post(url, {"suggestions": "sometimes"}).status_code == 422
    assert admin.post(url, {"suggestions": "model"}).status_code == 302
    with app.app_context():
        assert db.session.get(Project, project).suggestions == "model"
    assert b'value="model" selected' in admin.client.get(url).data


def test_the_agreement_page_links_the_comparison_once_suggestions_are_on(
    app, auth, client, project
):
    auth.login("rita")
    assert b"suggestions-note" not in client.get(f"/projects/{project}/agreement").data
    with app.app_context():
        db.session.get(Project, project).suggestions = "model"
        db.session.commit()
    page = client.get(f"/projects/{project}/agreement").data
    assert b"suggestions-note" in page and b"/items/suggestions" in page


def test_the_agreement_page_compares_labels_with_and_without_a_suggestion(
    app, auth, client, project
):
    auth.login("rita")
    assert b"suggestion-comparison" not in client.get(f"/projects/{project}/agreement").data
    with app.app_context():
        items = db.session.scalars(
            select(Item).where(Item.project_id == project).order_by(Item.id)
        ).all()
        # with a suggestion: two labels of 2 s, one accepted and equal to the final
        # label; without: one label of 8 s that differs from it
        given = [
            (items[0], "alice", "spam", 2.0, "spam"),
            (items[1], "bob", "ham", 2.0, "spam"),
            (items[2], "dave", "ham", 8.0, None),
        ]
        for item, name, label, seconds, suggested in given:
            item.final_label = "spam"
            db.session.add(
                Annotation(
                    item_id=item.id,
                    user_id=user(name).id,
                    project_id=project,
                    label=label,
                    seconds=seconds,
                    suggestion_label=suggested,
                    suggestion_source="model" if suggested else None,
                    suggestion_accepted=(label == suggested) if suggested else None,
                )
            )
        db.session.commit()
    # suggestions are off now, but labels were given with one: the comparison shows
    page = client.get(f"/projects/{project}/agreement").data.decode()
    table = page[page.index('id="suggestion-comparison"') :]
    with_row, without_row = table.split("<tr><td>")[1:3]
    assert with_row.startswith("with a suggestion") and without_row.startswith("without one")
    cells = lambda row: [c.split("</td>")[0] for c in row.split('<td class="num">')[1:]]  # noqa: E731
    assert cells(with_row)[:4] == ["2", "50.0%", "2.0", "50.0%"]
    assert cells(without_row)[:4] == ["1", "—", "8.0", "0.0%"]


def test_the_champions_stored_opinion_is_suggested_without_running_the_model(
    app, client, tokens, monkeypatch
):
    """GET /next reads the opinion the items index job stored with the serving champion
    (no model call on the request path); an opinion another version wrote is not the
    champion's, so for that item the model runs as before."""
    with app.app_context():
        project = sms_project(n_items=6, test_fraction=0.0)
        version = add_version(project, status="champion")
        set_member(project, user("bob"), "annotator")
        project.suggestions = "model"
        items = db.session.scalars(select(Item).where(Item.project_id == project.id)).all()
        for item in items:  # what no model would say of every item: it was read
            item.predicted_label, item.predicted_version_id = "spam", version.id + 1
        db.session.commit()
        project_id, version_id = project.id, version.id
        model = serving.cache().get(serving.champion(db.session.get(Project, project_id)))

    # written by another version: the champion itself answers
    first = _next(client, project_id, tokens["alice"], n=1)[0]
    text = next(f["value"] for f in first["fields"] if f["name"] == "text")
    proba = model.predict_proba(pd.DataFrame({"text": [text]}))
    assert first["suggestion"] == {"value": model.classes[proba.argmax()], "source": "model"}

    with app.app_context():
        db.session.execute(
            db.update(Item)
            .where(Item.project_id == project_id)
            .values(predicted_version_id=version_id)
        )
        db.session.commit()

    def no_model(*_args):
        raise AssertionError("the model ran in GET /next")

    monkeypatch.setattr(suggestions, "_model", no_model)
    shown = _next(client, project_id, tokens["bob"], n=2)
    assert [item["suggestion"] for item in shown] == [{"value": "spam", "source": "model"}] * 2
    response = _submit(
        client, project_id, shown[0]["id"], tokens["bob"], "spam", shown[0]["suggestion"]
    )
    assert response.status_code == 201, response.json
    with app.app_context():
        mine = db.session.scalar(select(Annotation).where(Annotation.item_id == shown[0]["id"]))
        assert (mine.suggestion_label, mine.suggestion_accepted) == ("spam", True)


def test_the_model_runs_for_suggestions_after_the_write_turn_ends(app, client, tokens, monkeypatch):
    """GET /next stores its leases and ends its write turn before the model runs, so a
    slow model (spans: milliseconds a text) never holds every other writer up: while it
    runs, another connection writes and commits at once."""
    import sqlite3

    from labeler import db_engine

    project_id = _model_suggesting_project(app, n_items=6)
    with app.app_context():
        path = db.engine.url.database
    seen = []
    model = suggestions._model

    def watched(*args):
        seen.append(db_engine._WRITER.locked())  # this process's writer turn
        if db.engine.dialect.name == "sqlite":  # and SQLite's lock: another writer gets in
            other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("UPDATE project SET guidelines = 'x' WHERE id = ?", (project_id,))
                other.execute("COMMIT")
            finally:
                other.close()
        return model(*args)

    monkeypatch.setattr(suggestions, "_model", watched)
    items = _next(client, project_id, tokens["alice"], n=2)
    assert seen == [False]
    assert all(item["suggestion"]["source"] == "model" for item in items)
    with app.app_context():
        leased = db.session.scalar(
            select(db.func.count())
            .select_from(Assignment)
            .where(Assignment.project_id == project_id)
        )
    assert leased == 2  # the leases were committed before the model ran
