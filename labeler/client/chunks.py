"""Cutting an import into requests, and the optional progress bar."""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol


class Bar(Protocol):
    def update(self, n: int) -> Any: ...


class _NoBar:
    def update(self, n: int) -> None:
        pass


@contextlib.contextmanager
def progress_bar(enabled: bool, total: int, description: str, unit: str = "rows") -> Iterator[Bar]:
    """A tqdm bar when tqdm is installed and ``enabled``, else one that draws nothing."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        enabled = False
    if not enabled:
        yield _NoBar()
        return
    scale = unit == "B"
    with tqdm(total=total, desc=description, unit=unit, unit_scale=scale) as bar:
        yield bar


def chunk_records(
    records: Sequence[dict[str, Any]], size: int
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """(number of the chunk's first record, counted from 1; the records) per chunk."""
    for start in range(0, len(records), size):
        yield start + 1, list(records[start : start + size])


def chunk_file(path: Path, fmt: str, size: int) -> Iterator[tuple[int, bytes, int]]:
    """(first record's number, a file of ``size`` records, bytes of the source read).

    CSV chunks repeat the header and are re-quoted by the csv module, so a quoted
    cell holding newlines stays whole; JSONL splits at ``\\n`` only."""
    if fmt == "jsonl":
        yield from _jsonl_chunks(path, size)
    else:
        yield from _csv_chunks(path, size)


def _jsonl_chunks(path: Path, size: int) -> Iterator[tuple[int, bytes, int]]:
    with path.open("rb") as source:
        start, lines = 1, []
        for line in source:
            lines.append(line)
            if len(lines) == size:
                yield start, b"".join(lines), sum(map(len, lines))
                start, lines = start + size, []
        if lines:
            yield start, b"".join(lines), sum(map(len, lines))


def _csv_chunks(path: Path, size: int) -> Iterator[tuple[int, bytes, int]]:
    with path.open(newline="", encoding="utf-8-sig") as source:
        reader = csv.reader(source)
        header = next(reader, None)
        if header is None:
            return
        header_bytes = len(_csv_bytes(header, []))
        start, rows = 1, []
        for row in reader:
            rows.append(row)
            if len(rows) == size:
                payload = _csv_bytes(header, rows)
                yield start, payload, len(payload) - header_bytes
                start, rows = start + size, []
        if rows:
            payload = _csv_bytes(header, rows)
            yield start, payload, len(payload) - header_bytes


def _csv_bytes(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()
