"""Label Studio and Prodigy/spaCy files in and out: labels, annotators, errors, round trips."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from labeler.extensions import db
from labeler.models import Annotation, Item, User
from labeler.services.data.import_spec import ImportFailed
from labeler.services.data.interchange import export_format, import_format
from labeler.services.labeling import queue
from labeler.services.projects.store import create_project
from tests.conftest import DATA, make_project, user

LABELS = [{"name": "positive"}, {"name": "negative"}]


def _votes(project) -> set[tuple[str, str, str]]:
    rows = db.session.execute(
        select(Item.external_id, User.username, Annotation.label)
        .join(Item, Item.id == Annotation.item_id)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.project_id == project.id)
    )
    return {tuple(r) for r in rows}


def _items(project) -> dict[str, dict]:
    items = db.session.scalars(select(Item).where(Item.project_id == project.id))
    return {item.external_id: item.data for item in items}


def test_a_label_studio_export_brings_tasks_votes_and_mapped_annotators(app):
    with app.app_context():
        project = create_project("Reviews", LABELS)
        with (DATA / "interchange" / "label-studio-sentiment.json").open("rb") as stream:
            report = import_format(
                project, stream, "label-studio", {"7": "alice"}, add_annotators=True
            )
        db.session.commit()
        assert report.added == 3 and report.annotations_added == 3
        assert _votes(project) == {
            ("101", "alice", "positive"),
            ("101", "bob@example.org", "positive"),
            ("102", "alice", "negative"),
        }
        assert _items(project)["103"] == {"text": "Where is the settings page?"}
        assert "1 predictions became the items' suggestions" in report.messages
        suggested = db.session.scalars(
            select(Item).where(Item.project_id == project.id, Item.suggestion_label.is_not(None))
        ).all()
        assert [(i.external_id, i.suggestion_label) for i in suggested] == [("101", "negative")]
        assert report.suggestions_imported == 1
        assert "1 cancelled or rejected answers were not imported" in report.messages


def test_prodigy_answers_choices_binary_cats_and_rejects(app):
    with app.app_context():
        project = create_project("Reviews", LABELS)
        with (DATA / "interchange" / "prodigy-sentiment.jsonl").open("rb") as stream:
            report = import_format(
                project, stream, "prodigy", {"reviews-alice": "alice"}, add_annotators=True
            )
        db.session.commit()
        assert report.added == 3
        assert _votes(project) == {
            ("r1", "alice", "positive"),
            ("r1", "reviews-bob", "positive"),
            ("r2", "reviews-bob", "negative"),
        }
        assert report.messages == ["2 cancelled or rejected answers were not imported"]


@pytest.mark.parametrize(
    ("fmt", "content", "needle"),
    [
        (
            "label-studio",
            [
                {
                    "id": 5,
                    "data": {"text": "x"},
                    "annotations": [
                        {
                            "completed_by": 1,
                            "result": [{"type": "choices", "value": {"choices": ["eggs"]}}],
                        }
                    ],
                }
            ],
            "task 1 (id 5): annotations[0].result[0].value.choices: 'eggs' is not in the label set",
        ),
        (
            "label-studio",
            [
                {
                    "id": 5,
                    "data": {"text": "x"},
                    "annotations": [
                        {
                            "completed_by": 1,
                            "result": [
                                {
                                    "type": "labels",
                                    "value": {"start": 0, "end": 1, "labels": ["positive"]},
                                }
                            ],
                        }
                    ],
                }
            ],
            "task 1 (id 5): annotations[0].result[0]: a single-label project reads 'choices'",
        ),
        ("label-studio", {"tasks": []}, "file: a Label Studio JSON export is a list of tasks"),
        ("label-studio", [{"id": 1, "data": {}}], "task 1 (id 1): data: must be an object"),
        ("prodigy", [{"meta": {"id": "a"}, "label": "positive"}], "line 1: text: is missing"),
        ("prodigy", [{"text": "t", "label": "positive"}], "line 1: meta.id: is missing"),
        (
            "prodigy",
            [
                {"text": "t", "meta": {"id": "a"}},
                {"text": "u", "meta": {"id": "b"}, "cats": {"positive": 1.0, "negative": 1.0}},
            ],
            "line 2 (id b): cats: needs exactly one label scored 1, found 2",
        ),
    ],
)
def test_a_bad_record_is_named_and_changes_nothing(app, fmt, content, needle):
    with app.app_context():
        project = create_project("Reviews", LABELS)
        db.session.commit()
        if fmt == "prodigy":
            payload = "\n".join(json.dumps(r) for r in content).encode()
        else:
            payload = json.dumps(content).encode()
        with pytest.raises(ImportFailed) as caught:
            import_format(project, io.BytesIO(payload), fmt)
        db.session.rollback()
        assert needle in caught.value.message
        assert db.session.scalar(select(func.count(Item.id))) == 0


@pytest.mark.parametrize("fmt", ["label-studio", "prodigy"])
def test_labeler_to_a_format_and_back_keeps_every_label_and_annotator(app, fmt):
    with app.app_context():
        source = make_project("Source", n_items=12, k=2)
        for name in ("alice", "bob", "dave"):
            for _ in range(6):
                items = queue.next_items(source, user(name))
                if items:
                    label = "spam" if items[0].id % 3 else "ham"
                    queue.submit(source, user(name), items[0], label)
        db.session.commit()
        exported = "".join(export_format(source, fmt)).encode()
        target = create_project("Target", [{"name": "ham"}, {"name": "spam"}])
        import_format(target, io.BytesIO(exported), fmt, add_annotators=True)
        db.session.commit()
        votes = _votes(source)
        assert len(votes) == 18
        assert _votes(target) == votes
        labeled = {ext for ext, _, _ in votes}
        want = (
            _items(source)
            if fmt == "label-studio"
            else {
                k: v
                for k, v in _items(source).items()
                if k in labeled  # Prodigy keeps answers only
            }
        )
        assert _items(target) == want


def test_the_commands_import_and_export(app, tmp_path):
    with app.app_context():
        create_project("Reviews", LABELS)
        db.session.commit()
    runner = app.test_cli_runner()
    source = DATA / "interchange" / "label-studio-sentiment.json"
    result = runner.invoke(
        args=[
            "import-from",
            "label-studio",
            "Reviews",
            str(source),
            "--annotator",
            "7=alice",
            "--add-annotators",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "3 items added" in result.output and "3 labels added" in result.output
    out = tmp_path / "reviews.jsonl"
    result = runner.invoke(args=["export-to", "prodigy", "Reviews", "-o", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r["meta"]["id"], r["_annotator_id"], r["accept"][0]) for r in records) == [
        ("101", "alice", "positive"),
        ("101", "bob@example.org", "positive"),
        ("102", "alice", "negative"),
    ]
    bad = runner.invoke(args=["import-from", "prodigy", "Reviews", str(source)])
    assert bad.exit_code != 0 and "line 1" in bad.output and "Nothing was imported" in bad.output


def test_the_hugging_face_export_without_datasets_says_what_to_install(app, tmp_path):
    import importlib.util

    if importlib.util.find_spec("datasets") is not None:
        pytest.skip("datasets is installed: tests/services/test_hf_dataset.py covers the export")
    with app.app_context():
        make_project("Source", n_items=3)
        db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["export-to", "huggingface", "Source", "-o", str(tmp_path / "hf")]
    )
    assert result.exit_code != 0
    assert "pip install 'labeler[huggingface]'" in result.output
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").iterdir())


def test_annotators_who_are_not_members_are_refused_by_name_unless_asked(app):
    with app.app_context():
        project = create_project("Reviews", LABELS)
        source = DATA / "interchange" / "label-studio-sentiment.json"
        with source.open("rb") as stream, pytest.raises(ImportFailed, match="not a member"):
            import_format(project, stream, "label-studio", {"7": "alice"})
        db.session.rollback()
        assert _votes(project) == set() and _items(project) == {}
