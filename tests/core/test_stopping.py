"""Stopping signals: successive-version agreement and the inverse power law fit."""

from __future__ import annotations

import numpy as np
import pytest

from labeler.core import stopping


def test_successive_agreement_and_stability():
    base = ["a"] * 50 + ["b"] * 50
    changed = ["b"] * 10 + ["a"] * 40 + ["b"] * 50
    pairs = stopping.successive_agreement([changed, base, base, base])
    assert [p.share for p in pairs] == [0.9, 1.0, 1.0]
    assert pairs[0].kappa == pytest.approx(0.8)
    assert stopping.is_stable(pairs)
    assert not stopping.is_stable(pairs[:2])
    assert stopping.successive_agreement([["a"] * 3, ["a"] * 3])[0].kappa == 1.0
    with pytest.raises(ValueError, match="same stop set"):
        stopping.successive_agreement([["a"], ["a", "b"]])


def test_the_fit_recovers_a_known_curve_and_its_gain():
    n = np.array([50, 100, 200, 300, 400, 600, 800])
    accuracy = 0.95 - 0.9 * n**-0.5 + np.array([0.004, -0.003, 0.002, -0.002, 0.001, 0.0, -0.001])
    fit = stopping.fit_learning_curve(n, accuracy)
    assert fit is not None
    assert fit.plateau == pytest.approx(0.95, abs=0.02)
    low, expected, high = fit.gain(800, 500)
    truth = (0.95 - 0.9 * 1300**-0.5) - (0.95 - 0.9 * 800**-0.5)
    assert low <= truth <= high and low < expected < high
    assert expected == pytest.approx(truth, abs=0.005)


def test_too_few_points_give_no_fit():
    assert stopping.fit_learning_curve([10, 20, 30], [0.5, 0.6, 0.7]) is None
    assert stopping.fit_learning_curve([10, 10, 10, 10, 10], [0.5] * 5) is None


def test_the_sentence():
    base = ["a"] * 994 + ["b"] * 6
    pairs = stopping.successive_agreement([base, base, base])
    n = np.array([50, 100, 200, 300, 400])
    fit = stopping.fit_learning_curve(n, 0.95 - 0.9 * n**-0.5)
    text = stopping.sentence(pairs, 1000, fit, 400)
    assert text.startswith("The last three versions agree on 100.0% of a 1,000-item stop set")
    assert "500 more labels are expected to add" in text and text.endswith(".")
    assert "needs 4 evaluated versions" in stopping.sentence([], 0, None, 10)
