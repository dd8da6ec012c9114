"""Span answers from a CoNLL file (one token per line, BIO tags), as import rows.

The documents are read by :mod:`labeler.core.span_conll`. A document names its item by
``# id = ...`` (labeler's CoNLL export writes it); one without an id line is item
``doc-<n>`` (its number in the file). Its spans are placed on the item's own text,
whose tokens the document's must be exactly, so an export imports back exactly
whatever the text holds (CRLF, emoji, combining marks, right-to-left marks). A
document whose item is not in the project yet becomes a new item whose text is its
tokens joined by spaces.

Tag columns are named by the ``# columns = ...`` line (the export's ``final`` column,
the final answer, is not an annotator's and is skipped); a file without it has one
annotator, the mapping's ``default_annotator``. The rows then go through the
ordinary importer: one transaction, the same report, annotators refused by name
unless the mapping's ``add_annotators`` allows them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import select

from labeler.core.interchange_rows import ANNOTATOR, ID, LABEL
from labeler.core.span_conll import (
    ConllDocument,
    ConllError,
    conll_spans,
    joined_text,
    read_conll,
)
from labeler.extensions import db
from labeler.models import Item, Project
from labeler.services.data.import_spec import ColumnMapping, ImportFailed, Row
from labeler.services.data.readers import decoded_lines
from labeler.services.projects import kinds

FINAL = "final"  # the export's first tag column when it names its columns


def conll_rows(
    project: Project, stream: IO[bytes], mapping: ColumnMapping, counter: list[int]
) -> tuple[list[Row], ColumnMapping]:
    """The import rows of a CoNLL byte stream and the mapping that reads them.

    Raises:
        ImportFailed: naming the line (a malformed line, a token that is not the
            item's text, a tag outside the labels); nothing is written then.
    """
    check_kind(project)
    kind = kinds.kind_of(project)
    try:
        documents = list(read_conll(decoded_lines(stream, counter)))
    except ConllError as error:
        raise ImportFailed(error.reason, line=error.line) from None
    if not documents:
        raise ImportFailed("the file has no tokens to import")
    ids = [doc.id or f"doc-{n}" for n, doc in enumerate(documents, start=1)]
    stored = _stored_data(project, ids)
    text_fields = _text_fields(project)
    field_map = _mapping(project, text_fields, mapping)
    context = kinds.context(project)
    tokenizer = str(context.settings.get("tokenizer") or "words")
    rows: list[Row] = []
    for external_id, doc in zip(ids, documents, strict=True):
        data = stored.get(external_id)
        offsets = None
        if data is None:
            joined, offsets = joined_text(doc)
            data = {text_fields[0]: joined}
        text = kind.for_item(context, data).text or ""
        for column, name in _annotators(doc, mapping.default_annotator):
            try:
                spans = conll_spans(text, doc, column, context.labels, tokenizer, offsets)
            except ConllError as error:
                raise ImportFailed(error.reason, line=error.line) from None
            rows.append((doc.line, {**data, ID: external_id, ANNOTATOR: name, LABEL: spans}))
    return rows, field_map


def check_kind(project: Project) -> None:
    """ImportFailed unless the project's kind reads CoNLL (its answers are spans)."""
    kind = kinds.kind_of(project)
    if "conll" not in kind.document_formats():
        raise ImportFailed(f"CoNLL holds spans; this project's answers are {kind.title}")


def _annotators(doc: ConllDocument, default: str) -> Iterator[tuple[int, str]]:
    if doc.columns is None:
        yield 0, default
        return
    for column, name in enumerate(doc.columns):
        if column == 0 and name == FINAL:
            continue
        yield column, name


def _stored_data(project: Project, ids: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 1000):
        batch = ids[start : start + 1000]
        for external_id, data in db.session.execute(
            select(Item.external_id, Item.data).where(
                Item.project_id == project.id, Item.external_id.in_(batch)
            )
        ):
            found[external_id] = dict(data or {})
    return found


def _text_fields(project: Project) -> list[str]:
    inputs, display = project.model_inputs or {}, project.display or {}
    named = (project.task_settings or {}).get("text_field")
    fields = [*([named] if named else []), *inputs.get("text", []), *display.get("text", [])]
    return list(dict.fromkeys(fields)) or ["text"]


def _mapping(project: Project, text_fields: list[str], given: ColumnMapping) -> ColumnMapping:
    """The project's own fields, so that an item's stored data reads back unchanged."""
    inputs, display = project.model_inputs or {}, project.display or {}
    return ColumnMapping(
        id=ID,
        text=tuple(text_fields),
        image=display.get("image"),
        numeric=tuple(inputs.get("numeric", [])),
        categorical=tuple(inputs.get("categorical", [])),
        meta=tuple(display.get("meta", [])),
        label=LABEL,
        annotator=ANNOTATOR,
        default_annotator=given.default_annotator,
        add_annotators=given.add_annotators,
    )
