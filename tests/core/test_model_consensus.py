"""Model-aware consensus: cleanlab's CROWDLAB figures on the same votes and
probabilities, the relabel scores (ActiveLab's idea, on one scale), and the k = 1 case
cleanlab leaves out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cleanlab.multiannotator import get_label_quality_multiannotator
from sklearn.metrics import roc_auc_score

from labeler.core.model_consensus import model_aware_consensus

N_LABELS = 4


def simulate(
    accuracies: list[float], votes_per_item: tuple[int, int], n_items: int = 600, seed: int = 0
) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """True labels, long votes by annotators of the given accuracies, and soft model
    probabilities that put the true label on top about 80% of the time."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(N_LABELS, size=n_items)
    rows = []
    for item in range(n_items):
        k = rng.integers(votes_per_item[0], votes_per_item[1] + 1)
        for annotator in rng.choice(len(accuracies), size=k, replace=False):
            right = rng.random() < accuracies[annotator]
            label = truth[item] if right else (truth[item] + rng.integers(1, N_LABELS)) % N_LABELS
            rows.append((item, f"a{annotator}", int(label)))
    logits = rng.normal(size=(n_items, N_LABELS))
    logits[np.arange(n_items), truth] += 1.8
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame(rows, columns=["item", "annotator", "label"])
    return truth, frame, pd.DataFrame(probs, columns=range(N_LABELS))


def test_the_figures_are_cleanlabs_crowdlab():
    _, frame, probs = simulate([0.95, 0.8, 0.6, 0.9, 0.5], (1, 3))
    ours = model_aware_consensus(frame, probs)
    wide = frame.pivot(index="item", columns="annotator", values="label")
    theirs = get_label_quality_multiannotator(
        wide, probs.to_numpy(), verbose=False, return_weights=True
    )
    quality = theirs["label_quality"]
    np.testing.assert_array_equal(
        ours.items["label"].to_numpy(dtype=int), quality["consensus_label"].to_numpy()
    )
    np.testing.assert_allclose(
        ours.items["crowdlab_quality"], quality["consensus_quality_score"], atol=1e-12
    )
    assert ours.model_weight == pytest.approx(theirs["model_weight"])
    np.testing.assert_allclose(ours.annotator_weight, theirs["annotator_weight"])
    stats = theirs["annotator_stats"].sort_index()
    np.testing.assert_allclose(ours.annotator_quality, stats["annotator_quality"])


def test_it_beats_majority_where_votes_are_few():
    truth, frame, probs = simulate([0.9, 0.7, 0.55], (1, 2), seed=1)
    ours = model_aware_consensus(frame, probs)
    majority = frame.groupby("item")["label"].agg(lambda s: s.mode().iloc[0])
    right = ours.items["label"].to_numpy(dtype=int) == truth
    assert right.mean() > (majority.to_numpy() == truth).mean() + 0.03
    # the quality score ranks wrong consensus labels low
    wrong_quality = ours.items["confidence"][~right].mean()
    assert wrong_quality < ours.items["confidence"][right].mean() - 0.15
    assert ours.annotator_quality.idxmax() == "a0" and ours.annotator_quality.idxmin() == "a2"


def test_one_label_per_item_weighs_annotators_by_the_model():
    truth, frame, probs = simulate([0.95, 0.4], (1, 1), seed=2)
    ours = model_aware_consensus(frame, probs)
    assert ours.annotator_weight["a0"] > 2 * ours.annotator_weight["a1"]
    careless = frame["annotator"].eq("a1").groupby(frame["item"]).any()
    right = ours.items["label"].to_numpy(dtype=int) == truth
    given = frame.set_index("item")["label"].sort_index().to_numpy()
    # on the careless annotator's items the model overrules enough wrong votes
    assert right[careless.to_numpy()].mean() > (given == truth)[careless.to_numpy()].mean()


def test_relabel_scores_are_the_chance_the_best_answer_is_wrong():
    """One scale for both lists: a labeled item's score is 1 minus its consensus label's
    posterior (the model's probabilities as the prior, each vote right with its
    annotator's quality), a fresh item's 1 minus the model's top probability."""
    truth, frame, probs = simulate([0.95, 0.8, 0.6], (1, 3), n_items=2000, seed=3)
    ours = model_aware_consensus(frame, probs)
    unlabeled = probs.iloc[:50].set_axis(range(3000, 3050))
    labeled, fresh = ours.relabel_scores(unlabeled)
    np.testing.assert_allclose(fresh, 1 - unlabeled.max(axis=1))
    quality = ours.annotator_quality.clip(1 / N_LABELS, 1 - 1e-6)
    for item in (0, 1, 2, 17, 400):  # the posterior, one item at a time
        votes = frame[frame["item"] == item]
        posterior = probs.loc[item].to_numpy().copy()
        for annotator, label in zip(votes["annotator"], votes["label"], strict=True):
            right = quality[annotator]
            likelihood = np.full(N_LABELS, (1 - right) / (N_LABELS - 1))
            likelihood[label] = right
            posterior *= likelihood
        posterior /= posterior.sum()
        assert labeled[item] == pytest.approx(1 - posterior[ours.items.loc[item, "label"]])
    assert (labeled >= 0).all() and (labeled <= 1).all()
    assert (fresh <= 1 - 1 / N_LABELS + 1e-12).all()
    # the score says how often the consensus is wrong: it ranks the wrong ones first,
    # and its mean is near the share that is wrong (the shrunk consensus quality,
    # ActiveLab's score, said 0.38 here against 0.08)
    wrong = ours.items["label"].to_numpy(dtype=int) != truth[ours.items.index.to_numpy()]
    assert roc_auc_score(wrong, labeled) > 0.9
    assert abs(labeled.mean() - wrong.mean()) < 0.07


def test_items_without_probabilities_are_refused():
    frame = pd.DataFrame({"item": [1, 2], "annotator": ["a", "a"], "label": [0, 1]})
    probs = pd.DataFrame([[0.5, 0.5]], index=[1], columns=[0, 1])
    with pytest.raises(ValueError, match="without model probabilities: \\['2'\\]"):
        model_aware_consensus(frame, probs)


def _two_annotators_on_every_item(n_items: int = 200, seed: int = 3):
    """a and b label every item: a errs on items 0-19, b on items 20-59. They agree
    on the other 140 items, so their agreement with each other cannot tell them apart;
    the model's probabilities are weak (true label on top about 70% of the time)."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(N_LABELS, size=n_items)
    wrong = (truth + 1) % N_LABELS
    a = np.where(np.arange(n_items) < 20, wrong, truth)
    b = np.where((np.arange(n_items) >= 20) & (np.arange(n_items) < 60), wrong, truth)
    frame = pd.DataFrame(
        {
            "item": np.tile(np.arange(n_items), 2),
            "annotator": ["a"] * n_items + ["b"] * n_items,
            "label": np.concatenate([a, b]),
        }
    )
    logits = rng.normal(size=(n_items, N_LABELS))
    logits[np.arange(n_items), truth] += 1.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return truth, frame, pd.DataFrame(probs, columns=range(N_LABELS))


def test_gold_answers_weigh_the_annotator_who_matches_them_more():
    truth, frame, probs = _two_annotators_on_every_item()
    plain = model_aware_consensus(frame, probs)
    assert plain.annotator_weight["a"] == pytest.approx(plain.annotator_weight["b"])
    # gold on items 0-79: a is right on 60 of them, b on 40
    gold = {item: int(truth[item]) for item in range(80)}
    anchored = model_aware_consensus(frame, probs, known=gold)
    assert anchored.annotator_weight["a"] > anchored.annotator_weight["b"]
    assert anchored.annotator_weight["a"] > plain.annotator_weight["a"]
    assert anchored.annotator_weight["b"] < plain.annotator_weight["b"]
    assert anchored.annotator_quality["a"] > anchored.annotator_quality["b"]
    # where a and b disagree off gold (items 80+ have none here), a's word now counts
    # more; on the disputed items with gold, the consensus follows the better annotator
    disputed = np.arange(60)
    plain_right = plain.items["label"].to_numpy(dtype=int)[disputed] == truth[disputed]
    anchored_right = anchored.items["label"].to_numpy(dtype=int)[disputed] == truth[disputed]
    assert anchored_right.sum() > plain_right.sum()


def test_gold_also_measures_the_model_and_is_checked():
    truth, frame, probs = _two_annotators_on_every_item()
    # on items 140-159 both annotators give the same wrong label and the model is right:
    # against the votes the model looks wrong there, against the gold answers it is right
    together = frame["item"].between(140, 159).to_numpy()
    crowd_wrong = frame.assign(
        label=np.where(together, (truth[frame["item"]] + 2) % 4, frame["label"])
    )
    sure = probs.copy()
    sure.iloc[140:160] = np.eye(N_LABELS)[truth[140:160]] * 0.96 + 0.01
    without = model_aware_consensus(crowd_wrong, sure)
    on_gold = model_aware_consensus(
        crowd_wrong, sure, known={i: int(truth[i]) for i in range(140, 160)}
    )
    assert on_gold.model_weight > without.model_weight
    # at k = 1 gold judges the annotators, too: a labels items 0-99 (wrong on 90-99),
    # b items 100-199 (wrong on 100-139); gold on 0-19 (a right) and 100-119 (b wrong)
    items = np.arange(200)
    erring = (items >= 90) & (items < 140)
    single = pd.DataFrame(
        {
            "item": items,
            "annotator": np.where(items < 100, "a", "b"),
            "label": np.where(erring, (truth + 1) % N_LABELS, truth),
        }
    )
    gold = {int(i): int(truth[i]) for i in [*range(20), *range(100, 120)]}
    one_vote = model_aware_consensus(single, probs).annotator_weight
    one_vote_gold = model_aware_consensus(single, probs, known=gold).annotator_weight
    assert one_vote_gold["a"] > one_vote_gold["b"]
    assert one_vote_gold["a"] / one_vote_gold["b"] > one_vote["a"] / one_vote["b"]
    assert model_aware_consensus(frame, probs).model_weight > 0
    with pytest.raises(ValueError, match="no votes"):
        model_aware_consensus(frame, probs, known={999: 0})
    with pytest.raises(ValueError, match="columns of probs"):
        model_aware_consensus(frame, probs, known={0: 7})


def test_the_quality_and_the_likeliest_label_come_from_one_posterior():
    """The consensus label is CROWDLAB's; its quality is that label's posterior, and
    the same posterior's top is given beside it: where the two labels differ the
    quality is at most 1/2 (disputed under the default threshold), and the quality
    ranks the wrong consensus labels first better than CROWDLAB's own score."""
    truth, frame, probs = simulate([0.95, 0.8, 0.6, 0.9, 0.5], (1, 2), n_items=2000, seed=5)
    ours = model_aware_consensus(frame, probs)
    items = ours.items
    labeled, _ = ours.relabel_scores()
    np.testing.assert_allclose(items["confidence"], 1 - labeled)
    assert (items["likeliest_probability"] >= items["confidence"] - 1e-12).all()
    same = items["likeliest_label"] == items["label"]
    np.testing.assert_allclose(
        items.loc[same, "likeliest_probability"], items.loc[same, "confidence"]
    )
    assert (~same).any() and (items.loc[~same, "confidence"] <= 0.5 + 1e-12).all()
    wrong = items["label"].to_numpy(dtype=int) != truth[items.index.to_numpy()]
    posterior_auc = roc_auc_score(wrong, -items["confidence"])
    assert posterior_auc > roc_auc_score(wrong, -items["crowdlab_quality"])
    assert posterior_auc > 0.88
