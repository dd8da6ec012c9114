"""The README's client session and the raw HTTP session of docs/api.md run as written
against a live server."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

from labeler.auth import create_token
from labeler.extensions import db
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
