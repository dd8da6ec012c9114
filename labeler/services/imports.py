"""Import items (and optionally earlier labels) from CSV, JSONL or a DataFrame.

Rows stream through in chunks, so a million-row file never sits in memory; the
whole import is one transaction, so a bad line anywhere leaves the project as it
was (the caller commits only when :func:`import_rows` returns). Re-importing the
same file is idempotent: items are matched by external id and reported as
added, updated or skipped.

Every new item gets a content fingerprint (:func:`labeler.quality.fingerprint` of
its texts, so case, spacing and unicode form do not matter). A row whose content
is already in the project, or earlier in the file, is a duplicate; the mapping's
``duplicates`` says what to do: ``keep`` it as an item of its own, ``skip`` it
(its labels go to the original), or ``link`` it to the original (the queue never
asks for it; it carries the original's labels). A ``gold`` column makes the rows
that have a value in it gold items with that known answer.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import IO, Any

import numpy as np
import pandas as pd
from sqlalchemy import func, insert, select, update

from labeler.extensions import db
from labeler.models import TIER_DONE, Item, Project
from labeler.quality import fingerprint
from labeler.services import ServiceError
from labeler.services.export_formats import unescape_cell
from labeler.services.gold import TIER_GOLD, restore_gold_tier
from labeler.services.import_labels import LabelWriter
from labeler.services.labels import refresh_project
from labeler.services.projects import recount, register_fields
from labeler.services.quality import sync_all_copies

Progress = Callable[[int, int], None]  # (rows done, bytes read)
Row = tuple[int, dict[str, Any]]  # (line number, raw values by column)


class ImportFailed(ServiceError):
    """Bad input; ``line`` and ``column`` say where, when known."""

    def __init__(self, message: str, line: int | None = None, column: str | None = None):
        parts = (line and f"line {line}", column and f"column {column!r}")
        where = ", ".join(p for p in parts if p)
        super().__init__(
            f"{where}: {message}" if where else message, {"line": line, "column": column}
        )
        self.line, self.column = line, column


@dataclass(frozen=True)
class ColumnMapping:
    """Which input column plays which part. ``id`` None means generated from content."""

    id: str | None = None
    text: tuple[str, ...] = ()
    image: str | None = None
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    meta: tuple[str, ...] = ()  # shown beside the item, not given to the model
    label: str | None = None
    annotator: str | None = None
    default_annotator: str = "imported"
    # The file is a labeler CSV export: undo its spreadsheet-safety apostrophes.
    unescape_formulas: bool = False
    gold: str | None = None  # known answers: rows with a value here become gold items
    duplicates: str = "keep"  # keep | skip | link rows whose content is already there

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ColumnMapping:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(raw) - known
        if unknown:
            raise ImportFailed(f"unknown mapping keys: {', '.join(sorted(unknown))}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
        return cls(**values)

    @property
    def data_columns(self) -> list[str]:
        cols = [
            *self.text,
            *([self.image] if self.image else []),
            *self.numeric,
            *self.categorical,
            *self.meta,
        ]
        return list(dict.fromkeys(cols))

    def check(self) -> None:
        if not self.data_columns:
            raise ImportFailed(
                "map at least one column to a text, image, numeric, categorical or meta field"
            )
        if self.annotator and not self.label:
            raise ImportFailed("an annotator column needs a label column")
        if self.duplicates not in DUPLICATE_POLICIES:
            raise ImportFailed(f"duplicates must be one of {', '.join(DUPLICATE_POLICIES)}")
        if self.gold and self.gold in self.data_columns:
            raise ImportFailed(f"the gold column {self.gold!r} cannot also be shown to annotators")

    @property
    def content_columns(self) -> list[str]:
        """The fields that make two rows "the same": the texts, else the model inputs."""
        return list(self.text) or [*self.numeric, *self.categorical] or self.data_columns


DUPLICATE_POLICIES = ("keep", "skip", "link")


@dataclass
class ImportReport:
    rows: int = 0
    added: int = 0
    updated: int = 0
    skipped: int = 0
    duplicate_rows: int = 0  # identical rows with generated ids, kept once
    annotations_added: int = 0
    annotations_changed: int = 0
    annotations_unchanged: int = 0
    # New rows whose normalised content is already in the project or earlier in the
    # file, and what became of them (see ColumnMapping.duplicates).
    duplicates_found: int = 0
    duplicates_skipped: int = 0
    duplicates_linked: int = 0
    gold_marked: int = 0
    messages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def unit_hash(seed: int, salt: str, key: str) -> float:
    """A stable value in [0, 1) from ``key``: the same id always lands in the same split."""
    digest = hashlib.blake2b(f"{seed}:{salt}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


# --- readers ---------------------------------------------------------------------------


def _decoded_lines(stream: IO[bytes], counter: list[int]) -> Iterator[str]:
    for number, raw in enumerate(stream, start=1):
        counter[0] += len(raw)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFailed(
                f"byte {exc.start + 1} of this line is not valid UTF-8 (save the file as UTF-8)",
                line=number,
            ) from None
        yield text.removeprefix("\ufeff") if number == 1 else text


def read_csv(stream: IO[bytes], counter: list[int]) -> tuple[list[str], Iterator[Row]]:
    reader = csv.reader(_decoded_lines(stream, counter))
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFailed("the file is empty") from None
    except csv.Error as exc:
        raise ImportFailed(str(exc), line=1) from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise ImportFailed("the header repeats a column name", line=1)

    def rows() -> Iterator[Row]:
        start = reader.line_num
        try:
            for values in reader:
                line = start + 1
                start = reader.line_num
                if not values:
                    continue
                if len(values) != len(header):
                    raise ImportFailed(
                        f"{len(values)} values, but the header has {len(header)} columns", line=line
                    )
                yield line, dict(zip(header, values, strict=True))
        except csv.Error as exc:
            raise ImportFailed(str(exc), line=reader.line_num) from None

    return header, rows()


def read_jsonl(stream: IO[bytes], counter: list[int]) -> tuple[None, Iterator[Row]]:
    def rows() -> Iterator[Row]:
        for number, line in enumerate(_decoded_lines(stream, counter), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ImportFailed(
                    f"malformed JSON ({exc.msg} at character {exc.colno})", line=number
                ) from None
            if not isinstance(value, dict):
                raise ImportFailed("each line must be a JSON object", line=number)
            yield number, value

    return None, rows()


def frame_rows(frame: pd.DataFrame) -> Iterator[Row]:
    """Rows of a DataFrame, numbered from 1; missing values become None."""
    columns = [str(c) for c in frame.columns]
    for start in range(0, len(frame), 10_000):
        part = frame.iloc[start : start + 10_000].astype(object)
        part = part.where(pd.notna(part), None)
        for offset, values in enumerate(part.itertuples(index=False, name=None)):
            yield start + offset + 1, dict(zip(columns, values, strict=True))


# --- the import ------------------------------------------------------------------------


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
    else:
        raise ImportFailed(f"unknown format {fmt!r}: use csv or jsonl")
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
    report = _Importer(project, mapping, ImportReport()).run(rows, chunk_rows, progress)
    if report.rows == 0:
        raise ImportFailed("the file has no rows to import")
    register_fields(project, mapping)
    if mapping.label:
        recount(project)  # labels came in: counters, queue tiers and consensus change
        restore_tiers(project)
        refresh_project(project)
    else:
        project.n_items += report.added
        project.n_linked = (project.n_linked or 0) + report.duplicates_linked
    if report.duplicates_linked or mapping.label:
        sync_all_copies(project)
    return report


def restore_tiers(project: Project) -> None:
    """After a recount: gold items back in their tier, linked copies out of the queue."""
    restore_gold_tier(project)
    db.session.execute(
        update(Item)
        .where(Item.project_id == project.id, Item.duplicate_of.is_not(None))
        .values(queue_tier=TIER_DONE)
    )


class _Importer:
    def __init__(self, project: Project, mapping: ColumnMapping, report: ImportReport):
        self.project, self.mapping, self.report = project, mapping, report
        self.labels = LabelWriter(project, mapping, report) if mapping.label else None
        self.key_hashes: list[np.ndarray] = []
        self.key_lines: list[np.ndarray] = []

    def run(
        self, rows: Iterable[Row], chunk_rows: int, progress: Callable[[int], None] | None
    ) -> ImportReport:
        iterator = iter(rows)
        while chunk := list(islice(iterator, chunk_rows)):
            self._chunk(chunk)
            if progress:
                progress(self.report.rows)
        self._check_duplicates_across_chunks()
        return self.report

    def _chunk(self, chunk: list[Row]) -> None:
        parsed: dict[str, tuple[int, dict[str, Any]]] = {}
        gold: dict[str, str] = {}
        keys: dict[tuple[str, str | None], int] = {}
        label_rows: list[tuple[int, str, str, str]] = []
        for line, raw in chunk:
            self.report.rows += 1
            external_id, data = self._parse(line, raw)
            annotator = self._annotator(line, raw)
            key = (external_id, annotator)
            if key in keys:
                if self.mapping.id is None and parsed[external_id][1] == data:
                    self.report.duplicate_rows += 1
                    continue
                raise ImportFailed(
                    f"duplicate id {external_id!r} (first seen on line {keys[key]})",
                    line=line,
                    column=self.mapping.id,
                )
            keys[key] = line
            parsed.setdefault(external_id, (line, data))
            answer = self._gold(line, raw)
            if answer is not None:
                gold[external_id] = answer
            label = self._label(line, raw)
            if label is not None and annotator is not None:
                label_rows.append((line, external_id, annotator, label))
        self.key_hashes.append(np.fromiter((hash(k) for k in keys), np.int64, len(keys)))
        self.key_lines.append(np.fromiter(keys.values(), np.int64, len(keys)))
        ids = self._write_items(parsed)
        if gold:
            self._mark_gold(gold, ids)
        if self.labels:
            self.labels.write(label_rows, ids)

    def _parse(self, line: int, raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        data = {
            column: _value(line, column, raw, self.mapping) for column in self.mapping.data_columns
        }
        if self.mapping.id is None:
            blob = json.dumps(data, sort_keys=True, ensure_ascii=False)
            return hashlib.sha1(blob.encode()).hexdigest()[:16], data
        external_id = raw.get(self.mapping.id)
        if external_id is None or str(external_id).strip() == "":
            raise ImportFailed("the id is empty", line=line, column=self.mapping.id)
        external_id = str(external_id).strip()
        if len(external_id) > 255:
            raise ImportFailed("the id is longer than 255 characters", line, self.mapping.id)
        return external_id, data

    def _annotator(self, line: int, raw: dict[str, Any]) -> str | None:
        if not self.mapping.label:
            return None
        if not self.mapping.annotator:
            return self.mapping.default_annotator
        name = raw.get(self.mapping.annotator)
        name = "" if name is None else str(name).strip()
        if not name:
            raise ImportFailed("the annotator is empty", line=line, column=self.mapping.annotator)
        return name

    def _label(self, line: int, raw: dict[str, Any]) -> str | None:
        if not self.mapping.label:
            return None
        value = raw.get(self.mapping.label)
        if value is None or str(value).strip() == "":
            return None
        label = str(value).strip()
        if label not in self.project.label_names:
            raise ImportFailed(
                f"{label!r} is not in the label set ({', '.join(self.project.label_names)})",
                line=line,
                column=self.mapping.label,
            )
        return label

    def _gold(self, line: int, raw: dict[str, Any]) -> str | None:
        if not self.mapping.gold:
            return None
        value = raw.get(self.mapping.gold)
        if value is None or str(value).strip() == "":
            return None
        label = str(value).strip()
        if label not in self.project.label_names:
            raise ImportFailed(
                f"gold answer {label!r} is not in the label set "
                f"({', '.join(self.project.label_names)})",
                line=line,
                column=self.mapping.gold,
            )
        return label

    def _mark_gold(self, gold: dict[str, str], ids: dict[str, int]) -> None:
        for external_id, label in gold.items():
            db.session.execute(
                update(Item)
                .where(Item.id == ids[external_id])
                .values(is_gold=True, gold_label=label, queue_tier=TIER_GOLD)
            )
        self.report.gold_marked += len(gold)

    def _write_items(self, parsed: dict[str, tuple[int, dict[str, Any]]]) -> dict[str, int]:
        project = self.project
        ids: dict[str, int] = {}
        existing = db.session.execute(
            select(Item.external_id, Item.id, Item.data).where(
                Item.project_id == project.id, Item.external_id.in_(list(parsed))
            )
        ).all()
        for external_id, item_id, data in existing:
            ids[external_id] = item_id
            new = parsed[external_id][1]
            if data == new:
                self.report.skipped += 1
            else:
                db.session.execute(
                    Item.__table__.update().where(Item.id == item_id).values(data=new)
                )
                self.report.updated += 1
        fields = self.mapping.content_columns
        fresh = [
            {
                "project_id": project.id,
                "external_id": ext,
                "data": data,
                "split": "test"
                if unit_hash(project.split_seed, "split", ext) < project.test_fraction
                else "train",
                "queue_rank": unit_hash(project.split_seed, "rank", ext),
                "content_hash": fingerprint(data, fields),
            }
            for ext, (_, data) in parsed.items()
            if ext not in ids
        ]
        if fresh:
            originals, copies = self._split_duplicates(fresh)
            self._insert(originals, ids)
            if self.mapping.duplicates == "link" and copies:
                found = self._originals({row["content_hash"] for row in copies})
                # A copy follows its original's split: the same text on both sides of
                # the train/test line would leak the answer into the test score.
                splits = dict(
                    db.session.execute(
                        select(Item.id, Item.split).where(Item.id.in_(list(found.values())))
                    ).all()
                )
                for row in copies:
                    original = found[row["content_hash"]]
                    row["duplicate_of"], row["queue_tier"] = original, TIER_DONE
                    row["split"] = splits[original]
                self._insert(copies, ids)
                self.report.duplicates_linked += len(copies)
            elif copies:  # skip: a skipped row's labels go to its original
                found = self._originals({row["content_hash"] for row in copies})
                ids.update({row["external_id"]: found[row["content_hash"]] for row in copies})
                self.report.duplicates_skipped += len(copies)
        return ids

    def _split_duplicates(
        self, fresh: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(rows to insert as they are, duplicates to skip or link) for this chunk."""
        known = self._originals({row["content_hash"] for row in fresh})
        seen: set[str] = set(known)
        originals, copies = [], []
        for row in fresh:
            duplicate = row["content_hash"] in seen
            seen.add(row["content_hash"])
            self.report.duplicates_found += duplicate
            if duplicate and self.mapping.duplicates != "keep":
                copies.append(row)
            else:
                originals.append(row)
        return originals, copies

    def _originals(self, hashes: set[str]) -> dict[str, int]:
        """content hash -> id of the first item with it (walks ix_item_content_hash)."""
        if not hashes:
            return {}
        return dict(
            db.session.execute(
                select(Item.content_hash, func.min(Item.id))
                .where(
                    Item.project_id == self.project.id,
                    Item.content_hash.in_(list(hashes)),
                    Item.duplicate_of.is_(None),
                )
                .group_by(Item.content_hash)
            ).all()
        )

    def _insert(self, rows: list[dict[str, Any]], ids: dict[str, int]) -> None:
        if not rows:
            return
        # Core executemany: the ORM bulk path costs 3x more here and adds nothing.
        db.session.execute(insert(Item.__table__), rows)
        self.report.added += len(rows)
        if self.labels or self.mapping.gold:
            ids.update(
                db.session.execute(
                    select(Item.external_id, Item.id).where(
                        Item.project_id == self.project.id,
                        Item.external_id.in_([row["external_id"] for row in rows]),
                    )
                ).all()
            )

    def _check_duplicates_across_chunks(self) -> None:
        if len(self.key_hashes) < 2:
            return
        hashes = np.concatenate(self.key_hashes)
        lines = np.concatenate(self.key_lines)
        order = np.argsort(hashes, kind="stable")
        same = np.flatnonzero(hashes[order][1:] == hashes[order][:-1])
        if same.size:
            first, second = sorted((int(lines[order][same[0]]), int(lines[order][same[0] + 1])))
            raise ImportFailed(
                f"duplicate id (the same id as line {first})", line=second, column=self.mapping.id
            )


def _value(line: int, column: str, raw: dict[str, Any], mapping: ColumnMapping) -> Any:
    if column not in raw:
        if column in mapping.text or column == mapping.id:
            raise ImportFailed("missing field", line=line, column=column)
        return None
    value = raw[column]
    if column in mapping.numeric:
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ImportFailed(f"{value!r} is not a number", line=line, column=column) from None
        if math.isnan(number):
            return None
        return int(number) if number.is_integer() and not isinstance(value, float) else number
    if value is None:
        return None
    if column in mapping.text and not isinstance(value, str):
        raise ImportFailed(f"expected text, got {type(value).__name__}", line, column)
    return value if isinstance(value, str) else str(value)


def preview(stream: IO[bytes], fmt: str, n: int = 5) -> tuple[list[str], list[dict[str, Any]]]:
    """The columns and first ``n`` rows of a file, for the column-mapping form."""
    counter = [0]
    if fmt == "csv":
        header, rows = read_csv(stream, counter)
        sample = [raw for _, raw in islice(rows, n)]
        return header, sample
    _, rows = read_jsonl(stream, counter)
    sample = [raw for _, raw in islice(rows, n)]
    columns = list(dict.fromkeys(key for raw in sample for key in raw))
    if not columns:
        raise ImportFailed("the file is empty")
    return columns, sample
