"""Export a project's labeled data: rows streamed in a stable order, never all in memory.

Two views: one row per item (its fields, final label, how it was decided) and one
row per annotation (who said what, when, how long it took). Rows come from keyset
pagination, so a million annotations cost a batch's worth of memory, and the
same database state always yields the same rows in the same order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

from labeler.extensions import db
from labeler.models import Annotation, Item, Project, User
from labeler.services import ServiceError
from labeler.services.data.export_formats import AnswerCell
from labeler.services.items.comments import comment_texts
from labeler.services.projects import kinds

BATCH = 5000
VIEWS = ("items", "annotations")


@dataclass(frozen=True)
class ExportFilter:
    """Which rows to export. ``None`` means no restriction."""

    final_only: bool = False
    split: str | None = None
    min_confidence: float | None = None
    since: datetime | None = None  # annotations updated at or after
    until: datetime | None = None  # ... and before
    adjudicated_only: bool = False
    include_ambiguous: bool = True
    item_ids: tuple[int, ...] | None = None  # a selection (the item browser's export)
    # Not a filter: add one 0/1 column per label (``label:<name>``) to the items view,
    # for kinds that have one-hot shapes (multi_label, single_label).
    one_hot: bool = False

    def __post_init__(self) -> None:
        if self.split not in (None, "train", "test"):
            raise ServiceError("split must be train or test", {"field": "split"})
        if self.min_confidence is not None and not 0 <= self.min_confidence <= 1:
            raise ServiceError(
                "min_confidence must be between 0 and 1", {"field": "min_confidence"}
            )


def data_fields(project: Project) -> list[str]:
    """The item fields in a stable order: text, image, numeric, categorical, shown-only."""
    inputs, display = project.model_inputs or {}, project.display or {}
    ordered = [
        *inputs.get("text", []),
        *([display["image"]] if display.get("image") else []),
        *inputs.get("numeric", []),
        *inputs.get("categorical", []),
        *display.get("meta", []),
    ]
    return list(dict.fromkeys(ordered))


def item_columns(project: Project, one_hot: bool = False) -> list[str]:
    extra = [f"label:{name}" for name in _one_hot_labels(project)] if one_hot else []
    return [
        "external_id",
        *data_fields(project),
        "final_label",
        "decided_by",
        "confidence",
        "n_annotations",
        "split",
        "ambiguous",
        "comments",
        *extra,
    ]


def _one_hot_labels(project: Project) -> list[str]:
    columns = kinds.kind_of(project).one_hot(None, kinds.context(project))
    return list(columns or {})


def answer_cell(project: Project, key: str | None, value: Any) -> AnswerCell | None:
    """A stored answer as every export format holds it (None when there is none)."""
    if key is None:
        return None
    kind = kinds.kind_of(project)
    typed = kind.decode(key, value)
    return AnswerCell(kind.export_value(typed), kind.csv_cell(typed))


ANNOTATION_COLUMNS = ["external_id", "annotator", "label", "created_at", "updated_at", "seconds"]


def _item_filters(stmt: Select, project: Project, flt: ExportFilter) -> Select:
    stmt = stmt.where(Item.project_id == project.id)
    if flt.final_only:
        stmt = stmt.where(Item.final_label.is_not(None))
    if flt.split:
        stmt = stmt.where(Item.split == flt.split)
    if flt.min_confidence is not None:
        stmt = stmt.where(Item.consensus_confidence >= flt.min_confidence)
    if flt.adjudicated_only:
        stmt = stmt.where(Item.final_source == "adjudicated")
    if not flt.include_ambiguous:
        stmt = stmt.where(Item.ambiguous.is_(False))
    if flt.item_ids is not None:
        stmt = stmt.where(Item.id.in_(flt.item_ids))
    return stmt


def item_rows(project: Project, flt: ExportFilter | None = None) -> Iterator[dict[str, Any]]:
    """One dict per item, in id order."""
    flt = flt or ExportFilter()
    fields = data_fields(project)
    kind, context = kinds.kind_of(project), kinds.context(project)
    last = 0
    while True:
        stmt = _item_filters(select(Item), project, flt).where(Item.id > last)
        batch = list(db.session.scalars(stmt.order_by(Item.id).limit(BATCH)))
        if not batch:
            return
        notes = comment_texts([item.id for item in batch])
        for item in batch:
            row = {"external_id": item.external_id}
            row.update({name: item.data.get(name) for name in fields})
            row.update(
                final_label=answer_cell(project, item.final_label, item.final_value),
                decided_by=item.final_source,
                confidence=_round(item.consensus_confidence),
                n_annotations=item.n_annotations,
                split=item.split,
                ambiguous=item.ambiguous,
                comments=notes.get(item.id, ""),
            )
            if flt.one_hot and item.final_label is not None:
                typed = kind.decode(item.final_label, item.final_value)
                hot = kind.one_hot(typed, context) or {}
                row.update({f"label:{name}": bit for name, bit in hot.items()})
            yield row
        last = batch[-1].id  # the session's identity map is weak: old batches are freed


def annotation_rows(
    project: Project, flt: ExportFilter | None = None, pseudonymize: bool = False, secret: str = ""
) -> Iterator[dict[str, Any]]:
    """One dict per annotation, in id order; annotators named or pseudonymous. A kind
    whose values hold more than their key adds ``value`` (the kind's CSV cell)."""
    flt = flt or ExportFilter()
    kind = kinds.kind_of(project)
    last = 0
    while True:
        stmt = (
            select(
                Annotation.id,
                Item.external_id,
                User.id,
                User.username,
                Annotation.label,
                Annotation.value,
                Annotation.created_at,
                Annotation.updated_at,
                Annotation.seconds,
            )
            .join(Item, Item.id == Annotation.item_id)
            .join(User, User.id == Annotation.user_id)
            .where(Annotation.project_id == project.id, Annotation.id > last)
        )
        stmt = _item_filters(stmt, project, flt)
        if flt.since:
            stmt = stmt.where(Annotation.updated_at >= flt.since)
        if flt.until:
            stmt = stmt.where(Annotation.updated_at < flt.until)
        batch = db.session.execute(stmt.order_by(Annotation.id).limit(BATCH)).all()
        if not batch:
            return
        for _, external_id, user_id, username, label, value, created, updated, seconds in batch:
            row = {
                "external_id": external_id,
                "annotator": pseudonym(user_id, secret) if pseudonymize else username,
                "label": answer_cell(project, label, value),
                "created_at": created.isoformat(timespec="seconds"),
                "updated_at": updated.isoformat(timespec="seconds"),
                "seconds": seconds,
            }
            if not kind.value_is_key:
                row["value"] = kind.csv_cell(kind.decode(label, value))
            yield row
        last = batch[-1][0]


def pseudonym(user_id: int, secret: str) -> str:
    """A stable id that does not reveal the name: the same annotator, the same pseudonym."""
    digest = hashlib.blake2b(f"{secret}:{user_id}".encode(), digest_size=5).hexdigest()
    return f"annotator-{digest}"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def flag(value: Any, name: str, default: bool = False) -> bool:
    """A boolean from a form or query value; anything but a clear yes/no is an error."""
    raw = str(value if value is not None else "").strip().lower()
    if raw == "":
        return default
    if raw not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
        raise ServiceError(f"{name} must be true or false", {"field": name})
    return raw in ("1", "true", "yes", "on")


def parse_filter(args: dict[str, Any]) -> ExportFilter:
    """Filters from query-string style values; a bad value raises naming its field."""

    def when(name: str) -> datetime | None:
        raw = str(args.get(name) or "").strip()
        try:
            return datetime.fromisoformat(raw) if raw else None
        except ValueError:
            raise ServiceError(f"{name} must be a date like 2026-01-31", {"field": name}) from None

    raw_conf = str(args.get("min_confidence") or "").strip()
    try:
        confidence = float(raw_conf) if raw_conf else None
    except ValueError:
        raise ServiceError("min_confidence must be a number", {"field": "min_confidence"}) from None
    return ExportFilter(
        final_only=flag(args.get("final_only"), "final_only"),
        split=args.get("split") or None,
        min_confidence=confidence,
        since=when("since"),
        until=when("until"),
        adjudicated_only=flag(args.get("adjudicated_only"), "adjudicated_only"),
        include_ambiguous=flag(args.get("include_ambiguous"), "include_ambiguous", True),
        one_hot=flag(args.get("one_hot"), "one_hot"),
    )


def export_rows(
    project: Project, view: str, flt: ExportFilter, pseudonymize: bool = False, secret: str = ""
) -> tuple[Iterator[dict[str, Any]], list[str]]:
    """The rows and columns of one export view."""
    if view == "items":
        return item_rows(project, flt), item_columns(project, flt.one_hot)
    if view == "annotations":
        extra = [] if kinds.kind_of(project).value_is_key else ["value"]
        return annotation_rows(project, flt, pseudonymize, secret), ANNOTATION_COLUMNS + extra
    raise ServiceError(f"view must be one of {', '.join(VIEWS)}", {"field": "view"})


def count_rows(project: Project, view: str, flt: ExportFilter) -> int:
    """How many rows an export will have (for a progress bar)."""
    from sqlalchemy import func

    if view == "items":
        stmt = _item_filters(select(func.count(Item.id)), project, flt)
    else:
        stmt = _item_filters(
            select(func.count(Annotation.id)).join(Item, Item.id == Annotation.item_id),
            project,
            flt,
        )
        if flt.since:
            stmt = stmt.where(Annotation.updated_at >= flt.since)
        if flt.until:
            stmt = stmt.where(Annotation.updated_at < flt.until)
    return db.session.scalar(stmt) or 0
