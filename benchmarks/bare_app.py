"""The physical limit for bench_load.py: a bare Flask + sqlite3 app doing a cycle's
minimal work, served by the same gunicorn set-up as labeler.

GET next: one indexed select of the next open item and one update of its lease
counter (in one write transaction, so k holds); POST a label: one insert and one
counter update, and with ``"next": 1`` (the form's loop) the next item's select and
lease in the same transaction. No sessions, tokens, consensus, history or JSON schema: the
"Authorization: Bearer <name>" header is taken as the annotator's name.

    BARE_DB=/tmp/bare.sqlite gunicorn 'benchmarks.bare_app:create()'
"""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, jsonify, request

SCHEMA = """
CREATE TABLE IF NOT EXISTS item (id INTEGER PRIMARY KEY, rank REAL, taken INTEGER DEFAULT 0,
                                 n INTEGER DEFAULT 0);
CREATE INDEX IF NOT EXISTS ix_item_open ON item (taken, rank);
CREATE TABLE IF NOT EXISTS annotation (id INTEGER PRIMARY KEY, item_id INTEGER, user TEXT,
                                       label TEXT, UNIQUE (item_id, user));
"""


def prepare(path: str, n_items: int) -> None:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.executescript(SCHEMA)
    connection.executemany(
        "INSERT INTO item (id, rank) VALUES (?, ?)",
        ((i + 1, ((i * 2654435761) % 2**32) / 2**32) for i in range(n_items)),
    )
    connection.commit()
    connection.close()


def create() -> Flask:
    app = Flask("bare")
    path, k = os.environ["BARE_DB"], int(os.environ.get("BARE_K", "2"))
    local = threading.local()

    def connection() -> sqlite3.Connection:
        if not hasattr(local, "connection"):
            local.connection = sqlite3.connect(path, timeout=30, isolation_level=None)
            local.connection.execute("PRAGMA synchronous=NORMAL")
        return local.connection

    def user() -> str:
        return request.headers.get("Authorization", "").partition(" ")[2]

    @app.get("/api/v1/projects/<int:project_id>/next")
    def next_item(project_id: int):
        db = connection()
        db.execute("BEGIN IMMEDIATE")
        row = db.execute(
            "SELECT id FROM item WHERE taken < ? ORDER BY taken, rank LIMIT 1", (k,)
        ).fetchone()
        if row:
            db.execute("UPDATE item SET taken = taken + 1 WHERE id = ?", row)
        db.execute("COMMIT")
        return jsonify({"items": [{"id": row[0]}] if row else []})

    @app.post("/api/v1/projects/<int:project_id>/items/<int:item_id>/annotation")
    def annotate(project_id: int, item_id: int):
        body = request.get_json()
        db = connection()
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "INSERT INTO annotation (item_id, user, label) VALUES (?, ?, ?)",
            (item_id, user(), body["label"]),
        )
        db.execute("UPDATE item SET n = n + 1 WHERE id = ?", (item_id,))
        answer: dict = {"outcome": "created"}
        if body.get("next"):  # the form's loop: lease the next item in the same write
            row = db.execute(
                "SELECT id FROM item WHERE taken < ? ORDER BY taken, rank LIMIT 1", (k,)
            ).fetchone()
            if row:
                db.execute("UPDATE item SET taken = taken + 1 WHERE id = ?", row)
            answer["next"] = {"items": [{"id": row[0]}] if row else []}
        db.execute("COMMIT")
        return jsonify(answer), 201

    @app.get("/login")
    def login():
        return "ok"

    return app
