"""Relabel or label new: merging the two score lists (ActiveLab's batch choice)."""

from __future__ import annotations

import math

import pandas as pd

from labeler.core.relabel import choose_relabels


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
