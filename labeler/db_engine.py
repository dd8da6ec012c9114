"""Engine set-up per database: SQLite gets WAL, foreign keys and real transactions.

pysqlite opens transactions lazily and only as DEFERRED, so two annotators could
both read an item as free and both lease it. We take over BEGIN ourselves and let
a unit of work ask for ``BEGIN IMMEDIATE`` (one writer at a time, readers still
run under WAL). PostgreSQL needs none of this: the queue uses SKIP LOCKED there.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from labeler.extensions import db


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def begin_write() -> None:
    """Start the session's transaction as a write transaction (SQLite: IMMEDIATE).

    Call it at the start of a unit of work that reads then writes shared rows
    (leasing an item, submitting a label). Anything read before is discarded.
    """
    db.session.rollback()
    db.session.connection(execution_options={"immediate": True})


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"
