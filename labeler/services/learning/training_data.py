"""Read a project's items into the plain frames the training core takes.

Training reads final labels of train-split items, evaluation those of test-split
items; both leave out items a reviewer marked ambiguous. The unlabeled pool is
read in id-ordered batches so scoring 100k items never holds 100k ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from labeler.core.model_inputs import ModelInputs
from labeler.extensions import db
from labeler.models import TIER_DONE, Annotation, Item, Project, User


@dataclass(frozen=True)
class LabeledFrame:
    """Items with their final labels: ``X`` has one column per model input field."""

    item_ids: np.ndarray
    X: pd.DataFrame
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.item_ids)


def model_inputs(project: Project) -> ModelInputs:
    """The project's model inputs; ValueError (shown on the job) when none are set."""
    inputs = ModelInputs.from_dict(project.model_inputs or {})
    if not inputs.fields:
        raise ValueError(
            "the project has no model inputs: import items with text, "
            "numeric or categorical columns first"
        )
    return inputs


def to_frame(records: list[dict[str, Any]], inputs: ModelInputs) -> pd.DataFrame:
    """One column per model input field, in the inputs' order; missing fields are None."""
    fields = list(inputs.fields)
    return pd.DataFrame(
        [[record.get(name) for name in fields] for record in records], columns=fields
    )


def _final_rows(project: Project, split: str) -> list[Any]:
    """(id, data, final key, final value) of the final-labeled, non-ambiguous items of
    ``split`` in id order: no linked copies (they would count twice), and no gold items
    on the test split (a person chose them; they were not sampled)."""
    stmt = (
        select(Item.id, Item.data, Item.final_label, Item.final_value)
        .where(
            Item.project_id == project.id,
            Item.split == split,
            Item.final_label.is_not(None),
            Item.ambiguous.is_(False),
            Item.duplicate_of.is_(None),
        )
        .order_by(Item.id)
    )
    if split == "test":
        stmt = stmt.where(Item.is_gold.is_(False))
    return list(db.session.execute(stmt).all())


def final_labeled(project: Project, split: str) -> LabeledFrame:
    """Final-labeled items of ``split`` (see :func:`_final_rows`) with the model inputs."""
    inputs = model_inputs(project)
    rows = _final_rows(project, split)
    return LabeledFrame(
        np.asarray([row[0] for row in rows], dtype=np.int64),
        to_frame([row[1] for row in rows], inputs),
        np.asarray([row[2] for row in rows], dtype=object),
    )


def label_counts(project: Project, split: str | None = "train") -> dict[str, int]:
    """Final labels per label (non-ambiguous items; ``split=None`` counts both splits)."""
    stmt = (
        select(Item.final_label, func.count(Item.id))
        .where(
            Item.project_id == project.id, Item.final_label.is_not(None), Item.ambiguous.is_(False)
        )
        .group_by(Item.final_label)
    )
    if split is not None:
        stmt = stmt.where(Item.split == split)
    return {str(label): int(n) for label, n in db.session.execute(stmt).all()}


def pool_filter(project: Project, split: str):
    """Items of ``split`` the queue can still hand out (not yet fully labeled)."""
    return (Item.project_id == project.id, Item.split == split, Item.queue_tier > TIER_DONE)


def pool_ids(project: Project, split: str = "train", by_rank: bool = True) -> np.ndarray:
    """Open items of ``split``, by their current queue rank (then id), or by id."""
    order = (Item.queue_rank, Item.id) if by_rank else (Item.id,)
    ids = db.session.scalars(
        select(Item.id).where(*pool_filter(project, split)).order_by(*order)
    ).all()
    return np.asarray(ids, dtype=np.int64)


def _pool_records(
    ids: np.ndarray, batch_size: int
) -> Iterator[tuple[np.ndarray, list[dict[str, Any]]]]:
    """The items ``ids``, ``batch_size`` at a time, as (ids, their data), in id order.

    The ids come first (``pool_ids``); each batch is then fetched by primary key, so
    the cost stays linear in the pool (a keyset query filtered on split and tier
    makes SQLite re-scan the open items for every batch), and no cursor is held
    open while the caller commits between batches.
    """
    for start in range(0, ids.size, batch_size):
        chunk = [int(item_id) for item_id in ids[start : start + batch_size]]
        rows = db.session.execute(
            select(Item.id, Item.data).where(Item.id.in_(chunk)).order_by(Item.id)
        ).all()
        yield (
            np.asarray([row[0] for row in rows], dtype=np.int64),
            [dict(row[1] or {}) for row in rows],
        )


def pool_batches(
    project: Project, ids: np.ndarray, batch_size: int = 5000
) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
    """The items ``ids`` (open train items), ``batch_size`` at a time, as (ids, X) with
    one column per model input."""
    inputs = model_inputs(project)
    for batch_ids, records in _pool_records(ids, batch_size):
        yield batch_ids, to_frame(records, inputs)


def _test_vote_rows(project: Project) -> list[Any]:
    """(item, annotator, key, value) of every vote on test items with 2+ answers."""
    return list(
        db.session.execute(
            select(Annotation.item_id, User.username, Annotation.label, Annotation.value)
            .join(Item, Item.id == Annotation.item_id)
            .join(User, User.id == Annotation.user_id)
            .where(
                Item.project_id == project.id,
                Item.split == "test",
                Item.n_annotations >= 2,
                Item.ambiguous.is_(False),
            )
        ).all()
    )


def hlp_annotations(project: Project) -> pd.DataFrame:
    """Long frame ``item``, ``annotator``, ``label`` of test items with 2+ labels (for HLP)."""
    rows = [(item, who, key) for item, who, key, _ in _test_vote_rows(project)]
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


@dataclass(frozen=True)
class ValuedFrame:
    """Items with their final values, for a kind that trains its own model: ``X`` has
    every field of the items (a kind reads the ones it needs: its text, its roles, or
    the project's model inputs)."""

    item_ids: np.ndarray
    X: pd.DataFrame
    values: list[Any]

    def __len__(self) -> int:
        return len(self.item_ids)


def data_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """All the items' fields, one column each (a field an item lacks is None)."""
    return pd.DataFrame.from_records(records) if records else pd.DataFrame()


def final_valued(project: Project, split: str, decode: Any) -> ValuedFrame:
    """Like :func:`final_labeled`, with the final values (``decode(key, value)``, the
    kind's) and all item fields."""
    rows = _final_rows(project, split)
    return ValuedFrame(
        np.asarray([row[0] for row in rows], dtype=np.int64),
        data_frame([dict(row[1] or {}) for row in rows]),
        [decode(row[2], row[3]) for row in rows],
    )


def pool_data_batches(
    project: Project, ids: np.ndarray, batch_size: int = 5000
) -> Iterator[tuple[np.ndarray, pd.DataFrame]]:
    """As :func:`pool_batches`, with all item fields (for a kind's own model)."""
    for batch_ids, records in _pool_records(ids, batch_size):
        yield batch_ids, data_frame(records)


def test_votes(project: Project, decode: Any) -> pd.DataFrame:
    """Long frame ``item``, ``annotator``, ``value``, ``key`` of test items with 2+
    answers (the kind's human level)."""
    return pd.DataFrame(
        [
            (item, who, decode(key, value), key)
            for item, who, key, value in _test_vote_rows(project)
        ],
        columns=["item", "annotator", "value", "key"],
    )
