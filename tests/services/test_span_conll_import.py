"""CoNLL import of span answers: the annotations-view CoNLL export imports back exactly
(hostile text: emoji with a skin tone, combining marks, CRLF, right-to-left marks), plain
CoNLL files (``-DOCSTART-``, no ids) become items, and a bad line is named with nothing
landing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Item
from labeler.services.data.import_spec import ColumnMapping, ImportFailed
from labeler.services.data.imports import import_file, import_rows
from tests.conftest import bearer
from tests.services.test_span_exports import ANSWERS, TEXTS, _labeled, _project, _stored

MAPPING = ColumnMapping()  # CoNLL maps its own columns; this gives the defaults


def _export(client, tokens, project_id: int) -> bytes:
    url = f"/api/v1/projects/{project_id}/export?format=conll&view=annotations"
    response = client.get(url, headers=bearer(tokens["rita"]))
    assert response.status_code == 200, response.data
    return response.data


def _annotations(project_id: int) -> int:
    return db.session.scalar(
        select(func.count(Annotation.id))
        .join(Item, Item.id == Annotation.item_id)
        .where(Item.project_id == project_id)
    )


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_the_conll_export_imports_back_exactly(app, client, tokens, line_end):
    exported = _export(client, tokens, _labeled(app))
    data = exported.decode().replace("\n", line_end).encode()
    with app.app_context():
        fresh = _project("Copy")  # the same items (ids and texts), no answers yet
        report = import_file(fresh, io.BytesIO(data), "conll", MAPPING)
        db.session.commit()
        assert report.annotations_added == 4
        assert (report.skipped, report.updated, report.added) == (2, 0, 0)
        assert _stored(fresh.id) == ANSWERS  # the final column is no annotator's
        texts = db.session.scalars(select(Item.data).where(Item.project_id == fresh.id)).all()
        assert sorted(d["text"] for d in texts) == sorted(TEXTS)  # CRLF in the text kept
        # and again: nothing changes
        again = import_file(fresh, io.BytesIO(data), "conll", MAPPING)
        assert (again.annotations_unchanged, again.annotations_added) == (4, 0)


def test_a_plain_conll_file_makes_items_with_the_default_annotator(app):
    conll = (
        "-DOCSTART- -X- -X- O\n\n"
        "Call NN B-NP O\n0845 CD I-NP B-PHONE\n\n"
        "see VB O O\nwww.ex.com NN O B-URL\n"
    )
    with app.app_context():
        project = _project("Plain", items=False)
        mapping = ColumnMapping(default_annotator="alice")
        report = import_file(project, io.BytesIO(conll.encode()), "conll", mapping)
        db.session.commit()
        assert (report.added, report.annotations_added) == (2, 2)
        items = {i.external_id: i.data["text"] for i in db.session.scalars(select(Item))}
        assert items == {"doc-1": "Call 0845", "doc-2": "see www.ex.com"}
        assert _stored(project.id) == {
            ("doc-1", "alice"): [{"start": 5, "end": 9, "label": "PHONE"}],
            ("doc-2", "alice"): [{"start": 4, "end": 14, "label": "URL"}],
        }


def _bad(exported: bytes, old: str, new: str) -> bytes:
    text = exported.decode()
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("10am\tO\tB-TIME\tB-TIME", "10am\tO\tB-TIME\tB-DATE", "tag 'B-DATE' is not O, B-X or I-X"),
        ("10am\tO\tB-TIME\tB-TIME", "10am\tO\tB-TIME", "2 tags, but the columns line names 3"),
        ("10am\tO\tB-TIME\tB-TIME", "10pm\tO\tB-TIME\tB-TIME", "token '10pm' is not the item's"),
        ("10am\tO\tB-TIME\tB-TIME", "10am", "a token line needs the token, then its tag"),
        ("\U0001f44d\U0001f3fd\tO\tO\tO\n", "", "the document ends after 6 tokens"),
    ],
)
def test_a_bad_line_is_named_and_nothing_lands(app, client, tokens, old, new, said):
    exported = _export(client, tokens, _labeled(app))
    data = _bad(exported, old, new)
    line = next(
        (n for n, text in enumerate(data.decode().split("\n"), 1) if new and text == new), None
    )
    with app.app_context():
        fresh = _project("Copy")
        db.session.commit()
        with pytest.raises(ImportFailed) as caught:
            import_file(fresh, io.BytesIO(data), "conll", MAPPING)
        db.session.rollback()
        assert said in str(caught.value)
        if line is not None:
            assert caught.value.line == line, str(caught.value)
        assert _annotations(fresh.id) == 0


def test_conll_is_refused_for_other_kinds(app):
    from tests.conftest import make_project

    with app.app_context():
        other = make_project("Plain", n_items=2)
        with pytest.raises(ImportFailed, match="CoNLL holds spans"):
            import_file(other, io.BytesIO(b"a\tO\n"), "conll", MAPPING)


def test_a_conll_file_without_tokens_is_refused(app):
    with app.app_context():
        project = _project("Empty", items=False)
        with pytest.raises(ImportFailed, match="no tokens"):
            import_file(project, io.BytesIO(b"# id = x\n\n\n"), "conll", MAPPING)
        assert import_rows  # the ordinary importer writes the rows (imported for the record)


def test_the_cli_imports_a_conll_file_by_its_suffix(app, tmp_path):
    with app.app_context():
        _project("Cli", items=False)
        db.session.commit()
    path = tmp_path / "tweets.conll"
    path.write_bytes(b"# id = t9\nsee\tO\nwww.ex.com\tB-URL\n\nnext\tB-URL\n")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import", "Cli", str(path), "--annotator", "bob"])
    assert result.exit_code == 0, result.output
    assert "2 rows: 2 added" in result.output
    bad = tmp_path / "bad.conll"
    bad.write_bytes(b"# id = t10\nsee\tB-NOPE\n")
    result = runner.invoke(args=["import", "Cli", str(bad), "--annotator", "bob"])
    assert result.exit_code == 1 and "bad.conll: line 2: tag 'B-NOPE'" in result.output
    # column options a CoNLL file would ignore are refused, not dropped: nothing imported
    result = runner.invoke(args=["import", "Cli", str(bad), "--text", "body", "--id", "key"])
    assert result.exit_code == 2 and "--id, --text: a CoNLL file names its own" in result.output
    with app.app_context():
        project_id = db.session.scalar(select(Item.project_id).where(Item.external_id == "t9"))
        assert _stored(project_id) == {
            ("t9", "bob"): [{"start": 4, "end": 14, "label": "URL"}],
            ("doc-2", "bob"): [{"start": 0, "end": 4, "label": "URL"}],
        }


def test_the_api_imports_the_conll_export_with_format_conll(app, client, tokens):
    import json

    exported = _export(client, tokens, _labeled(app))
    with app.app_context():
        fresh = _project("Api copy")
        db.session.commit()
        fresh_id = fresh.id
    upload = {
        "file": (io.BytesIO(exported), "answers.conll"),
        "format": "conll",
        "mapping": json.dumps({}),
    }
    response = client.post(
        f"/api/v1/projects/{fresh_id}/items",
        data=upload,
        headers=bearer(tokens["admin"]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.json
    assert response.json["annotations_added"] == 4
    bad = {
        "file": (io.BytesIO(exported.replace(b"B-TIME", b"B-DATE", 1)), "bad.conll"),
        "format": "conll",
    }
    response = client.post(
        f"/api/v1/projects/{fresh_id}/items",
        data=bad,
        headers=bearer(tokens["admin"]),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422 and "tag 'B-DATE'" in response.json["error"]
    assert response.json["detail"]["line"] is not None
    with app.app_context():
        assert _stored(fresh_id) == ANSWERS


def test_the_import_page_takes_a_conll_file_and_asks_only_for_its_annotator(
    app, client, auth, tokens
):
    exported = _export(client, tokens, _labeled(app))
    with app.app_context():
        fresh = _project("Copy").id
        db.session.commit()
    auth.login("admin")
    response = auth.post(
        f"/projects/{fresh}/import",
        {"file": (io.BytesIO(exported), "answers.conll")},
        content_type="multipart/form-data",
    )
    assert response.headers["Location"].endswith(f"/projects/{fresh}/import/mapping")
    form = client.get(f"/projects/{fresh}/import/mapping").get_data(as_text=True)
    assert 'name="annotator"' in form and "role:" not in form  # no column mapping
    response = auth.post(f"/projects/{fresh}/import/mapping", {"annotator": ""})
    html = " ".join(client.get(response.headers["Location"]).get_data(as_text=True).split())
    assert "Imported answers.conll" in html and "4 labels brought in" in html
    with app.app_context():
        assert _stored(fresh) == ANSWERS  # the file's # columns line named the annotators


def test_the_import_page_refuses_a_conll_file_for_a_project_without_spans(
    app, client, auth, project
):
    auth.login("admin")
    response = auth.post(
        f"/projects/{project}/import",
        {"file": (io.BytesIO(b"a\tO\n"), "x.conll")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    html = " ".join(response.get_data(as_text=True).split())
    assert "x.conll: CoNLL holds spans" in html
    assert client.get(f"/projects/{project}/import/mapping").status_code == 302  # nothing kept
