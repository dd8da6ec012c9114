"""Agreement figures checked against brute force and the reference packages."""

from __future__ import annotations

import ast
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

from labeler.core.agreement import (
    AgreementResult,
    fleiss_kappa,
    krippendorff_alpha,
    leave_one_out_accuracy,
    pairwise_cohen_kappa,
    per_label_agreement,
    percent_agreement,
)

VADER = Path(__file__).resolve().parents[1] / "data" / "vader_tweets_ratings.tsv"


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


# --- reference implementations -------------------------------------------------


def reference_alpha(frame: pd.DataFrame, level: str, order: list[object] | None = None) -> float:
    """The krippendorff package on an annotators x items matrix; NaN where it refuses."""
    values = frame["label"] if order is None else frame["label"].map(order.index)
    matrix = (
        frame.assign(value=values.astype(float))
        .pivot_table(index="annotator", columns="item", values="value", aggfunc="last")
        .to_numpy(dtype=float)
    )
    domain = None if order is None else list(range(len(order)))
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 when one label is pairable
            return float(
                krippendorff.alpha(
                    reliability_data=matrix, level_of_measurement=level, value_domain=domain
                )
            )
    except ValueError:  # "more than one value in the domain" / "at least one unit ..."
        return float("nan")


def reference_fleiss(frame: pd.DataFrame) -> tuple[float, int]:
    """statsmodels' Fleiss kappa on the items holding the modal rating count."""
    table = pd.crosstab(frame["item"], frame["label"])
    per_item = table.sum(axis=1)
    table = table[per_item >= 2]
    if table.empty:
        return float("nan"), 0
    frequency = table.sum(axis=1).value_counts()
    modal = max(frequency[frequency == frequency.max()].index)
    kept = table[table.sum(axis=1) == modal].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(statsmodels_fleiss(kept)), len(kept)


def reference_pairwise(frame: pd.DataFrame) -> dict[tuple[object, object], tuple[int, float]]:
    labels = sorted(frame["label"].unique())
    wide = frame.pivot_table(index="item", columns="annotator", values="label", aggfunc="last")
    result = {}
    annotators = sorted(wide.columns)
    for position, first in enumerate(annotators):
        for second in annotators[position + 1 :]:
            shared = wide[[first, second]].dropna()
            if shared.empty:
                continue
            if shared.stack().nunique() < 2:  # sklearn warns; kappa is 0/0 here
                result[(first, second)] = (len(shared), float("nan"))
                continue
            kappa = cohen_kappa_score(shared[first], shared[second], labels=labels)
            result[(first, second)] = (len(shared), float(kappa))
    return result


def brute_percent(frame: pd.DataFrame) -> float:
    shares = []
    for _, group in frame.groupby("item"):
        labels = group["label"].tolist()
        if len(labels) < 2:
            continue
        pairs = [(a, b) for i, a in enumerate(labels) for b in labels[i + 1 :]]
        shares.append(sum(a == b for a, b in pairs) / len(pairs))
    return float(np.mean(shares)) if shares else float("nan")


def same(ours: float, theirs: float) -> bool:
    if np.isnan(theirs):
        return bool(np.isnan(ours))
    return bool(abs(ours - theirs) < 1e-9)


def check_all(frame: pd.DataFrame) -> None:
    """Every figure in agreement.py against its reference on one frame."""
    order = sorted(frame["label"].unique()) if len(frame) else []
    for level in ("nominal", "ordinal", "interval"):
        ours = krippendorff_alpha(frame, level=level, order=order).value
        assert same(ours, reference_alpha(frame, level, order)), level
    kappa, n_items = reference_fleiss(frame)
    result = fleiss_kappa(frame)
    assert same(result.value, kappa)
    assert result.n_items == n_items
    assert same(percent_agreement(frame).value, brute_percent(frame))
    table = pairwise_cohen_kappa(frame)
    expected = reference_pairwise(frame)
    assert len(table) == len(expected)
    for row in table.itertuples():
        n_shared, kappa = expected[(row.annotator_a, row.annotator_b)]
        assert row.n_items == n_shared
        assert same(row.kappa, kappa)
        assert pd.isna(row.reason) == (not np.isnan(kappa))


# --- comparisons on random data ------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_matches_reference_packages_on_random_data(seed: int) -> None:
    check_all(random_ratings(seed, n_labels=2 + seed % 4))


def test_alpha_interval_uses_numeric_label_values() -> None:
    frame = random_ratings(7, n_labels=5).assign(label=lambda f: f["label"] * 10 - 3)
    ours = krippendorff_alpha(frame, level="interval").value
    assert same(ours, reference_alpha(frame, "interval"))


def test_alpha_on_string_labels_with_order() -> None:
    names = ["low", "mid", "high"]
    frame = random_ratings(8).assign(label=lambda f: f["label"].map(names.__getitem__))
    for level in ("nominal", "ordinal", "interval"):
        ours = krippendorff_alpha(frame, level=level, order=names).value
        assert same(ours, reference_alpha(frame, level, names))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 4), st.integers(0, 3)),
        max_size=40,
    )
)
def test_matches_reference_packages_on_generated_frames(
    rows: list[tuple[int, int, int]],
) -> None:
    frame = ratings(rows).drop_duplicates(["item", "annotator"], keep="last")
    check_all(frame)


def test_per_label_matches_one_vs_rest_references() -> None:
    frame = random_ratings(11, n_items=80, missing=0.2)
    table = per_label_agreement(frame).set_index("label")
    for label, row in table.iterrows():
        binary = frame.assign(label=(frame["label"] == label).astype(int))
        assert same(row["alpha"], reference_alpha(binary, "nominal"))
        assert same(row["kappa"], reference_fleiss(binary)[0])
        assert row["n_annotations"] == (frame["label"] == label).sum()
        assert row["n_items"] == frame.loc[frame["label"] == label, "item"].nunique()


def test_vader_tweets_alpha_equals_krippendorff_package() -> None:
    """Real ratings: ~20 per tweet in -4..4, binned, one annotator per rating position."""
    raw = pd.read_csv(VADER, sep="\t", header=None, names=["tweet", "mean", "sd", "ratings"])
    sample = raw.sample(600, random_state=0)
    frame = (
        sample.assign(rating=sample["ratings"].map(ast.literal_eval))
        .explode("rating")
        .assign(annotator=lambda f: f.groupby(level=0).cumcount(), item=lambda f: f["tweet"])
    )
    bins = np.sign(frame["rating"].astype(int))
    frame["label"] = bins.map({-1: "negative", 0: "neutral", 1: "positive"})
    order = ["negative", "neutral", "positive"]
    for level in ("nominal", "ordinal"):
        ours = krippendorff_alpha(frame, level=level, order=order)
        assert ours.value == pytest.approx(reference_alpha(frame, level, order), abs=1e-9)
        assert ours.n_items == 600


# --- edge cases: a documented value and a reason, never an exception -----------


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        ([], "no annotations"),
        ([(1, "a", "x"), (2, "a", "y")], "only one annotator"),
        ([(1, "a", "x"), (2, "b", "y")], "no item has two or more ratings"),
    ],
)
def test_undefined_inputs_return_nan_with_reason(
    rows: list[tuple[object, object, object]], reason: str
) -> None:
    frame = ratings(rows)
    for result in (krippendorff_alpha(frame), fleiss_kappa(frame), percent_agreement(frame)):
        assert np.isnan(result.value)
        assert result.reason is not None and reason in result.reason
        assert result.interpretation.startswith("undefined")
    assert pairwise_cohen_kappa(frame).empty
    assert per_label_agreement(frame)["alpha"].isna().all()


def test_everyone_agrees_on_one_label() -> None:
    frame = ratings([(item, who, "x") for item in range(4) for who in "abc"])
    assert percent_agreement(frame).value == 1.0
    alpha = krippendorff_alpha(frame, bootstrap=20)
    assert np.isnan(alpha.value) and "single label" in str(alpha.reason)
    assert np.isnan(alpha.ci_low)
    assert np.isnan(fleiss_kappa(frame).value)
    pairs = pairwise_cohen_kappa(frame)
    assert pairs["kappa"].isna().all() and pairs["reason"].notna().all()


def test_everyone_agrees_with_several_labels_is_perfect() -> None:
    frame = ratings([(item, who, item % 3) for item in range(9) for who in "abc"])
    assert krippendorff_alpha(frame).value == pytest.approx(1.0)
    assert fleiss_kappa(frame).value == pytest.approx(1.0)
    assert pairwise_cohen_kappa(frame)["kappa"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    assert krippendorff_alpha(frame).interpretation.startswith("reliable")
    assert fleiss_kappa(frame).interpretation.startswith("almost perfect")


def test_single_rated_items_are_counted_not_silently_dropped() -> None:
    frame = pd.concat([random_ratings(3, missing=0.0), ratings([("lonely", "a0", 1)])])
    alpha = krippendorff_alpha(frame)
    assert alpha.n_items_dropped == 1 and "single rating" in str(alpha.reason)
    fleiss = fleiss_kappa(random_ratings(3, missing=0.4))
    assert fleiss.n_items_dropped > 0 and "left out" in str(fleiss.reason)


def test_bootstrap_interval_brackets_alpha_and_is_reproducible() -> None:
    frame = random_ratings(5, n_items=200)
    first = krippendorff_alpha(frame, bootstrap=200, random_state=1)
    again = krippendorff_alpha(frame, bootstrap=200, random_state=1)
    assert first.ci_low < first.value < first.ci_high
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert np.isnan(krippendorff_alpha(frame).ci_low)


def test_bad_arguments_raise() -> None:
    frame = random_ratings(0).assign(label=lambda f: f["label"].map({0: "a", 1: "b", 2: "c"}))
    with pytest.raises(ValueError, match="numeric labels"):
        krippendorff_alpha(frame, level="interval")
    with pytest.raises(ValueError, match="missing from order"):
        krippendorff_alpha(frame, level="ordinal", order=["a", "b"])
    with pytest.raises(ValueError, match="lacks columns"):
        krippendorff_alpha(frame.rename(columns={"item": "task"}))


@pytest.mark.parametrize(
    ("measure", "value", "start"),
    [
        ("alpha", 0.7, "tentative"),
        ("alpha", 0.5, "unreliable"),
        ("kappa", 0.5, "moderate"),
        ("kappa", -0.1, "poor"),
        ("kappa", 0.0, "slight"),
        ("kappa", 0.81, "almost perfect"),
        ("percent", 0.75, "75%"),
    ],
)
def test_interpretation(measure: str, value: float, start: str) -> None:
    result = AgreementResult(value, 10, 30, measure=measure)  # type: ignore[arg-type]
    assert result.interpretation.startswith(start)
