"""Majority vote, dispute rules and Dawid-Skene, checked against crowd-kit's figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeler.core.consensus import DawidSkeneResult, dawid_skene, disputed, majority_vote


def ratings(rows: list[tuple[object, object, object]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item", "annotator", "label"])


# crowd-kit's own step-by-step example: the `data` fixture of
# tests/aggregation/test_ds_aggregation.py in Toloka/crowd-kit (test_dawid_skene_step_by_step).
CROWD_KIT_EXAMPLE = ratings(
    [
        ("t1", "w1", "no"), ("t1", "w2", "yes"), ("t1", "w4", "yes"), ("t1", "w5", "no"),
        ("t2", "w1", "yes"), ("t2", "w2", "yes"), ("t2", "w3", "yes"), ("t2", "w4", "no"),
        ("t2", "w5", "no"),
        ("t3", "w1", "yes"), ("t3", "w2", "no"), ("t3", "w3", "no"), ("t3", "w4", "yes"),
        ("t3", "w5", "no"),
        ("t4", "w1", "yes"), ("t4", "w2", "yes"), ("t4", "w3", "yes"), ("t4", "w4", "yes"),
        ("t4", "w5", "yes"),
        ("t5", "w1", "yes"), ("t5", "w2", "no"), ("t5", "w3", "no"), ("t5", "w4", "no"),
        ("t5", "w5", "no"),
    ]
)  # fmt: skip

# Posteriors (no, yes) after one EM iteration: crowd-kit's documented `probas_iter_1`
# fixture in that same test file; the digits are crowd-kit 1.4.2's DawidSkene(1).probas_
# as run here.
CROWD_KIT_ITER_1 = [
    [0.351938, 0.648062],
    [0.260221, 0.739779],
    [0.873400, 0.126600],
    [0.000000, 1.000000],
    [0.947018, 0.052982],
]
# P(given | true) for w1 and w2 after one iteration: `errors_iter_1` in that file.
CROWD_KIT_ERRORS_ITER_1 = {
    "w1": [[0.14, 0.86], [0.25, 0.75]],
    "w2": [[0.75, 0.25], [0.07, 0.93]],
}
# Converged posteriors from crowd-kit 1.4.2, DawidSkene(n_iter=100, tol=1e-5).fit(...)
# .probas_ on the example above, run once on this machine (6 iterations).
CROWD_KIT_CONVERGED = [[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]


def simulate(
    seed: int, n_items: int = 400, per_item: int = 3, n_labels: int = 3, n_annotators: int = 12
) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """Annotators of known accuracy (0.45-0.95) label items with a known truth."""
    rng = np.random.default_rng(seed)
    truth = pd.Series(rng.integers(0, n_labels, n_items))
    skill = pd.Series(rng.uniform(0.45, 0.95, n_annotators))
    rows = []
    for item, true_label in truth.items():
        for annotator in rng.choice(n_annotators, per_item, replace=False):
            right = rng.random() < skill[annotator]
            wrong = (true_label + rng.integers(1, n_labels)) % n_labels
            rows.append((item, int(annotator), int(true_label if right else wrong)))
    return ratings(rows), truth, skill


def expected_accuracy(labels: pd.Series, truth: pd.Series, n_labels: int) -> float:
    """Accuracy where an unresolved tie counts as a fair coin among the labels."""
    chosen = labels.reindex(truth.index)
    correct = (chosen == truth).astype(float)
    correct[chosen.isna()] = 1.0 / n_labels  # generous to majority vote
    return float(correct.mean())


# --- majority vote and disputes ------------------------------------------------


def test_majority_vote_reports_ties_as_disputed() -> None:
    frame = ratings([(1, "a", "x"), (1, "b", "y"), (2, "a", "y"), (2, "b", "y"), (2, "c", "x")])
    votes = majority_vote(frame)
    assert votes.loc[1, "label"] is None
    assert bool(votes.loc[1, "disputed"])
    assert votes.loc[1, "confidence"] == 0.5
    assert votes.loc[2, "label"] == "y"
    assert votes.loc[2, "confidence"] == pytest.approx(2 / 3)
    assert votes["support"].tolist() == [2, 3]
    assert not votes["unanimous"].any()


@pytest.mark.parametrize("seed", range(3))
def test_majority_vote_matches_value_counts(seed: int) -> None:
    frame, _, _ = simulate(seed, n_items=100)
    votes = majority_vote(frame)
    for item, group in frame.groupby("item"):
        counts = group["label"].value_counts()
        tied = (counts == counts.max()).sum() > 1
        row = votes.loc[item]
        assert row["support"] == len(group)
        assert row["confidence"] == pytest.approx(counts.max() / len(group))
        assert (row["label"] is None) == tied
        if not tied:
            assert row["label"] == counts.idxmax()


def test_disputed_rules() -> None:
    frame = ratings(
        [(1, "a", "x"), (1, "b", "y"), (2, "a", "x"), (2, "b", "x"), (2, "c", "y")]
        + [(3, "a", "x"), (3, "b", "x")]
    )
    votes = majority_vote(frame)
    assert disputed(votes).tolist() == [True, False, False]
    assert disputed(votes, threshold=0.7).tolist() == [True, True, False]
    assert disputed(votes, unanimity=True).tolist() == [True, True, False]
    posterior_items = dawid_skene(frame).items
    assert disputed(posterior_items, unanimity=True, votes=frame).tolist()[1:] == [True, False]


def test_majority_vote_edge_cases() -> None:
    assert majority_vote(ratings([])).empty
    single = majority_vote(ratings([(1, "a", "x")]))
    assert single.loc[1, "label"] == "x" and single.loc[1, "confidence"] == 1.0


# --- Dawid-Skene against crowd-kit's example -----------------------------------


def test_dawid_skene_first_iteration_matches_crowd_kit() -> None:
    result = dawid_skene(CROWD_KIT_EXAMPLE, max_iter=1, smoothing=0.0)
    assert result.n_iter == 1
    assert result.posteriors.columns.tolist() == ["no", "yes"]
    np.testing.assert_allclose(result.posteriors.to_numpy(), CROWD_KIT_ITER_1, atol=0.005)
    for annotator, matrix in CROWD_KIT_ERRORS_ITER_1.items():
        np.testing.assert_allclose(result.confusions[annotator].to_numpy(), matrix, atol=0.005)
    assert result.items["label"].tolist() == ["yes", "yes", "no", "yes", "no"]


@pytest.mark.parametrize("smoothing", [0.0, 0.01])
def test_dawid_skene_converged_matches_crowd_kit(smoothing: float) -> None:
    result = dawid_skene(CROWD_KIT_EXAMPLE, smoothing=smoothing)
    assert result.converged
    np.testing.assert_allclose(result.posteriors.to_numpy(), CROWD_KIT_CONVERGED, atol=0.005)


# crowd-kit 1.4.2 calls pandas APIs that pandas 3 deprecates (inplace=, copy=).
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_dawid_skene_against_installed_crowd_kit_on_simulated_data() -> None:
    crowdkit = pytest.importorskip("crowdkit.aggregation")
    frame, _, _ = simulate(4, n_items=300)
    theirs = crowdkit.DawidSkene(n_iter=2000, tol=1e-10).fit(
        frame.rename(columns={"item": "task", "annotator": "worker"})
    )
    ours = dawid_skene(frame, max_iter=2000, tol=1e-10, smoothing=0.0)
    gap = (theirs.probas_.reindex_like(ours.posteriors) - ours.posteriors).abs()
    assert gap.max().max() < 0.005


# --- Dawid-Skene on simulated annotators ---------------------------------------


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("one_coin", [False, True])
def test_dawid_skene_is_at_least_as_accurate_as_majority_vote(seed: int, one_coin: bool) -> None:
    frame, truth, _ = simulate(seed, n_items=2000, per_item=3 + seed % 3)
    vote = expected_accuracy(majority_vote(frame)["label"], truth, 3)
    model = expected_accuracy(dawid_skene(frame, one_coin=one_coin).items["label"], truth, 3)
    assert model >= vote


@pytest.mark.parametrize("seed", range(4))
def test_one_coin_beats_majority_vote_with_few_labels_per_item(seed: int) -> None:
    # 400 items x 3 labels leaves ~100 votes per annotator: too few for nine
    # confusion cells each, enough for one accuracy.
    frame, truth, _ = simulate(seed, n_items=400, per_item=3)
    vote = expected_accuracy(majority_vote(frame)["label"], truth, 3)
    model = expected_accuracy(dawid_skene(frame, one_coin=True).items["label"], truth, 3)
    assert model >= vote


def test_dawid_skene_recovers_annotator_skill() -> None:
    frame, _, skill = simulate(9, n_items=1500, per_item=4)
    result = dawid_skene(frame)
    estimated = result.annotator_accuracy.reindex(skill.index)
    assert estimated.corr(skill, method="spearman") > 0.9
    assert np.abs(estimated - skill).max() < 0.1


def check_shapes(result: DawidSkeneResult, frame: pd.DataFrame) -> None:
    n_items = frame["item"].nunique()
    assert result.posteriors.shape[0] == len(result.items) == n_items
    if n_items:
        np.testing.assert_allclose(result.posteriors.sum(axis=1), 1.0)
        np.testing.assert_allclose(result.confusion_array.sum(axis=2), 1.0)
        assert result.annotator_accuracy.between(0, 1).all()
        assert result.items["confidence"].between(0, 1).all()
    assert set(result.confusions) == set(frame["annotator"])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3), st.sampled_from("abc")), max_size=30),
    st.booleans(),
)
def test_dawid_skene_never_crashes(rows: list[tuple[int, int, str]], one_coin: bool) -> None:
    frame = ratings(rows).drop_duplicates(["item", "annotator"], keep="last")
    check_shapes(dawid_skene(frame, one_coin=one_coin), frame)


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [(1, "a", "x"), (2, "a", "y")],  # one annotator
        [(1, "a", "x"), (1, "b", "x"), (2, "a", "x")],  # one label in use
        [(1, "a", "x"), (2, "b", "y")],  # items with one rating
    ],
)
def test_dawid_skene_edge_cases(rows: list[tuple[object, object, object]]) -> None:
    frame = ratings(rows)
    result = dawid_skene(frame)
    check_shapes(result, frame)
    assert result.converged


# --- Dawid-Skene with known labels (gold answers) -------------------------------


def empirical_confusions(
    frame: pd.DataFrame, truth: pd.Series, labels: list[object], one_coin: bool
) -> dict[object, np.ndarray]:
    """Per annotator, true x given counts against ``truth`` smoothed as dawid_skene does:
    0.01 per cell, rows normalised; with ``one_coin``, one smoothed accuracy on the
    diagonal and the rest spread evenly."""
    result = {}
    for annotator, group in frame.groupby("annotator"):
        counts = pd.crosstab(group["item"].map(truth), group["label"])
        soft = counts.reindex(index=labels, columns=labels, fill_value=0).to_numpy() + 0.01
        if one_coin:
            accuracy = np.trace(soft) / soft.sum()
            matrix = np.full_like(soft, (1 - accuracy) / (len(labels) - 1))
            np.fill_diagonal(matrix, accuracy)
        else:
            matrix = soft / soft.sum(axis=1, keepdims=True)
        result[annotator] = matrix
    return result


@pytest.mark.parametrize("one_coin", [False, True])
def test_known_labels_for_every_item_give_the_empirical_confusions(one_coin: bool) -> None:
    frame, truth, _ = simulate(5, n_items=300)
    result = dawid_skene(frame, known=truth.to_dict(), one_coin=one_coin)
    assert result.items["label"].tolist() == truth.reindex(result.items.index).tolist()
    assert result.items["confidence"].eq(1.0).all() and not result.items["disputed"].any()
    labels = result.posteriors.columns.tolist()
    for annotator, matrix in empirical_confusions(frame, truth, labels, one_coin).items():
        np.testing.assert_allclose(result.confusions[annotator].to_numpy(), matrix)
    right = frame["label"].eq(frame["item"].map(truth)).groupby(frame["annotator"]).mean()
    np.testing.assert_allclose(result.annotator_accuracy.reindex(right.index), right)


def label_flipping_crowd(
    seed: int, n_items: int = 1000, per_item: int = 5, n_annotators: int = 10, n_flippers: int = 7
) -> tuple[pd.DataFrame, pd.Series]:
    """Three labels; most annotators answer the next label round (true 0 -> 1 -> 2 -> 0)
    85% of the time and guess otherwise; the others are right 85% of the time. The
    crowd's majority is then consistently wrong, and the permuted world (flippers
    right, honest annotators flipping back) explains the votes just as well."""
    rng = np.random.default_rng(seed)
    truth = pd.Series(rng.integers(0, 3, n_items))
    rows = []
    for item, true_label in truth.items():
        for annotator in rng.choice(n_annotators, per_item, replace=False):
            answer = (true_label + 1) % 3 if annotator < n_flippers else true_label
            given = answer if rng.random() < 0.85 else rng.integers(0, 3)
            rows.append((item, int(annotator), int(given)))
    return ratings(rows), truth


def gold_sample(truth: pd.Series, share: float, seed: int) -> dict[object, object]:
    rng = np.random.default_rng(100 + seed)
    chosen = rng.choice(len(truth), max(1, round(len(truth) * share)), replace=False)
    return {int(item): int(truth[item]) for item in chosen}


def accuracy_off_gold(result: DawidSkeneResult, truth: pd.Series, gold: dict) -> float:
    rest = truth.index.difference(list(gold))
    return float((result.items["label"].reindex(rest) == truth[rest]).mean())


@pytest.mark.parametrize("seed", range(3))
def test_five_percent_gold_pulls_a_label_flipping_crowd_to_the_truth(seed: int) -> None:
    # Measured on these seeds (non-gold items right): majority vote 11-13%, Dawid-Skene
    # without gold 0.1-0.6% (the permuted optimum), with 5% gold 99.2-99.9%. Clamping
    # alone, from majority shares, stayed at 0.5-1.1%: the run started from the
    # gold answers is what wins.
    frame, truth = label_flipping_crowd(seed)
    gold = gold_sample(truth, 0.05, seed)
    without = accuracy_off_gold(dawid_skene(frame), truth, gold)
    fitted = dawid_skene(frame, known=gold)
    with_gold = accuracy_off_gold(fitted, truth, gold)
    assert without < 0.05
    assert with_gold > 0.98
    assert all(fitted.items.loc[item, "label"] == label for item, label in gold.items())
    flipper, honest = fitted.confusions[0].to_numpy(), fitted.confusions[9].to_numpy()
    assert (np.argmax(flipper, axis=1) == [1, 2, 0]).all()  # the flip is learnt
    assert (np.argmax(honest, axis=1) == [0, 1, 2]).all()


@pytest.mark.parametrize("seed", range(3))
def test_a_lone_gold_answer_does_not_overturn_an_honest_crowd(seed: int) -> None:
    # From the gold answer alone EM would settle near chance (measured ~0.33 on these
    # seeds); the likelihood keeps the run started from majority shares.
    frame, truth, _ = simulate(seed, n_items=1000, per_item=3)
    gold = gold_sample(truth, 0.001, seed)
    without = accuracy_off_gold(dawid_skene(frame), truth, gold)
    with_gold = accuracy_off_gold(dawid_skene(frame, known=gold), truth, gold)
    assert with_gold == pytest.approx(without, abs=0.01)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 3), st.sampled_from("abc")), max_size=30),
    st.booleans(),
)
def test_no_known_labels_and_an_empty_mapping_fit_the_same(
    rows: list[tuple[int, int, str]], one_coin: bool
) -> None:
    frame = ratings(rows)
    plain, empty = (
        dawid_skene(frame, one_coin=one_coin),
        dawid_skene(frame, one_coin=one_coin, known={}),
    )
    pd.testing.assert_frame_equal(plain.items, empty.items)
    pd.testing.assert_frame_equal(plain.posteriors, empty.posteriors)
    np.testing.assert_array_equal(plain.confusion_array, empty.confusion_array)
    pd.testing.assert_series_equal(plain.annotator_accuracy, empty.annotator_accuracy)
    assert (plain.n_iter, plain.converged) == (empty.n_iter, empty.converged)


def test_a_known_label_nobody_gave_is_a_class() -> None:
    frame = ratings([(1, "a", "x"), (1, "b", "x"), (2, "a", "y"), (2, "b", "y"), (3, "a", "x")])
    result = dawid_skene(frame, known={1: "z"})
    assert result.posteriors.columns.tolist() == ["x", "y", "z"]
    assert result.items.loc[1, "label"] == "z"
    assert result.confusions["a"].loc["z", "x"] > 0.9  # "a" says x when the truth is z
    np.testing.assert_allclose(result.confusion_array.sum(axis=2), 1.0)


def test_known_items_without_votes_or_labels_are_refused() -> None:
    frame = ratings([(1, "a", "x"), (2, "a", "y")])
    with pytest.raises(ValueError, match="no votes: \\['1', '3'\\]"):
        dawid_skene(frame, known={"1": "x", 2: "y", 3: "x"})
    with pytest.raises(ValueError, match="missing"):
        dawid_skene(frame, known={1: None})


def test_items_from_votes_reads_known_items_without_their_known_label() -> None:
    frame, truth, _ = simulate(2, n_items=600)
    unsupervised = dawid_skene(frame, tol=1e-12, max_iter=1000)
    again = unsupervised.items_from_votes(frame)  # one more E-step at the fixed point
    np.testing.assert_allclose(again["confidence"], unsupervised.items["confidence"], atol=1e-6)
    clear = unsupervised.items[unsupervised.items["confidence"] > 0.99].head(5)["label"]
    wrong = {item: (label + 1) % 3 for item, label in clear.items()}  # gold answers in error
    fitted = dawid_skene(frame, known={**gold_sample(truth, 0.1, 2), **wrong})
    read = fitted.items_from_votes(frame[frame["item"].isin(list(wrong))])
    assert all(fitted.items.loc[item, "label"] == label for item, label in wrong.items())
    assert read["label"].tolist() == clear.tolist()  # the votes still say what they said
    with pytest.raises(ValueError, match="annotators not in the fit"):
        fitted.items_from_votes(ratings([(0, "stranger", 1)]))
