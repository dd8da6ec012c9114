"""The README's Python client session runs as written against a live server."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

from labeler.auth import create_token
from labeler.extensions import db
from tests.conftest import serving, user

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_client_session_runs(app):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    with app.app_context():
        _, token = create_token(user("admin"), "readme")
        db.session.commit()
    with serving(app) as url:
        code = code.replace("http://127.0.0.1:5000", url).replace('"lbl_..."', repr(token))
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - our own README
    lines = output.getvalue().splitlines()
    assert lines[0] == "2 items added"
    exported = [json.loads(line) for line in lines[1:] if line.strip()]
    assert [(row["annotator"], row["label"]) for row in exported] == [("admin", "bug")]
