"""The README's Python client session runs as written against a live server."""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
from pathlib import Path

from werkzeug.serving import make_server

from labeler.auth import create_token
from labeler.extensions import db
from tests.conftest import user

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_client_session_runs(app):
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    with app.app_context():
        _, token = create_token(user("admin"), "readme")
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        code = code.replace("http://127.0.0.1:5000", f"http://127.0.0.1:{server.server_port}")
        code = code.replace('"lbl_..."', repr(token))
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            exec(compile(code, "README.md", "exec"), {})  # noqa: S102 - our own README
    finally:
        server.shutdown()
        thread.join(5)
    lines = output.getvalue().splitlines()
    assert lines[0] == "2 items added"
    exported = [json.loads(line) for line in lines[1:] if line.strip()]
    assert [(row["annotator"], row["label"]) for row in exported] == [("admin", "bug")]
