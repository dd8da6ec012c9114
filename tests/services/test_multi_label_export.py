"""Multi-label answers leave and come back whole: a list in JSON Lines and Parquet, a
``|``-joined cell in CSV that the importer reads back exactly, optional one-hot columns."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, Item
from labeler.services.data.export import export_rows, parse_filter
from labeler.services.data.export_formats import csv_chunks, jsonl_chunks, write_parquet
from labeler.services.data.import_spec import ColumnMapping, ImportFailed
from labeler.services.data.imports import import_file
from labeler.services.labeling.labels import refresh_project
from labeler.services.projects.store import create_project

LABELS = [{"name": "sports"}, {"name": "a|b"}, {"name": "tech"}]
CSV_IN = (
    "id,text,who,labels\n"
    "1,goal,ann,sports\n"
    "1,goal,bob,sports\n"
    "2,chips,ann,a\\|b|tech\n"
    "2,chips,bob,tech|a\\|b\n"
    "3,quiet,ann,\n"
)
MAPPING = ColumnMapping(
    id="id", text=("text",), label="labels", annotator="who", add_annotators=True
)


def _project(name="Topics"):
    return create_project(
        name, LABELS, task_kind="multi_label", test_fraction=0.0, annotations_per_item=2
    )


def _import(project, text, fmt="csv", mapping=MAPPING):
    report = import_file(project, io.BytesIO(text.encode()), fmt, mapping)
    refresh_project(project)
    return report


def _export(project, view, fmt, **filters):
    rows, columns = export_rows(project, view, parse_filter(filters), False, "s")
    if fmt == "csv":
        return "".join(csv_chunks(rows, columns))
    return "".join(jsonl_chunks(rows))


def test_csv_cells_are_read_as_sets_and_exported_in_every_shape(app, tmp_path):
    with app.app_context():
        project = _project()
        report = _import(project, CSV_IN)
        assert report.annotations_added == 4  # the empty cell is no answer
        values = {
            ext: sorted(map(tuple, (a.value for a in rows)))
            for ext, rows in (
                (
                    ext,
                    db.session.scalars(
                        select(Annotation).join(Item).where(Item.external_id == ext)
                    ),
                )
                for ext in ("1", "2")
            )
        }
        assert values == {"1": [("sports",), ("sports",)], "2": [("a|b", "tech")] * 2}
        jsonl = [json.loads(line) for line in _export(project, "items", "jsonl").splitlines()]
        assert [row["final_label"] for row in jsonl] == [["sports"], ["a|b", "tech"], None]
        table = list(csv.DictReader(io.StringIO(_export(project, "items", "csv", one_hot="1"))))
        assert [row["final_label"] for row in table] == ["sports", "a\\|b|tech", ""]
        assert [(r["label:sports"], r["label:a|b"], r["label:tech"]) for r in table] == [
            ("1", "0", "0"),
            ("0", "1", "1"),
            ("", "", ""),
        ]
        rows, columns = export_rows(project, "items", parse_filter({}), False, "s")
        path = tmp_path / "items.parquet"
        write_parquet(rows, columns, path)
        pq = pytest.importorskip("pyarrow.parquet")
        assert pq.read_table(path).column("final_label").to_pylist() == [
            ["sports"],
            ["a|b", "tech"],
            None,
        ]


def test_an_annotations_export_imports_back_exactly(app):
    with app.app_context():
        source = _project()
        _import(source, CSV_IN)
        exported = _export(source, "annotations", "csv")
        copy = _project("Copy")
        # An annotations export carries no item fields; "seconds" stands in for one.
        mapping = ColumnMapping(
            id="external_id",
            meta=("seconds",),
            label="label",
            annotator="annotator",
            add_annotators=True,
        )
        _import(copy, exported, mapping=mapping)

        def answers(project):
            rows = db.session.execute(
                select(Item.external_id, Annotation.user_id, Annotation.value)
                .join(Annotation.item)
                .where(Item.project_id == project.id)
                .order_by(Item.external_id, Annotation.user_id)
            ).all()
            return [(ext, value) for ext, _, value in rows]

        assert answers(copy) == answers(source)
        jsonl = _export(source, "annotations", "jsonl")
        third = _project("Third")
        _import(third, jsonl, fmt="jsonl", mapping=mapping)
        assert answers(third) == answers(source)


def test_a_bad_cell_names_its_line_and_column_and_imports_nothing(app):
    with app.app_context():
        project = _project()
        bad = "id,text,who,labels\n1,x,ann,sports\n2,y,ann,sports|golf\n"
        with pytest.raises(ImportFailed, match=r"line 3, column 'labels': .*\['golf'\]"):
            _import(project, bad)
