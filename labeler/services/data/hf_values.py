"""How each task kind's answers read in a Hugging Face ``datasets`` export.

One class per kind, found by the kind's name in :data:`HF_VALUES` (like the format
converters' ``interchange_values.KIND_VALUES``): the features of the answer columns,
and the columns of one row from the item's final value and its votes.

- single_label: ``label`` (``ClassLabel``; -1 without a final label), votes' ``label``;
- multi_label: ``labels``, a list of ``ClassLabel`` (what ``datasets`` and
  transformers' multi-label examples read), empty without a final answer, and
  ``labeled`` (whether there is one);
- rating: ``rating`` (float64, null without one);
- spans: ``spans``, a list of ``start`` / ``end`` (code points) / ``label`` (``ClassLabel``);
- pairwise: one row per decided final pair in the shape preference-tuning trainers read
  (TRL's ``DPOTrainer``: ``prompt``, ``chosen``, ``rejected``), with the systems, the
  choice, ``margin``, ``agreement`` and every vote with the order it was shown in.
  Ties and "both bad" have no chosen response and are left out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from labeler.core.kinds import KindContext, TaskKind


class HfValue:
    """The answer columns of one kind. ``rows`` turns one batch of items (``item``,
    ``external_id``, ``data``, ``value``: the final value or None) and their votes
    (``item``, ``annotator``, ``value``, ``key``) into the export's rows."""

    item_fields = True  # the item's own fields ride along (pairwise writes its roles)

    def features(self, datasets: Any, labels: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    def answer(self, value: Any, labels: list[str]) -> dict[str, Any]:
        raise NotImplementedError

    def vote(self, value: Any, labels: list[str]) -> dict[str, Any]:
        return self.answer(value, labels)

    def rows(
        self,
        items: pd.DataFrame,
        votes: pd.DataFrame,
        kind: TaskKind,
        context: KindContext,
    ) -> list[dict[str, Any]]:
        labels = list(context.labels)
        by_item: dict[Any, list[dict[str, Any]]] = {}
        for item, who, value in zip(votes["item"], votes["annotator"], votes["value"], strict=True):
            by_item.setdefault(item, []).append({"annotator": who, **self.vote(value, labels)})
        return [
            {
                "external_id": row.external_id,
                "data": row.data,
                **self.answer(row.value, labels),
                "annotations": by_item.get(row.item, []),
            }
            for row in items.itertuples(index=False)
        ]


def _index(labels: list[str], name: Any) -> int:
    return labels.index(name) if name in labels else -1


class SingleLabelHf(HfValue):
    def features(self, datasets: Any, labels: list[str]) -> dict[str, Any]:
        label = datasets.ClassLabel(names=labels)
        return {
            "label": label,
            "annotations": [{"annotator": datasets.Value("string"), "label": label}],
        }

    def answer(self, value: Any, labels: list[str]) -> dict[str, Any]:
        return {"label": -1 if value is None else _index(labels, value)}


class MultiLabelHf(HfValue):
    def features(self, datasets: Any, labels: list[str]) -> dict[str, Any]:
        chosen = datasets.Sequence(datasets.ClassLabel(names=labels))
        return {
            "labels": chosen,
            "labeled": datasets.Value("bool"),
            "annotations": [{"annotator": datasets.Value("string"), "labels": chosen}],
        }

    def answer(self, value: Any, labels: list[str]) -> dict[str, Any]:
        return {
            "labels": [_index(labels, name) for name in value or []],
            "labeled": value is not None,
        }

    def vote(self, value: Any, labels: list[str]) -> dict[str, Any]:
        return {"labels": [_index(labels, name) for name in value]}


class RatingHf(HfValue):
    def features(self, datasets: Any, labels: list[str]) -> dict[str, Any]:
        return {
            "rating": datasets.Value("float64"),
            "annotations": [
                {"annotator": datasets.Value("string"), "rating": datasets.Value("float64")}
            ],
        }

    def answer(self, value: Any, labels: list[str]) -> dict[str, Any]:
        return {"rating": None if value is None else float(value)}


class SpansHf(HfValue):
    def features(self, datasets: Any, labels: list[str]) -> dict[str, Any]:
        span = {
            "start": datasets.Value("int32"),
            "end": datasets.Value("int32"),
            "label": datasets.ClassLabel(names=labels),
        }
        return {
            "spans": [span],
            "labeled": datasets.Value("bool"),
            "annotations": [{"annotator": datasets.Value("string"), "spans": [span]}],
        }

    def answer(self, value: Any, labels: list[str]) -> dict[str, Any]:
        return {**self.vote(value or [], labels), "labeled": value is not None}

    def vote(self, value: Any, labels: list[str]) -> dict[str, Any]:
        return {
            "spans": [
                {
                    "start": int(s["start"]),
                    "end": int(s["end"]),
                    "label": _index(labels, s["label"]),
                }
                for s in value
            ]
        }


class PairwiseHf(HfValue):
    item_fields = False

    def features(self, datasets: Any, labels: list[str]) -> dict[str, Any]:
        text = datasets.Value("string")
        return {
            "prompt": text,
            "context": text,
            "chosen": text,
            "rejected": text,
            "system_chosen": text,
            "system_rejected": text,
            "choice": text,
            "margin": datasets.Value("float64"),
            "agreement": datasets.Value("float64"),
            "n_votes": datasets.Value("int32"),
            "votes": [{"annotator": text, "choice": text, "strength": text, "shown": text}],
        }

    def rows(
        self,
        items: pd.DataFrame,
        votes: pd.DataFrame,
        kind: TaskKind,
        context: KindContext,
    ) -> list[dict[str, Any]]:
        final = items[[value is not None for value in items["value"]]]
        pairs = kind.preference_pairs(final, votes, context, include_ties=False) or []
        return [
            {
                "external_id": pair.pop("id"),
                "data": {},
                **pair,
                "votes": [
                    {key: vote.get(key) for key in ("annotator", "choice", "strength", "shown")}
                    for vote in pair["votes"]
                ],
            }
            for pair in pairs
        ]


HF_VALUES: dict[str, HfValue] = {
    "single_label": SingleLabelHf(),
    "multi_label": MultiLabelHf(),
    "rating": RatingHf(),
    "spans": SpansHf(),
    "pairwise": PairwiseHf(),
}
