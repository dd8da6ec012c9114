"""The README's client session and the raw HTTP session of docs/api.md run as written
against a live server."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import re
import shlex
from pathlib import Path

from labeler.auth import create_token
from labeler.extensions import db
from labeler.services.projects.store import create_project, set_member
from tests.conftest import serving, user

ROOT = Path(__file__).resolve().parents[1]


def _run(app, document: Path) -> list[str]:
    code = re.search(r"```python\n(.*?)```", document.read_text(), re.S).group(1)
    with app.app_context():
        _, token = create_token(user("admin"), "readme")
        db.session.commit()
    with serving(app) as url:
        code = code.replace("http://127.0.0.1:5000", url).replace('"lbl_..."', repr(token))
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(code, document.name, "exec"), {})  # noqa: S102 - our own docs
    return output.getvalue().splitlines()


def test_the_readme_client_session_runs(app):
    lines = _run(app, ROOT / "README.md")
    assert lines[0] == "2 items added"
    header, *rows = [line for line in lines[1:] if line]
    assert header == "item,annotator,label"
    assert len(rows) == 1 and rows[0] in ("t1,admin,bug", "t2,admin,bug")  # the queue's pick


def test_the_raw_http_session_of_the_api_docs_runs(app):
    lines = _run(app, ROOT / "docs" / "api.md")
    assert lines[0] == "2 items added"
    exported = [json.loads(line) for line in lines[1:] if line.strip()]
    assert [(row["annotator"], row["label"]) for row in exported] == [("admin", "bug")]


def _commands(section: str) -> list[list[str]]:
    """The ``labeler ...`` commands of a README section's first bash block, as argv."""
    readme = (ROOT / "README.md").read_text()
    text = readme[readme.index(f"## {section}") :]
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1)
    commands = []
    for line in block.splitlines():
        line = line.split(" #")[0].strip()
        if "&&" in line:  # "pip install ... && labeler ...": the labeler part
            line = line.split("&&")[-1].strip()
        words = shlex.split(line)
        if words and words[0] == "labeler":
            commands.append(words[1:])
    return commands


def test_the_readme_format_commands_run_as_written(app, tmp_path, monkeypatch):
    """Each import-from / export-to line of "Label Studio, Prodigy and Hugging Face",
    on files shaped like the ones it names."""
    with app.app_context():
        project = create_project("My project", [{"name": "positive"}, {"name": "negative"}])
        for name in ("alice", "bob"):
            set_member(project, user(name), "annotator")
        db.session.commit()
    monkeypatch.chdir(tmp_path)
    choice = [{"type": "choices", "value": {"choices": ["positive"]}}]
    tasks = [
        {
            "id": 1,
            "data": {"text": "Works now"},
            "annotations": [
                {"completed_by": 3, "result": choice},
                {"completed_by": {"id": 4, "email": "bob@example.org"}, "result": choice},
            ],
        }
    ]
    Path("project-7-export.json").write_text(json.dumps(tasks))
    record = {"text": "Still broken", "meta": {"id": "2"}, "_annotator_id": "reviews-alice"}
    Path("reviews.jsonl").write_text(json.dumps({**record, "accept": ["negative"]}) + "\n")

    commands = _commands("Label Studio, Prodigy and Hugging Face")
    assert [c[:2] for c in commands] == [
        ["import-from", "label-studio"],
        ["import-from", "prodigy"],
        ["export-to", "label-studio"],
        ["export-to", "prodigy"],
        ["export-to", "huggingface"],
    ]
    runner = app.test_cli_runner()
    for args in commands:
        if args[1] == "huggingface" and importlib.util.find_spec("datasets") is None:
            continue  # the optional extra; tests/services/test_hf_dataset.py covers it
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output)
    votes = {
        (
            task["meta"]["external_id"],
            a["completed_by"]["email"],
            a["result"][0]["value"]["choices"][0],
        )
        for task in json.loads(Path("tasks.json").read_text())
        for a in task["annotations"]
    }
    assert votes == {
        ("1", "alice", "positive"),
        ("1", "bob", "positive"),
        ("2", "alice", "negative"),
    }
    answers = [json.loads(line) for line in Path("answers.jsonl").read_text().splitlines()]
    assert sorted((r["meta"]["id"], r["_annotator_id"]) for r in answers) == [
        ("1", "alice"),
        ("1", "bob"),
        ("2", "alice"),
    ]
    if importlib.util.find_spec("datasets") is not None:
        assert (Path("my-dataset") / "dataset_dict.json").exists()
