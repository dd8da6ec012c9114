"""Serialise exported rows: CSV (spreadsheet-safe), JSON Lines, Parquet.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, a tab
or a carriage return) get a leading apostrophe; so do cells that already start
with one, which makes the escape reversible: labeler's importer, told the file
is a labeler export (``unescape_formulas``), strips exactly one apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")


@dataclass(frozen=True)
class AnswerCell:
    """An answer of the project's task kind, as each format holds it: ``value`` in JSON
    Lines and Parquet (a list for multi-label), ``csv_text`` in CSV (the kind's
    documented cell, which labeler's importer reads back exactly)."""

    value: Any
    csv_text: str


FORMATS = ("csv", "jsonl", "parquet")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
    "parquet": "application/vnd.apache.parquet",
}


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, AnswerCell):
        value = value.csv_text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


def unescape_cell(value: str) -> str:
    return value[1:] if value.startswith("'") else value


def csv_chunks(
    rows: Iterable[dict[str, Any]], columns: list[str], rows_per_chunk: int = 1000
) -> Iterator[str]:
    """The CSV text in chunks of ``rows_per_chunk`` rows, header first."""
    buffer = io.StringIO()
    # RFC 4180 line ends: with "\r\n" as terminator the writer quotes any field holding
    # a lone "\r" or "\n", which a reader would otherwise take for a line break.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(column) for column in columns])
    for count, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(row.get(column)) for column in columns])
        if count % rows_per_chunk == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def jsonl_chunks(rows: Iterable[dict[str, Any]], rows_per_chunk: int = 1000) -> Iterator[str]:
    lines: list[str] = []
    for row in rows:
        lines.append(json.dumps(row, ensure_ascii=False, default=_answer_value))
        if len(lines) == rows_per_chunk:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"


def write_parquet(
    rows: Iterable[dict[str, Any]], columns: list[str], path: Path, rows_per_group: int = 50_000
) -> int:
    """Write Parquet in row groups (pyarrow, from the ``parquet`` extra); return row count.

    Each row group's types come from its own rows, so a column may be int in one and
    float (or null) in another. The groups are written to parts beside ``path`` first;
    then every column gets the type that holds all of its groups
    (int and float: float; null and x: x; anything else: string) and the parts are
    copied into one file, a group at a time (one group is renamed, not copied).
    """
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        from labeler.services import ServiceError

        raise ServiceError("Parquet export needs pyarrow: pip install 'labeler[parquet]'") from None
    parts: list[Path] = []
    batch: list[dict[str, Any]] = []
    total = 0

    def flush() -> None:
        table = pa.Table.from_pylist(
            [{c: _plain(r.get(c)) for c in columns} for r in batch],
            schema=None if batch else pa.schema([(c, pa.null()) for c in columns]),
        )
        parts.append(path.with_name(f".{path.name}.part{len(parts)}"))
        pq.write_table(table, str(parts[-1]))

    try:
        for row in rows:
            batch.append(row)
            total += 1
            if len(batch) == rows_per_group:
                flush()
                batch = []
        if batch or not parts:
            flush()
        schemas = [pq.read_schema(str(part)) for part in parts]
        if len(parts) == 1:
            parts[0].replace(path)
            return total
        schema = _unified_schema(pa, columns, schemas)
        with pq.ParquetWriter(str(path), schema) as writer:
            for part in parts:
                writer.write_table(pq.read_table(str(part)).cast(schema))
    finally:
        for part in parts:
            part.unlink(missing_ok=True)
    return total


def _unified_schema(pa: Any, columns: list[str], schemas: list[Any]) -> Any:
    """Per column, the type every row group's type converts to without loss of kind."""
    fields = []
    for name in columns:
        types = [schema.field(name).type for schema in schemas]
        try:
            merged = pa.unify_schemas(
                [pa.schema([pa.field(name, t)]) for t in types], promote_options="permissive"
            ).field(name)
        except (pa.ArrowTypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
            merged = pa.field(name, pa.string())
        fields.append(merged)
    return pa.schema(fields)


def _answer_value(value: Any) -> Any:
    if isinstance(value, AnswerCell):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _plain(value: Any) -> Any:
    if isinstance(value, AnswerCell):
        return value.value
    # Nested values (a JSONL field holding a list) are stored as their JSON text.
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
