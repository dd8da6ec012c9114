"""Relabel or label new, in the consensus job of a project with model-aware consensus
and ``relabel_or_new`` on (the idea of ActiveLab; :mod:`labeler.core.relabel`).

After the votes are weighed, every settled train item gets a score of how much one
more label would help, and so do the fresh items the queue would serve next (the
model's top probability for them). Of the next ``retrain_every`` labels, the labeled
items among the best scores (at most half the batch) get one more label: their
``extra_annotations`` grows by one and they join the "finish what is started" tier,
which the queue serves before fresh items. The queue's request path does not change.
An item of low consensus quality that can still take one more label is not disputed
(:func:`settle_low_quality`): that label is asked at once, and the item trains no model
until it comes; when no more can come, the posterior's likeliest label decides if it
passes the threshold. An answered asked label counts toward ``retrain_every``
(``queue_submit``), so a round stays ``retrain_every`` labels.
Each request is an audit event (``relabel_asked``: the items and their final label
then), from which :func:`relabel_figures` tells the model page what it bought.
Never commits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, or_, select, update

from labeler.core.model_consensus import ModelAwareResult
from labeler.core.relabel import MAX_SHARE, choose_relabels
from labeler.extensions import db
from labeler.models import (
    TIER_DONE,
    TIER_FRESH,
    TIER_STARTED,
    Annotation,
    AuditEvent,
    Item,
    ModelVersion,
    Project,
)
from labeler.services.learning import artifacts
from labeler.services.learning.training_data import pool_batches

MAX_EXTRA = 2  # more labels per item than k that relabel-or-new may ask for
ACTION = "relabel_asked"
SETTLE_BATCH = 5_000  # disputed items looked up per statement


def fresh_probabilities(project: Project, version: ModelVersion, n: int) -> pd.DataFrame:
    """The version's probabilities (items x classes) for the next ``n`` fresh train items
    by queue rank (empty when there are none)."""
    ids = db.session.scalars(
        select(Item.id)
        .where(
            Item.project_id == project.id,
            Item.split == "train",
            Item.queue_tier == TIER_FRESH,
            Item.is_gold.is_(False),
        )
        .order_by(Item.queue_rank, Item.id)
        .limit(n)
    ).all()
    if not ids:
        return pd.DataFrame()
    model = artifacts.load(version)
    parts = [
        pd.DataFrame(model.predict_proba(X), index=batch_ids, columns=list(model.classes))
        for batch_ids, X in pool_batches(project, np.sort(np.asarray(ids, dtype=np.int64)))
    ]
    return pd.concat(parts)


def _fresh_scores(project: Project, version: ModelVersion, result: ModelAwareResult, n: int):
    """First-label scores (1 - top probability) of the next ``n`` fresh train items."""
    probs = fresh_probabilities(project, version, n)
    if probs.empty:
        return pd.Series(dtype=float)
    return result.relabel_scores(probs)[1]  # only the top probability counts


def _open_to_one_more(project: Project) -> list[Any]:
    """Conditions on a train item that relabel-or-new may ask one more label for: not
    decided by a reviewer, not gold, not marked ambiguous, not a linked copy, below the
    extra-label cap, every label it needs given, and an annotator left who has not
    labeled it."""
    annotators = (
        db.session.scalar(
            select(func.count(func.distinct(Annotation.user_id))).where(
                Annotation.project_id == project.id
            )
        )
        or 0
    )
    return [
        *_decidable(project),
        Item.extra_annotations < MAX_EXTRA,
        Item.n_annotations < annotators,
        Item.n_annotations >= project.annotations_per_item + Item.extra_annotations,
    ]


def _decidable(project: Project) -> list[Any]:
    """Conditions on a train item whose final label the consensus decides: not decided
    by a reviewer, not gold, not marked ambiguous, not a linked copy."""
    return [
        Item.project_id == project.id,
        Item.split == "train",
        or_(Item.final_source.is_(None), Item.final_source != "adjudicated"),
        Item.is_gold.is_(False),
        Item.ambiguous.is_(False),
        Item.duplicate_of.is_(None),
    ]


def _candidates(project: Project, result: ModelAwareResult) -> pd.Series:
    """Relabel scores of the settled train items open to one more label."""
    ids = db.session.scalars(
        select(Item.id).where(
            *_open_to_one_more(project),
            Item.queue_tier == TIER_DONE,
            Item.final_label.is_not(None),
        )
    ).all()
    scores = result.relabel_scores()[0]
    return scores[scores.index.isin(ids)]


def settle_low_quality(
    project: Project, table: pd.DataFrame, fit_items: pd.DataFrame | None = None, ask: bool = True
) -> pd.DataFrame:
    """With relabel-or-new on, an item of low consensus quality (the chance that its
    consensus label is right under the project's threshold) does not wait for a
    reviewer while one more label can come: that label is asked for now
    (``extra_annotations`` grows by one, the item joins the "finish what is started"
    tier), and until it comes the item trains no model, as a disputed one would not.
    When no more can come (the cap, or nobody left to ask), the posterior's likeliest
    label decides if its own chance passes the threshold (``fit_items``' columns
    ``likeliest_label`` and ``likeliest_probability``): label and quality then come from
    the same posterior; else the dispute stands.

    Measured through the server's loop (``bench_label_quality_loop.py``, digits, k = 1;
    benchmarks/README.md): a second vote that disagrees once left the item disputed,
    outside every training until a reviewer came (12 right labels lost that way against
    5 wrong ones fixed); training on such an item's consensus label while its label was
    asked for lost to relabel-or-new off, because most items under the threshold have a
    wrong consensus label now that the quality is a calibrated chance.

    ``table``: :func:`labeler.services.labeling.consensus_job.label_table`'s frame
    (indexed by item id); returns it with those items' ``disputed`` cleared (and, for
    the ones the posterior decides, its label and chance). Without ``ask`` (the job
    before a training, on the last version's probabilities) an open item's dispute
    stands, so it stays out of that training, and the job after it, on the new
    version's probabilities, asks if it is still low."""
    flagged = table.index[table["disputed"].to_numpy(dtype=bool) & table["key"].notna().to_numpy()]
    if not project.relabel_or_new or flagged.empty:
        return table
    ids = np.asarray(flagged, dtype=np.int64).tolist()
    open_ids = _where(ids, _open_to_one_more(project))
    if open_ids and ask:
        _ask(project, open_ids, {"reason": "low quality"})
        table = table.assign(
            disputed=table["disputed"].to_numpy(dtype=bool) & ~table.index.isin(open_ids)
        )
    if fit_items is None or project.require_unanimity:
        return table
    closed = table.index.isin(_where(ids, _decidable(project))) & ~table.index.isin(open_ids)
    likeliest = fit_items.reindex(table.index)
    chance = likeliest["likeliest_probability"].to_numpy(dtype=float)
    decided = closed & (chance >= project.dispute_threshold)
    if not decided.any():
        return table
    table = table.copy()
    label = likeliest.loc[decided, "likeliest_label"].astype(object)
    table.loc[decided, "key"] = label
    table.loc[decided, "value"] = label
    table.loc[decided, "confidence"] = chance[decided]
    table.loc[decided, "disputed"] = False
    return table


def _where(ids: list[int], conditions: list[Any]) -> list[int]:
    """Those of ``ids`` that meet ``conditions``, looked up a batch at a time (an IN list
    stays under SQLite's limit)."""
    found: list[int] = []
    for start in range(0, len(ids), SETTLE_BATCH):
        batch = ids[start : start + SETTLE_BATCH]
        found += db.session.scalars(select(Item.id).where(*conditions, Item.id.in_(batch)))
    return found


def _ask(project: Project, asked: list[int], detail: dict[str, Any]) -> None:
    """One more label for each of ``asked``, and the audit event that records it."""
    before: dict[int, str | None] = {}
    for start in range(0, len(asked), SETTLE_BATCH):
        batch = asked[start : start + SETTLE_BATCH]
        before.update(
            db.session.execute(select(Item.id, Item.final_label).where(Item.id.in_(batch))).all()
        )
        db.session.execute(
            update(Item)
            .where(Item.id.in_(batch))
            .values(extra_annotations=Item.extra_annotations + 1, queue_tier=TIER_STARTED)
        )
    db.session.add(
        AuditEvent(
            project_id=project.id,
            action=ACTION,
            detail={"items": {str(i): before.get(i) for i in asked}, **detail},
        )
    )


def ask_for_relabels(
    project: Project, result: ModelAwareResult, version_id: int
) -> dict[str, Any] | None:
    """Ask one more label where it beats a first label (see module doc); what was asked
    (None when the option is off or the version has no artifact)."""
    version = db.session.get(ModelVersion, version_id)
    if not project.relabel_or_new or version is None or not version.artifact_path:
        return None
    batch = max(1, project.retrain_every)
    choice = choose_relabels(
        _candidates(project, result),
        _fresh_scores(project, version, result, batch),
        batch,
        MAX_SHARE,
    )
    asked = [int(item_id) for item_id in choice.relabel]
    if asked:
        _ask(
            project,
            asked,
            {"version_id": version_id, "n_fresh": choice.n_fresh, "threshold": choice.threshold},
        )
    return {"asked": len(asked), "n_fresh": choice.n_fresh, "batch": batch}


def relabel_figures(project: Project) -> dict[str, int] | None:
    """What relabel-or-new asked and bought: extra labels asked, given so far, and the
    final labels they changed (None when it never asked)."""
    events = db.session.scalars(
        select(AuditEvent.detail)
        .where(AuditEvent.project_id == project.id, AuditEvent.action == ACTION)
        .order_by(AuditEvent.id)
    ).all()
    if not events:
        return None
    before: dict[int, str | None] = {}
    for detail in events:  # oldest first: an item asked twice is judged from its first ask
        for item_id, label in (detail.get("items") or {}).items():
            before.setdefault(int(item_id), label)
    asked = sum(len(detail.get("items") or {}) for detail in events)
    rows = db.session.execute(
        select(Item.id, Item.n_annotations, Item.extra_annotations, Item.final_label).where(
            Item.id.in_(list(before))
        )
    ).all()
    k = project.annotations_per_item
    answered = [row for row in rows if row[2] > 0 and row[1] >= k + row[2]]
    changed = sum(1 for row in answered if row[3] is not None and row[3] != before[row[0]])
    return {"asked": asked, "n_items": len(before), "answered": len(answered), "changed": changed}
