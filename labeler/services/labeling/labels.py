"""Keep each item's consensus and final label current as votes arrive.

Majority vote is recomputed for the one item that changed, so a submit stays
cheap whatever the project size; a project using Dawid–Skene gets its posteriors
from the consensus job and majority in between. Semantics match
``labeler.core.consensus.majority_vote`` (ties are disputes, never settled by order).
After bulk writes (an import of labels, a label-set change) :func:`refresh_project`
computes the same outcome a chunk of items at a time, in a few statements per chunk.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from labeler.db_engine import run_core
from labeler.extensions import db
from labeler.models import (
    TIER_DONE,
    TIER_FRESH,
    TIER_STARTED,
    Adjudication,
    Annotation,
    Item,
    Project,
)
from labeler.services.labeling.gold import TIER_GOLD
from labeler.services.projects import kinds, webhooks


def item_target(project: Project, item: Item) -> int:
    """How many labels the item needs: the project's k plus any a reviewer asked for."""
    return project.annotations_per_item + item.extra_annotations


def retrain_due(project: Project) -> bool:
    """Whether enough new final train labels arrived for ``maybe_start_training`` to look
    (it checks again, on fresh rows); a handler asks before its commit expires ``project``."""
    return 0 < project.retrain_every <= project.labels_since_training


@dataclass(frozen=True)
class Outcome:
    """What an item's votes decide, as its project's task kind reads them: the consensus
    key and stored value (None on a tie), the backing share (0..1, None without votes),
    the dispute flag, and the final key, value and source (None while unsettled; the
    final is applied only when no reviewer resolved the item)."""

    consensus_label: str | None
    consensus_value: Any
    consensus_confidence: float | None
    disputed: bool
    final_label: str | None
    final_value: Any
    final_source: str | None


def decide(project: Project, votes: list[Any], target: int) -> Outcome:
    """The outcome of an item's decoded ``votes`` when it needs ``target`` labels.

    The one rule for both paths: :func:`refresh_item` (one item, on every submit) and
    :func:`refresh_project` (chunks of items, after a bulk import)."""
    if not votes:
        return Outcome(None, None, None, False, None, None, None)
    kind = kinds.kind_of(project)
    agreed = kind.item_consensus(votes, kinds.context(project))
    key = None if agreed.value is None else kind.key(agreed.value)
    stored = None if key is None else kinds.stored(key, agreed.value)
    complete = len(votes) >= target
    disputed = complete and agreed.disputed
    settled = complete and not disputed and key is not None
    source = ("unanimous" if agreed.unanimous else "majority") if settled else None
    return Outcome(
        key,
        stored,
        agreed.confidence,
        disputed,
        key if settled else None,
        stored if settled else None,
        source,
    )


def refresh_item(project: Project, item: Item, votes: list[Any] | None = None) -> bool:
    """Recompute ``item``'s consensus, dispute flag and final label from its votes,
    as the project's task kind reads them (decoded ``votes``: a caller that has just
    read every one of them, so they are not read again). True when a new final train
    label was counted toward ``retrain_every``."""
    if votes is None:
        kind = kinds.kind_of(project)
        rows = db.session.execute(
            select(Annotation.label, Annotation.value).where(Annotation.item_id == item.id)
        ).all()
        votes = [kind.decode(key, value) for key, value in rows]
    before, disputed_before = item.final_label, item.disputed
    outcome = decide(project, votes, item_target(project, item))
    decided = {
        "consensus_label": outcome.consensus_label,
        "consensus_value": outcome.consensus_value,
        "consensus_confidence": outcome.consensus_confidence,
        "disputed": outcome.disputed,
    }
    if not _adjudicated(item):
        decided["final_label"] = outcome.final_label
        decided["final_value"] = outcome.final_value
        decided["final_source"] = outcome.final_source
    _write_item(item, {name: v for name, v in decided.items() if getattr(item, name) != v})
    counted = False
    if item.final_label != before and item.final_label is not None:
        if item.split == "train":  # test labels never train a model
            count_train_label(project)
            counted = True
        webhooks.emit(project, "item.final_label", item_event(item))
    if item.disputed and not disputed_before:
        webhooks.emit(project, "item.disputed", item_event(item))
    return counted


@cache
def _item_update_statement(names: tuple[str, ...]) -> Any:
    table = Item.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("item_id"))
        .values({name: bindparam(f"new_{name}", type_=table.c[name].type) for name in names})
    )


def _write_item(item: Item, changes: dict[str, Any]) -> None:
    """Write what changed of ``item`` as one UPDATE and keep it as stored on the object:
    the flush's unit of work for one row cost more Python time (inside the write turn)
    than the statement itself."""
    if not changes:
        return
    names = tuple(sorted(changes))
    params = {f"new_{name}": changes[name] for name in names}
    run_core(_item_update_statement(names), {"item_id": item.id, **params})
    for name, value in changes.items():
        set_committed_value(item, name, value)


def asked_votes(project: Project, item: Any, before: int, after: int) -> int:
    """How many of an item's votes from ``before`` to ``after`` relabel-or-new asked for
    (past k, up to k + ``extra_annotations``) on a train item that is not gold. Each
    counts toward ``retrain_every`` even when the final label stays: the job that asked
    planned it into the next ``retrain_every`` labels (``bench_label_quality_loop.py``,
    digits, k = 1: 6 trainings against 11 in 300 labels without this). A submit and an
    import of labels count them alike; a new final label that came with one counts once.
    """
    if item.split != "train" or item.is_gold:
        return 0
    k = project.annotations_per_item
    return max(0, min(after, k + item.extra_annotations) - max(before, k))


@cache
def project_counter_statement(column: str) -> Any:
    """``project.<column> + 1`` in the database, returning the new count
    (``project_id``): a counter never written back from a copy of the project."""
    table = Project.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("project_id"))
        .values({column: table.c[column] + 1})
        .returning(table.c[column])
    )


def count_train_label(project: Project) -> None:
    """One more final train label, counted in the database: a request may have read
    ``project`` before its write turn (``reads_before_writing``), and a count written
    back from that copy would drop the labels other requests counted meanwhile."""
    statement = project_counter_statement("labels_since_training")
    counted = run_core(statement, {"project_id": project.id}).scalar_one()
    set_committed_value(project, "labels_since_training", counted)


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


def refresh_project(project: Project, batch: int = 5000) -> None:
    """Refresh every labeled item of ``project`` (after a label-set change).

    The same outcome as :func:`refresh_item` on each item (both call :func:`decide`), in
    four statements per chunk of ``batch`` items (the items, their votes, which of them a
    reviewer resolved, one executemany UPDATE) instead of a query and a flush per item.
    """
    db.session.flush()  # pending ORM changes first: the statements below read the rows
    last, new_finals = 0, 0
    while True:
        items = db.session.execute(
            select(*_ITEM_COLUMNS)
            .where(Item.project_id == project.id, Item.n_annotations > 0, Item.id > last)
            .order_by(Item.id)
            .limit(batch)
        ).all()
        if not items:
            break
        last = items[-1].id
        new_finals += _refresh_chunk(project, items, counting=False)[0]
    project.labels_since_training += new_finals
    _expire_loaded(project)


def refresh_items(project: Project, item_ids: Iterable[int], batch: int = 5000) -> None:
    """Recount and refresh just ``item_ids`` (items whose votes a bulk import wrote around
    the ORM): each one's label count, queue tier, consensus, dispute flag and final label
    as :func:`refresh_item` and a submit's count would leave them, the project's filled
    slots and new final labels, one chunk of ``batch`` items at a time."""
    db.session.flush()
    ordered = sorted(set(item_ids))
    new_finals = slots = 0
    for start in range(0, len(ordered), batch):
        chunk = ordered[start : start + batch]
        wanted = set(chunk)
        items = [
            row
            for row in db.session.execute(
                select(*_ITEM_COLUMNS).where(_ids_condition(Item.id, chunk)).order_by(Item.id)
            )
            if row.id in wanted
        ]
        finals, filled = _refresh_chunk(project, items, counting=True)
        new_finals, slots = new_finals + finals, slots + filled
    project.labels_since_training += new_finals
    project.filled_slots += slots
    _expire_loaded(project)


class NewItemVotes:
    """What the votes an import brings with a new item make of it, decided before the
    item's INSERT: its count, tier, consensus and final label, as :func:`refresh_items`
    would write them after, so the row goes in once and finished (no UPDATE, no re-read).
    Counts the project's filled slots and new final labels, and announces the chunk's new
    final labels and disputes as :func:`refresh_items` does (one summary per event)."""

    def __init__(self, project: Project):
        self.project, self.kind = project, kinds.kind_of(project)
        # the columns each distinct vote pattern gives a new item, decided once
        self.outcomes: dict[tuple[str, ...], dict[str, Any]] = {}

    def settle(self, row: dict[str, Any], votes: list[tuple[str, Any]]) -> None:
        """Fill the columns of a new item's ``row`` (not gold, no extra labels asked)
        from its ``votes``: (answer key, stored value), in the order they are inserted."""
        pattern = tuple(key for key, _ in votes)
        columns = self.outcomes.get(pattern)
        if columns is None:
            decoded = [self.kind.decode(key, value) for key, value in votes]
            outcome = decide(self.project, decoded, self.project.annotations_per_item)
            columns = self.outcomes[pattern] = {
                "n_annotations": len(votes),
                "queue_tier": _tier(self.project, _NEW_ITEM, len(votes)),
                "consensus_label": outcome.consensus_label,
                "consensus_value": outcome.consensus_value,
                "consensus_confidence": outcome.consensus_confidence,
                "disputed": outcome.disputed,
                "final_label": outcome.final_label,
                "final_value": outcome.final_value,
                "final_source": outcome.final_source,
            }
        row.update(columns)

    def count(self, rows: list[dict[str, Any]], ids: dict[str, int]) -> None:
        """After the INSERT of settled ``rows`` (ids by external id): the project's
        counters and the webhook summaries."""
        finals, disputes = [], []
        k = self.project.annotations_per_item
        slots = new_finals = 0  # summed here: an ORM attribute set per row costs
        for row in rows:
            if not row["n_annotations"]:
                continue
            slots += min(row["n_annotations"], k)
            event = {
                "item_id": ids[row["external_id"]],
                "external_id": row["external_id"],
                "final_label": row["final_label"],
                "decided_by": row["final_source"],
                "confidence": row["consensus_confidence"],
            }
            if row["final_label"] is not None:
                new_finals += row["split"] == "train"
                finals.append(event)
            if row["disputed"]:
                disputes.append(event)
        self.project.filled_slots += slots
        self.project.labels_since_training += new_finals
        _emit_summary(self.project, "item.final_label", finals)
        _emit_summary(self.project, "item.disputed", disputes)


# What _tier reads of an item an import inserts with its votes: not gold, no copy, no
# extra labels asked (gold and copies are marked after the INSERT).
_NEW_ITEM = SimpleNamespace(duplicate_of=None, is_gold=False, extra_annotations=0)

_ITEM_COLUMNS = (
    Item.id,
    Item.external_id,
    Item.extra_annotations,
    Item.final_label,
    Item.final_source,
    Item.disputed,
    Item.split,
    Item.n_annotations,
    Item.is_gold,
    Item.duplicate_of,
)


def _ids_condition(column: Any, ids: list[int]) -> Any:
    """``column`` among the sorted ``ids``: a range when they are dense (the rows of an
    import), else a list; a range may match others, which the caller drops."""
    if ids[-1] - ids[0] < 4 * len(ids):
        return column.between(ids[0], ids[-1])
    return column.in_(ids)


def _expire_loaded(project: Project) -> None:
    # The UPDATEs went around the ORM: loaded items must read their new values.
    for loaded in list(db.session.identity_map.values()):
        if isinstance(loaded, Item) and loaded.project_id == project.id:
            db.session.expire(loaded)


def _tier(project: Project, row: Any, n_annotations: int) -> int:
    """The queue tier a recount gives an item with ``n_annotations`` labels (gold keeps
    its own; a linked copy never queues)."""
    if row.duplicate_of is not None:
        return TIER_DONE
    if row.is_gold:
        return TIER_GOLD
    if n_annotations >= project.annotations_per_item + row.extra_annotations:
        return TIER_DONE
    return TIER_STARTED if n_annotations > 0 else TIER_FRESH


def _refresh_chunk(project: Project, items: list, counting: bool) -> tuple[int, int]:
    """Write the outcome of each item in ``items`` (and with ``counting``, its label count
    and tier); returns how many train items got a new final label (what counts toward the
    next retrain) and by how many the project's filled slots grow."""
    kind = kinds.kind_of(project)
    k = project.annotations_per_item
    stored_votes: dict[int, list[tuple[str, Any]]] = defaultdict(list)
    for item_id, key, value in db.session.execute(
        select(Annotation.item_id, Annotation.label, Annotation.value)
        .where(_ids_condition(Annotation.item_id, [row.id for row in items]))
        .order_by(Annotation.item_id, Annotation.id)
    ):
        stored_votes[item_id].append((key, value))
    adjudicated = {row.id for row in items if row.final_source == "adjudicated"}
    resolved = _resolved(adjudicated) if adjudicated else set()
    rows, new_finals, slots = [], 0, 0
    finals: list[dict[str, Any]] = []
    disputes: list[dict[str, Any]] = []
    # A chunk holds few distinct vote patterns (one label each: as many as labels), and
    # equal keys mean equal votes: decode and decide each pattern once.
    outcomes: dict[tuple[tuple[str, ...], int], Outcome] = {}
    for row in items:
        target = k + row.extra_annotations
        found = stored_votes.get(row.id, [])
        pattern = (tuple(key for key, _ in found), target)
        outcome = outcomes.get(pattern)
        if outcome is None:
            votes = [kind.decode(key, value) for key, value in found]
            outcome = outcomes[pattern] = decide(project, votes, target)
        values = {
            "id": row.id,
            "consensus_label": outcome.consensus_label,
            "consensus_value": outcome.consensus_value,
            "consensus_confidence": outcome.consensus_confidence,
            "disputed": outcome.disputed,
        }
        if counting:
            values["n_annotations"] = len(found)
            values["queue_tier"] = _tier(project, row, len(found))
            slots += min(len(found), k) - min(row.n_annotations, k)
        final, source = row.final_label, row.final_source
        if row.id not in resolved:
            final = values["final_label"] = outcome.final_label
            values["final_value"] = outcome.final_value
            source = values["final_source"] = outcome.final_source
        event = {
            "item_id": row.id,
            "external_id": row.external_id,
            "final_label": final,
            "decided_by": source,
            "confidence": outcome.consensus_confidence,
        }
        asked = asked_votes(project, row, row.n_annotations, len(found)) if counting else 0
        new_finals += asked
        if final != row.final_label and final is not None:
            if not asked:  # a final label that came with an asked vote counted with it
                new_finals += row.split == "train"  # test labels never train a model
            finals.append(event)
        if outcome.disputed and not row.disputed:
            disputes.append(event)
        rows.append(values)
    _emit_summary(project, "item.final_label", finals)
    _emit_summary(project, "item.disputed", disputes)
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
    return new_finals, slots


def _emit_summary(project: Project, event_name: str, events: list[dict[str, Any]]) -> None:
    """One delivery for a chunk's items, not one per item: ``{"bulk": true, "count": n,
    "items": [...]}``, each entry what :func:`item_event` says of one item."""
    if events:
        webhooks.emit(project, event_name, {"bulk": True, "count": len(events), "items": events})


def _resolved(item_ids: set[int]) -> set[int]:
    """Those of ``item_ids`` a reviewer's 'resolve' decision holds (as :func:`_adjudicated`
    reads it for one item)."""
    return set(
        db.session.scalars(
            select(Adjudication.item_id)
            .where(Adjudication.item_id.in_(item_ids), Adjudication.action == "resolve")
            .distinct()
        )
    )
