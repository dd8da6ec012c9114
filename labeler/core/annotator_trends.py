"""Each annotator, week by week: pace, agreement with others, gold accuracy, and flags.

Input is the long frame of votes (one row per annotation) that the agreement
code uses, with a time and the item's gold answer when it has one. Pure pandas:
the service reads the rows, this module does the arithmetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_VOTES = 10  # a week with fewer labels (or fewer compared labels) is not flagged
FAST_SHARE = 0.25  # "implausibly fast": median under a quarter of the project's median
FAST_FLOOR = 1.0  # ... or under one second per item, whatever the project
AGREEMENT_DROP = 0.15  # "falling agreement": this far under the annotator's earlier weeks


def agreement_with_others(votes: pd.DataFrame) -> pd.Series:
    """For each vote, the share of the other annotators on its item who gave the same
    label, 0..1 (NaN when nobody else labeled the item). Averaged, this is the
    annotator's observed pairwise agreement: chance is not corrected for."""
    same = votes.groupby(["item", "label"], observed=True)["item"].transform("size")
    total = votes.groupby("item")["item"].transform("size")
    others = (total - 1).astype(float)
    return ((same - 1) / others.where(others > 0)).astype(float)


def week_start(times: pd.Series) -> pd.Series:
    """The Monday (00:00) of each timestamp's week."""
    days = pd.to_datetime(times).dt.normalize()
    return days - pd.to_timedelta(days.dt.day_of_week, unit="D")


def weekly_stats(votes: pd.DataFrame) -> pd.DataFrame:
    """One row per annotator and week.

    Args:
        votes: columns item, annotator, label, seconds (NaN if unknown), created_at,
            gold_label (None unless the item is gold).

    Returns:
        columns annotator, week, n_items, median_seconds, agreement (0..1, see
        :func:`agreement_with_others`), compared (votes with others to compare to),
        gold_n, gold_correct, gold_accuracy (0..1 or NaN), flags (list of str:
        "fast" = median seconds under a quarter of the project's median or under
        1 s; "falling_agreement" = agreement 0.15+ under the annotator's earlier
        weeks). Weeks with fewer than 10 labels are never flagged.
    """
    frame = votes.assign(
        label=votes["label"].astype(str),
        week=week_start(votes["created_at"]),
        agreement=agreement_with_others(votes.assign(label=votes["label"].astype(str))),
    )
    gold = frame["gold_label"].notna()
    frame["gold_correct"] = np.where(gold, frame["label"] == frame["gold_label"], np.nan)
    grouped = frame.groupby(["annotator", "week"])
    table = pd.DataFrame(
        {
            "n_items": grouped.size(),
            "median_seconds": grouped["seconds"].median(),
            "agreement": grouped["agreement"].mean(),
            "compared": grouped["agreement"].count(),
            "gold_n": grouped["gold_correct"].count(),
            "gold_correct": grouped["gold_correct"].sum(),
        }
    ).reset_index()
    table["gold_accuracy"] = table["gold_correct"] / table["gold_n"].where(table["gold_n"] > 0)
    table["flags"] = _flags(table, float(frame["seconds"].median()))
    return table.sort_values(["annotator", "week"], ignore_index=True)


def _flags(table: pd.DataFrame, project_median: float) -> list[list[str]]:
    fast_limit = (
        max(FAST_FLOOR, FAST_SHARE * project_median)
        if project_median == project_median
        else FAST_FLOOR
    )
    flags: list[list[str]] = []
    earlier: dict[object, tuple[float, int]] = {}  # annotator -> (sum of agreement, n)
    for row in table.itertuples(index=False):
        found = []
        enough = row.n_items >= MIN_VOTES
        if enough and row.median_seconds == row.median_seconds and row.median_seconds < fast_limit:
            found.append("fast")
        total, n = earlier.get(row.annotator, (0.0, 0))
        if (
            row.compared >= MIN_VOTES
            and n >= MIN_VOTES
            and row.agreement < total / n - AGREEMENT_DROP
        ):
            found.append("falling_agreement")
        if row.compared:
            earlier[row.annotator] = (total + row.agreement * row.compared, n + int(row.compared))
        flags.append(found)
    return flags
