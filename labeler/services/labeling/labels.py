"""Keep each item's consensus and final label current as votes arrive.

Majority vote is recomputed for the one item that changed, so a submit stays
cheap whatever the project size; a project using Dawid–Skene gets its posteriors
from the consensus job and majority in between. Semantics match
``labeler.core.consensus.majority_vote`` (ties are disputes, never settled by order).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Adjudication, Annotation, Item, Project


def item_target(project: Project, item: Item) -> int:
    """How many labels the item needs: the project's k plus any a reviewer asked for."""
    return project.annotations_per_item + item.extra_annotations


def is_disputed(project: Project, counts: Counter[str], confidence: float) -> bool:
    """A tie, a winner's share under the project's threshold, or any disagreement
    when the project asks for unanimity."""
    ranked = counts.most_common(2)
    tie = len(ranked) == 2 and ranked[0][1] == ranked[1][1]
    return (
        tie
        or confidence < project.dispute_threshold
        or (project.require_unanimity and len(counts) > 1)
    )


def refresh_item(project: Project, item: Item) -> None:
    """Recompute ``item``'s consensus, dispute flag and final label from its votes."""
    votes = list(db.session.scalars(select(Annotation.label).where(Annotation.item_id == item.id)))
    before = item.final_label
    counts = Counter(votes)
    if not counts:
        item.consensus_label, item.consensus_confidence, item.disputed = None, None, False
    else:
        (winner, top), *rest = counts.most_common(2)
        tie = bool(rest) and rest[0][1] == top
        item.consensus_label = None if tie else winner
        item.consensus_confidence = top / len(votes)
        complete = len(votes) >= item_target(project, item)
        item.disputed = complete and is_disputed(project, counts, top / len(votes))
    if _adjudicated_label(item) is None:
        complete = len(votes) >= item_target(project, item)
        settled = complete and not item.disputed and item.consensus_label is not None
        item.final_label = item.consensus_label if settled else None
        item.final_source = ("unanimous" if len(counts) == 1 else "majority") if settled else None
    if item.final_label != before and item.final_label is not None and item.split == "train":
        project.labels_since_training += 1  # test labels never train a model


def _adjudicated_label(item: Item) -> str | None:
    """The label of the latest 'resolve' decision on ``item``, if any."""
    if item.final_source != "adjudicated":
        return None
    return db.session.scalar(
        select(Adjudication.label)
        .where(Adjudication.item_id == item.id, Adjudication.action == "resolve")
        .order_by(Adjudication.created_at.desc(), Adjudication.id.desc())
        .limit(1)
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
