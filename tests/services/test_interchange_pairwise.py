"""Label Studio and Prodigy files for pairwise projects: every vote (A/B/tie/both bad,
strength, order shown), annotator and item field survives labeler -> format ->
labeler; the peers' own shapes (Label Studio's Pairwise result, Prodigy's compare
task) read in with their annotators mapped; a bad record is named by record and field
and changes nothing."""

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

SETTINGS = {"both_bad": True, "strength": True}
PAIR = {"prompt": "Sort a list?", "response_a": "Use sorted().", "response_b": "Loop."}
VOTES = [  # (id, item fields, annotator, answer)
    ("p1", {**PAIR, "system_a": "big", "system_b": "small"}, "alice", {"choice": "A"}),
    (
        "p1",
        {**PAIR, "system_a": "big", "system_b": "small"},
        "bob",
        {"choice": "A", "strength": "much", "shown": "BA"},
    ),
    ("p2", {**PAIR, "prompt": "Tabs or spaces?"}, "alice", {"choice": "B", "shown": "AB"}),
    ("p3", {**PAIR, "prompt": "Why 42?", "context": "Douglas Adams"}, "alice", {"choice": "tie"}),
    (
        "p3",
        {**PAIR, "prompt": "Why 42?", "context": "Douglas Adams"},
        "bob",
        {"choice": "both_bad"},
    ),
    ("p4", {**PAIR, "prompt": "Unanswered"}, None, None),
]
TEXT = ("prompt", "response_a", "response_b")
OPTIONAL = ("context", "system_a", "system_b")  # an item without one holds None


def _project(name: str, settings: dict | None = None):
    return create_project(
        name,
        [],
        task_kind="pairwise",
        task_settings=SETTINGS if settings is None else settings,
        test_fraction=0.0,
        annotations_per_item=2,
    )


def _seed(project) -> None:
    rows = [
        (n, {"id": ext, **data, "who": who or "alice", "answer": answer})
        for n, (ext, data, who, answer) in enumerate(VOTES, start=1)
    ]
    mapping = ColumnMapping(
        id="id",
        text=TEXT,
        meta=OPTIONAL,
        label="answer",
        annotator="who",
        add_annotators=True,
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


NONE = {"context": None, "system_a": None, "system_b": None}
WANT = {(ext, who, canonical_json(answer)) for ext, _, who, answer in VOTES if who is not None}


@pytest.mark.parametrize("fmt", ["label-studio", "prodigy"])
def test_pairwise_to_the_format_and_back_keeps_every_vote_annotator_and_field(app, fmt):
    with app.app_context():
        source = _project("Source")
        _seed(source)
        db.session.commit()
        assert _answers(source) == WANT  # the seed itself went in whole
        exported = "".join(export_format(source, fmt)).encode()
        target = _project("Target")
        import_format(target, io.BytesIO(exported), fmt, add_annotators=True)
        db.session.commit()
        assert _answers(target) == WANT
        items = _items(source)
        if fmt == "prodigy":  # a Prodigy file holds answers only
            items = {ext: data for ext, data in items.items() if ext != "p4"}
        assert _items(target) == items
        assert items["p1"]["system_a"] == "big" and items["p3"]["context"] == "Douglas Adams"


def test_the_exports_use_the_peers_shapes_and_carry_the_final_value(app):
    with app.app_context():
        source = _project("Source")
        _seed(source)
        db.session.commit()
        tasks = {
            t["meta"]["external_id"]: t
            for t in json.loads("".join(export_format(source, "label-studio")))
        }
        records = [
            json.loads(line) for line in "".join(export_format(source, "prodigy")).splitlines()
        ]
    first = tasks["p1"]
    assert first["meta"]["final"] == {"choice": "A"}  # alice and bob agree: k = 2 reached
    assert "final" not in tasks["p3"]["meta"]  # a tie against both bad: disputed
    assert first["annotations"][0]["result"] == [
        {
            "from_name": "label",
            "to_name": "response_a",
            "type": "pairwise",
            "value": {"selected": "left"},
        }
    ]
    bob = [r["value"] for r in first["annotations"][1]["result"]]
    assert bob == [{"selected": "left"}, {"choices": ["much"]}, {"choices": ["BA"]}]
    tie = tasks["p3"]["annotations"][0]["result"]
    assert [(r["type"], r["from_name"], r["value"]) for r in tie] == [
        ("choices", "verdict", {"choices": ["tie"]})
    ]
    by = {(r["meta"]["id"], r["_annotator_id"]): r for r in records}
    alice = by[("p1", "alice")]
    assert alice["input"] == {"text": "Sort a list?", "context": None}  # None: as stored
    assert alice["A"] == {"text": "Use sorted().", "system": "big"}
    assert alice["B"] == {"text": "Loop.", "system": "small"}
    assert (alice["answer"], alice["mapping"]) == ("accept", {"A": "accept", "B": "reject"})
    assert by[("p2", "alice")]["answer"] == "reject"  # B preferred
    assert by[("p3", "bob")]["answer"] == "ignore" and by[("p3", "bob")]["verdict"] == "both_bad"
    assert by[("p1", "alice")]["meta"]["final"] == {"choice": "A"}


def _studio_tasks() -> list[dict]:
    """A Label Studio export of the Pairwise template (text1, text2) with a prompt."""
    return [
        {
            "id": 11,
            "data": {"prompt": "Capital of France?", "text1": "Paris.", "text2": "Lyon."},
            "annotations": [
                {
                    "completed_by": 7,
                    "result": [
                        {
                            "from_name": "pw",
                            "to_name": "text1",
                            "type": "pairwise",
                            "value": {"selected": "left"},
                        }
                    ],
                },
                {
                    "completed_by": {"id": 8, "email": "bo@example.org"},
                    "result": [{"type": "pairwise", "value": {"selected": "right"}}],
                },
                {"completed_by": 9, "was_cancelled": True, "result": []},
            ],
            "predictions": [{"result": [{"type": "pairwise", "value": {"selected": "left"}}]}],
        },
        {"id": 12, "data": {"prompt": "2+2?", "text1": "4", "text2": "5"}, "annotations": []},
    ]


def test_a_label_studio_pairwise_export_imports_with_annotators_mapped(app):
    payload = json.dumps(_studio_tasks()).encode()
    with app.app_context():
        project = _project("Studio", {})
        db.session.commit()
        with pytest.raises(ImportFailed, match="not a member"):
            import_format(project, io.BytesIO(payload), "label-studio", {"7": "alice"})
        db.session.rollback()
        assert db.session.scalar(select(func.count(Item.id))) == 0
        report = import_format(
            project, io.BytesIO(payload), "label-studio", {"7": "alice"}, add_annotators=True
        )
        db.session.commit()
        assert _answers(project) == {
            ("11", "alice", canonical_json({"choice": "A"})),
            ("11", "bo@example.org", canonical_json({"choice": "B"})),
        }
        assert _items(project)["11"] == {
            "prompt": "Capital of France?",
            "response_a": "Paris.",
            "response_b": "Lyon.",
            **NONE,  # the optional roles a file leaves out: None, as any import does
        }
        assert set(_items(project)) == {"11", "12"}
        assert "1 predictions became the items' suggestions" in report.messages
        (suggested,) = db.session.scalars(
            select(Item).where(Item.project_id == project.id, Item.suggestion_label.is_not(None))
        ).all()
        assert suggested.external_id == "11"
        assert kinds.kind_of(project).decode(
            suggested.suggestion_label, suggested.suggestion_value
        ) == {"choice": "A"}  # "left" is response A


def test_a_prodigy_compare_file_imports_through_its_mapping(app):
    records = [
        {  # the compare recipe: B was on the accept button, and was accepted
            "id": "q1",
            "input": {"text": "Best sorting algorithm?"},
            "accept": {"text": "Timsort."},
            "reject": {"text": "Bogosort."},
            "mapping": {"A": "reject", "B": "accept"},
            "answer": "accept",
            "_annotator_id": "data-alice",
        },
        {  # A / B outputs with systems; reject under the default mapping prefers B
            "meta": {"id": "q2"},
            "input": {"text": "Say hi"},
            "A": {"text": "hi", "system": "m1"},
            "B": {"text": "hello!", "system": "m2"},
            "answer": "reject",
            "_annotator_id": "data-bob",
        },
        {  # the choice view of an A/B evaluation
            "meta": {"id": "q3"},
            "input": {"text": "Pick"},
            "options": [{"id": "A", "text": "one"}, {"id": "B", "text": "two"}],
            "accept": ["A"],
            "answer": "accept",
            "_annotator_id": "data-alice",
        },
        {  # ignored: Prodigy's skip, not a tie
            "meta": {"id": "q4"},
            "input": {"text": "Skip me"},
            "A": {"text": "x"},
            "B": {"text": "y"},
            "answer": "ignore",
            "_annotator_id": "data-bob",
        },
    ]
    payload = "\n".join(json.dumps(r) for r in records).encode()
    names = {"data-alice": "alice", "data-bob": "bob"}
    with app.app_context():
        project = _project("Compare", {})
        db.session.commit()
        report = import_format(project, io.BytesIO(payload), "prodigy", names, add_annotators=True)
        db.session.commit()
        assert _answers(project) == {
            ("q1", "alice", canonical_json({"choice": "B"})),
            ("q2", "bob", canonical_json({"choice": "B"})),
            ("q3", "alice", canonical_json({"choice": "A"})),
        }
        items = _items(project)
        assert items["q1"] == {
            "prompt": "Best sorting algorithm?",
            "response_a": "Bogosort.",
            "response_b": "Timsort.",
            **NONE,
        }
        assert (items["q2"]["system_a"], items["q2"]["system_b"]) == ("m1", "m2")
        assert report.messages == ["1 cancelled or rejected answers were not imported"]


def test_a_project_with_its_own_field_names_reads_and_writes_them(app):
    settings = {
        "fields": {"prompt": "question", "response_a": "left_answer", "response_b": "right_answer"}
    }
    record = {
        "meta": {"id": "f1"},
        "input": {"text": "Why?"},
        "A": {"text": "Because."},
        "B": {"text": "No idea."},
        "answer": "accept",
        "_annotator_id": "alice",
    }
    with app.app_context():
        project = _project("Named", settings)
        db.session.commit()
        import_format(
            project, io.BytesIO(json.dumps(record).encode()), "prodigy", add_annotators=True
        )
        db.session.commit()
        assert _items(project)["f1"] == {
            "question": "Why?",
            "left_answer": "Because.",
            "right_answer": "No idea.",
            **NONE,
        }
        out = json.loads("".join(export_format(project, "prodigy")))
        assert out["input"] == {"text": "Why?", "context": None}
        assert (out["A"], out["B"]) == (
            {**record["A"], "system": None},
            {**record["B"], "system": None},
        )


def _ls(result, data=None) -> list[dict]:
    data = data or {"prompt": "p", "response_a": "a", "response_b": "b"}
    return [{"id": 5, "data": data, "annotations": [{"completed_by": 1, "result": result}]}]


def _pd(**fields) -> list[dict]:
    record = {
        "meta": {"id": "a"},
        "input": {"text": "p"},
        "A": {"text": "a"},
        "B": {"text": "b"},
        "answer": "accept",
        "_annotator_id": "x",
    }
    return [{k: v for k, v in {**record, **fields}.items() if v is not None}]


@pytest.mark.parametrize(
    ("fmt", "content", "needle"),
    [
        (
            "label-studio",
            _ls([{"type": "pairwise", "value": {"selected": "middle"}}]),
            "task 1 (id 5): annotations[0].result[0].value.selected: is left or right, not",
        ),
        (
            "label-studio",
            _ls([{"type": "rating", "value": {"rating": 3}}]),
            "task 1 (id 5): annotations[0].result[0]: a pairwise project reads 'pairwise'",
        ),
        (
            "label-studio",
            _ls(
                [
                    {"type": "pairwise", "value": {"selected": "left"}},
                    {"type": "choices", "value": {"choices": ["tie"]}},
                ]
            ),
            "task 1 (id 5): annotations[0].result: holds two answers: A and tie",
        ),
        (
            "label-studio",
            _ls([{"type": "choices", "value": {"choices": ["great"]}}]),
            "task 1 (id 5): annotations[0].result[0].value.choices: 'great' is not a verdict",
        ),
        (
            "label-studio",
            _ls([{"type": "choices", "value": {"choices": ["much"]}}]),
            "task 1 (id 5): annotations[0].result: has no 'pairwise' result and no tie",
        ),
        (
            "label-studio",
            _ls([], {"prompt": "p", "left": "a"}),
            "task 1 (id 5): data: needs the two responses as 'response_a' and 'response_b'",
        ),
        (
            "label-studio",
            _ls([{"type": "choices", "value": {"choices": ["both_bad"]}}]),
            "task 1: answer: choice 'both_bad' is not one of ['A', 'B', 'tie']",
        ),
        ("prodigy", _pd(input={"prompt": "p"}), "line 1: input.text: is missing (the prompt)"),
        ("prodigy", _pd(B={"txt": "b"}), "line 1: B.text: is missing (the response)"),
        ("prodigy", _pd(A=None, B=None), "line 1: A: is missing: a pairwise record holds"),
        (
            "prodigy",
            _pd(mapping={"A": "accept", "B": "accept"}),
            "line 1 (id a): mapping: maps A and B to accept and reject, one each",
        ),
        ("prodigy", _pd(answer="maybe"), "line 1 (id a): answer: is accept, reject or ignore"),
        ("prodigy", _pd(verdict="meh"), "line 1 (id a): verdict: is one of ('tie', 'both_bad')"),
        (
            "prodigy",
            _pd(strength="much"),
            "line 1: answer: this project does not ask for a strength",
        ),
    ],
)
def test_a_bad_pairwise_record_is_named_and_changes_nothing(app, fmt, content, needle):
    with app.app_context():
        project = _project("Bad", {})
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


def test_the_api_exports_and_imports_pairwise_and_annotators_may_not_export(app, client, tokens):
    from tests.conftest import bearer

    with app.app_context():
        source = _project("Source")
        _seed(source)
        target = _project("Target")
        db.session.commit()
        source_id, target_id = source.id, target.id
    admin = bearer(tokens["admin"])
    # alice labelled in the source: still, an annotator must not read the others' votes
    assert (
        client.get(
            f"/api/v1/projects/{source_id}/formats/prodigy", headers=bearer(tokens["alice"])
        ).status_code
        == 403
    )
    exported = client.get(f"/api/v1/projects/{source_id}/formats/label-studio", headers=admin)
    assert exported.status_code == 200
    posted = client.post(
        f"/api/v1/projects/{target_id}/formats/label-studio",
        headers=admin,
        data={"file": (io.BytesIO(exported.data), "tasks.json"), "add_annotators": "true"},
    )
    assert posted.status_code == 201, posted.get_json()
    with app.app_context():
        target = db.session.get(type(source), target_id)
        assert _answers(target) == WANT


def test_the_commands_import_a_compare_file_and_export_label_studio(app, tmp_path):
    with app.app_context():
        _project("Arena", {})
        db.session.commit()
    compare = tmp_path / "compare.jsonl"
    compare.write_text(
        json.dumps(
            {
                "id": "q1",
                "input": {"text": "Best sort?"},
                "accept": {"text": "Timsort."},
                "reject": {"text": "Bogosort."},
                "mapping": {"A": "accept", "B": "reject"},
                "answer": "reject",
                "_annotator_id": "data-bob",
            }
        )
        + "\n"
    )
    runner = app.test_cli_runner()
    args = ["import-from", "prodigy", "Arena", str(compare), "--annotator", "data-bob=bob"]
    result = runner.invoke(args=[*args, "--add-annotators"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "arena.json"
    result = runner.invoke(args=["export-to", "label-studio", "Arena", "-o", str(out)])
    assert result.exit_code == 0, result.output
    (task,) = json.loads(out.read_text())
    assert task["data"]["response_b"] == "Bogosort."  # the reject side was B
    (annotation,) = task["annotations"]
    assert annotation["completed_by"]["email"] == "bob"
    assert annotation["result"][0]["value"] == {"selected": "right"}
