"""Sampling: each strategy's order on a fixed model, committee, batches, cold start."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline

from labeler.core.model_inputs import ModelInputs
from labeler.core.sampling import (
    STRATEGIES,
    is_cold_start,
    mix_random_share,
    score_pool,
    select_batch,
)
from labeler.core.training import TrainedModel, train

PACKAGE = Path(__file__).resolve().parents[2] / "labeler" / "core"
DATA = Path(__file__).resolve().parents[1] / "data"


class FixedProbabilities(ClassifierMixin, BaseEstimator):
    """A 'model' whose predict_proba is whatever the pool's p_* columns say."""

    def __init__(self, classes: tuple[str, ...] = ("a", "b", "c")) -> None:
        self.classes = classes

    def fit(self, X: Any, y: Any = None) -> FixedProbabilities:
        self.classes_ = np.array(self.classes)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return X[[f"p_{label}" for label in self.classes]].to_numpy(dtype=float)


def fixed_model(rows: list[list[float]]) -> tuple[Pipeline, pd.DataFrame]:
    labels = ("a", "b", "c")[: len(rows[0])]
    pool = pd.DataFrame(rows, columns=[f"p_{label}" for label in labels])
    return Pipeline([("clf", FixedProbabilities(labels).fit(pool))]), pool


def order(scores: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(-scores, kind="stable")]


@pytest.fixture(scope="module")
def sms() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "sms-spam.csv").sample(700, random_state=1)
    frame["label"] = np.where(frame["spam"] == 1, "spam", "ham")
    return frame.reset_index(drop=True)


@pytest.fixture(scope="module")
def sms_model(sms: pd.DataFrame) -> TrainedModel:
    return train(sms[:200], sms["label"][:200], ModelInputs(text=("text",)))


def test_least_confident_puts_the_coin_flip_first() -> None:
    model, pool = fixed_model([[0.9, 0.1], [0.5, 0.5], [0.7, 0.3], [0.0, 1.0]])
    scores = score_pool(model, pool, "least_confident")
    assert order(scores) == [1, 2, 0, 3]
    np.testing.assert_allclose(scores, [0.2, 1.0, 0.6, 0.0])


THREE_WAY = [[0.45, 0.45, 0.10], [0.34, 0.33, 0.33], [0.60, 0.30, 0.10], [0.98, 0.01, 0.01]]


def test_margin_puts_the_smallest_margin_first() -> None:
    model, pool = fixed_model(THREE_WAY)
    scores = score_pool(model, pool, "margin")
    assert order(scores) == [0, 1, 2, 3]
    np.testing.assert_allclose(scores, [1.0, 0.99, 0.7, 0.03])


def test_entropy_and_least_confident_put_the_flattest_first() -> None:
    model, pool = fixed_model(THREE_WAY)
    entropy = score_pool(model, pool, "entropy")
    assert order(entropy) == [1, 0, 2, 3]
    assert 0.99 < entropy[1] <= 1.0 and entropy[3] < 0.15
    assert order(score_pool(model, pool, "least_confident"))[0] == 1


def test_random_is_uniform_and_seeded(sms_model: TrainedModel, sms: pd.DataFrame) -> None:
    scores = score_pool(sms_model, sms, "random", random_state=3)
    assert scores.shape == (len(sms),) and scores.min() >= 0 and scores.max() < 1
    np.testing.assert_array_equal(scores, score_pool(sms_model, sms, "random", random_state=3))
    assert not np.array_equal(scores, score_pool(sms_model, sms, "random", random_state=4))


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_scores_a_real_pool_in_0_1(
    sms_model: TrainedModel, sms: pd.DataFrame, strategy: str
) -> None:
    scores = score_pool(
        sms_model, sms[200:], strategy, X_train=sms[:200], y_train=sms["label"][:200]
    )
    assert scores.shape == (500,) and scores.dtype == float
    assert scores.min() >= 0.0 and scores.max() <= 1.0 and scores.std() > 0
    assert score_pool(sms_model, sms[:0], strategy).shape == (0,)


def test_binary_strategies_agree_on_the_order(sms_model: TrainedModel, sms: pd.DataFrame) -> None:
    """With two labels all three measures are functions of max p: same order."""
    pool = sms[200:]
    least_confident = score_pool(sms_model, pool, "least_confident")
    np.testing.assert_allclose(score_pool(sms_model, pool, "margin"), least_confident)
    entropy = score_pool(sms_model, pool, "entropy")
    assert spearmanr(entropy, least_confident).statistic > 0.999
    assert np.all(entropy >= least_confident - 1e-12), "H(p)/log 2 >= 2(1 - max p)"


def test_committee_is_seeded_and_needs_training_data(
    sms_model: TrainedModel, sms: pd.DataFrame
) -> None:
    args = {"X_train": sms[:200], "y_train": sms["label"][:200], "committee_size": 4}
    first = score_pool(sms_model, sms[200:], "committee", random_state=7, **args)
    np.testing.assert_array_equal(
        first, score_pool(sms_model, sms[200:], "committee", random_state=7, **args)
    )
    # With 4 members and 2 labels, vote entropy takes only 3 values: 0, H(1/4), 1.
    assert set(np.round(first, 6)) <= {0.0, round(0.8112781, 6), 1.0}
    assert first.max() > 0, "a bagged committee disagrees somewhere"
    with pytest.raises(ValueError, match="X_train and y_train"):
        score_pool(sms_model, sms, "committee")


def test_unknown_strategy_is_refused(sms_model: TrainedModel, sms: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="strategy"):
        score_pool(sms_model, sms, "most_fun")


def test_batch_is_uncertain_and_diverse(sms_model: TrainedModel, sms: pd.DataFrame) -> None:
    uncertainty = score_pool(sms_model, sms[200:300], "least_confident")
    most_uncertain = sms[200:300].iloc[[int(np.argmax(uncertainty))]]
    pool = pd.concat([sms[200:300], most_uncertain, most_uncertain], ignore_index=True)
    picked = select_batch(sms_model, pool, 5)
    assert len(set(picked)) == 5 and picked[0] == int(np.argmax(uncertainty))
    assert not {100, 101} & set(picked[1:]), "a copy of a picked item came back"
    with_labeled = select_batch(sms_model, pool, 5, X_labeled=sms[:200])
    assert len(set(with_labeled)) == 5 and with_labeled.max() < len(pool)
    assert sorted(select_batch(sms_model, pool[:3], 10)) == [0, 1, 2]
    assert len(select_batch(sms_model, pool, 0)) == 0


def test_batch_candidates_are_the_most_uncertain_rows(
    sms_model: TrainedModel, sms: pd.DataFrame
) -> None:
    pool = sms[200:]
    top_five = set(order(score_pool(sms_model, pool, "least_confident"))[:5])
    picked = select_batch(sms_model, pool, 3, X_labeled=sms[:200], candidates=5)
    assert len(set(picked)) == 3 and set(picked) <= top_five
    whole = select_batch(sms_model, pool, 3, X_labeled=sms[:200], candidates=None)
    assert len(set(whole)) == 3


def test_cold_start_until_every_label_has_enough() -> None:
    labels = ["ham", "spam"]
    assert is_cold_start({}, labels)
    assert is_cold_start({"ham": 50, "spam": 4}, labels)
    assert not is_cold_start({"ham": 5, "spam": 5}, labels)
    assert is_cold_start({"ham": 5, "spam": 5}, [*labels, "unsure"], min_per_label=1)


def test_random_share_is_spread_through_the_top_of_the_queue() -> None:
    scores = np.linspace(1.0, 0.0, 1000)
    mixed = mix_random_share(scores, share=0.1, random_state=0)
    random_rows = np.flatnonzero(mixed != scores)
    assert len(random_rows) == 100
    top = order(mixed)[:100]
    assert len(set(top) & set(random_rows)) == 10, "one in ten of the top is a random pick"
    assert order(mixed)[0] in random_rows
    np.testing.assert_array_equal(mix_random_share(scores, 0.0), scores)
    assert not np.array_equal(order(mix_random_share(scores, 1.0)), order(scores))
    with pytest.raises(ValueError, match="share"):
        mix_random_share(scores, 1.5)


def test_only_sampling_imports_modal() -> None:
    importers = [
        path.name
        for path in PACKAGE.rglob("*.py")
        if "import modAL" in path.read_text() or "from modAL" in path.read_text()
    ]
    assert importers == ["sampling.py"]


def test_training_evaluation_sampling_stay_pure() -> None:
    """DESIGN.md: the core never imports flask, sqlalchemy or labeler.models."""
    for name in ("training.py", "evaluation.py", "sampling.py"):
        tree = ast.parse((PACKAGE / name).read_text())
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        imported |= {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        forbidden = {
            m for m in imported if m.split(".")[0] in ("flask", "sqlalchemy", "flask_sqlalchemy")
        }
        forbidden |= imported & {"labeler.models", "labeler.extensions"}
        assert not forbidden, f"{name} imports {forbidden}"
