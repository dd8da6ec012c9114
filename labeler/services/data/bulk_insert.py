"""Many rows into one table at once, for imports: the statement per row built once.

SQLAlchemy's multi-row INSERT (``insertmanyvalues``) builds and processes every row's
parameters through its compiled statement: at 100,000 imported items that is about
a third of the import's CPU time, more than SQLite takes to store them
(benchmarks/README.md, bulk import). On SQLite, :func:`insert_rows` writes the same
multi-row ``INSERT ... VALUES (...), (...) RETURNING`` itself on the driver's cursor,
each value passed through the column type's own bind processor, so what is stored is
byte for byte what SQLAlchemy would store (``tests/services/test_bulk_insert.py``).
Other databases take SQLAlchemy's way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain, repeat
from typing import Any

from sqlalchemy import DateTime, Table, insert

from labeler.extensions import db

# ? placeholders per statement: at most this many, and never past the linked SQLite's
# own limit (32,766 since 3.32, 999 before)
SQLITE_MAX_VARIABLES = 32766
# A text all rows share goes into the statement once per row: short ones only.
LITERAL_TEXT_MAX = 64
# The page cache an import's connection holds, in KiB (SQLite's default is 2,000 KiB). A
# chunk's rows land at random places in the item indexes (external id, content hash,
# queue rank); with the default cache SQLite spills dirty pages to the WAL mid-
# transaction and reads them back, about a tenth of a 100,000-row import's CPU time.
IMPORT_CACHE_KIB = 65536


@contextmanager
def import_cache() -> Iterator[None]:
    """A larger SQLite page cache on the session's connection while an import writes;
    the connection's own size is put back after (its pages then freed). Other databases
    keep their settings."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    driver: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]
    (before,) = driver.execute("PRAGMA cache_size").fetchone()
    driver.execute(f"PRAGMA cache_size = {-IMPORT_CACHE_KIB}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA cache_size = {int(before)}")


def insert_rows(
    table: Table, rows: Sequence[dict[str, Any]], returning: Sequence[str] = ()
) -> list[tuple[Any, ...]]:
    """INSERT ``rows`` (dicts of column values) into ``table`` in the session's
    transaction; the ``returning`` columns of every inserted row (in no set order).
    A column a row leaves out gets its column default, as SQLAlchemy gives it (a
    callable default is called once for the whole call)."""
    if not rows:
        return []
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        statement = insert(table)
        if returning:
            statement = statement.returning(*(table.c[name] for name in returning))
        result = db.session.execute(statement, list(rows))
        return [tuple(row) for row in result] if returning else []
    dialect = connection.dialect
    given = set().union(*map(dict.keys, rows))
    names: list[str] = []
    slots: list[str] = []  # per column: "?", or the SQL literal every row shares
    columns: list[list[Any]] = []  # the bound values of the "?" columns, all rows
    for column in table.c:
        processor = column.type._cached_bind_processor(dialect)
        if column.name in given:
            if processor is not None and isinstance(column.type, DateTime):
                processor = _remembered(processor)  # a chunk's rows share one timestamp
            values = [row.get(column.name) for row in rows]
            values = values if processor is None else list(map(processor, values))
        elif column.default is not None and not column.primary_key:
            value = column.default.arg
            value = value(None) if column.default.is_callable else value
            values = [processor(value) if processor else value] * len(rows)
        else:
            continue
        names.append(column.name)
        # not a timestamp: it changes from call to call, and a statement whose text
        # changes is prepared again each time (the driver caches them by text), which
        # costs more than binding (benchmarks/README.md, bulk import, third pass)
        literal = None if isinstance(column.type, DateTime) else _shared_literal(values)
        slots.append("?" if literal is None else literal)
        if literal is None:
            columns.append(values)
    placeholders = "(" + ", ".join(slots) + ")"
    head = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES "
    tail = f" RETURNING {', '.join(returning)}" if returning else ""
    driver: sqlite3.Connection = connection.connection.driver_connection  # type: ignore[assignment]
    limit = min(SQLITE_MAX_VARIABLES, driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    per_statement = max(1, limit // max(1, len(columns)))
    cursor = driver.cursor()
    returned: list[tuple[Any, ...]] = []
    try:
        for start in range(0, len(rows), per_statement):
            end = start + per_statement
            parts = [values[start:end] for values in columns]  # the loops run in C
            statement = head + ", ".join(repeat(placeholders, len(rows[start:end]))) + tail
            cursor.execute(statement, list(chain.from_iterable(zip(*parts, strict=True))))
            if returning:
                returned.extend(cursor.fetchall())
    finally:
        cursor.close()
    return returned


def _shared_literal(values: list[Any]) -> str | None:
    """The SQL text of the one value all of ``values`` are (bound, as the driver gets it),
    when SQLite reads it back as exactly that: NULL, an integer, a text without NUL.
    None otherwise (a float, bytes, values that differ): it stays a parameter. A column
    all rows share (the project, a default, a settled count or tier) then takes no
    variable, so a statement holds more rows under SQLite's limit (benchmarks/README.md,
    bulk import, third pass)."""
    first = values[0]
    if values.count(first) != len(values) or len(set(map(type, values))) != 1:
        return None  # (1 == 1.0 == True: the types must match too)
    if first is None:
        return "NULL"
    if type(first) is int and -(2**63) <= first < 2**63:
        return str(first)
    if type(first) is str and len(first) <= LITERAL_TEXT_MAX and "\x00" not in first:
        return "'" + first.replace("'", "''") + "'"
    return None


def _remembered(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``processor`` that converts each distinct value once: formatting a datetime costs
    more than looking it up."""
    seen: dict[Any, Any] = {}

    def process(value: Any) -> Any:
        if value not in seen:
            seen[value] = processor(value)
        return seen[value]

    return process
