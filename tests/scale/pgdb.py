"""PostgreSQL for the test suite: ``LABELER_TEST_DATABASE_URL`` switches the fixtures to it.

Set it to a server the tests may create databases on, e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``. The first app of the
session creates a fresh database (``labeler_test_<pid>``), runs the real migrations
on it once, and drops it at exit; :func:`reset` empties every table between tests
(TRUNCATE, so it costs milliseconds, not a migration per test).
Without the variable nothing here runs and the suite stays on SQLite.
"""

from __future__ import annotations

import atexit
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

SERVER_URL = os.environ.get("LABELER_TEST_DATABASE_URL") or None
_database_url: str | None = None


def _admin_execute(statement: str) -> None:
    import psycopg

    server = make_url(SERVER_URL).set(drivername="postgresql")
    with psycopg.connect(
        server.render_as_string(hide_password=False), autocommit=True
    ) as connection:
        connection.execute(statement)


def database_url() -> str | None:
    """The migrated test database's URL (created on first use), or None on SQLite."""
    global _database_url
    if SERVER_URL is None:
        return None
    if _database_url is None:
        name = f"labeler_test_{os.getpid()}"
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin_execute(f'CREATE DATABASE "{name}"')
        atexit.register(_admin_execute, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _database_url = (
            make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
        )
        _migrate(_database_url)
    return _database_url


@contextmanager
def empty_database() -> Iterator[str | None]:
    """A database of its own, created empty and dropped after the block (its URL), for a
    test that runs the migrations itself; None on SQLite (the test's own file is empty)."""
    if SERVER_URL is None:
        yield None
        return
    name = f"labeler_empty_{os.getpid()}_{secrets.token_hex(4)}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str) -> None:
    from labeler import create_app
    from labeler.cli.instance import apply_migrations
    from labeler.extensions import db

    app = create_app(
        {"TESTING": True, "SECRET_KEY": "test", "DATABASE_URL": url, "JOB_EXECUTOR": "inline"}
    )
    with app.app_context():
        apply_migrations()
        db.engine.dispose()


def reset() -> None:
    """Empty every table but Alembic's (a no-op on SQLite)."""
    url = database_url()
    if url is None:
        return
    import psycopg

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ]
        if tables:
            # A connection left in a transaction by the previous test would block TRUNCATE:
            # fail with a clear error instead of hanging.
            connection.execute("SET lock_timeout = '30s'")
            names = ", ".join(f'"{table}"' for table in tables)
            connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
