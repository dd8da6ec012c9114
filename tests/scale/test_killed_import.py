"""A process killed in the middle of an import leaves nothing partial behind."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from labeler.extensions import db
from labeler.services.projects.store import create_project
from tests.conftest import make_app


def test_an_import_killed_half_way_leaves_no_rows(tmp_path):
    from labeler.cli.instance import apply_migrations

    # The embedded default, whatever LABELER_TEST_DATABASE_URL says for other tests.
    url = f"sqlite:///{tmp_path / 'labeler.sqlite'}"
    app = make_app(tmp_path, DATABASE_URL=url)
    with app.app_context():
        apply_migrations()
        create_project("Big", [{"name": "a"}, {"name": "b"}])
        db.session.commit()
        db.engine.dispose()
    big = tmp_path / "big.csv"
    with big.open("w") as handle:
        handle.write("id,text\n")
        handle.writelines(f"id-{i},text number {i}\n" for i in range(600_000))
    env = {
        **os.environ,
        "LABELER_INSTANCE_PATH": str(tmp_path),
        "LABELER_SECRET_KEY": "test",
        "LABELER_IMPORT_CHUNK_ROWS": "2000",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from labeler.cli.main import main; main()",
            "import",
            "Big",
            str(big),
            "--id",
            "id",
            "--text",
            "text",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    time.sleep(4)  # well into the file, long before its end
    assert process.poll() is None, "the import finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    process.stdout.close()
    process.stderr.close()
    connection = sqlite3.connect(tmp_path / "labeler.sqlite")
    try:
        assert connection.execute("SELECT count(*) FROM item").fetchone() == (0,)
        assert connection.execute("SELECT n_items FROM project").fetchone() == (0,)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        connection.close()
