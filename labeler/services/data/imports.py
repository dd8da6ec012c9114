"""Import items (and optionally earlier labels) from CSV, JSONL or a DataFrame.

Rows stream through in chunks, so a million-row file never sits in memory; the
whole import is one transaction, so a bad line anywhere leaves the project as it
was (the caller commits only when :func:`import_rows` returns). Re-importing the
same file is idempotent: items are matched by external id and reported as
added, updated or skipped.

Every new item gets a content fingerprint (:func:`labeler.core.quality.fingerprint` of
its texts, so case, spacing and unicode form do not matter). A row whose content
is already in the project, or earlier in the file, is a duplicate; the mapping's
``duplicates`` says what to do: ``keep`` it as an item of its own, ``skip`` it
(its labels go to the original), or ``link`` it to the original (the queue never
asks for it; it carries the original's labels). A ``gold`` column makes the rows
that have a value in it gold items with that known answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import IO

import pandas as pd

from labeler.core.collector import paused_collector
from labeler.models import Project
from labeler.services.data.bulk_insert import import_cache
from labeler.services.data.export_formats import unescape_cell
from labeler.services.data.import_spec import (
    ColumnMapping,
    ImportFailed,
    ImportReport,
    Progress,
    Row,
)
from labeler.services.data.import_writer import RowImporter
from labeler.services.data.quality import sync_all_copies
from labeler.services.data.readers import frame_rows, read_csv, read_jsonl
from labeler.services.data.span_conll import conll_rows
from labeler.services.items import index_trigger
from labeler.services.labeling.labels import refresh_items
from labeler.services.projects.store import register_fields


def import_file(
    project: Project,
    stream: IO[bytes],
    fmt: str,
    mapping: ColumnMapping,
    chunk_rows: int = 5000,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a CSV or JSONL byte stream; see :func:`import_rows`."""
    counter = [0]
    if fmt == "csv":
        header, rows = read_csv(stream, counter)
        header = [unescape_cell(h) for h in header] if mapping.unescape_formulas else header
        _check_header(header, mapping)
        if mapping.unescape_formulas:
            rows = (
                (line, {unescape_cell(k): unescape_cell(v) for k, v in raw.items()})
                for line, raw in rows
            )
    elif fmt == "jsonl":
        _, rows = read_jsonl(stream, counter)
    elif fmt == "conll":  # span answers onto the items' texts (services/data/span_conll.py)
        rows, mapping = conll_rows(project, stream, mapping, counter)
    else:
        raise ImportFailed(f"unknown format {fmt!r}: use csv, jsonl or conll")
    return import_rows(
        project,
        rows,
        mapping,
        chunk_rows,
        (lambda n: progress(n, counter[0])) if progress else None,
    )


def import_frame(
    project: Project, frame: pd.DataFrame, mapping: ColumnMapping, chunk_rows: int = 5000
) -> ImportReport:
    """Import a pandas DataFrame (from a notebook); row numbers count from 1."""
    _check_header([str(c) for c in frame.columns], mapping)
    return import_rows(project, frame_rows(frame), mapping, chunk_rows)


def _check_header(header: list[str], mapping: ColumnMapping) -> None:
    wanted = [mapping.id, *mapping.data_columns, mapping.label, mapping.annotator, mapping.gold]
    for column in (c for c in wanted if c):
        if column not in header:
            raise ImportFailed(
                f"missing column {column!r} (the file has: {', '.join(header)})", line=1
            )


def import_rows(
    project: Project,
    rows: Iterable[Row],
    mapping: ColumnMapping,
    chunk_rows: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate and write ``rows`` into ``project``; raise :class:`ImportFailed` on bad input.

    Nothing is committed here; on an exception the caller rolls back, so an
    import lands whole or not at all.
    """
    mapping.check()
    importer = RowImporter(project, mapping, ImportReport())
    with import_cache(), paused_collector():
        report = importer.run(rows, chunk_rows, progress)
        if report.rows == 0:
            raise ImportFailed("the file has no rows to import")
        register_fields(project, mapping)
        project.n_items += report.added
        project.n_linked = (project.n_linked or 0) + report.duplicates_linked
        if importer.labels and importer.labels.touched:
            # Labels came in: the items they reached get their counts, tiers and consensus
            # as submits would have left them, a chunk at a time (no other item changes).
            refresh_items(project, importer.labels.touched, chunk_rows)
        if report.duplicates_linked or mapping.label:
            sync_all_copies(project)
        if report.added or report.updated:
            index_trigger.request(project, "import")  # dispatched once the import commits
    return report
