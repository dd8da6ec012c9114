"""Label-set changes: rename, merge, split and delete labels, moving what used them.

Each change rewrites, in the caller's one transaction, every place a label name is
stored (annotations and their history, consensus, final and gold labels, review
decisions), records an :class:`AuditEvent`, and recomputes consensus. The caller
commits, then calls :func:`after_change` to refresh agreement and Dawid-Skene and
start a retrain. Deleting a label that has annotations needs a destination: another
label, or ``DISCARD`` to delete those annotations (their items go back in the queue).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update

from labeler import jobs
from labeler.extensions import db
from labeler.models import (
    Adjudication,
    Annotation,
    AnnotationRevision,
    AuditEvent,
    Item,
    Project,
    User,
)
from labeler.services import Conflict, ServiceError
from labeler.services.data.quality import sync_all_copies
from labeler.services.labeling.consensus_job import JOB_METHODS
from labeler.services.labeling.labels import refresh_project
from labeler.services.projects.store import recount, restore_tiers, validate_labels

DISCARD = "__discard__"
ACTIONS = ("rename", "merge", "split", "delete")


def usage(project: Project) -> dict[str, int]:
    """Annotations per label name (including names no longer in the set)."""
    rows = db.session.execute(
        select(Annotation.label, func.count(Annotation.id))
        .where(Annotation.project_id == project.id)
        .group_by(Annotation.label)
    ).all()
    counts = {name: 0 for name in project.label_names}
    counts.update({str(label): int(n) for label, n in rows})
    return counts


def _known(project: Project, name: str, field: str) -> str:
    if name not in project.label_names:
        raise ServiceError(
            f"{name!r} is not in the label set", {"field": field, "allowed": project.label_names}
        )
    return name


def _relabel(project: Project, old: list[str], new: str) -> int:
    """Rewrite label ``old`` -> ``new`` everywhere it is stored; returns annotations moved."""
    annotation_ids = select(Annotation.id).where(Annotation.project_id == project.id)
    moved = (
        db.session.execute(
            update(Annotation)
            .where(Annotation.project_id == project.id, Annotation.label.in_(old))
            .values(label=new),
            execution_options={"synchronize_session": False},
        ).rowcount
        or 0
    )
    db.session.execute(
        update(AnnotationRevision)
        .where(
            AnnotationRevision.annotation_id.in_(annotation_ids), AnnotationRevision.label.in_(old)
        )
        .values(label=new),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(Adjudication)
        .where(Adjudication.project_id == project.id, Adjudication.label.in_(old))
        .values(label=new),
        execution_options={"synchronize_session": False},
    )
    for column in (Item.consensus_label, Item.final_label, Item.gold_label):
        db.session.execute(
            update(Item)
            .where(Item.project_id == project.id, column.in_(old))
            .values({column: new}),
            execution_options={"synchronize_session": False},
        )
    return int(moved)


def _set_labels(project: Project, labels: list[dict[str, Any]]) -> None:
    project.labels = validate_labels(labels)


def change(
    project: Project, user: User | None, action: str, body: dict[str, Any], reason: str = ""
) -> dict[str, Any]:
    """Apply one change; returns what moved (also stored on the audit event).

    Bodies: rename ``{"label", "to"}``; merge ``{"labels": [...], "into"}`` (``into``
    may be new); split ``{"label", "into": [...], "annotations_to"}`` (the existing
    annotations cannot be told apart, so they go to one of the parts, which is
    asked for); delete ``{"label", "annotations_to"}`` (a label, or ``DISCARD``).
    """
    if action not in ACTIONS:
        raise ServiceError(f"action must be one of {', '.join(ACTIONS)}", {"field": "action"})
    before = [dict(label) for label in project.labels]
    detail = globals()[f"_{action}"](project, body)
    db.session.flush()
    db.session.expire_all()  # the bulk updates bypassed the objects in the session
    if detail.get("discarded"):
        recount(project)
        restore_tiers(project)
    refresh_project(project)
    sync_all_copies(project)
    detail.update(
        action=action,
        labels_before=[lab["name"] for lab in before],
        labels_after=project.label_names,
    )
    db.session.add(
        AuditEvent(
            project_id=project.id,
            user_id=user.id if user else None,
            action=f"labelset_{action}",
            detail=detail,
            reason=reason,
        )
    )
    db.session.flush()
    return detail


def _text(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise ServiceError(f"{field} is required", {"field": field})
    return value.strip()


def _rename(project: Project, body: dict[str, Any]) -> dict[str, Any]:
    old, new = _known(project, _text(body, "label"), "label"), _text(body, "to")
    if new in project.label_names:
        raise Conflict(f"{new!r} is already a label: merge instead", {"field": "to"})
    _set_labels(
        project, [{**lab, "name": new} if lab["name"] == old else lab for lab in project.labels]
    )
    return {"from": old, "to": new, "annotations_moved": _relabel(project, [old], new)}


def _merge(project: Project, body: dict[str, Any]) -> dict[str, Any]:
    sources = body.get("labels")
    if (
        not isinstance(sources, list)
        or len(sources) < 2
        or not all(isinstance(s, str) for s in sources)
    ):
        raise ServiceError("labels: list two or more labels to merge", {"field": "labels"})
    sources = [_known(project, s, "labels") for s in dict.fromkeys(sources)]
    target = _text(body, "into")
    if target in project.label_names and target not in sources:
        sources_or_target = [*sources, target]
    else:
        sources_or_target = sources
    kept = [lab for lab in project.labels if lab["name"] not in sources_or_target]
    first = next(lab for lab in project.labels if lab["name"] in sources_or_target)
    position = project.labels.index(first)
    merged = {
        "name": target,
        "hotkey": first.get("hotkey"),
        "description": body.get("description") or first.get("description") or "",
    }
    kept.insert(min(position, len(kept)), merged)
    _set_labels(project, kept)
    moved = _relabel(project, [s for s in sources if s != target], target)
    return {"from": sources, "to": target, "annotations_moved": moved}


def _split(project: Project, body: dict[str, Any]) -> dict[str, Any]:
    old = _known(project, _text(body, "label"), "label")
    parts = body.get("into")
    if (
        not isinstance(parts, list)
        or len(parts) < 2
        or not all(isinstance(p, str) and p.strip() for p in parts)
    ):
        raise ServiceError("into: list two or more new labels", {"field": "into"})
    parts = [p.strip() for p in dict.fromkeys(parts)]
    clash = [p for p in parts if p in project.label_names and p != old]
    if clash:
        raise Conflict(f"{clash[0]!r} is already a label", {"field": "into"})
    destination = _text(body, "annotations_to")
    if destination not in parts:
        raise ServiceError(
            "annotations_to must be one of the new labels",
            {"field": "annotations_to", "allowed": parts},
        )
    labels: list[dict[str, Any]] = []
    for lab in project.labels:
        if lab["name"] == old:
            labels += [
                {
                    "name": p,
                    "hotkey": lab.get("hotkey") if p == destination else None,
                    "description": "",
                }
                for p in parts
            ]
        else:
            labels.append(lab)
    _set_labels(project, labels)
    moved = _relabel(project, [old], destination) if destination != old else 0
    return {"from": old, "to": parts, "annotations_to": destination, "annotations_moved": moved}


def _delete(project: Project, body: dict[str, Any]) -> dict[str, Any]:
    old = _known(project, _text(body, "label"), "label")
    if len(project.labels) < 2:
        raise Conflict("a project needs at least one label")
    used = usage(project).get(old, 0)
    destination = body.get("annotations_to")
    remaining = [lab for lab in project.labels if lab["name"] != old]
    if used and not destination:
        raise Conflict(
            f"{used} annotations use {old!r}: choose a label for them "
            f"(annotations_to) or {DISCARD!r} to delete them",
            {"field": "annotations_to", "annotations": used},
        )
    if used and destination != DISCARD and destination not in [r["name"] for r in remaining]:
        raise ServiceError(
            "annotations_to must be another label or " + DISCARD, {"field": "annotations_to"}
        )
    _set_labels(project, remaining)
    if not used:
        return {"label": old, "annotations_moved": 0}
    if destination == DISCARD:
        return {"label": old, "discarded": _discard(project, old)}
    return {
        "label": old,
        "to": destination,
        "annotations_moved": _relabel(project, [old], str(destination)),
    }


def _discard(project: Project, label: str) -> int:
    doomed = select(Annotation.id).where(
        Annotation.project_id == project.id, Annotation.label == label
    )
    db.session.execute(
        delete(AnnotationRevision).where(AnnotationRevision.annotation_id.in_(doomed)),
        execution_options={"synchronize_session": False},
    )
    gone = (
        db.session.execute(
            delete(Annotation).where(
                Annotation.project_id == project.id, Annotation.label == label
            ),
            execution_options={"synchronize_session": False},
        ).rowcount
        or 0
    )
    for column in (Item.consensus_label, Item.final_label, Item.gold_label):
        db.session.execute(
            update(Item)
            .where(Item.project_id == project.id, column == label)
            .values({column: None}),
            execution_options={"synchronize_session": False},
        )
    db.session.execute(
        update(Item)
        .where(Item.project_id == project.id, Item.is_gold.is_(True), Item.gold_label.is_(None))
        .values(is_gold=False),
        execution_options={"synchronize_session": False},
    )
    return int(gone)


def after_change(project: Project, user_id: int | None) -> list[str]:
    """After the commit: refresh the figures that depend on labels and retrain.

    Starts (and commits) an agreement job, a consensus job for Dawid-Skene projects
    and a training job when there are enough labels; returns the kinds started.
    """
    from labeler.services.learning import modeling

    started = []
    for kind in (
        "agreement",
        *(("consensus",) if project.consensus_method in JOB_METHODS else ()),
    ):
        if kind in jobs.RUNNERS:
            jobs.start(kind, project.id, {"reason": "label set changed"}, user_id)
            started.append(kind)
    try:
        modeling.start_training(project, user_id, reason="label set changed")
        started.append("train")
    except ServiceError:
        pass  # too few final labels to train: nothing to refresh
    return started
