"""rating's core against the krippendorff package, scikit-learn's quadratic-weighted
kappa and a textbook ICC(1) (one-way ANOVA mean squares, Shrout & Fleiss 1979)."""

from __future__ import annotations

import itertools

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from labeler.core.kinds import InvalidValue, KindContext, kind_for
from labeler.core.model_inputs import ModelInputs

KIND = kind_for("rating")
SCALE = ("1", "2", "3", "4", "5")


def _context(level="ordinal", **settings):
    return KindContext(SCALE, label_scale=level, settings=KIND.validate_settings(settings, SCALE))


def _votes(n_items=60, n_annotators=5, missing=0.0, seed=2):
    rng = np.random.default_rng(seed)
    rows = []
    for item in range(n_items):
        truth = rng.integers(1, 6)
        for annotator in range(n_annotators):
            if rng.random() < missing:
                continue
            rating = int(np.clip(truth + rng.integers(-1, 2), 1, 5))
            rows.append((item, f"r{annotator}", rating, str(rating)))
    return pd.DataFrame(rows, columns=["item", "annotator", "value", "key"])


def _figure(figures, start):
    return next(f for f in figures if f.name.startswith(start))


@pytest.mark.parametrize("level", ["ordinal", "interval"])
def test_alpha_equals_krippendorff(level):
    votes = _votes(missing=0.25)
    ours = _figure(KIND.agreement(votes, _context(level)), "Krippendorff").value
    matrix = votes.pivot(index="annotator", columns="item", values="value").to_numpy(float)
    reference = krippendorff.alpha(
        reliability_data=matrix, level_of_measurement=level, value_domain=[1, 2, 3, 4, 5]
    )
    assert ours == pytest.approx(reference, abs=1e-10)


def test_weighted_kappa_per_pair_equals_scikit_learn():
    from labeler.core.kinds._rating_figures import pairwise_qwk

    votes = _votes(missing=0.2)
    frame = votes.rename(columns={"value": "label"})[["item", "annotator", "label"]]
    pairs = pairwise_qwk(frame.assign(label=frame["label"].astype(float)), [1, 2, 3, 4, 5])
    wide = votes.pivot(index="item", columns="annotator", values="value")
    for a, b in itertools.combinations(sorted(wide.columns), 2):
        both = wide[[a, b]].dropna()
        reference = cohen_kappa_score(both[a], both[b], labels=[1, 2, 3, 4, 5], weights="quadratic")
        row = pairs[(pairs["annotator_a"] == a) & (pairs["annotator_b"] == b)].iloc[0]
        assert row["n_items"] == len(both)
        assert row["kappa"] == pytest.approx(reference, abs=1e-12)


def _textbook_icc1(matrix: np.ndarray) -> float:
    """Shrout & Fleiss ICC(1,1) from a complete items x raters matrix."""
    n, k = matrix.shape
    row_means = matrix.mean(axis=1)
    grand = matrix.mean()
    msb = k * ((row_means - grand) ** 2).sum() / (n - 1)
    msw = ((matrix - row_means[:, None]) ** 2).sum() / (n * (k - 1))
    return (msb - msw) / (msb + (k - 1) * msw)


def test_icc_equals_the_textbook_formula():
    votes = _votes(missing=0.0)
    ours = _figure(KIND.agreement(votes, _context("interval")), "Intraclass").value
    matrix = votes.pivot(index="item", columns="annotator", values="value").to_numpy(float)
    assert ours == pytest.approx(_textbook_icc1(matrix), abs=1e-12)
    assert 0.3 < ours < 1.0


def test_consensus_is_the_median_or_mean_with_its_spread():
    ordinal, interval = _context("ordinal"), _context("interval", max_spread=0.5)
    median = KIND.item_consensus([1, 2, 2, 5], ordinal)
    assert median.value == 2 and not median.unanimous
    assert median.disputed  # spread 1.5 > 1
    mean = KIND.item_consensus([2, 3], interval)
    assert mean.value == 2.5 and not mean.disputed  # spread 0.5
    assert KIND.item_consensus([4, 4, 4], ordinal).unanimous
    votes = _votes()
    table = KIND.consensus(votes, ordinal, "majority")
    for item, group in votes.groupby("item"):
        expected = KIND.item_consensus(list(group["value"]), ordinal)
        assert table.loc[item, "value"] == expected.value
        assert table.loc[item, "disputed"] == expected.disputed


def test_validation_names_the_scale():
    context = _context()
    assert KIND.validate("4", context) == 4 and KIND.validate(3.0, context) == 3
    for bad in (6, "high", True, None):
        with pytest.raises(InvalidValue):
            KIND.validate(bad, context)
    with pytest.raises(InvalidValue, match="not a point of the scale") as error:
        KIND.validate(0, context)
    assert error.value.detail["allowed"] == list(SCALE)
    with pytest.raises(InvalidValue, match="numbers low to high"):
        KIND.validate_settings({}, ["bad", "good"])
    with pytest.raises(InvalidValue, match="increasing"):
        KIND.validate_settings({}, ["3", "1"])
    assert KIND.validate_settings({}, ["-4", "-3", "0", "4"]) == {"max_spread": 1.0}


def test_the_model_beats_median_and_mean_and_ranks_by_committee_spread():
    rng = np.random.default_rng(0)
    words = {1: "awful", 2: "poor", 3: "okay", 4: "good", 5: "superb"}
    ratings = rng.integers(1, 6, 300)
    X = pd.DataFrame({"text": [f"{words[r]} film" for r in ratings]})
    context = _context("ordinal")
    model = KIND.train(
        X[:240], list(ratings[:240]), context, {"inputs": ModelInputs(text=("text",))}
    )
    metrics = KIND.evaluate(model, X[240:], list(ratings[240:]), context)
    base = KIND.baselines(list(ratings[:240]), list(ratings[240:]), context)
    assert metrics["mae"] < 0.5 * min(base["median"]["mae"], base["mean"]["mae"])
    assert metrics["spearman"] > 0.9 and metrics["qwk"] > 0.9
    assert set(KIND.predict(model, X[:5], context)) <= {1, 2, 3, 4, 5}
    scores = KIND.uncertainty(
        model, pd.DataFrame({"text": ["good film", "zzz qqq"]}), "committee_spread", context
    )
    assert ((scores >= 0) & (scores <= 1)).all()


def test_human_level_is_each_raters_error_against_the_others():
    rows = [(1, "a", 3), (1, "b", 3), (1, "c", 5), (2, "a", 1), (2, "b", 2), (2, "c", 2)]
    votes = pd.DataFrame(rows, columns=["item", "annotator", "value"])
    votes["key"] = votes["value"].map(str)
    result = KIND.human_level(votes, _context("interval"))
    per = {row["annotator"]: row["mae"] for row in result["per_annotator"]}
    # c on item 1: others 3, 3 -> error 2; item 2: others 1, 2 -> mean 1.5 -> 0.5
    assert per["c"] == pytest.approx((2 + 0.5) / 2)
    assert result["overall"] == pytest.approx(np.mean([1, 1, 2, 1, 0.5, 0.5]))
