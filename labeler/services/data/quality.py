"""The data quality report of a project, and linked duplicates.

The report (field checks, exact and near duplicates, class balance, gold) reads
items in chunks and calls the pure core (:mod:`labeler.core.quality`,
:mod:`labeler.core.near_duplicates`). A project under :data:`INLINE_LIMIT` items is
checked on every visit; a larger one by a ``quality`` job whose result (plain
JSON) the page, the API, the CLI and the dataset card show.

Linked duplicates: an item whose ``duplicate_of`` names another is a copy; the
queue never asks for it (it sits in the "done" tier) and it carries the
original's consensus and final label, kept in step by :func:`sync_copies`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import func, select, update

from labeler import jobs
from labeler.core.near_duplicates import near_duplicates
from labeler.core.quality import (
    balance_from_counts,
    check_field,
    class_balance,
    duplicate_groups,
    fingerprint,
    normalise,
)
from labeler.extensions import db
from labeler.models import Annotation, Item, Job, Project, utcnow
from labeler.services.labeling import gold

INLINE_LIMIT = 5_000  # items: smaller projects are checked on the spot
KIND = "quality"
CHUNK = 20_000
SAMPLES = 10  # duplicate groups shown in the report
PREVIEW = 120  # characters of text shown per example
NEAR_THRESHOLD = 0.8

Progress = Callable[[float, str], None]


def content_fields(project: Project) -> list[str]:
    """The fields that make two items "the same": the texts, else every model input."""
    inputs = project.model_inputs or {}
    texts = list(inputs.get("text", []))
    if texts:
        return texts
    return [*inputs.get("numeric", []), *inputs.get("categorical", [])] or list(
        (project.display or {}).get("meta", [])
    )


def field_kinds(project: Project) -> dict[str, str]:
    inputs = project.model_inputs or {}
    kinds = {name: "meta" for name in (project.display or {}).get("meta", [])}
    for kind in ("categorical", "numeric", "text"):
        kinds.update({name: kind for name in inputs.get(kind, [])})
    return kinds


# --- linked copies -------------------------------------------------------------------


def sync_copies(project: Project, original: Item) -> None:
    """Give ``original``'s linked copies its consensus and final label (an indexed update:
    copies share its content hash). Nothing to do, and no statement, in a project
    without linked copies (``n_linked``): most projects, on every submit."""
    if not project.n_linked or original.content_hash is None or original.duplicate_of is not None:
        return
    db.session.execute(
        update(Item)
        .where(
            Item.project_id == project.id,
            Item.content_hash == original.content_hash,
            Item.duplicate_of == original.id,
        )
        .values(
            consensus_label=original.consensus_label,
            consensus_value=original.consensus_value,
            consensus_confidence=original.consensus_confidence,
            final_label=original.final_label,
            final_value=original.final_value,
            final_source=original.final_source,
            disputed=False,
        ),
        execution_options={"synchronize_session": False},
    )


def sync_all_copies(project: Project) -> int:
    """Bring every linked copy in step with its original; returns how many copies there are."""
    original = Item.__table__.alias("original")
    columns = (
        "consensus_label",
        "consensus_value",
        "consensus_confidence",
        "final_label",
        "final_value",
        "final_source",
    )
    values = {
        name: select(original.c[name]).where(original.c.id == Item.duplicate_of).scalar_subquery()
        for name in columns
    }
    result = db.session.execute(
        update(Item)
        .where(Item.project_id == project.id, Item.duplicate_of.is_not(None))
        .values(**values),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)


# --- the report ----------------------------------------------------------------------


@dataclass
class _Columns:
    ids: list[int]
    external: list[str]
    fields: dict[str, list[Any]]
    linked: int
    final: list[str | None]


def _read(project: Project, names: list[str], progress: Progress) -> _Columns:
    columns = _Columns([], [], {name: [] for name in names}, 0, [])
    total = max(project.n_items, 1)
    # The database extracts the fields (json_extract / ->>): decoding every item's JSON
    # in Python would take half the report's time.
    values = [Item.data[name].as_string() for name in names]
    stmt = (
        select(Item.id, Item.external_id, Item.duplicate_of, Item.final_label, *values)
        .where(Item.project_id == project.id)
        .order_by(Item.id)
        .execution_options(yield_per=CHUNK)
    )
    for rows in db.session.execute(stmt).partitions():
        for item_id, external_id, duplicate_of, final, *fields in rows:
            columns.ids.append(item_id)
            columns.external.append(external_id)
            columns.final.append(final)
            columns.linked += duplicate_of is not None
            for name, value in zip(names, fields, strict=True):
                columns.fields[name].append(value)
        progress(0.05 + 0.3 * len(columns.ids) / total, f"read {len(columns.ids):,} items")
    return columns


def _preview(columns: _Columns, position: int, fields: list[str]) -> str:
    text = " · ".join(
        str(columns.fields[f][position]) for f in fields if columns.fields[f][position] is not None
    )
    return text if len(text) <= PREVIEW else text[: PREVIEW - 1] + "…"


def _exact(columns: _Columns, fields: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    n = len(columns.ids)
    prints = [fingerprint({f: columns.fields[f][i] for f in fields}, fields) for i in range(n)]
    first = duplicate_groups(prints)
    copies = first != np.arange(n)
    sizes = np.bincount(first, minlength=n)
    biggest = np.argsort(-sizes, kind="stable")[:SAMPLES]
    groups = [
        {
            "size": int(sizes[i]),
            "text": _preview(columns, int(i), fields),
            "external_ids": [columns.external[j] for j in np.flatnonzero(first == i)[:5]],
        }
        for i in biggest
        if sizes[i] > 1
    ]
    return first, {
        "copies": int(copies.sum()),
        "groups": int((sizes > 1).sum()),
        "linked": columns.linked,
        "largest": groups,
    }


def _near(
    columns: _Columns, fields: list[str], first: np.ndarray, threshold: float
) -> dict[str, Any]:
    originals = np.flatnonzero(first == np.arange(len(first)))
    texts = [
        normalise(
            " ".join(
                str(columns.fields[f][i]) for f in fields if isinstance(columns.fields[f][i], str)
            )
        )
        for i in originals
    ]
    keep = [j for j, text in enumerate(texts) if text]
    found = near_duplicates([texts[j] for j in keep], threshold=threshold)
    clusters = found.clusters()
    positions = [[int(originals[keep[j]]) for j in cluster] for cluster in clusters]
    return {
        "threshold": threshold,
        "groups": len(clusters),
        "n_texts": int(sum(len(c) for c in clusters)),
        "largest": [
            {
                "size": len(group),
                "external_ids": [columns.external[i] for i in group[:5]],
                "texts": [_preview(columns, i, fields) for i in group[:3]],
            }
            for group in positions[:SAMPLES]
        ],
    }


def compute(
    project: Project, progress: Progress | None = None, threshold: float = NEAR_THRESHOLD
) -> dict[str, Any]:
    """Every figure of the quality report, JSON-safe."""
    step = progress or (lambda fraction, message: None)
    kinds = field_kinds(project)
    fields = content_fields(project)
    columns = _read(project, list(dict.fromkeys([*kinds, *fields])), step)
    step(0.4, "field checks")
    checks = {name: check_field(columns.fields[name], kind) for name, kind in kinds.items()}
    step(0.5, "exact duplicates")
    first, exact = _exact(columns, fields) if fields else (np.arange(0), {})
    step(0.65, "near-duplicates")
    texts = [f for f in fields if kinds.get(f) in ("text", "meta")]
    near = _near(columns, texts, first, threshold) if texts and len(first) else None
    votes = dict(
        db.session.execute(
            select(Annotation.label, func.count(Annotation.id))
            .where(Annotation.project_id == project.id)
            .group_by(Annotation.label)
        ).all()
    )
    step(0.95, "gold")
    return {
        "computed_at": utcnow().isoformat(timespec="seconds"),
        "n_items": len(columns.ids),
        "content_fields": fields,
        "fields": checks,
        "exact_duplicates": exact,
        "near_duplicates": near,
        "final_labels": class_balance(columns.final),
        "annotation_labels": balance_from_counts(votes),
        "gold": {
            "n_items": gold.count_gold(project),
            "annotators": [row.as_dict() for row in gold.accuracy(project)],
        },
    }


@jobs.runner(KIND)
def run_quality_job(job: Job, progress: Progress) -> dict[str, Any]:
    project = db.session.get(Project, job.project_id)
    if project is None:
        raise LookupError(f"project {job.project_id} no longer exists")
    threshold = float((job.params or {}).get("threshold", NEAR_THRESHOLD))
    return compute(project, progress, threshold)


def latest_job(project: Project) -> Job | None:
    return db.session.scalar(
        select(Job)
        .where(Job.project_id == project.id, Job.kind == KIND, Job.status == "done")
        .order_by(Job.finished_at.desc(), Job.id.desc())
        .limit(1)
    )


def running_job(project: Project) -> Job | None:
    return db.session.scalar(
        select(Job)
        .where(Job.project_id == project.id, Job.kind == KIND, Job.status.in_(jobs.ACTIVE))
        .order_by(Job.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Report:
    figures: dict[str, Any] | None
    job: Job | None  # where the figures come from (None: computed now)


def page_report(project: Project) -> Report:
    """Fresh figures for a small project; the latest job's for a large one (maybe None)."""
    if project.n_items < INLINE_LIMIT:
        return Report(compute(project), None)
    job = latest_job(project)
    return Report(job.result if job else None, job)


def card_summary(project: Project) -> dict[str, Any] | None:
    """The report's headline figures for the dataset card (None when no report exists)."""
    figures = page_report(project).figures
    if not figures:
        return None
    exact, near = figures.get("exact_duplicates") or {}, figures.get("near_duplicates") or {}
    return {
        "computed_at": figures["computed_at"],
        "n_items": figures["n_items"],
        "exact_duplicate_copies": exact.get("copies"),
        "linked_duplicates": exact.get("linked"),
        "near_duplicate_groups": near.get("groups"),
        "near_duplicate_threshold": near.get("threshold"),
        "fields": {
            name: {
                key: f[key]
                for key in ("missing", "empty", "length_outliers", "unparseable")
                if key in f
            }
            for name, f in figures["fields"].items()
        },
        "gold_items": figures["gold"]["n_items"],
    }
