"""Labeled data for a simulation: any CSV (also .bz2/.gz) with a text and a label
column, or scikit-learn's digits. The truth stays here: it is never imported."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class Dataset:
    """Items to import (``id`` plus input fields), the truth per id, and the label set."""

    name: str
    frame: pd.DataFrame
    truth: dict[str, Any]  # a label; a list of labels (multi_label); a number (rating)
    labels: list[str]
    mapping: dict[str, Any]
    inputs: dict[str, list[str]] = field(default_factory=dict)
    #: The project's task kind, and what it is created with besides the labels.
    task_kind: str = "single_label"
    task_settings: dict[str, Any] = field(default_factory=dict)
    label_scale: str = "nominal"

    def rows(self) -> list[dict[str, Any]]:
        return self.frame.to_dict(orient="records")


def _subsample(frame: pd.DataFrame, max_items: int | None, seed: int) -> pd.DataFrame:
    if max_items and len(frame) > max_items:
        frame = frame.sample(n=max_items, random_state=seed).sort_index()
    return frame


def from_csv(
    path: str | Path,
    text_column: str,
    label_column: str,
    only_labels: list[str] | None = None,
    max_items: int | None = None,
    seed: int = 0,
) -> Dataset:
    """Rows with an empty text or label are dropped; labels become strings."""
    path = Path(path)
    raw = pd.read_csv(path, usecols=[text_column, label_column], dtype={label_column: str})
    raw = raw.dropna()
    raw = raw[raw[text_column].astype(str).str.strip() != ""]
    if only_labels:
        raw = raw[raw[label_column].isin(only_labels)]
    raw = _subsample(raw, max_items, seed)
    ids = [f"row-{i}" for i in raw.index]
    frame = pd.DataFrame({"id": ids, "text": raw[text_column].astype(str).to_numpy()})
    truth = dict(zip(ids, raw[label_column].astype(str), strict=True))
    labels = only_labels or sorted(set(truth.values()))
    name = path.name.split(".")[0]
    return Dataset(name, frame, truth, labels, {"id": "id", "text": ["text"]}, {"text": ["text"]})


def digits(max_items: int | None = None, seed: int = 0) -> Dataset:
    """scikit-learn's 1,797 8x8 handwritten digits: 64 numeric pixel fields."""
    from sklearn.datasets import load_digits

    data = load_digits()
    fields = [f"p{i}" for i in range(64)]
    frame = pd.DataFrame(data.data.astype(int), columns=fields)
    frame.insert(0, "id", [f"digit-{i:04d}" for i in range(len(frame))])
    target = pd.Series(data.target.astype(str), index=frame.index)
    frame = _subsample(frame, max_items, seed)
    truth = dict(zip(frame["id"], target[frame.index], strict=True))
    labels = [str(d) for d in range(10)]
    return Dataset(
        "digits",
        frame.reset_index(drop=True),
        truth,
        labels,
        {"id": "id", "numeric": fields},
        {"numeric": fields},
    )


def _text_frame(raw: pd.DataFrame, text_column: str) -> tuple[list[str], pd.DataFrame]:
    ids = [f"row-{i}" for i in raw.index]
    return ids, pd.DataFrame({"id": ids, "text": raw[text_column].astype(str).to_numpy()})


def multi_label_csv(
    path: str | Path,
    text_column: str,
    label_column: str,
    separator: str = "|",
    max_items: int | None = None,
    seed: int = 0,
) -> Dataset:
    """A multi-label CSV: the label cell holds the set, labels joined by ``separator``
    (an empty cell is the empty set, which the project then allows)."""
    path = Path(path)
    raw = pd.read_csv(path, usecols=[text_column, label_column], dtype=str, keep_default_na=False)
    raw = _subsample(raw[raw[text_column].str.strip() != ""], max_items, seed)
    sets = [
        {label.strip() for label in cell.split(separator) if label.strip()}
        for cell in raw[label_column]
    ]
    labels = sorted(set().union(*sets))
    ids, frame = _text_frame(raw, text_column)
    truth = {
        i: [lbl for lbl in labels if lbl in chosen] for i, chosen in zip(ids, sets, strict=True)
    }
    name = path.name.split(".")[0]
    mapping = {"id": "id", "text": ["text"]}
    settings = {"allow_empty": any(not chosen for chosen in sets)}
    return Dataset(name, frame, truth, labels, mapping, {"text": ["text"]}, "multi_label", settings)


def _point(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def rating_csv(
    path: str | Path,
    text_column: str,
    label_column: str,
    label_scale: str = "ordinal",
    max_items: int | None = None,
    seed: int = 0,
) -> Dataset:
    """A rating CSV: the label cell is a number. The scale is every whole point from the
    lowest to the highest rating (or the distinct ratings, when some are not whole)."""
    path = Path(path)
    raw = pd.read_csv(path, usecols=[text_column, label_column]).dropna()
    raw = _subsample(raw[raw[text_column].astype(str).str.strip() != ""], max_items, seed)
    ratings = raw[label_column].astype(float)
    if (ratings == ratings.round()).all():
        points = [float(p) for p in range(int(ratings.min()), int(ratings.max()) + 1)]
    else:
        points = sorted(set(ratings))
    ids, frame = _text_frame(raw, text_column)
    truth = {i: _point(v) for i, v in zip(ids, ratings, strict=True)}
    labels = [str(_point(p)) for p in points]
    name = path.name.split(".")[0]
    mapping = {"id": "id", "text": ["text"]}
    return Dataset(
        name, frame, truth, labels, mapping, {"text": ["text"]}, "rating", {}, label_scale
    )
