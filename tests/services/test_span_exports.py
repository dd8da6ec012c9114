"""Span exports (spans_jsonl, CoNLL) through the export download and the export job, and
imports of earlier spans with annotator names: character offsets or BIO tags, from CSV
or JSONL, landing whole or not at all with the line and field named. Hostile text
(emoji, combining marks, CRLF, right-to-left marks) round-trips exactly."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Item, Job
from labeler.services.data.import_spec import ColumnMapping, ImportFailed
from labeler.services.data.imports import import_file, import_rows
from labeler.services.labeling import queue
from labeler.services.projects.store import create_project, set_member
from tests.conftest import bearer, user

TEXTS = [
    "Call 0845\u200f281 at 10am \U0001f44d\U0001f3fd",
    "Zoe\u0301 says\r\nsee www.ex.com \u05e9\u05dc\u05d5\u05dd\u200f",
]
LABELS = [{"name": "PHONE", "hotkey": "p"}, {"name": "TIME"}, {"name": "URL"}]


def _span(text: str, part: str, label: str) -> dict:
    start = text.index(part)
    return {"start": start, "end": start + len(part), "label": label}


ANSWERS = {
    ("t0", "alice"): [_span(TEXTS[0], "0845", "PHONE"), _span(TEXTS[0], "10am", "TIME")],
    ("t0", "bob"): [_span(TEXTS[0], "10am", "TIME")],
    ("t1", "alice"): [_span(TEXTS[1], "www.ex.com", "URL")],
    ("t1", "bob"): [],
}


def _project(name: str = "Entities", items: bool = True):
    project = create_project(
        name, LABELS, "", annotations_per_item=2, test_fraction=0.0, task_kind="spans"
    )
    if items:
        rows = [(i + 1, {"id": f"t{i}", "text": text}) for i, text in enumerate(TEXTS)]
        import_rows(project, rows, ColumnMapping(id="id", text=("text",)))
    for member in ("alice", "bob", "rita"):
        set_member(project, user(member), "reviewer" if member == "rita" else "annotator")
    return project


def _labeled(app) -> int:
    with app.app_context():
        project = _project()
        for (external_id, name), spans in ANSWERS.items():
            item = db.session.scalar(select(Item).where(Item.external_id == external_id))
            queue.submit(project, user(name), item, spans)
        db.session.commit()
        return project.id


def _stored(project_id: int) -> dict:
    rows = db.session.execute(
        select(Item.external_id, Annotation.user_id, Annotation.value)
        .join(Item, Item.id == Annotation.item_id)
        .where(Item.project_id == project_id)
    )
    names = {user(n).id: n for n in ("alice", "bob")}
    return {(ext, names[uid]): value for ext, uid, value in rows}


def test_spans_jsonl_annotations_import_back_exactly(app, client, tokens):
    project_id = _labeled(app)
    url = f"/api/v1/projects/{project_id}/export?format=spans_jsonl&view=annotations"
    response = client.get(url, headers=bearer(tokens["rita"]))
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert [(r["id"], r["annotator"]) for r in lines] == list(ANSWERS)
    first = lines[0]
    assert first["text"] == TEXTS[0]
    assert first["spans"][0] == {
        **_span(TEXTS[0], "0845", "PHONE"),
        "token_start": 1,
        "token_end": 1,
    }
    assert [t["text"] for t in first["tokens"]][:4] == ["Call", "0845", "\u200f", "281"]
    with app.app_context():
        fresh = _project("Copy", items=False)
        mapping = ColumnMapping(id="id", text=("text",), label="spans", annotator="annotator")
        import_file(fresh, io.BytesIO(response.data), "jsonl", mapping)
        db.session.commit()
        assert _stored(fresh.id) == {k: v for k, v in ANSWERS.items()}
        copied = db.session.scalars(select(Item).where(Item.project_id == fresh.id)).all()
        assert sorted(i.data["text"] for i in copied) == sorted(TEXTS)  # CRLF kept


def test_spans_jsonl_items_view_carries_the_final_spans(app, client, tokens):
    project_id = _labeled(app)
    url = f"/api/v1/projects/{project_id}/export?format=spans_jsonl"
    lines = client.get(url, headers=bearer(tokens["rita"])).get_data(as_text=True).splitlines()
    records = {r["id"]: r for r in map(json.loads, lines)}
    assert set(records) == {"t0", "t1"}
    # t0: TIME by both (the consensus); PHONE by one of two is disputed: no final answer.
    assert records["t0"]["answered"] is False and records["t0"]["spans"] == []


def test_conll_has_a_tag_column_per_annotator_and_reads_back(app, client, tokens):
    from labeler.core.span_formats import read_conll_blocks, spans_from_bio

    project_id = _labeled(app)
    url = f"/api/v1/projects/{project_id}/export?format=conll&view=annotations"
    response = client.get(url, headers=bearer(tokens["rita"]))
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert text.startswith("# id = t0\n# columns = final alice bob\nCall\tO\tO\tO\n")
    assert "10am\tO\tB-TIME\tB-TIME" in text
    blocks = list(read_conll_blocks(text.splitlines()))
    assert len(blocks) == 2
    # The last column is bob's: it reads back into his spans against the text.
    assert spans_from_bio(TEXTS[0], blocks[0], ["PHONE", "TIME", "URL"]) == ANSWERS["t0", "bob"]


def test_span_formats_are_refused_for_other_kinds_and_offered_on_the_page(
    app, client, tokens, auth
):
    from tests.conftest import make_project

    with app.app_context():
        other = make_project("Plain", n_items=2)
        db.session.commit()
        other_id = other.id
    project_id = _labeled(app)
    response = client.get(
        f"/api/v1/projects/{other_id}/export?format=conll", headers=bearer(tokens["rita"])
    )
    assert response.status_code == 422 and "csv, jsonl, parquet" in response.json["error"]
    auth.login("rita")
    page = client.get(f"/projects/{project_id}/export").get_data(as_text=True)
    assert "<option >spans_jsonl</option>" in page or ">spans_jsonl<" in page
    assert ">conll<" in page


def test_export_job_writes_conll(app, client, tokens):
    project_id = _labeled(app)
    response = client.post(
        f"/api/v1/projects/{project_id}/export/jobs?format=conll", headers=bearer(tokens["rita"])
    )
    assert response.status_code == 202, response.json
    job_id = response.json["id"]
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job.status == "done", job.error
        assert job.result["rows"] == 2
    url = f"/api/v1/projects/{project_id}/export/jobs/{job_id}/file"
    with client.get(url, headers=bearer(tokens["rita"])) as response:
        data = response.get_data(as_text=True)
    assert data.startswith("# id = t0\nCall\tO\n")


def _csv(rows: list[list[str]]) -> io.BytesIO:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return io.BytesIO(buffer.getvalue().encode())


def test_import_bio_tags_and_offsets_with_annotator_names(app):
    with app.app_context():
        project = _project("Tags", items=False)
        # tokens of TEXTS[0]: Call 0845 \u200f 281 at 10am 👍🏽 (the mark is a token)
        rows = [
            ["id", "text", "annotator", "spans"],
            ["t0", TEXTS[0], "alice", "O B-PHONE O O O B-TIME O"],
            ["t0", TEXTS[0], "bob", json.dumps(ANSWERS["t0", "bob"])],
        ]
        mapping = ColumnMapping(id="id", text=("text",), label="spans", annotator="annotator")
        report = import_file(project, _csv(rows), "csv", mapping)
        assert report.annotations_added == 2
        db.session.commit()
        stored = _stored(project.id)
        assert stored["t0", "alice"] == ANSWERS["t0", "alice"]
        assert stored["t0", "bob"] == ANSWERS["t0", "bob"]


@pytest.mark.parametrize(
    ("cell", "said"),
    [
        ("O B-PHONE O", "3 tags for the text's 7 tokens"),
        ("O B-PHONE O O O B-DATE O", "tags[5] 'B-DATE' is not O, B-X or I-X"),
        ('[{"start": 0, "end": 99, "label": "TIME"}]', "spans[0].end 99 is past the text"),
    ],
)
def test_a_bad_answer_names_line_and_field_and_nothing_lands(app, cell, said):
    with app.app_context():
        project = _project("Bad", items=False)
        db.session.commit()
        rows = [
            ["id", "text", "annotator", "spans"],
            ["t0", TEXTS[0], "alice", "O B-PHONE O O O B-TIME O"],
            ["t1", TEXTS[0], "bob", cell],
        ]
        mapping = ColumnMapping(id="id", text=("text",), label="spans", annotator="annotator")
        with pytest.raises(ImportFailed) as failed:
            import_file(project, _csv(rows), "csv", mapping)
        db.session.rollback()
        assert "line 3" in failed.value.message and "'spans'" in failed.value.message
        assert said in failed.value.message
        assert db.session.scalar(select(func.count()).select_from(Item)) == 0
        assert db.session.scalar(select(func.count()).select_from(Annotation)) == 0


def test_jsonl_tags_as_a_list(app):
    with app.app_context():
        project = _project("List", items=False)
        line = {
            "id": "t1",
            "text": TEXTS[1],
            "annotator": "bob",
            "spans": ["O", "O", "O", "B-URL", "I-URL", "I-URL", "I-URL", "I-URL", "O", "O"],
        }
        mapping = ColumnMapping(id="id", text=("text",), label="spans", annotator="annotator")
        try:
            import_file(project, io.BytesIO(json.dumps(line).encode()), "jsonl", mapping)
        except ImportFailed as failed:  # the token count is the text's: say it if it differs
            pytest.fail(failed.message)
        db.session.commit()
        assert _stored(project.id)["t1", "bob"] == ANSWERS["t1", "alice"]
