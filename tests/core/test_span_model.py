"""The span tagger, its metrics against seqeval, its baselines and the queue's uncertainty."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from seqeval.metrics import classification_report

from labeler.core import span_model, span_queue
from labeler.core.kinds import KindContext, kind_for
from labeler.core.span_text import bio_tags, tokenize
from labeler.simulate.span_annotators import PATTERNS, find_entities

DATA = Path(__file__).resolve().parents[1] / "data" / "sms-spam.csv"
LABELS = tuple(PATTERNS)


@pytest.fixture(scope="module")
def split():
    texts = pd.read_csv(DATA)["text"].astype(str).tolist()[:2400]
    spans = [find_entities(t) for t in texts]
    return texts[:1600], spans[:1600], texts[1600:], spans[1600:]


@pytest.fixture(scope="module")
def fitted(split):
    kind = kind_for("spans")
    context = KindContext(labels=LABELS, settings=kind.validate_settings({}, LABELS))
    train_texts, train_spans, _, _ = split
    model = kind.train(pd.DataFrame({"text": train_texts}), train_spans, context, {})
    return kind, context, model


def test_the_tagger_beats_both_baselines_on_held_out_messages(fitted, split):
    kind, context, model = fitted
    _, train_spans, test_texts, test_spans = split
    metrics = kind.evaluate(model, pd.DataFrame({"text": test_texts}), test_spans, context)
    baselines = kind.baselines(train_spans, test_spans, context)
    assert baselines["no_spans"]["micro_f1"] == 0.0 and baselines["no_spans"]["recall"] == 0.0
    assert metrics["micro_f1"] > 0.7
    assert metrics["micro_f1"] > metrics["dictionary_baseline"]["micro_f1"]
    assert set(metrics["per_label"]) <= set(LABELS) and metrics["n_items"] == len(test_texts)


def test_strict_scores_match_seqeval_per_label(fitted, split):
    kind, context, model = fitted
    _, _, test_texts, test_spans = split
    predicted = kind.predict(model, pd.DataFrame({"text": test_texts}), context)
    ours = span_model.span_scores(test_spans, predicted)
    truth_tags = [bio_tags(s, tokenize(t)) for t, s in zip(test_texts, test_spans, strict=True)]
    guess_tags = [bio_tags(s, tokenize(t)) for t, s in zip(test_texts, predicted, strict=True)]
    report = classification_report(truth_tags, guess_tags, output_dict=True, zero_division=0)
    assert ours["micro_f1"] == pytest.approx(report["micro avg"]["f1-score"])
    assert ours["precision"] == pytest.approx(report["micro avg"]["precision"])
    for label, scores in ours["per_label"].items():
        assert scores["recall"] == pytest.approx(report[label]["recall"])


def test_the_dictionary_baseline_marks_strings_seen_in_training():
    dictionary = span_model.entity_dictionary(
        ["call 0800123456 now", "see www.a.com"],
        [
            [{"start": 5, "end": 15, "label": "PHONE"}],
            [{"start": 4, "end": 13, "label": "URL"}],
        ],
    )
    marked = span_model.mark_dictionary(dictionary, ["www.a.com or 0800123456x or 0800123456"])
    assert marked == [
        [{"start": 0, "end": 9, "label": "URL"}, {"start": 28, "end": 38, "label": "PHONE"}]
    ]


@pytest.mark.parametrize("strategy", list(span_queue.SCORERS))
def test_uncertainty_is_0_to_1_and_higher_where_the_model_hesitates(fitted, strategy):
    kind, context, model = fitted
    pool = pd.DataFrame({"text": ["ok see you at home", "Call 07700900123 or £5.00", ""]})
    scores = kind.uncertainty(model, pool, strategy, context)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))
    assert scores[1] > scores[0] and scores[2] == 0.0
    random = kind.uncertainty(model, pool, "random", context)
    assert random.shape == (3,)


def test_no_entity_at_all_cannot_train():
    kind = kind_for("spans")
    with pytest.raises(ValueError, match="nothing to learn"):
        kind.train(pd.DataFrame({"text": ["a b", "c"]}), [[], []], KindContext(labels=LABELS), {})


def test_the_crf_round_trips_through_its_artifact_and_its_marginals_are_distributions(
    fitted, tmp_path
):
    from labeler.core.artifacts import load_kind_model, save_kind_model

    kind, context, model = fitted
    path = tmp_path / "spans.skops"
    save_kind_model(model, "spans", path)
    loaded = load_kind_model(path, "spans")
    texts = ["Call 07700900123 or £5.00 by 10:30", "ok see you at home", ""]
    assert loaded.predict(texts) == model.predict(texts)
    assert loaded.classes_ == model.classes_ and loaded.dictionary == model.dictionary
    (tokens, proba), _, (no_tokens, empty) = loaded.token_proba(texts)
    assert proba.shape == (len(tokens), len(model.classes_)) and empty.shape[0] == 0
    assert np.allclose(proba.sum(axis=1), 1.0) and np.all(proba >= 0)
    assert loaded.predict(texts[:1])[0], "the phone number, price and time are found"


def test_threads_sharing_one_crf_each_get_their_own_texts_marginals(fitted):
    """A crfsuite tagger keeps the sequence last ``set``; the request threads of one web
    process share the loaded model, so each must score its own text, not another's."""
    from concurrent.futures import ThreadPoolExecutor

    _, _, model = fitted
    texts = [
        "Call 07700900123 now",
        "ok see you at home later tonight then",
        "WIN £100 cash, text WIN to 80086 by 10:30 today or call 09061701461",
    ]
    expected = [proba for _, proba in model.token_proba(texts)]

    def score(i: int) -> bool:
        ((_, proba),) = model.token_proba([texts[i % 3]])
        return proba.shape == expected[i % 3].shape and np.allclose(proba, expected[i % 3])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, as a busy server does
    try:
        with ThreadPoolExecutor(8) as pool:
            assert all(pool.map(score, range(600)))
    finally:
        sys.setswitchinterval(interval)
