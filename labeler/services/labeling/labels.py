"""Keep each item's consensus and final label current as votes arrive.

Majority vote is recomputed for the one item that changed, so a submit stays
cheap whatever the project size; a project using Dawid–Skene gets its posteriors
from the consensus job and majority in between. Semantics match
``labeler.core.consensus.majority_vote`` (ties are disputes, never settled by order).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Adjudication, Annotation, Item, Project
from labeler.services.projects import kinds, webhooks


def item_target(project: Project, item: Item) -> int:
    """How many labels the item needs: the project's k plus any a reviewer asked for."""
    return project.annotations_per_item + item.extra_annotations


def refresh_item(project: Project, item: Item) -> None:
    """Recompute ``item``'s consensus, dispute flag and final label from its votes,
    as the project's task kind reads them."""
    kind = kinds.kind_of(project)
    rows = db.session.execute(
        select(Annotation.label, Annotation.value).where(Annotation.item_id == item.id)
    ).all()
    votes = [kind.decode(key, value) for key, value in rows]
    before, disputed_before = item.final_label, item.disputed
    agreed = kind.item_consensus(votes, kinds.context(project))
    complete = len(votes) >= item_target(project, item)
    if agreed.value is None:
        item.consensus_label = item.consensus_value = None
    else:
        item.consensus_label = kind.key(agreed.value)
        item.consensus_value = kinds.stored(item.consensus_label, agreed.value)
    item.consensus_confidence = agreed.confidence if votes else None
    item.disputed = bool(votes) and complete and agreed.disputed
    if not _adjudicated(item):
        settled = complete and not item.disputed and item.consensus_label is not None
        item.final_label = item.consensus_label if settled else None
        item.final_value = item.consensus_value if settled else None
        item.final_source = ("unanimous" if agreed.unanimous else "majority") if settled else None
    if item.final_label != before and item.final_label is not None:
        project.labels_since_training += 1
        webhooks.emit(project, "item.final_label", item_event(item))
    if item.disputed and not disputed_before:
        webhooks.emit(project, "item.disputed", item_event(item))


def item_event(item: Item) -> dict[str, Any]:
    """What a webhook hears about an item (never who voted what)."""
    return {
        "item_id": item.id,
        "external_id": item.external_id,
        "final_label": item.final_label,
        "decided_by": item.final_source,
        "confidence": item.consensus_confidence,
    }


def _adjudicated(item: Item) -> bool:
    """Whether a 'resolve' decision holds ``item``'s final label."""
    if item.final_source != "adjudicated":
        return False
    return (
        db.session.scalar(
            select(Adjudication.id)
            .where(Adjudication.item_id == item.id, Adjudication.action == "resolve")
            .limit(1)
        )
        is not None
    )


def refresh_project(project: Project, batch: int = 2000) -> None:
    """Refresh every labeled item of ``project`` (after a bulk import of labels)."""
    last = 0
    while True:
        items = list(
            db.session.scalars(
                select(Item)
                .where(Item.project_id == project.id, Item.n_annotations > 0, Item.id > last)
                .order_by(Item.id)
                .limit(batch)
            )
        )
        if not items:
            return
        for item in items:
            refresh_item(project, item)
        db.session.flush()
        last = items[-1].id
