"""Exports in a task kind's own formats (spans: ``spans_jsonl`` with tokens and offsets,
``conll`` BIO), one document per item, streamed in id order like the other exports.

The kind writes each item (:meth:`TaskKind.document`); this module reads the items and,
for the annotations view, every annotator's answer, with the same filters as the
tabular exports. Which formats a project offers is the shared three plus its kind's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, Item, Project, User
from labeler.services import ServiceError
from labeler.services.data.export import BATCH, ExportFilter, _item_filters, pseudonym
from labeler.services.data.export_formats import FORMATS, MEDIA_TYPES
from labeler.services.projects import kinds


def formats_for(project: Project) -> tuple[str, ...]:
    """The export formats ``project`` offers: csv, jsonl, parquet and its kind's own."""
    return (*FORMATS, *kinds.kind_of(project).document_formats())


def check_format(project: Project, fmt: str) -> None:
    """Refuse a format the project does not offer, naming the ones it does."""
    offered = formats_for(project)
    if fmt not in offered:
        raise ServiceError(f"format must be one of {', '.join(offered)}", {"field": "format"})


def is_document_format(project: Project, fmt: str) -> bool:
    return fmt in kinds.kind_of(project).document_formats()


def media_type(project: Project, fmt: str) -> str:
    return kinds.kind_of(project).document_formats().get(fmt) or MEDIA_TYPES[fmt]


def document_chunks(
    project: Project,
    view: str,
    fmt: str,
    flt: ExportFilter,
    pseudonymize: bool = False,
    secret: str = "",
) -> Iterator[str]:
    """The export as text chunks, one batch of items each; the annotations view adds
    every annotator's answer (named, or pseudonymous) to each item's document."""
    if view not in ("items", "annotations"):
        raise ServiceError("view must be items or annotations", {"field": "view"})
    kind, context = kinds.kind_of(project), kinds.context(project)
    last = 0
    while True:
        stmt = _item_filters(select(Item), project, flt).where(Item.id > last)
        batch = list(db.session.scalars(stmt.order_by(Item.id).limit(BATCH)))
        if not batch:
            return
        votes = _annotations(project, batch, flt, pseudonymize, secret) if view != "items" else {}
        yield "".join(
            kind.document(
                fmt,
                item.external_id,
                item.data,
                kind.decode(item.final_label, item.final_value),
                votes.get(item.id, []),
                context,
            )
            for item in batch
        )
        last = batch[-1].id


def _annotations(
    project: Project, items: list[Item], flt: ExportFilter, pseudonymize: bool, secret: str
) -> dict[int, list[tuple[str, Any]]]:
    kind = kinds.kind_of(project)
    stmt = (
        select(Annotation.item_id, User.id, User.username, Annotation.label, Annotation.value)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.item_id.in_([item.id for item in items]))
        .order_by(Annotation.item_id, Annotation.id)
    )
    if flt.since:
        stmt = stmt.where(Annotation.updated_at >= flt.since)
    if flt.until:
        stmt = stmt.where(Annotation.updated_at < flt.until)
    found: dict[int, list[tuple[str, Any]]] = {}
    for item_id, user_id, username, label, value in db.session.execute(stmt):
        name = pseudonym(user_id, secret) if pseudonymize else username
        found.setdefault(item_id, []).append((name, kind.decode(label, value)))
    return found
