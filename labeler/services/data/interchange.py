"""Import from and export to other tools' formats: Label Studio JSON, Prodigy/spaCy JSONL.

The converters are pure (``labeler.core.label_studio``, ``labeler.core.prodigy``) and
ask the project's task kind how its values read (``labeler.core.interchange_values``);
this module reads the file, hands the rows to the ordinary importer (one transaction,
the same report) and streams exports.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select

from labeler.core import label_studio, prodigy
from labeler.core.interchange_rows import ANNOTATOR, ID, LABEL, SUGGESTION, Converted, Exported
from labeler.core.interchange_values import FormatError, KindValues, kind_values
from labeler.extensions import db
from labeler.models import Annotation, Item, Project, User
from labeler.services.data.import_spec import ColumnMapping, ImportFailed, ImportReport
from labeler.services.data.imports import import_rows
from labeler.services.data.readers import read_jsonl
from labeler.services.projects import kinds

BATCH = 1000


@dataclass(frozen=True)
class Format:
    read: Callable[[IO[bytes], KindValues, list[str], Mapping[str, str]], Converted]
    write: Callable[[Iterator[Exported], KindValues, list[str]], Iterator[str]]
    media_type: str
    suffix: str
    record: str  # what the file calls the unit the converter numbers: "task", "line"


def _read_label_studio(
    stream: IO[bytes], values: KindValues, labels: list[str], annotators: Mapping[str, str]
) -> Converted:
    try:
        tasks = json.load(stream)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FormatError("file", f"is not JSON: {exc}") from None
    return label_studio.read_tasks(tasks, values, labels, annotators)


def _write_label_studio(
    items: Iterator[Exported], values: KindValues, labels: list[str]
) -> Iterator[str]:
    yield "["
    for n, task in enumerate(label_studio.write_tasks(items, values)):
        yield ("\n" if n == 0 else ",\n") + json.dumps(task, ensure_ascii=False)
    yield "\n]\n"


def _read_prodigy(
    stream: IO[bytes], values: KindValues, labels: list[str], annotators: Mapping[str, str]
) -> Converted:
    _, records = read_jsonl(stream, [0])
    return prodigy.read_records(records, values, labels, annotators)


def _write_prodigy(
    items: Iterator[Exported], values: KindValues, labels: list[str]
) -> Iterator[str]:
    for record in prodigy.write_records(items, values, labels):
        yield json.dumps(record, ensure_ascii=False) + "\n"


FORMATS: dict[str, Format] = {
    "label-studio": Format(
        _read_label_studio, _write_label_studio, "application/json", "json", "task"
    ),
    "prodigy": Format(_read_prodigy, _write_prodigy, "application/x-ndjson", "jsonl", "line"),
}


def get_format(name: str) -> Format:
    if name not in FORMATS:
        raise ImportFailed(f"unknown format {name!r}: use {' or '.join(FORMATS)}")
    return FORMATS[name]


def _kind(project: Project, fmt: str) -> KindValues:
    try:
        return kind_values(project.task_kind, fmt).configured(project.task_settings or {})
    except FormatError as exc:
        raise ImportFailed(str(exc)) from None


def import_format(
    project: Project,
    stream: IO[bytes],
    fmt: str,
    annotators: Mapping[str, str] | None = None,
    chunk_rows: int = 5000,
    add_annotators: bool = False,
) -> ImportReport:
    """Import a file in ``fmt``, mapping the file's annotator names through ``annotators``.

    An annotator who is not a member of the project is refused by name unless
    ``add_annotators`` asks to make them members (the report says whom it added).

    Raises ImportFailed naming the record and field; nothing is written then."""
    chosen = get_format(fmt)
    try:
        converted = chosen.read(stream, _kind(project, fmt), project.label_names, annotators or {})
    except FormatError as exc:
        raise ImportFailed(str(exc)) from None
    if not converted.rows:
        raise ImportFailed("the file has no records to import")
    mapping = ColumnMapping(
        id=ID,
        text=tuple(converted.text_fields),
        meta=tuple(converted.other_fields),
        label=LABEL,
        annotator=ANNOTATOR,
        add_annotators=add_annotators,
        suggestion=SUGGESTION if converted.suggested else None,
    )
    try:
        report = import_rows(project, converted.rows, mapping, chunk_rows)
    except ImportFailed as exc:
        field = {LABEL: "answer", ANNOTATOR: "annotator", SUGGESTION: "predictions"}.get(
            exc.column or ""
        )
        if field is None or exc.line is None:
            raise
        # The rows' columns are the converter's own: name the file's record instead.
        raise ImportFailed(f"{chosen.record} {exc.line}: {field}: {exc.reason}") from None
    report.messages.extend(converted.messages())
    return report


def export_format(project: Project, fmt: str) -> Iterator[str]:
    """The project's items and every annotation, in ``fmt``, as text chunks."""
    chosen = get_format(fmt)
    return chosen.write(exported_items(project), _kind(project, fmt), project.label_names)


def exported_items(project: Project) -> Iterator[Exported]:
    """Each item with its annotations (annotator name, value, seconds, created) and its
    imported suggestion, by id."""
    kind = kinds.kind_of(project)
    last = 0
    while True:
        items = list(
            db.session.scalars(
                select(Item)
                .where(Item.project_id == project.id, Item.id > last)
                .order_by(Item.id)
                .limit(BATCH)
            )
        )
        if not items:
            return
        votes: dict[int, list[tuple[str, Any, float | None, str | None]]] = {}
        rows = db.session.execute(
            select(
                Annotation.item_id,
                User.username,
                Annotation.label,
                Annotation.value,
                Annotation.seconds,
                Annotation.created_at,
            )
            .join(User, User.id == Annotation.user_id)
            .where(Annotation.item_id.in_([i.id for i in items]))
            .order_by(Annotation.id)
        )
        for item_id, username, label, value, seconds, created in rows:
            votes.setdefault(item_id, []).append(
                (
                    username,
                    kind.decode(label, value),
                    seconds,
                    created.isoformat() if created else None,
                )
            )
        for item in items:
            final = kind.decode(item.final_label, item.final_value)
            suggestion = kind.decode(item.suggestion_label, item.suggestion_value)
            yield Exported(
                item.external_id, dict(item.data), votes.get(item.id, []), final, suggestion
            )
        last = items[-1].id


def annotator_map(pairs: list[str]) -> dict[str, str]:
    """``["7=alice", "bob@x.org=bob"]`` as a dict; ImportFailed naming a malformed pair."""
    mapped = {}
    for pair in pairs:
        source, sep, name = pair.partition("=")
        if not sep or not source.strip() or not name.strip():
            raise ImportFailed(f"annotator mapping {pair!r} is not SOURCE=NAME")
        mapped[source.strip()] = name.strip()
    return mapped
