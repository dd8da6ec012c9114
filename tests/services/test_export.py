"""Exports: stable bytes, spreadsheet-safe CSV, filters, pseudonyms, and lossless round trips."""

from __future__ import annotations

import csv
import io
import json
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Item, Project
from labeler.services import ServiceError
from labeler.services.data.export import export_rows, parse_filter, pseudonym
from labeler.services.data.export_formats import csv_cell, csv_chunks, jsonl_chunks
from labeler.services.data.import_spec import ColumnMapping
from labeler.services.data.imports import import_file, import_rows
from labeler.services.labeling import queue
from labeler.services.projects.store import create_project
from tests.conftest import make_project, user


def _export(project, view="items", fmt="csv", **filters) -> str:
    rows, columns = export_rows(project, view, parse_filter(filters), False, "s")
    chunks = csv_chunks(rows, columns) if fmt == "csv" else jsonl_chunks(rows)
    return "".join(chunks)


def _labeled(app):
    project = make_project(n_items=6, k=1)
    for name, label in (("alice", "spam"), ("bob", "ham"), ("alice", "=cmd|' /C calc'!A0")):
        items = queue.next_items(project, user(name))
        if label.startswith("="):
            item = items[0]
            item.data = {"text": label}
        else:
            queue.submit(project, user(name), items[0], label)
    db.session.commit()
    return project


def test_csv_cells_that_could_run_as_formulas_are_escaped():
    for dangerous in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "'quoted"):
        assert csv_cell(dangerous) == "'" + dangerous
    assert csv_cell(-1) == "-1" and csv_cell(None) == "" and csv_cell(True) == "true"


def test_item_export_is_stable_and_safe(app):
    with app.app_context():
        project = _labeled(app)
        first, second = _export(project), _export(project)
        assert first == second
        rows = list(csv.DictReader(io.StringIO(first)))
        assert len(rows) == 6
        assert {r["final_label"] for r in rows} == {"spam", "ham", ""}
        assert any(r["text"].startswith("'=cmd") for r in rows)
        decided = {r["final_label"]: r["decided_by"] for r in rows if r["final_label"]}
        assert decided == {"spam": "unanimous", "ham": "unanimous"}


def test_filters_and_pseudonyms(app):
    with app.app_context():
        project = _labeled(app)
        final = _export(project, "items", "jsonl", final_only="true")
        assert len(final.splitlines()) == 2
        named = [json.loads(line) for line in _export(project, "annotations", "jsonl").splitlines()]
        assert sorted(r["annotator"] for r in named) == ["alice", "bob"]
        rows, _ = export_rows(project, "annotations", parse_filter({}), True, "secret")
        hidden = sorted(r["annotator"] for r in rows)
        assert hidden == sorted(
            [pseudonym(user("alice").id, "secret"), pseudonym(user("bob").id, "secret")]
        )
        assert "alice" not in "".join(hidden)
        with pytest.raises(ServiceError, match="min_confidence must be a number"):
            parse_filter({"min_confidence": "high"})
        with pytest.raises(ServiceError, match="split must be train or test"):
            parse_filter({"split": "dev"})


TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=300
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(TEXT, min_size=1, max_size=8),
    numbers=st.lists(st.one_of(st.none(), st.integers(-(10**6), 10**6)), min_size=8, max_size=8),
    fmt=st.sampled_from(["csv", "jsonl"]),
)
def test_export_then_import_round_trips_exactly(app, texts, numbers, fmt):
    with app.app_context():
        db.session.execute(db.delete(Item))
        db.session.execute(db.delete(Project))
        labels = [{"name": "pos"}, {"name": "neg"}]
        source = create_project("Source", labels)
        rows = [
            (
                i + 1,
                {
                    "id": f"{string.ascii_letters[i]}-{i}",
                    "text": text,
                    "n": numbers[i],
                    "label": ["pos", "neg"][i % 2],
                },
            )
            for i, text in enumerate(texts)
        ]
        mapping = ColumnMapping(id="id", text=("text",), numeric=("n",), label="label")
        import_rows(source, rows, mapping)
        body = _export(source, "items", fmt).encode("utf-8")
        target = create_project("Target", labels)
        back = ColumnMapping(
            id="external_id",
            text=("text",),
            numeric=("n",),
            label="final_label",
            unescape_formulas=True,
        )
        import_file(target, io.BytesIO(body), fmt, back)

        def snapshot(project):
            items = db.session.scalars(select(Item).where(Item.project_id == project.id))
            return sorted(
                (i.external_id, i.data["text"], i.data["n"], i.final_label) for i in items
            )

        assert snapshot(target) == snapshot(source)
        db.session.rollback()
