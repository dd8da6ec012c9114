"""A lost database or Redis is a 503 with a retry hint, not a 500 and a stack trace.

PostgreSQL restarting, a failover, a SQLite file locked beyond the busy timeout or
Redis going away all raise connection errors deep inside a request. The user can do
nothing but wait, so say that: ``503 Service Unavailable`` with ``Retry-After``,
JSON for the API and a short page for the browser. Nothing needs resetting when
the service returns: SQLAlchemy drops the pool's dead connections on the first
disconnect it sees, and redis-py reconnects on the next command.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, render_template, request
from markupsafe import escape
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from labeler.extensions import db

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def _redis_errors() -> tuple[type[BaseException], ...]:
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout
    except ImportError:  # redis is an optional extra
        return ()
    return (RedisConnectionError, RedisTimeout)


def init_app(app: Flask) -> None:
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(PoolTimeout, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)  # "connection closed"
    app.register_error_handler(DataError, _value_out_of_range)
    # SQLite's driver refuses integers past 64 bits before the database sees them.
    app.register_error_handler(OverflowError, _value_out_of_range)
    for error in _redis_errors():
        app.register_error_handler(error, _queue_unavailable)


# PostgreSQL's INTEGER is 32-bit where SQLite's is 64-bit: a URL id past it cannot exist.
MAX_INTEGER = 2**31 - 1


def _value_out_of_range(error: DataError | OverflowError) -> Response:
    """PostgreSQL checks types and lengths SQLite lets through, and SQLite's driver
    refuses integers past 64 bits: answer 404 for an id that cannot exist and 422 for
    another value the database refuses, never a 500."""
    _rollback_quietly()
    limit = MAX_INTEGER if isinstance(error, DataError) else 2**63 - 1
    ids = [
        value
        for value in (request.view_args or {}).values()
        if isinstance(value, int) and not -limit <= value <= limit
    ]
    if ids:
        return _error(404, "not found", f"no such id: {ids[0]}")
    first_line = str(getattr(error, "orig", error)).splitlines()[0]
    return _error(422, "invalid value", f"the database refused a value: {first_line}")


def _error(status: int, message: str, detail: str) -> Response:
    if request.path.startswith("/api/"):
        response = jsonify({"error": message, "detail": detail})
    else:
        response = Response(
            render_template(
                "error.html", code=status, title=message.capitalize(), description=detail
            )
        )
    response.status_code = status
    return response


def _database_unavailable(error: Exception) -> Response:
    _rollback_quietly()
    log.warning("database unavailable: %s", str(error).splitlines()[0] if str(error) else error)
    return unavailable(
        "The database is unavailable (restarting or overloaded). "
        "Nothing was lost; try again in a few seconds."
    )


def _queue_unavailable(error: Exception) -> Response:
    _rollback_quietly()
    log.warning("job queue unavailable: %s", error)
    return unavailable(
        "The job queue (Redis) is unavailable; the job was not started. Try again in a few seconds."
    )


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the pool will replace it
        log.debug("rollback after a lost connection failed", exc_info=True)


def unavailable(message: str) -> Response:
    """A 503 response with ``Retry-After``, JSON for API clients, a small page otherwise."""
    wants_json = request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )
    if wants_json:
        response = jsonify(
            {"error": "service unavailable", "detail": message, "retry_after": RETRY_AFTER_SECONDS}
        )
    else:
        response = Response(
            "<!doctype html><title>Unavailable, try again shortly</title>"
            f"<h1>Try again in a few seconds</h1><p>{escape(message)}</p>",
            mimetype="text/html",
        )
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
