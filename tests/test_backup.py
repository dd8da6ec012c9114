"""labeler backup / restore: a consistent copy while annotators label, restored whole."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path

import pytest
import requests

from labeler.extensions import db
from labeler.models import ModelVersion
from tests.conftest import make_app, make_project, serving

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("LABELER_TEST_DATABASE_URL")), reason="SQLite's backup API"
)


def _tables(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    connection = sqlite3.connect(path)
    try:
        names = [
            r[0]
            for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            name: sorted(connection.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)
            for name in names
        }
    finally:
        connection.close()


def _label(url: str, token: str, project_id: int, stop: threading.Event, acked: list) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    while not stop.is_set():
        items = session.get(f"{url}/api/v1/projects/{project_id}/next").json()["items"]
        if not items:
            return
        item_id = items[0]["id"]
        answer = session.post(
            f"{url}/api/v1/projects/{project_id}/items/{item_id}/annotation",
            json={"label": "spam" if item_id % 2 else "ham"},
        )
        if answer.status_code == 201:
            acked.append((item_id, token))


def test_a_backup_taken_during_labeling_restores_every_table(app, tokens, tmp_path):
    with app.app_context():
        project_id = make_project(n_items=400, k=2).id
        db.session.commit()
    artifact = Path(app.config["ARTIFACT_FOLDER"]) / "project-1" / "version-1.skops"
    artifact.parent.mkdir(parents=True)
    artifact.write_bytes(b"model bytes")
    stop, acked = threading.Event(), []
    with serving(app) as url:
        workers = [
            threading.Thread(target=_label, args=(url, tokens[name], project_id, stop, acked))
            for name in ("alice", "bob", "dave")
        ]
        for worker in workers:
            worker.start()
        while len(acked) < 30:  # labeling is under way
            threading.Event().wait(0.05)
        before = len(acked)
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
        stop.set()
        for worker in workers:
            worker.join(30)
    assert result.exit_code == 0, result.output
    backup = tmp_path / "backup"
    manifest = json.loads((backup / "manifest.json").read_text())
    snapshot = _tables(backup / "labeler.sqlite")
    assert {name: len(rows) for name, rows in snapshot.items()} == manifest["tables"]
    assert manifest["tables"]["annotation"] >= before  # every label acknowledged before

    # one consistent moment: each item's counter matches its annotations in the copy
    copy = sqlite3.connect(backup / "labeler.sqlite")
    mismatched = copy.execute(
        "SELECT count(*) FROM item i WHERE i.n_annotations != "
        "(SELECT count(*) FROM annotation a WHERE a.item_id = i.id)"
    ).fetchone()[0]
    copy.close()
    assert mismatched == 0

    fresh = make_app(tmp_path / "fresh", DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    restored = fresh.test_cli_runner().invoke(args=["restore", str(backup)])
    assert restored.exit_code == 0, restored.output
    assert _tables(tmp_path / "fresh.sqlite") == snapshot
    copied = Path(fresh.config["ARTIFACT_FOLDER"]) / "project-1" / "version-1.skops"
    assert copied.read_bytes() == b"model bytes"
    with fresh.app_context():  # the restored instance works: its models load and query
        assert db.session.query(ModelVersion).count() == manifest["tables"]["model_version"]
        db.engine.dispose()


def test_a_quiet_instance_restores_exactly_and_a_full_one_refuses(app, tmp_path):
    with app.app_context():
        make_project(n_items=20)
        db.session.commit()
        source = Path(db.engine.url.database)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["backup", str(tmp_path / "b")]).exit_code == 0
    again = runner.invoke(args=["backup", str(tmp_path / "b")])
    assert again.exit_code != 0 and "not empty" in again.output

    refused = runner.invoke(args=["restore", str(tmp_path / "b")])  # app's own, full instance
    assert refused.exit_code != 0 and "user: 6 rows" in refused.output
    fresh = make_app(tmp_path / "fresh", DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    assert fresh.test_cli_runner().invoke(args=["restore", str(tmp_path / "b")]).exit_code == 0
    assert _tables(tmp_path / "fresh.sqlite") == _tables(source)

    not_a_backup = fresh.test_cli_runner().invoke(args=["restore", str(tmp_path)])
    assert not_a_backup.exit_code != 0 and "not a labeler backup" in not_a_backup.output


def test_the_readme_backup_commands_run_as_written(app, tmp_path, monkeypatch):
    """The SQLite lines of "Backup and restore": a backup, then a restore and an init
    in the instance that ``LABELER_INSTANCE_PATH`` names."""
    import re
    import shlex

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme[readme.index("## Backup and restore") :]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    lines = [shlex.split(line.split(" #")[0]) for line in block.splitlines() if line.strip()]
    with app.app_context():
        make_project(n_items=12)
        db.session.commit()
        source = Path(db.engine.url.database)
    monkeypatch.chdir(tmp_path)
    apps = {}
    for words in lines:
        env = dict(w.split("=", 1) for w in words if re.fullmatch(r"[A-Z_]+=.*", w))
        args = [w for w in words if not re.fullmatch(r"[A-Z_]+=.*", w)]
        assert args[0] == "labeler", words
        where = env.get("LABELER_INSTANCE_PATH")
        if where is None:
            target = app
        else:  # the README's new instance, under the test's folder
            folder = tmp_path / where.lstrip("/")
            if where not in apps:
                apps[where] = make_app(
                    folder, DATABASE_URL=f"sqlite:///{folder / 'labeler.sqlite'}"
                )
            target = apps[where]
        result = target.test_cli_runner().invoke(args=args[1:])
        assert result.exit_code == 0, (words, result.output)
    (restored,) = apps.values()
    assert _tables(Path(restored.instance_path) / "labeler.sqlite") == _tables(source)
    with restored.app_context():
        db.engine.dispose()
