"""Import validation: clear messages naming line and column, all-or-nothing, idempotent."""

from __future__ import annotations

import io
import json
from dataclasses import asdict

import pandas as pd
import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Item, Project, User
from labeler.services.data.import_spec import ColumnMapping, ImportFailed
from labeler.services.data.import_writer import unit_hash, unit_hashes
from labeler.services.data.imports import import_file, import_frame
from labeler.services.projects.store import create_project

LABELS = [{"name": "ham"}, {"name": "spam"}]
TEXT = ColumnMapping(id="id", text=("text",))


@pytest.fixture
def empty(app):
    with app.app_context():
        project = create_project("Imports", LABELS, test_fraction=0.25)
        db.session.commit()
        yield project


def _csv(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


def _count() -> int:
    return db.session.scalar(select(func.count(Item.id)))


def test_csv_import_keeps_text_exactly(empty):
    body = 'id,text\n1,"Hello, ""world""\n  two lines\ttab"\n2,emoji 🎉 ünïcödé\n3,\n'
    report = import_file(empty, _csv(body), "csv", TEXT)
    assert (report.rows, report.added) == (3, 3)
    data = {i.external_id: i.data["text"] for i in db.session.scalars(select(Item))}
    assert data == {"1": 'Hello, "world"\n  two lines\ttab', "2": "emoji 🎉 ünïcödé", "3": ""}
    assert empty.n_items == 3


def test_reimport_is_idempotent_and_reports_updates(empty):
    import_file(empty, _csv("id,text\n1,a\n2,b\n"), "csv", TEXT)
    report = import_file(empty, _csv("id,text\n1,a\n2,B\n3,c\n"), "csv", TEXT)
    assert (report.added, report.updated, report.skipped) == (1, 1, 1)
    assert _count() == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "the file is empty"),
        ("id,text\n", "no rows"),
        ("id,body\n1,a\n", "line 1: missing column 'text' (the file has: id, body)"),
        (
            "id,text\n1,a\n2,b\n1,c\n",
            "line 4, column 'id': duplicate id '1' (first seen on line 2)",
        ),
        ("id,text\n1,a,extra\n", "line 2: 3 values, but the header has 2 columns"),
        ("id,text\n,a\n", "line 2, column 'id': the id is empty"),
    ],
)
def test_bad_csv_names_the_line_and_changes_nothing(empty, body, message):
    import_file(empty, _csv("id,text\nkeep,me\n"), "csv", TEXT)
    db.session.commit()
    with pytest.raises(ImportFailed) as info:
        import_file(empty, _csv(body), "csv", TEXT)
    assert message in info.value.message
    db.session.rollback()
    assert [i.external_id for i in db.session.scalars(select(Item))] == ["keep"]


def test_undecodable_bytes_name_the_line(empty):
    raw = b"id,text\n1,fine\n2,caf\xe9\n"
    with pytest.raises(ImportFailed, match="line 3: byte 6 of this line is not valid UTF-8"):
        import_file(empty, io.BytesIO(raw), "csv", TEXT)


def test_a_bad_last_line_leaves_nothing_from_earlier_chunks(empty):
    rows = "".join(f"{i},text {i}\n" for i in range(1, 1001))
    body = "id,text\n" + rows + "1000,again\n"
    with pytest.raises(ImportFailed, match="line 1002.*duplicate id"):
        import_file(empty, _csv(body), "csv", TEXT, chunk_rows=100)
    db.session.rollback()
    assert _count() == 0


def test_malformed_json_line_and_non_object(empty):
    good = json.dumps({"id": "a", "text": "x"})
    with pytest.raises(ImportFailed, match="line 2: malformed JSON"):
        import_file(empty, _csv(good + "\n{oops\n"), "jsonl", TEXT)
    with pytest.raises(ImportFailed, match="line 1: each line must be a JSON object"):
        import_file(empty, _csv("[1, 2]\n"), "jsonl", TEXT)
    with pytest.raises(ImportFailed, match="line 1, column 'text': missing field"):
        import_file(empty, _csv('{"id": "a"}\n'), "jsonl", TEXT)


def test_numbers_are_checked_and_kept(empty):
    mapping = ColumnMapping(id="id", numeric=("age",), categorical=("city",))
    import_file(empty, _csv("id,age,city\n1,42,Oslo\n2,,Rome\n3,1.5,\n"), "csv", mapping)
    data = {i.external_id: i.data for i in db.session.scalars(select(Item))}
    assert data["1"] == {"age": 42, "city": "Oslo"}
    assert data["2"]["age"] is None and data["3"]["age"] == 1.5
    with pytest.raises(ImportFailed, match="line 2, column 'age': 'old' is not a number"):
        import_file(empty, _csv("id,age,city\n9,old,Oslo\n"), "csv", mapping)
    assert empty.model_inputs["numeric"] == ["age"]


def test_existing_labels_come_in_with_their_annotators(empty):
    mapping = ColumnMapping(
        id="id", text=("text",), label="label", annotator="who", add_annotators=True
    )
    body = "id,text,label,who\n1,a,spam,ann\n1,a,spam,ben\n2,b,ham,ann\n3,c,,ann\n"
    report = import_file(empty, _csv(body), "csv", mapping)
    assert (report.added, report.annotations_added) == (3, 3)
    assert report.annotators_created == report.members_added == ["ann", "ben"]
    votes = db.session.execute(
        select(Item.external_id, User.username, Annotation.label)
        .join(Annotation.item)
        .join(Annotation.user)
    ).all()
    assert sorted(votes) == [("1", "ann", "spam"), ("1", "ben", "spam"), ("2", "ann", "ham")]
    assert not db.session.scalar(select(User).where(User.username == "ann")).active
    counts = {i.external_id: i.n_annotations for i in db.session.scalars(select(Item))}
    assert counts == {"1": 2, "2": 1, "3": 0}
    again = import_file(empty, _csv(body), "csv", mapping)
    assert (again.annotations_added, again.annotations_unchanged) == (0, 3)


def test_a_label_outside_the_set_is_refused(empty):
    mapping = ColumnMapping(id="id", text=("text",), label="label")
    with pytest.raises(ImportFailed, match="line 3, column 'label': 'spma' is not in the label"):
        import_file(empty, _csv("id,text,label\n1,a,spam\n2,b,spma\n"), "csv", mapping)


def test_duplicates_within_a_file_across_chunks_are_found(empty):
    body = "id,text\n" + "".join(f"{i},t\n" for i in range(50)) + "7,t\n"
    with pytest.raises(ImportFailed, match=r"line 52.*same id as line 9"):
        import_file(empty, _csv(body), "csv", TEXT, chunk_rows=10)


def test_generated_ids_are_stable_and_identical_rows_kept_once(empty):
    mapping = ColumnMapping(text=("text",))
    first = import_file(empty, _csv("text\nsame\nsame\nother\n"), "csv", mapping)
    assert (first.added, first.duplicate_rows) == (2, 1)
    second = import_file(empty, _csv("text\nsame\nother\n"), "csv", mapping)
    assert (second.added, second.skipped) == (0, 2)


def test_split_is_a_seeded_hash_of_the_id(empty):
    frame = pd.DataFrame({"id": [f"x{i}" for i in range(2000)], "text": "t"})
    import_frame(empty, frame, TEXT)
    splits = dict(db.session.execute(select(Item.external_id, Item.split)).all())
    expected = {
        f"x{i}": "test" if unit_hash(0, "split", f"x{i}") < 0.25 else "train" for i in range(2000)
    }
    assert splits == expected
    share = sum(s == "test" for s in splits.values()) / 2000
    assert 0.22 < share < 0.28


def test_unit_hashes_of_a_chunk_are_each_keys_unit_hash():
    keys = [f"x{i}" for i in range(5000)] + ["", "é🎉", "a" * 300]
    assert unit_hashes(3, "rank", keys).tolist() == [unit_hash(3, "rank", k) for k in keys]


def _items_as_stored(project: Project) -> list[tuple]:
    """(external id, split, count, its original's id, final label) of every item, by id;
    the count checked against the annotations stored (a skipped copy's go to its
    original, counted there)."""
    rows = db.session.execute(
        select(Item).where(Item.project_id == project.id).order_by(Item.external_id)
    ).scalars()
    held = dict(
        db.session.execute(
            select(Annotation.item_id, func.count())
            .where(Annotation.project_id == project.id)
            .group_by(Annotation.item_id)
        ).all()
    )
    items = list(rows)
    names = {item.id: item.external_id for item in items}
    for item in items:
        assert item.n_annotations == held.get(item.id, 0), item.external_id
    return [
        (i.external_id, i.split, i.n_annotations, names.get(i.duplicate_of), i.final_label)
        for i in items
    ]


@pytest.mark.parametrize("duplicates", ["keep", "skip", "link"])
@pytest.mark.parametrize("held_items", [False, True])
def test_chunks_find_the_ids_and_contents_of_earlier_chunks(app, duplicates, held_items):
    """An empty project asks the database only for what earlier chunks inserted: an id
    labeled again in a later chunk, a text repeated across chunks. Chunks of 3 rows and
    one chunk of all rows store the same, into an empty project and one holding items."""
    mapping = ColumnMapping(
        id="id",
        text=("text",),
        label="label",
        annotator="who",
        add_annotators=True,
        duplicates=duplicates,
    )
    lines = [f"n{i},text {i % 7},{('ham', 'spam')[i % 2]},a{i % 3}" for i in range(40)]
    lines += ["n1,text 1,spam,b", "n20,text 6,ham,b", "m1,TEXT  3,ham,a1"]
    body = "id,text,label,who\n" + "\n".join(lines) + "\n"
    stored, reports = [], []
    with app.app_context():
        for n, chunk_rows in enumerate((3, 1000)):
            project = create_project(f"Chunks {n}", LABELS, test_fraction=0.25)
            if held_items:
                import_file(project, _csv("id,text\nold,text 5\n"), "csv", TEXT)
            report = import_file(project, _csv(body), "csv", mapping, chunk_rows=chunk_rows)
            db.session.commit()
            stored.append(_items_as_stored(project))
            reports.append(report)
    assert stored[0] == stored[1]
    figures = [asdict(report) for report in reports]
    for figure in figures:
        figure.pop("annotators_created")  # the second project's annotators had accounts
    if duplicates != "skip":  # skipped copies' votes of one annotator: changed, or one
        # an id an earlier chunk inserted is found there, its data unchanged (skipped);
        # within one chunk its second row is read with its first
        assert (figures[0].pop("skipped"), figures[1].pop("skipped")) == (2, 0)
        assert figures[0] == figures[1]
        assert reports[0].annotations_added == 43
        # 33 rows repeat one of the 7 texts, one more in other case and spacing, and
        # one the held item's
        assert reports[0].duplicates_found == 34 + held_items


def test_a_frame_with_missing_values_imports(empty):
    frame = pd.DataFrame({"id": ["a", "b"], "text": ["x", None], "n": [1.5, float("nan")]})
    import_frame(empty, frame, ColumnMapping(id="id", text=("text",), numeric=("n",)))
    data = {i.external_id: i.data for i in db.session.scalars(select(Item))}
    assert data == {"a": {"text": "x", "n": 1.5}, "b": {"text": None, "n": None}}


def test_a_file_name_says_its_format_the_same_for_cli_api_and_page():
    from labeler.services.data.import_spec import format_of

    names = ["a.csv", "A.JSONL", "b.ndjson", "c.json", "d.conll", "e.tsv", "f"]
    assert [format_of(n) for n in names] == [
        "csv",
        "jsonl",
        "jsonl",
        "jsonl",
        "conll",
        "csv",
        "csv",
    ]
