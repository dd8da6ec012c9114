"""Keep each item's consensus and final label current as votes arrive.

Majority vote is recomputed for the one item that changed, so a submit stays
cheap whatever the project size; a project using Dawid–Skene gets its posteriors
from the consensus job and majority in between. Semantics match
``labeler.core.consensus.majority_vote`` (ties are disputes, never settled by order).
After bulk writes (an import of labels, a label-set change) :func:`refresh_project`
computes the same outcome a chunk of items at a time, in a few statements per chunk.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update

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


@dataclass(frozen=True)
class Outcome:
    """What an item's votes decide: consensus (None on a tie), the winner's share
    (0..1, None without votes), dispute flag, and the final label with its source
    (None while unsettled; ``final`` is only applied when no reviewer resolved it)."""

    consensus_label: str | None
    consensus_confidence: float | None
    disputed: bool
    final_label: str | None
    final_source: str | None


def decide(project: Project, counts: Counter[str], target: int) -> Outcome:
    """The outcome of an item's vote ``counts`` when it needs ``target`` labels."""
    if not counts:
        return Outcome(None, None, False, None, None)
    n = sum(counts.values())
    (winner, top), *rest = counts.most_common(2)
    tie = bool(rest) and rest[0][1] == top
    consensus = None if tie else winner
    complete = n >= target
    disputed = complete and is_disputed(project, counts, top / n)
    settled = complete and not disputed and consensus is not None
    source = ("unanimous" if len(counts) == 1 else "majority") if settled else None
    return Outcome(consensus, top / n, disputed, consensus if settled else None, source)


def refresh_item(project: Project, item: Item) -> None:
    """Recompute ``item``'s consensus, dispute flag and final label from its votes."""
    votes = db.session.scalars(select(Annotation.label).where(Annotation.item_id == item.id))
    before = item.final_label
    outcome = decide(project, Counter(votes), item_target(project, item))
    item.consensus_label = outcome.consensus_label
    item.consensus_confidence = outcome.consensus_confidence
    item.disputed = outcome.disputed
    if _adjudicated_label(item) is None:
        item.final_label, item.final_source = outcome.final_label, outcome.final_source
    if item.final_label != before and item.final_label is not None:
        project.labels_since_training += 1


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


def refresh_project(project: Project, batch: int = 5000) -> None:
    """Refresh every labeled item of ``project`` (after a bulk import of labels).

    The same outcome as :func:`refresh_item` on each item, in four statements per
    chunk of ``batch`` items (the items, their vote counts, which of them a reviewer
    resolved, one executemany UPDATE) instead of a query and a flush per item.
    """
    db.session.flush()  # pending ORM changes first: the statements below read the rows
    last, new_finals = 0, 0
    while True:
        items = db.session.execute(
            select(Item.id, Item.extra_annotations, Item.final_label, Item.final_source)
            .where(Item.project_id == project.id, Item.n_annotations > 0, Item.id > last)
            .order_by(Item.id)
            .limit(batch)
        ).all()
        if not items:
            break
        last = items[-1].id
        new_finals += _refresh_chunk(project, items)
    project.labels_since_training += new_finals
    # The UPDATEs went around the ORM: loaded items must read their new values.
    for loaded in list(db.session.identity_map.values()):
        if isinstance(loaded, Item) and loaded.project_id == project.id:
            db.session.expire(loaded)


def _refresh_chunk(project: Project, items: list) -> int:
    """Write the outcome of each item in ``items``; returns how many got a new final label."""
    low, high = items[0].id, items[-1].id
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    for item_id, label, n in db.session.execute(
        select(Annotation.item_id, Annotation.label, func.count())
        .where(Annotation.item_id >= low, Annotation.item_id <= high)
        .group_by(Annotation.item_id, Annotation.label)
    ):
        counts[item_id][label] = n
    adjudicated = {row.id for row in items if row.final_source == "adjudicated"}
    resolved = _resolved(adjudicated) if adjudicated else set()
    rows, new_finals = [], 0
    for row in items:
        outcome = decide(
            project, counts[row.id], project.annotations_per_item + row.extra_annotations
        )
        values = {
            "id": row.id,
            "consensus_label": outcome.consensus_label,
            "consensus_confidence": outcome.consensus_confidence,
            "disputed": outcome.disputed,
        }
        final = row.final_label
        if row.id not in resolved:
            final = values["final_label"] = outcome.final_label
            values["final_source"] = outcome.final_source
        new_finals += final != row.final_label and final is not None
        rows.append(values)
    # Core executemany by id: the ORM's bulk UPDATE costs ~3x more here and adds nothing.
    # Rows without a final_label key keep theirs: one statement per key set.
    table = Item.__table__
    for with_final in (True, False):
        group = [v for v in rows if ("final_label" in v) == with_final]
        if group:
            columns = [c for c in group[0] if c != "id"]
            db.session.execute(
                update(table)
                .where(table.c.id == bindparam("item_id"))
                .values({c: bindparam(f"v_{c}") for c in columns}),
                [{"item_id": v["id"], **{f"v_{c}": v[c] for c in columns}} for v in group],
            )
    return new_finals


def _resolved(item_ids: set[int]) -> set[int]:
    """Those of ``item_ids`` whose latest 'resolve' decision carries a label (as
    :func:`_adjudicated_label` reads it)."""
    latest: dict[int, str | None] = {}
    for item_id, label in db.session.execute(
        select(Adjudication.item_id, Adjudication.label)
        .where(Adjudication.item_id.in_(item_ids), Adjudication.action == "resolve")
        .order_by(Adjudication.created_at, Adjudication.id)
    ):
        latest[item_id] = label  # ascending order: the last one seen is the latest
    return {item_id for item_id, label in latest.items() if label is not None}
