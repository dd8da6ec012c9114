"""Relabel or label new: merging the two score lists (ActiveLab's batch choice), and
the posterior deciding chosen items."""

from __future__ import annotations

import math

import pandas as pd

from labeler.core.model_consensus import model_aware_consensus
from labeler.core.relabel import choose_relabels, decided_by_posterior


def test_the_best_scores_of_both_lists_fill_the_batch():
    again = pd.Series({1: 0.40, 2: 0.05, 3: 0.30})
    fresh = pd.Series({10: 0.35, 11: 0.20, 12: 0.10, 13: 0.01})
    choice = choose_relabels(again, fresh, batch=4, max_share=1.0)
    assert choice.relabel == [1, 3]  # 0.40 and 0.30 beat 0.20 and 0.10
    assert choice.n_fresh == 2 and choice.threshold == 0.20


def test_a_share_caps_relabels_and_ties_go_to_fresh_items():
    again = pd.Series({1: 0.5, 2: 0.5, 3: 0.5})
    fresh = pd.Series({10: 0.5, 11: 0.1})
    choice = choose_relabels(again, fresh, batch=3, max_share=0.34)
    assert choice.relabel == [1]  # one of three at most
    # the tie at 0.5 took fresh item 10; the slot of the relabel over the cap goes to 11
    assert choice.n_fresh == 2
    assert choose_relabels(again, fresh, batch=2, max_share=1.0).relabel == [1]


def test_nothing_to_compare():
    empty = pd.Series(dtype=float)
    choice = choose_relabels(empty, pd.Series({10: 0.3}), batch=5)
    assert choice.relabel == [] and choice.n_fresh == 1 and math.isnan(choice.threshold)
    assert choose_relabels(pd.Series({1: 0.9}), empty, batch=1, max_share=1.0).relabel == [1]


def test_relabels_over_the_cap_leave_their_slots_to_fresh_items():
    again = pd.Series({1: 0.9, 2: 0.8, 3: 0.7, 4: 0.6})
    fresh = pd.Series({10: 0.3, 11: 0.2, 12: 0.1})
    choice = choose_relabels(again, fresh, batch=4, max_share=0.5)
    assert choice.relabel == [1, 2]
    assert choice.n_fresh == 2  # the batch is still 4 labels
    assert choose_relabels(again, fresh.iloc[:1], batch=4, max_share=0.5).n_fresh == 1


def _one_vote_against_a_sure_model():
    """Item 0: one vote for 1 where the model gives 1 a chance of 0.1; CROWDLAB's
    average keeps the vote (label 1, a posterior chance of 0.39), the posterior says 0.
    Item 1: two votes for 0, both labels agree."""
    votes = pd.DataFrame({"item": [0, 1, 1], "annotator": ["a", "a", "b"], "label": [1, 0, 0]})
    probs = pd.DataFrame([[0.9, 0.1], [0.6, 0.4]], columns=[0, 1])
    result = model_aware_consensus(votes, probs)
    assert result.items["label"].tolist() == [1, 0]
    assert result.items["likeliest_label"].tolist() == [0, 0]
    return result


def test_the_posterior_decides_the_chosen_items_label_and_score():
    result = _one_vote_against_a_sure_model()
    chance = result.items.loc[0, "likeliest_probability"]
    assert chance > 0.5
    decided = decided_by_posterior(result, [0])
    assert decided.items.loc[0, "label"] == 0
    assert decided.items.loc[0, "confidence"] == decided.items.loc[0, "correct_probability"]
    assert decided.items.loc[0, "confidence"] == chance
    # its relabel score is now the chance that label 0 is wrong, below the old one's
    assert math.isclose(decided.relabel_scores()[0][0], 1 - chance)
    assert math.isclose(result.relabel_scores()[0][0], chance)
    pd.testing.assert_series_equal(decided.items.loc[1], result.items.loc[1])
    assert result.items.loc[0, "label"] == 1  # the input is left as it was


def test_unchosen_and_agreeing_items_stay_and_none_means_every_item():
    result = _one_vote_against_a_sure_model()
    assert decided_by_posterior(result, [1]).items.equals(result.items)  # the labels agree
    assert decided_by_posterior(result, [7]).items.equals(result.items)  # not an item
    every = decided_by_posterior(result)
    assert every.items["label"].tolist() == [0, 0]
    pd.testing.assert_series_equal(every.items.loc[1], result.items.loc[1])
