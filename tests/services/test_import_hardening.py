"""Imports that would have broken a project, or changed what it holds without a word.

Each refusal names the line and column, and leaves the project as it was.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Item, Membership, Project, User
from labeler.services.data import export_formats
from labeler.services.data.export import ExportFilter, export_rows
from labeler.services.data.import_cells import MAX_EXACT_INTEGER
from labeler.services.data.import_spec import ColumnMapping, ImportFailed
from labeler.services.data.imports import import_file, import_frame
from labeler.services.projects.store import create_project, set_member
from tests.conftest import user

LABELS = [{"name": "ham"}, {"name": "spam"}]
NUMBER = ColumnMapping(id="id", numeric=("n",))
VOTES = ColumnMapping(id="id", text=("text",), label="label", annotator="who")


@pytest.fixture
def empty(app):
    with app.app_context():
        project = create_project("Hardened", LABELS)
        db.session.commit()
        yield project


def _csv(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


def _unchanged(project: Project) -> None:
    db.session.rollback()  # what a handler does with a failed import
    assert db.session.scalar(select(func.count(Item.id))) == 0
    assert (
        db.session.scalar(
            select(func.count(Membership.id)).where(Membership.project_id == project.id)
        )
        == 0
    )


# --- annotators named in a file ----------------------------------------------------


@pytest.mark.parametrize(("name", "why"), [("alice", "is not a member"), ("zed", "has no account")])
def test_a_non_member_annotator_is_refused_by_name(empty, name, why):
    body = f"id,text,label,who\n1,a,spam,{name}\n"
    with pytest.raises(ImportFailed, match=f"line 2, column 'who': annotator '{name}' {why}"):
        import_file(empty, _csv(body), "csv", VOTES)
    _unchanged(empty)
    assert db.session.scalar(select(User).where(User.username == "zed")) is None


def test_members_need_no_permission_and_the_request_can_add_the_others(empty):
    set_member(empty, user("alice"), "annotator")
    db.session.commit()
    body = "id,text,label,who\n1,a,spam,alice\n"
    assert import_file(empty, _csv(body), "csv", VOTES).members_added == []
    body = "id,text,label,who\n2,b,ham,bob\n3,c,spam,zed\n"
    asked = ColumnMapping(**{**VOTES.__dict__, "add_annotators": True})
    report = import_file(empty, _csv(body), "csv", asked)
    assert report.members_added == ["bob", "zed"] and report.annotators_created == ["zed"]
    members = db.session.scalars(
        select(User.username).join(Membership).where(Membership.project_id == empty.id)
    ).all()
    assert sorted(members) == ["alice", "bob", "zed"]
    assert not db.session.scalar(select(User).where(User.username == "zed")).active


def test_the_api_refuses_then_adds_and_reports(app, client, tokens):
    from tests.conftest import bearer

    with app.app_context():
        project_id = create_project("Api votes", LABELS).id
        db.session.commit()
    body = {
        "mapping": {"id": "id", "text": ["text"], "label": "label", "annotator": "who"},
        "items": [{"id": "a", "text": "x", "label": "ham", "who": "carol"}],
    }
    url, admin = f"/api/v1/projects/{project_id}/items", bearer(tokens["admin"])
    refused = client.post(url, json=body, headers=admin)
    assert refused.status_code == 422 and "carol" in refused.json["error"]
    body["mapping"]["add_annotators"] = True
    report = client.post(url, json=body, headers=admin)
    assert report.status_code == 201 and report.json["members_added"] == ["carol"]


# --- numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["inf", "-inf", "nan", "1e309", "Infinity", "-1e400"])
def test_a_non_finite_number_in_a_csv_is_refused_with_line_and_column(empty, cell):
    with pytest.raises(ImportFailed, match="line 3, column 'n': .* not a finite number"):
        import_file(empty, _csv(f"id,n\n1,2.5\n2,{cell}\n"), "csv", NUMBER)
    _unchanged(empty)


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e309"])
def test_a_non_finite_number_in_jsonl_is_refused(empty, literal):
    body = '{"id": "1", "n": 1}\n' + f'{{"id": "2", "n": {literal}}}\n'
    with pytest.raises(ImportFailed, match="line 2, column 'n'"):
        import_file(empty, _csv(body), "jsonl", NUMBER)
    _unchanged(empty)


def test_non_finite_numbers_in_a_frame_are_refused_too(empty):
    frame = pd.DataFrame({"id": ["a", "b"], "n": [1.0, float("inf")]})
    with pytest.raises(ImportFailed, match="line 2, column 'n'"):
        import_frame(empty, frame, NUMBER)


@pytest.mark.parametrize("value", [MAX_EXACT_INTEGER + 1, -(MAX_EXACT_INTEGER + 1), 2**63, 10**30])
@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_integer_too_large_to_keep_exactly_is_refused_with_the_reason(empty, value, fmt):
    body = f"id,n\n1,{value}\n" if fmt == "csv" else json.dumps({"id": "1", "n": value}) + "\n"
    with pytest.raises(ImportFailed, match="beyond 2\\*\\*53.*categorical or meta"):
        import_file(empty, _csv(body), fmt, NUMBER)
    _unchanged(empty)


EXACT = ["3", "3.0", "2.5", str(MAX_EXACT_INTEGER), str(-MAX_EXACT_INTEGER), "0.1", "1e-300", ""]


def _values(project: Project) -> dict[str, object]:
    return {
        i.external_id: i.data["n"]
        for i in db.session.scalars(select(Item).where(Item.project_id == project.id))
    }


def _exported(project: Project, fmt: str, tmp_path) -> bytes:
    rows, columns = export_rows(project, "items", ExportFilter())
    if fmt == "csv":
        return "".join(export_formats.csv_chunks(rows, columns)).encode()
    if fmt == "jsonl":
        return "".join(export_formats.jsonl_chunks(rows)).encode()
    path = tmp_path / "out.parquet"
    export_formats.write_parquet(rows, columns, path)
    return path.read_bytes()


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_numbers_round_trip_exactly_through_every_export(empty, fmt, tmp_path):
    body = "id,n\n" + "".join(f"r{i},{cell}\n" for i, cell in enumerate(EXACT))
    import_file(empty, _csv(body), "csv", NUMBER)
    before = _values(empty)
    assert before["r0"] == 3 and isinstance(before["r0"], int)
    assert before["r1"] == 3.0 and isinstance(before["r1"], float)  # 3.0 stays 3.0
    assert before["r3"] == 2**53 and before["r7"] is None
    again = create_project(f"Again {fmt}", LABELS)
    mapping = ColumnMapping(id="external_id", numeric=("n",))
    data = _exported(empty, fmt, tmp_path)
    if fmt == "parquet":
        import_frame(again, pd.read_parquet(io.BytesIO(data)), mapping)
        after = _values(again)
        assert after == before  # equal values; Parquet keeps one type per column
    else:
        import_file(again, io.BytesIO(data), fmt, mapping)
        after = _values(again)
        assert {k: (v, type(v)) for k, v in after.items()} == {
            k: (v, type(v)) for k, v in before.items()
        }


# Integers no number type keeps (past 2**53, 2**63 and -2**63): refused as numbers
# (above), kept digit for digit as text when the mapping makes them meta or categorical.
HUGE = [2**63, -(2**63) - 1, 10**30, MAX_EXACT_INTEGER + 1, -(2**64)]


@pytest.mark.parametrize("kind", ["meta", "categorical"])
@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_integers_beyond_every_number_type_keep_every_digit_through_exports(
    empty, fmt, kind, tmp_path
):
    body = "".join(json.dumps({"id": f"r{i}", "n": v}) + "\n" for i, v in enumerate(HUGE))
    import_file(empty, _csv(body), "jsonl", ColumnMapping(id="id", **{kind: ("n",)}))
    before = _values(empty)
    assert before == {f"r{i}": str(v) for i, v in enumerate(HUGE)}
    again = create_project(f"Again {fmt} {kind}", LABELS)
    # a labeler CSV export marks cells that start with "-" for spreadsheets; its import
    # takes the mark off again
    back = ColumnMapping(id="external_id", unescape_formulas=fmt == "csv", **{kind: ("n",)})
    data = _exported(empty, fmt, tmp_path)
    if fmt == "parquet":
        import_frame(again, pd.read_parquet(io.BytesIO(data)), back)
    else:
        import_file(again, io.BytesIO(data), fmt, back)
    assert _values(again) == before


@pytest.mark.parametrize(
    ("groups", "read_back"),
    [
        ([[1, 2], [2.5, None]], [1.0, 2.0, 2.5, None]),  # int, then float: float
        ([[None, None], [7, 8]], [None, None, 7, 8]),  # null, then int: int
        ([[1, 2], ["x", None]], ["1", "2", "x", None]),  # int, then text: text
        ([[3, 4], [5, 6]], [3, 4, 5, 6]),  # one type: as it was
    ],
)
def test_a_parquet_column_may_change_type_between_row_groups(tmp_path, groups, read_back):
    pq = pytest.importorskip("pyarrow.parquet")
    rows = [{"id": f"r{i}", "n": v} for i, v in enumerate(v for g in groups for v in g)]
    path = tmp_path / "mixed.parquet"
    assert export_formats.write_parquet(rows, ["id", "n"], path, rows_per_group=2) == 4
    table = pq.read_table(path)
    assert table.column("n").to_pylist() == read_back
    assert table.column("id").to_pylist() == ["r0", "r1", "r2", "r3"]
    assert pq.ParquetFile(path).num_row_groups == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mixed.parquet"]  # no parts left


# --- CSV quoting --------------------------------------------------------------------


def test_an_unterminated_quote_names_its_line_and_column_and_imports_nothing(empty):
    body = 'id,text\n1,fine\n2,"this quote is never closed\n3,swallowed\n4,too\n'
    with pytest.raises(ImportFailed, match="line 3, column 'text': a quoted field .* never closed"):
        import_file(empty, _csv(body), "csv", ColumnMapping(id="id", text=("text",)))
    _unchanged(empty)


def test_a_quoted_field_with_line_breaks_is_still_one_value(empty):
    body = 'id,text\n1,"two\nlines"\n2,after\n'
    report = import_file(empty, _csv(body), "csv", ColumnMapping(id="id", text=("text",)))
    assert report.added == 2
    texts = {i.external_id: i.data["text"] for i in db.session.scalars(select(Item))}
    assert texts == {"1": "two\nlines", "2": "after"}
