"""Agreement figures checked against brute force and the reference packages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labeler.agreement import leave_one_out_accuracy


def ratings(rows: list[tuple[object, object, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


def random_ratings(
    seed: int, n_items: int = 60, n_annotators: int = 5, n_labels: int = 3, missing: float = 0.3
) -> pd.DataFrame:
    """Random votes with a shared truth so agreement is neither zero nor perfect."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, n_labels, n_items)
    rows = []
    for item in range(n_items):
        for annotator in range(n_annotators):
            if rng.random() < missing:
                continue
            label = truth[item] if rng.random() < 0.6 else rng.integers(0, n_labels)
            rows.append((f"i{item}", f"a{annotator}", int(label)))
    return ratings(rows)


def brute_leave_one_out(frame: pd.DataFrame) -> dict[object, tuple[int, int, int]]:
    result: dict[object, list[int]] = {}
    for _, group in frame.groupby("item"):
        for annotator, label in zip(group["annotator"], group["label"], strict=True):
            tally = result.setdefault(annotator, [0, 0, 0])
            others = group.loc[group["annotator"] != annotator, "label"].value_counts()
            if others.sum() < 2:
                continue
            if (others == others.max()).sum() > 1:
                tally[2] += 1
                continue
            tally[0] += 1
            tally[1] += int(others.idxmax() == label)
    return {key: (n, correct, ties) for key, (n, correct, ties) in result.items()}


@pytest.mark.parametrize("seed", range(5))
def test_leave_one_out_matches_brute_force(seed: int) -> None:
    frame = random_ratings(seed)
    table = leave_one_out_accuracy(frame).set_index("annotator")
    for annotator, (n, correct, ties) in brute_leave_one_out(frame).items():
        row = table.loc[annotator]
        assert row["n_items"] == n
        assert row["n_ties_skipped"] == ties
        if n:
            assert row["accuracy"] == pytest.approx(correct / n)
        else:
            assert np.isnan(row["accuracy"])


def test_leave_one_out_excludes_own_vote_and_skips_ties() -> None:
    frame = ratings(
        [(1, "a", "x"), (1, "b", "x"), (1, "c", "y"), (2, "a", "x"), (2, "b", "x"), (2, "c", "x")]
    )
    table = leave_one_out_accuracy(frame).set_index("annotator")
    # item 1: a and b each see a tie (x vs y) among the others; c sees x, x.
    assert table.loc["a", "n_ties_skipped"] == 1
    assert table.loc["c", "n_items"] == 2
    assert table.loc["c", "accuracy"] == 0.5
    assert table.loc["a", "accuracy"] == 1.0


def test_leave_one_out_edge_cases() -> None:
    empty = leave_one_out_accuracy(ratings([]))
    assert list(empty.columns) == ["annotator", "n_items", "accuracy", "n_ties_skipped"]
    assert empty.empty
    single = leave_one_out_accuracy(ratings([(1, "a", "x"), (2, "a", "y")]))
    assert single["n_items"].tolist() == [0]
    assert np.isnan(single["accuracy"].iloc[0])
