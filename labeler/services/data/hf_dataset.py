"""Export a project as a Hugging Face ``datasets`` dataset on disk (the ``huggingface`` extra).

One split per item split (train, test), one row per item: its external id, its fields,
``label`` (a ``ClassLabel`` over the project's label set; -1 until the item has a final
label) and ``annotations`` (every vote: annotator and ``ClassLabel`` label). The
folder also gets the dataset card as ``README.md``, as the Hub reads it.

``datasets`` is optional: it brings about 20 packages and 73 MB, and takes seconds to
import, which the server itself never needs. The frame is built in memory (``from_dict``),
so very large projects should export JSONL or Parquet and load those with ``datasets``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from labeler.core.interchange_rows import Exported
from labeler.extensions import db
from labeler.models import Item, Project
from labeler.services import ServiceError
from labeler.services.data.dataset_card import card_markdown, dataset_card
from labeler.services.data.interchange import exported_items


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise ServiceError(
            "the Hugging Face export needs datasets: pip install 'labeler[huggingface]'"
        ) from None
    return datasets


def _feature(datasets: Any, values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return datasets.Value("float64")
    return datasets.Value("string")


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float) or value is None else str(value)


def save_hf_dataset(project: Project, path: Path) -> dict[str, int]:
    """Write the dataset to the new folder ``path``; return the rows per split."""
    datasets = _datasets()
    names = project.label_names
    index = {name: n for n, name in enumerate(names)}
    splits = dict(
        db.session.execute(
            select(Item.external_id, Item.split).where(Item.project_id == project.id)
        ).all()
    )
    finals = dict(
        db.session.execute(
            select(Item.external_id, Item.final_label).where(Item.project_id == project.id)
        ).all()
    )
    by_split: dict[str, list[Exported]] = {}
    fields: list[str] = []
    for item in exported_items(project):
        fields.extend(f for f in item.data if f not in fields)
        by_split.setdefault(splits[item.external_id], []).append(item)
    out = datasets.DatasetDict()
    for split, rows in by_split.items():
        table: dict[str, list[Any]] = {"external_id": [r.external_id for r in rows]}
        for name in fields:
            values = [r.data.get(name) for r in rows]
            table[name] = [_plain(v) for v in values]
        table["label"] = [index.get(finals[r.external_id], -1) for r in rows]
        table["annotations"] = [
            [{"annotator": who, "label": index[label]} for who, label, _, _ in r.annotations]
            for r in rows
        ]
        label = datasets.ClassLabel(names=names)
        features = datasets.Features(
            {
                "external_id": datasets.Value("string"),
                **{name: _feature(datasets, table[name]) for name in fields},
                "label": label,
                "annotations": [{"annotator": datasets.Value("string"), "label": label}],
            }
        )
        out[split] = datasets.Dataset.from_dict(table, features=features)
    if not out:
        raise ServiceError("the project has no items to export")
    out.save_to_disk(str(path))
    (path / "README.md").write_text(card_markdown(dataset_card(project)))
    return {split: len(ds) for split, ds in out.items()}
