"""Export a project as a Hugging Face ``datasets`` dataset on disk (the ``huggingface`` extra).

One split per item split (train, test), one row per item: its external id, its fields,
the final answer and ``annotations`` (every vote, by annotator), in the shape the
project's kind reads in ``datasets`` (:mod:`labeler.services.data.hf_values`; pairwise
projects write prompt / chosen / rejected rows). The folder also gets the dataset card
as ``README.md``, as the Hub reads it.

The rows are written by ``Dataset.from_generator`` from items read ``BATCH`` at a time,
so the export never holds the project in memory: ``datasets`` writes Arrow files as the
generator yields, then ``save_to_disk`` copies them into the folder.

``datasets`` is optional: it brings about 20 packages and 73 MB, and takes seconds to
import, which the server itself never needs.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select

from labeler.extensions import db
from labeler.models import Annotation, Item, Project, User
from labeler.services import ServiceError
from labeler.services.data.dataset_card import card_markdown, dataset_card
from labeler.services.data.hf_values import HF_VALUES
from labeler.services.projects import kinds

BATCH = 1000
RESERVED = ("external_id", "annotations")


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise ServiceError(
            "the Hugging Face export needs datasets: pip install 'labeler[huggingface]'"
        ) from None
    return datasets


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float) or value is None else str(value)


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _batches(project_id: int, split: str | None) -> Iterator[list[Any]]:
    """Items of the project (of ``split``; None: every split) in id order, BATCH at a time:
    (id, external_id, split, data, final_label, final_value)."""
    last = 0
    while True:
        stmt = (
            select(
                Item.id, Item.external_id, Item.split, Item.data, Item.final_label, Item.final_value
            )
            .where(Item.project_id == project_id, Item.id > last)
            .order_by(Item.id)
            .limit(BATCH)
        )
        if split is not None:
            stmt = stmt.where(Item.split == split)
        rows = db.session.execute(stmt).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _fields(project_id: int) -> tuple[dict[str, bool], set[str]]:
    """The items' field names in first-seen order, each with whether every value is a
    number (then float64, else string); and the splits present."""
    numeric: dict[str, bool] = {}
    splits: set[str] = set()
    for rows in _batches(project_id, None):
        for row in rows:
            splits.add(row[2])
            for name, value in (row[3] or {}).items():
                if name in RESERVED:
                    continue
                fits = value is None or _numeric(value)
                numeric[name] = numeric.get(name, True) and fits
    return numeric, splits


def _frames(project: Project, rows: list[Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One batch as the kind's frames: items (item, external_id, data, value) and
    votes (item, annotator, value, key)."""
    kind = kinds.kind_of(project)
    items = pd.DataFrame(
        {
            "item": [row[0] for row in rows],
            "external_id": [row[1] for row in rows],
            "data": [dict(row[3] or {}) for row in rows],
            # object: a rating column with gaps must keep None, not become NaN
            "value": pd.Series(
                [kind.decode(row[4], row[5]) if row[4] is not None else None for row in rows],
                dtype=object,
            ),
        }
    )
    found = db.session.execute(
        select(Annotation.item_id, User.username, Annotation.label, Annotation.value)
        .join(User, User.id == Annotation.user_id)
        .where(Annotation.item_id.in_([row[0] for row in rows]))
        .order_by(Annotation.id)
    ).all()
    votes = pd.DataFrame(
        [(item, who, kind.decode(key, value), key) for item, who, key, value in found],
        columns=["item", "annotator", "value", "key"],
    )
    return items, votes


def generate_rows(project_id: int, split: str, fields: list[str]) -> Iterator[dict[str, Any]]:
    """The export's rows of one split (``Dataset.from_generator`` calls it)."""
    project = db.session.get(Project, project_id)
    kind, context = kinds.kind_of(project), kinds.context(project)
    shape = HF_VALUES[kind.name]
    for rows in _batches(project_id, split):
        items, votes = _frames(project, rows)
        for row in shape.rows(items, votes, kind, context):
            data = row.pop("data")
            yield {**{name: _plain(data.get(name)) for name in fields}, **row}


def _features(datasets: Any, project: Project, numeric: dict[str, bool]) -> Any:
    shape = HF_VALUES[kinds.kind_of(project).name]
    item_fields = numeric if shape.item_fields else {}
    return datasets.Features(
        {
            "external_id": datasets.Value("string"),
            **{
                name: datasets.Value("float64" if is_number else "string")
                for name, is_number in item_fields.items()
            },
            **shape.features(datasets, list(project.label_names)),
        }
    )


def save_hf_dataset(project: Project, path: Path) -> dict[str, int]:
    """Write the dataset to the new folder ``path``; return the rows per split."""
    datasets = _datasets()
    if kinds.kind_of(project).name not in HF_VALUES:
        raise ServiceError(
            f"the Hugging Face export has no shape for {project.task_kind} projects",
            {"field": "task_kind"},
        )
    numeric, splits = _fields(project.id)
    if not splits:
        raise ServiceError("the project has no items to export")
    features = _features(datasets, project, numeric)
    fields = [name for name in features if name in numeric]
    cache = Path(tempfile.mkdtemp(prefix="labeler-hf-"))
    try:
        out = datasets.DatasetDict(
            {
                split: datasets.Dataset.from_generator(
                    generate_rows,
                    features=features,
                    gen_kwargs={"project_id": project.id, "split": split, "fields": fields},
                    cache_dir=str(cache),
                    split=split,
                )
                for split in sorted(splits)
            }
        )
        out.save_to_disk(str(path))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    (path / "README.md").write_text(card_markdown(dataset_card(project)))
    return {split: len(ds) for split, ds in out.items()}
