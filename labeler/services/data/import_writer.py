"""Write an import's rows: items added or updated by external id, split and rank from a
seeded hash, duplicates kept, skipped or linked, gold answers, and the values checked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, select, update

from labeler.core.kinds import InvalidValue
from labeler.core.quality import fingerprints
from labeler.extensions import db
from labeler.models import TIER_DONE, Item, Project
from labeler.services.data.bulk_insert import insert_rows
from labeler.services.data.import_cells import cell_value
from labeler.services.data.import_labels import LabelWriter
from labeler.services.data.import_spec import ColumnMapping, ImportFailed, ImportReport, Row
from labeler.services.labeling.gold import TIER_GOLD
from labeler.services.labeling.labels import NewItemVotes
from labeler.services.projects import kinds


def unit_hash(seed: int, salt: str, key: str) -> float:
    """A stable value in [0, 1) from ``key``: the same id always lands in the same split."""
    digest = hashlib.blake2b(f"{seed}:{salt}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def unit_hashes(seed: int, salt: str, keys: Sequence[str]) -> np.ndarray:
    """:func:`unit_hash` of each of ``keys``, the same values (float64), a chunk at once:
    the digests are read as one big-endian array instead of one int per key."""
    prefix, blake2b = f"{seed}:{salt}:".encode(), hashlib.blake2b
    digests = b"".join([blake2b(prefix + key.encode(), digest_size=8).digest() for key in keys])
    return np.frombuffer(digests, dtype=">u8") / 2.0**64


# Distinct answer cells remembered per import (a label set's few, a rating scale's points).
MEMO_ANSWERS = 10_000


class RowImporter:
    def __init__(self, project: Project, mapping: ColumnMapping, report: ImportReport):
        self.project, self.mapping, self.report = project, mapping, report
        # The typed value of each answer key read so far (None: the key is the value).
        self.values: dict[str, Any] = {}
        self.labels = LabelWriter(project, mapping, report, self.values) if mapping.label else None
        self.new_votes = NewItemVotes(project) if mapping.label else None
        self.kind, self.kind_context = kinds.kind_of(project), kinds.context(project)
        self.data_columns = mapping.data_columns  # a property: built once, not per row
        # Items the current chunk created: they hold no votes or leases yet, so the
        # label writer looks up neither for them (an item of an earlier chunk may hold
        # that chunk's votes).
        self.created: set[int] = set()
        self.settled: set[int] = set()  # of those, the ones inserted with their votes counted
        self.key_hashes: list[np.ndarray] = []
        self.key_lines: list[np.ndarray] = []
        # A project that held no items before the import can hold only the ones it
        # created: then a chunk asks the database only for the ids and contents that
        # an earlier chunk inserted (these sets hold their salted hashes; usually none
        # match). None: the project had items, and every lookup goes to the database.
        empty = db.session.scalar(select(Item.id).where(Item.project_id == project.id).limit(1))
        self.inserted_ids: set[int] | None = set() if empty is None else None
        self.inserted_contents: set[int] | None = set() if empty is None else None
        # Answer key and stored value by cell text, for a kind whose check of an answer
        # does not depend on the item (the same cell is then the same answer).
        self.answers: dict[str, tuple[str, Any]] = {}

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
        suggested: dict[str, str] = {}
        keys: dict[tuple[str, str | None], int] = {}
        label_rows: list[tuple[int, str, str, str, Any]] = []
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
            answer = self._gold(line, raw, data)
            if answer is not None:
                gold[external_id] = answer
            if self.mapping.suggestion:
                hint = self._answer(line, raw, data, self.mapping.suggestion, "suggestion ")
                if hint is not None:
                    suggested[external_id] = hint
            label = self._label(line, raw, data)
            if label is not None and annotator is not None:
                # The value now: two answers of one key (a pairwise A shown AB or BA)
                # share self.values[key], which the next such row overwrites.
                label_rows.append((line, external_id, annotator, label, self.values.get(label)))
        self.key_hashes.append(np.fromiter((hash(k) for k in keys), np.int64, len(keys)))
        self.key_lines.append(np.fromiter(keys.values(), np.int64, len(keys)))
        self.created, self.settled = set(), set()
        votes: dict[str, list[tuple[str, Any]]] = {}
        for _, external_id, _, label, value in label_rows:
            votes.setdefault(external_id, []).append((label, value))
        ids = self._write_items(parsed, votes)
        if gold:
            self._mark_gold(gold, ids)
        if suggested:
            self._mark_suggestions(suggested, ids)
        if self.labels:
            self.labels.write(label_rows, ids, self.created, self.settled)

    def _parse(self, line: int, raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        data = {column: cell_value(line, column, raw, self.mapping) for column in self.data_columns}
        try:
            self.kind.check_item(data, self.kind_context)
        except InvalidValue as error:
            raise ImportFailed(str(error), line=line, column=error.field) from None
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

    def _label(self, line: int, raw: dict[str, Any], data: dict[str, Any]) -> str | None:
        if not self.mapping.label:
            return None
        return self._answer(line, raw, data, self.mapping.label, "")

    def _gold(self, line: int, raw: dict[str, Any], data: dict[str, Any]) -> str | None:
        if not self.mapping.gold:
            return None
        return self._answer(line, raw, data, self.mapping.gold, "gold answer ")

    def _answer(
        self, line: int, raw: dict[str, Any], data: dict[str, Any], column: str, what: str
    ) -> str | None:
        """The key of the answer in ``column``, checked by the project's task kind (a
        CSV cell in the kind's documented form, or a JSON value); its typed value is
        kept in ``self.values``. None when the cell is empty. The item's fields ``data``
        let a kind whose answers point into the text check them against it (spans)."""
        value = raw.get(column)
        if value is None or (isinstance(value, str) and value.strip() == ""):
            return None
        kind = self.kind
        context = kind.for_item(self.kind_context, data)
        known = isinstance(value, str) and context is self.kind_context
        if known and value in self.answers:
            key, stored = self.answers[value]
            self.values[key] = stored  # another cell of the same key may have set its own
            return key
        try:
            if isinstance(value, list | dict):  # a JSON answer (JSONL or the API)
                answer = kind.validate(value, context)
            else:  # a cell, or a JSON number or string: read as the CSV cell it would be
                answer = kind.parse_csv_cell(str(value).strip(), context)
        except InvalidValue as error:
            allowed = error.detail.get("allowed")
            suffix = f" ({', '.join(map(str, allowed))})" if allowed else ""
            raise ImportFailed(f"{what}{error}{suffix}", line=line, column=column) from None
        key = kind.key(answer)
        self.values[key] = kinds.stored(key, answer)
        if known and len(self.answers) < MEMO_ANSWERS:
            self.answers[value] = (key, self.values[key])
        return key

    def _mark_gold(self, gold: dict[str, str], ids: dict[str, int]) -> None:
        self._update_items(
            [
                {
                    "item_id": ids[external_id],
                    "is_gold": True,
                    "gold_label": label,
                    "gold_value": self.values.get(label),
                    "queue_tier": TIER_GOLD,
                }
                for external_id, label in gold.items()
            ]
        )
        self.report.gold_marked += len(gold)

    def _mark_suggestions(self, suggested: dict[str, str], ids: dict[str, int]) -> None:
        rows = [
            {
                "item_id": ids[external_id],
                "suggestion_label": key,
                "suggestion_value": self.values.get(key),
            }
            for external_id, key in suggested.items()
            if external_id in ids  # a skipped duplicate: its original keeps its own
        ]
        self._update_items(rows)
        self.report.suggestions_imported += len(rows)

    @staticmethod
    def _update_items(rows: list[dict[str, Any]]) -> None:
        """One executemany UPDATE by id for a chunk's rows (all with the same keys)."""
        if not rows:
            return
        table = Item.__table__
        columns = [c for c in rows[0] if c != "item_id"]
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("item_id"))
            .values({c: bindparam(f"v_{c}") for c in columns}),
            [{"item_id": r["item_id"], **{f"v_{c}": r[c] for c in columns}} for r in rows],
        )

    def _write_items(
        self,
        parsed: dict[str, tuple[int, dict[str, Any]]],
        votes: dict[str, list[tuple[str, Any]]],
    ) -> dict[str, int]:
        """Insert or update the chunk's items; ids by external id. ``votes``: the chunk's
        answers by external id, which a new item is inserted with (counted and decided)."""
        project = self.project
        ids: dict[str, int] = {}
        wanted = list(parsed)
        if self.inserted_ids is not None:
            inserted = self.inserted_ids
            wanted = [external_id for external_id in wanted if hash(external_id) in inserted]
        existing = (
            db.session.execute(
                select(Item.external_id, Item.id, Item.data).where(
                    Item.project_id == project.id, Item.external_id.in_(wanted)
                )
            ).all()
            if wanted
            else []
        )
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
        # read once: an ORM attribute read per row costs more than the row's hashing
        project_id, seed, test_fraction = project.id, project.split_seed, project.test_fraction
        new = [(ext, data) for ext, (_, data) in parsed.items() if ext not in ids]
        exts = [ext for ext, _ in new]
        tests = (unit_hashes(seed, "split", exts) < test_fraction).tolist()
        ranks = unit_hashes(seed, "rank", exts).tolist()
        contents = fingerprints([data for _, data in new], fields)
        fresh = [
            {
                "project_id": project_id,
                "external_id": ext,
                "data": data,
                "split": "test" if test else "train",
                "queue_rank": rank,
                "content_hash": content,
            }
            for (ext, data), test, rank, content in zip(new, tests, ranks, contents, strict=True)
        ]
        if fresh:
            originals, copies = self._split_duplicates(fresh)
            if self.new_votes:
                for row in originals:
                    self.new_votes.settle(row, votes.get(row["external_id"], []))
            self._insert(originals, ids)
            if self.new_votes:
                self.new_votes.count(originals, ids)
                self.settled.update(ids[row["external_id"]] for row in originals)
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
                # their originals take their votes too: not settled, but recounted after
                # (an original of this chunk was settled with its own votes alone)
                self.settled.difference_update(found.values())
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
        if self.inserted_contents is not None:
            inserted = self.inserted_contents
            hashes = {content for content in hashes if hash(content) in inserted}
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
        # Multi-row INSERTs that return the ids (with the external id, so order does not
        # matter), and on SQLite one FTS5 write of the search trigger per statement, not
        # per row (benchmarks/README.md).
        returned = insert_rows(Item.__table__, rows, returning=("external_id", "id"))
        external_ids, item_ids = zip(*returned, strict=True)
        ids.update(zip(external_ids, item_ids, strict=True))
        self.created.update(item_ids)
        self.report.added += len(rows)
        if self.inserted_ids is not None and self.inserted_contents is not None:
            self.inserted_ids.update(map(hash, external_ids))
            self.inserted_contents.update(  # the originals a later copy may point to
                hash(row["content_hash"]) for row in rows if row.get("duplicate_of") is None
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
