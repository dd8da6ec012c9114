"""The span queue's scores on hand-made token probabilities (classes B-X, I-X, O)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from labeler.core import span_queue
from labeler.core.kinds import KindContext, kind_for
from labeler.core.kinds.base import InvalidValue

CLASSES = ["B-X", "I-X", "O"]
SURE_O = [0.01, 0.01, 0.98]
SURE_B = [0.97, 0.02, 0.01]
UNSURE = [0.45, 0.05, 0.5]


def _scores(strategy, *texts):
    return span_queue.scores(
        [np.array(t, dtype=float).reshape(-1, 3) for t in texts], CLASSES, strategy
    )


def test_entity_tokens_counts_the_expected_entity_tokens_of_a_text():
    nothing, one_unsure, two_unsure, sure_entity = _scores(
        "entity_tokens",
        [SURE_O] * 6,
        [SURE_O] * 5 + [UNSURE],
        [SURE_O] * 4 + [UNSURE] * 2,
        [SURE_O] * 5 + [SURE_B],
    )
    # expected entity tokens: 6 x 0.02, 5 x 0.02 + 0.5, 4 x 0.02 + 2 x 0.5, 5 x 0.02 + 0.99
    assert nothing == pytest.approx(0.12 / 1.12)
    assert one_unsure == pytest.approx(0.6 / 1.6)
    assert two_unsure == pytest.approx(1.08 / 2.08)
    assert nothing < one_unsure < two_unsure
    # a text the model is sure holds an entity still ranks above one it is sure holds none
    assert sure_entity > nothing


@pytest.mark.parametrize("strategy", list(span_queue.SCORERS))
def test_every_score_is_0_to_1_unsure_above_sure_and_0_without_tokens(strategy):
    sure, unsure, empty, many = _scores(
        strategy, [SURE_O] * 3, [SURE_O, UNSURE, UNSURE], [], [UNSURE] * 500
    )
    assert unsure > sure
    assert empty == 0.0
    assert all(0.0 <= s <= 1.0 for s in (sure, unsure, many))


def test_total_entropy_adds_up_where_the_mean_does_not():
    one, three = _scores("total_entropy", [UNSURE], [UNSURE] * 3)
    assert three > one
    mean_one, mean_three = _scores("token_entropy", [UNSURE], [UNSURE] * 3)
    assert mean_one == pytest.approx(mean_three)


def test_a_model_without_an_outside_tag_counts_every_token():
    (score,) = span_queue.scores([np.full((3, 2), 0.5)], ["B-X", "I-X"], "entity_tokens")
    assert score == pytest.approx(3 / 4)


def test_unknown_strategies_are_refused():
    with pytest.raises(ValueError, match="unknown span strategy"):
        _scores("nope", [SURE_O])
    kind = kind_for("spans")
    context = KindContext(labels=("X",), settings=kind.validate_settings({}, ("X",)))
    with pytest.raises(InvalidValue):
        kind.uncertainty(None, pd.DataFrame({"text": ["a"]}), "nope", context)


def test_the_kind_ranks_by_expected_entity_tokens_first():
    assert kind_for("spans").strategies()[0] == "entity_tokens"
    assert kind_for("spans").strategies()[-1] == "random"
