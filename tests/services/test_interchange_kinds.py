"""Label Studio and Prodigy/spaCy files for the multi-label, rating and spans kinds:
every answer, annotator and span survives labeler -> format -> labeler, and a bad
record of each shape is named by record and field and changes nothing."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select

from labeler.core.kinds.base import canonical_json
from labeler.extensions import db
from labeler.models import Annotation, Item, User
from labeler.services.data.import_spec import ColumnMapping, ImportFailed
from labeler.services.data.imports import import_rows
from labeler.services.data.interchange import export_format, import_format
from labeler.services.projects import kinds
from labeler.services.projects.store import create_project

TOPICS = [{"name": "sports"}, {"name": "politics"}, {"name": "tech"}]
STARS = [{"name": str(point)} for point in range(1, 6)]
ENTITIES = [{"name": "PER"}, {"name": "PHONE"}, {"name": "TIME"}]

# Text outside the Basic Multilingual Plane (the emoji) makes code-point offsets differ
# from UTF-16 ones: a span after it only round-trips if both sides count code points.
CALL = "Zoë 📞 rang Ana at 9am"
NOTE = "Nobody called."


def _span(text: str, word: str, label: str) -> dict:
    start = text.index(word)
    return {"start": start, "end": start + len(word), "label": label}


KINDS = {
    "multi_label": (
        TOPICS,
        {},
        [
            ("n1", "Match report", "alice", ["sports"]),
            ("n1", "Match report", "bob", ["sports", "politics"]),
            ("n2", "Chips and votes", "alice", ["politics", "tech"]),
            ("n3", "Nothing yet", None, None),
        ],
    ),
    "rating": (
        STARS,
        {"label_scale": "ordinal"},
        [
            ("f1", "A fine film", "alice", 4),
            ("f1", "A fine film", "bob", 5),
            ("f2", "A dull film", "alice", 1),
            ("f3", "Unseen", None, None),
        ],
    ),
    "spans": (
        ENTITIES,
        {},
        [
            ("c1", CALL, "alice", [_span(CALL, "Zoë", "PER"), _span(CALL, "Ana", "PER")]),
            ("c1", CALL, "bob", [_span(CALL, "Ana", "PER"), _span(CALL, "9am", "TIME")]),
            ("c2", NOTE, "alice", []),  # "no entities" is an answer too
            ("c3", "Unread", None, None),
        ],
    ),
}
FORMATS = {"multi_label": ["label-studio", "prodigy"], "rating": ["label-studio", "prodigy"]}
FORMATS["spans"] = ["label-studio", "prodigy"]


def _project(name: str, kind: str):
    labels, extra, _ = KINDS[kind]
    return create_project(name, labels, task_kind=kind, test_fraction=0.0, **extra)


def _seed(project, kind: str) -> None:
    rows = [
        (n, {"id": ext, "text": text, "who": who or "alice", "answer": answer})
        for n, (ext, text, who, answer) in enumerate(KINDS[kind][2], start=1)
    ]
    mapping = ColumnMapping(
        id="id", text=("text",), label="answer", annotator="who", add_annotators=True
    )
    import_rows(project, rows, mapping)


def _answers(project) -> set[tuple[str, str, str]]:
    kind = kinds.kind_of(project)
    rows = db.session.execute(
        select(Item.external_id, User.username, Annotation.label, Annotation.value)
        .join(Item, Item.id == Annotation.item_id)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.project_id == project.id)
    )
    return {(ext, who, canonical_json(kind.decode(key, value))) for ext, who, key, value in rows}


def _items(project) -> dict[str, dict]:
    items = db.session.scalars(select(Item).where(Item.project_id == project.id))
    return {item.external_id: item.data for item in items}


@pytest.mark.parametrize(
    ("kind", "fmt"), [(kind, fmt) for kind, fmts in FORMATS.items() for fmt in fmts]
)
def test_labeler_to_the_format_and_back_keeps_every_answer_and_annotator(app, kind, fmt):
    with app.app_context():
        source = _project("Source", kind)
        _seed(source, kind)
        db.session.commit()
        want = {
            (ext, who, canonical_json(answer))
            for ext, _, who, answer in KINDS[kind][2]
            if who is not None
        }
        assert _answers(source) == want  # the seed itself went in whole
        exported = "".join(export_format(source, fmt)).encode()
        target = _project("Target", kind)
        import_format(target, io.BytesIO(exported), fmt, add_annotators=True)
        db.session.commit()
        assert _answers(target) == want
        answered = {ext for ext, _, _ in want}
        items = _items(source)
        if fmt == "prodigy":  # a Prodigy file holds answers only
            items = {ext: data for ext, data in items.items() if ext in answered}
        assert _items(target) == items


def test_label_studio_span_results_read_code_point_offsets_and_the_span_text(app):
    with app.app_context():
        source = _project("Source", "spans")
        _seed(source, "spans")
        db.session.commit()
        tasks = json.loads("".join(export_format(source, "label-studio")))
        call = next(t for t in tasks if t["meta"]["external_id"] == "c1")
        results = call["annotations"][0]["result"]
        assert [r["type"] for r in results] == ["labels", "labels"]
        ana = results[1]["value"]
        assert ana["labels"] == ["PER"]
        assert CALL[ana["start"] : ana["end"]] == "Ana"


def test_prodigy_multi_label_reads_accept_lists_and_spacy_cats(app):
    records = [
        {"text": "a", "meta": {"id": "a"}, "accept": ["tech", "sports"], "_annotator_id": "x"},
        {"text": "b", "meta": {"id": "b"}, "cats": {"sports": 0, "politics": 1, "tech": 1}},
        {"text": "c", "meta": {"id": "c"}, "accept": ["tech"], "answer": "reject"},
    ]
    with app.app_context():
        project = _project("Topics", "multi_label")
        payload = "\n".join(json.dumps(r) for r in records).encode()
        report = import_format(project, io.BytesIO(payload), "prodigy", add_annotators=True)
        db.session.commit()
        assert _answers(project) == {
            ("a", "x", canonical_json(["sports", "tech"])),
            ("b", "imported", canonical_json(["politics", "tech"])),
        }
        assert report.messages == ["1 cancelled or rejected answers were not imported"]


def _ls(result) -> list[dict]:
    return [
        {"id": 5, "data": {"text": CALL}, "annotations": [{"completed_by": 1, "result": result}]}
    ]


def _prodigy(**answer) -> list[dict]:
    return [{"text": CALL, "meta": {"id": "a"}, "_annotator_id": "x", **answer}]


@pytest.mark.parametrize(
    ("kind", "fmt", "content", "needle"),
    [
        (
            "multi_label",
            "label-studio",
            _ls([{"type": "choices", "value": {"choices": ["tech", "eggs"]}}]),
            "task 1 (id 5): annotations[0].result[0].value.choices: 'eggs' is not in the label",
        ),
        (
            "multi_label",
            "label-studio",
            _ls([{"type": "rating", "value": {"rating": 3}}]),
            "task 1 (id 5): annotations[0].result[0]: a multi-label project reads 'choices'",
        ),
        (
            "multi_label",
            "prodigy",
            _prodigy(accept="tech"),
            "line 1 (id a): accept: must be a list of label names",
        ),
        (
            "multi_label",
            "prodigy",
            _prodigy(cats={"tech": 0.7}),
            "line 1 (id a): cats.tech: is scored 0.7, not 0 or 1",
        ),
        (
            "rating",
            "label-studio",
            _ls([{"type": "rating", "value": {"rating": "four"}}]),
            "task 1 (id 5): annotations[0].result[0].value.rating: must be a number",
        ),
        (
            "rating",
            "label-studio",
            _ls([{"type": "rating", "value": {"stars": 4}}]),
            "task 1 (id 5): annotations[0].result[0].value: needs 'rating'",
        ),
        (
            "rating",
            "label-studio",
            _ls([{"type": "rating", "value": {"rating": 9}}]),
            "task 1: answer: '9' is not a point of the scale (1, 2, 3, 4, 5)",
        ),
        (
            "rating",
            "prodigy",
            _prodigy(accept=[4, 5]),
            "line 1 (id a): accept: holds one point of the scale (a list of one)",
        ),
        (
            "rating",
            "prodigy",
            _prodigy(accept=["four"]),
            "line 1 (id a): accept[0]: must be a number, not 'four'",
        ),
        (
            "rating",
            "prodigy",
            _prodigy(accept=[9]),
            "line 1: answer: '9' is not a point of the scale (1, 2, 3, 4, 5)",
        ),
        (
            "spans",
            "label-studio",
            _ls([{"type": "labels", "value": {"start": 0, "end": 3, "labels": ["CITY"]}}]),
            "task 1 (id 5): annotations[0].result[0].value.labels: 'CITY' is not in the label",
        ),
        (
            "spans",
            "label-studio",
            _ls([{"type": "labels", "value": {"start": -1, "end": 3, "labels": ["PER"]}}]),
            "task 1 (id 5): annotations[0].result[0].value.start: must be a code-point offset",
        ),
        (
            "spans",
            "label-studio",
            _ls([{"type": "labels", "value": {"start": 0, "end": 3, "labels": ["PER", "TIME"]}}]),
            "task 1 (id 5): annotations[0].result[0].value.labels: a span carries one label",
        ),
        (
            "spans",
            "label-studio",
            _ls([{"type": "labels", "value": {"start": 10, "end": 99, "labels": ["PER"]}}]),
            "task 1: answer: spans[0].end 99 is past the text's 21 characters",
        ),
        (
            "spans",
            "prodigy",
            _prodigy(spans=[{"start": 0, "end": 99, "label": "PER"}]),
            "line 1: answer: spans[0].end 99 is past the text's 21 characters",
        ),
        (
            "spans",
            "prodigy",
            _prodigy(spans=[{"start": 0, "end": "3", "label": "PER"}]),
            "line 1 (id a): spans[0].end: must be a code-point offset, not '3'",
        ),
        (
            "spans",
            "prodigy",
            _prodigy(spans=[{"start": 0, "end": 3}]),
            "line 1 (id a): spans[0].label: None is not in the label set",
        ),
    ],
)
def test_a_bad_record_of_each_shape_is_named_and_changes_nothing(app, kind, fmt, content, needle):
    with app.app_context():
        project = _project("Bad", kind)
        db.session.commit()
        if fmt == "prodigy":
            payload = "\n".join(json.dumps(r) for r in content).encode()
        else:
            payload = json.dumps(content).encode()
        with pytest.raises(ImportFailed) as caught:
            import_format(project, io.BytesIO(payload), fmt, add_annotators=True)
        db.session.rollback()
        assert needle in caught.value.message
        assert db.session.scalar(select(func.count(Item.id))) == 0


def test_a_format_without_a_shape_for_the_kind_refuses_the_export_by_name(app, monkeypatch):
    from labeler.core import interchange_values

    # every kind labeler has is carried by both formats; a kind that a format has no
    # shape for (here: rating, as if Prodigy could not hold it) is refused by name
    narrowed = interchange_values.Rating()
    monkeypatch.setattr(narrowed, "formats", frozenset({"label-studio"}))
    monkeypatch.setitem(interchange_values.KIND_VALUES, "rating", narrowed)
    with app.app_context():
        project = _project("Stars", "rating")
        db.session.commit()
        with pytest.raises(ImportFailed, match="prodigy files carry .* projects, not rating"):
            export_format(project, "prodigy")


def test_every_kind_has_a_shape_in_both_formats():
    from labeler.core.interchange_values import KIND_VALUES
    from labeler.core.kinds import KINDS as TASK_KINDS

    assert set(KIND_VALUES) == set(TASK_KINDS)
    assert all(v.formats == {"label-studio", "prodigy"} for v in KIND_VALUES.values())


def test_prodigy_ratings_are_choices_of_the_scale_points(app):
    with app.app_context():
        source = _project("Source", "rating")
        _seed(source, "rating")
        db.session.commit()
        records = [
            json.loads(line)
            for line in "".join(export_format(source, "prodigy")).split("\n")
            if line
        ]
        bobs = next(r for r in records if r["_annotator_id"] == "bob")
        assert bobs["_view_id"] == "choice" and bobs["accept"] == [5]
        assert [o["id"] for o in bobs["options"]] == [1, 2, 3, 4, 5]
        text_ids = [{"text": "Okay", "meta": {"id": "t"}, "accept": ["3"], "_annotator_id": "x"}]
        target = _project("Target", "rating")
        payload = "\n".join(json.dumps(r) for r in text_ids).encode()
        import_format(target, io.BytesIO(payload), "prodigy", add_annotators=True)
        db.session.commit()
        assert _answers(target) == {("t", "x", canonical_json(3))}


def _suggestions(project) -> dict[str, str]:
    kind = kinds.kind_of(project)
    rows = db.session.execute(
        select(Item.external_id, Item.suggestion_label, Item.suggestion_value).where(
            Item.project_id == project.id, Item.suggestion_label.is_not(None)
        )
    )
    return {ext: canonical_json(kind.decode(key, value)) for ext, key, value in rows}


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_suggestion_goes_out_as_a_label_studio_prediction_and_comes_back(app, kind):
    with app.app_context():
        source = _project("Source", kind)
        texts = {ext: text for ext, text, _, _ in KINDS[kind][2]}
        first = {}  # each item's first answer as its suggestion; the unlabeled one too
        for ext, _, _, answer in KINDS[kind][2]:
            first.setdefault(ext, answer)
        first = {ext: [] if a is None and kind == "spans" else a for ext, a in first.items()}
        first = {ext: KINDS[kind][2][0][3] if a is None else a for ext, a in first.items()}
        rows = [
            (n, {"id": ext, "text": text, "hint": first[ext]})
            for n, (ext, text) in enumerate(texts.items(), start=1)
        ]
        import_rows(source, rows, ColumnMapping(id="id", text=("text",), suggestion="hint"))
        _seed(source, kind)
        db.session.commit()
        want = _suggestions(source)
        assert len(want) == len(texts)
        tasks = json.loads("".join(export_format(source, "label-studio")))
        assert all(len(task["predictions"]) == 1 for task in tasks)
        target = _project("Target", kind)
        payload = json.dumps(tasks).encode()
        report = import_format(target, io.BytesIO(payload), "label-studio", add_annotators=True)
        db.session.commit()
        assert report.suggestions_imported == len(want)
        assert _suggestions(target) == want
        assert _answers(target) == _answers(source)  # the votes are not touched


def test_the_prediction_with_the_highest_score_becomes_the_suggestion(app):
    def choices(names):
        return [{"type": "choices", "value": {"choices": names}}]

    tasks = [
        {
            "id": 1,
            "data": {"text": "Match report"},
            "predictions": [
                {"model_version": "a", "score": 0.2, "result": choices(["tech"])},
                {"model_version": "b", "score": 0.9, "result": choices(["sports", "politics"])},
                {"model_version": "c", "result": choices(["politics"])},  # no score: last
            ],
        },
        {"id": 2, "data": {"text": "Chips"}, "predictions": [{"result": choices(["tech"])}]},
    ]
    with app.app_context():
        project = _project("Scores", "multi_label")
        report = import_format(project, io.BytesIO(json.dumps(tasks).encode()), "label-studio")
        db.session.commit()
        assert _suggestions(project) == {
            "1": canonical_json(["sports", "politics"]),  # in the label set's order
            "2": canonical_json(["tech"]),
        }
        assert "2 predictions became the items' suggestions" in report.messages
        assert any(m.startswith("2 other predictions were not imported") for m in report.messages)


@pytest.mark.parametrize(
    ("kind", "prediction", "needle"),
    [
        (
            "multi_label",
            {"result": [{"type": "choices", "value": {"choices": ["eggs"]}}]},
            "task 1 (id 5): predictions[0].result[0].value.choices: 'eggs' is not in the label",
        ),
        (
            "multi_label",
            {"score": "high", "result": []},
            "task 1 (id 5): predictions[0].score: must be a number, not 'high'",
        ),
        (
            "spans",
            {"result": [{"type": "labels", "value": {"start": 10, "end": 99, "labels": ["PER"]}}]},
            "task 1: predictions: suggestion spans[0].end 99 is past the text's 21 characters",
        ),
    ],
)
def test_a_bad_prediction_is_named_and_changes_nothing(app, kind, prediction, needle):
    tasks = [{"id": 5, "data": {"text": CALL}, "predictions": [prediction]}]
    with app.app_context():
        project = _project("Bad", kind)
        db.session.commit()
        with pytest.raises(ImportFailed) as caught:
            import_format(project, io.BytesIO(json.dumps(tasks).encode()), "label-studio")
        db.session.rollback()
        assert needle in caught.value.message
        assert db.session.scalar(select(func.count(Item.id))) == 0
