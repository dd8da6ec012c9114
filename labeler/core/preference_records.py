"""Final pairwise items as preference-tuning records (prompt / chosen / rejected).

The shape TRL's ``DPOTrainer`` and its kin read (``prompt``, ``chosen``,
``rejected``), with what labeler knows beside it: the systems, the margin and
agreement of the votes, and every vote with the order it was shown in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd


def _text(value: object) -> str:
    """A field as text ('' for missing or NaN)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _system(value: object) -> str | None:
    text = _text(value).strip()
    return text or None


def preference_pairs(
    items: pd.DataFrame, votes: pd.DataFrame, names: Mapping[str, str], include_ties: bool
) -> list[dict[str, Any]]:
    """``prompt``, ``chosen``, ``rejected`` (the trainers' shape), ``system_chosen`` /
    ``system_rejected``, ``margin`` (0..1: votes for the winner minus votes for the
    other, over all votes), ``agreement`` (0..1: share of votes for the final choice)
    ``n_votes`` and ``votes`` (every vote: annotator, choice, strength, order shown).
    Ties and both-bad come only with ``include_ties``, A as chosen, their ``choice``
    saying what they are."""
    counts = votes.groupby(["item", "key"]).size()
    every: dict[Any, list[dict[str, Any]]] = {}
    for item, who, value in zip(votes["item"], votes["annotator"], votes["value"], strict=True):
        every.setdefault(item, []).append({"annotator": who, **value})
    records = []
    for row in items.itertuples(index=False):
        choice = row.value["choice"]
        if choice not in ("A", "B") and not include_ties:
            continue
        first, second = ("B", "A") if choice == "B" else ("A", "B")
        tally = counts.get(row.item, pd.Series(dtype=int))
        n = int(tally.sum())
        won, lost = int(tally.get(first, 0)), int(tally.get(second, 0))
        data = row.data
        records.append(
            {
                "id": row.external_id,
                "prompt": _text(data.get(names["prompt"])),
                "context": _text(data.get(names["context"])) or None,
                "chosen": _text(data.get(names[f"response_{first.lower()}"])),
                "rejected": _text(data.get(names[f"response_{second.lower()}"])),
                "system_chosen": _system(data.get(names[f"system_{first.lower()}"])),
                "system_rejected": _system(data.get(names[f"system_{second.lower()}"])),
                "choice": choice,
                "margin": (won - lost) / n if n and choice in ("A", "B") else 0.0,
                "agreement": int(tally.get(choice, 0)) / n if n else None,
                "n_votes": n,
                "votes": every.get(row.item, []),
            }
        )
    return records
