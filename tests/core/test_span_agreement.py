"""Span agreement and consensus against independent implementations.

Strict span F1 is checked against ``seqeval`` (IOB2, micro), token alpha against the
``krippendorff`` package; the votes come from simulated annotators over real messages
of ``tests/data/sms-spam.csv`` whose entities are found exactly by pattern.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from seqeval.metrics import f1_score
from seqeval.metrics.sequence_labeling import get_entities

from labeler.core import span_agreement, span_consensus, span_frames
from labeler.core.kinds import KindContext, kind_for
from labeler.core.span_text import as_tuples, bio_tags, spans_from_tags, tokenize
from labeler.simulate.span_annotators import PATTERNS, SpanAnnotator, find_entities

DATA = Path(__file__).resolve().parents[1] / "data" / "sms-spam.csv"
LABELS = tuple(PATTERNS)


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, list]]:
    texts = pd.read_csv(DATA)["text"].astype(str)
    found = [(t, find_entities(t)) for t in texts[:1500]]
    return [pair for pair in found if pair[1]][:120]


def _votes(corpus, annotators, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [
        (i, a.name, text, a.annotate(text, truth, LABELS, rng))
        for i, (text, truth) in enumerate(corpus)
        for a in annotators
    ]
    return pd.DataFrame(rows, columns=["item", "annotator", "text", "value"])


ANNOTATORS = [
    SpanAnnotator("a", miss=0.1, shift=0.1, mislabel=0.05),
    SpanAnnotator("b", miss=0.2, shift=0.2, mislabel=0.1),
    SpanAnnotator("c", miss=0.3, shift=0.3, mislabel=0.2),
]


def test_strict_pairwise_f1_matches_seqeval_over_the_same_pairs(corpus):
    votes = _votes(corpus, ANNOTATORS)
    ours = span_agreement.pairwise_f1(votes, strict=True)
    reference, predicted = [], []
    for _, group in votes.groupby("item"):
        tokens = tokenize(group["text"].iloc[0])
        for first, second in combinations(list(group.itertuples()), 2):
            reference.append(bio_tags(first.value, tokens))
            predicted.append(bio_tags(second.value, tokens))
    assert 0.2 < ours["overall"] < 0.95
    assert ours["overall"] == pytest.approx(f1_score(reference, predicted, average="micro"))
    per_label = f1_score(reference, predicted, average=None)
    names = sorted({name for seq in reference + predicted for name, _, _ in get_entities(seq)})
    for name, value in zip(names, per_label, strict=True):
        assert ours[name] == pytest.approx(value)


def test_lenient_f1_counts_overlaps_and_is_at_least_strict(corpus):
    votes = _votes(corpus, ANNOTATORS)
    assert (
        span_agreement.pairwise_f1(votes, strict=False)["overall"]
        >= (span_agreement.pairwise_f1(votes, strict=True)["overall"])
    )
    pair = pd.DataFrame(
        {
            "item": [1, 1],
            "annotator": ["a", "b"],
            "value": [
                [{"start": 0, "end": 7, "label": "PER"}, {"start": 20, "end": 24, "label": "ORG"}],
                [{"start": 4, "end": 7, "label": "PER"}, {"start": 20, "end": 24, "label": "PER"}],
            ],
        }
    )
    # strict: nothing matches; lenient: PER 0..7 overlaps PER 4..7 (1 of 2 each side)
    assert span_agreement.pairwise_f1(pair, strict=True)["overall"] == 0.0
    assert span_agreement.pairwise_f1(pair, strict=False)["overall"] == pytest.approx(0.5)


def test_token_alpha_matches_the_krippendorff_package(corpus):
    votes = _votes(corpus, ANNOTATORS)
    table = span_frames.token_table(votes)
    matrix = np.full((len(table.annotators), int(table.units.max()) + 1), np.nan)
    matrix[table.coders, table.units] = table.tags
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    assert span_agreement.token_alpha(votes) == pytest.approx(expected)
    perfect = _votes(corpus, [SpanAnnotator("x"), SpanAnnotator("y")])
    assert span_agreement.token_alpha(perfect) == pytest.approx(1.0)


def test_span_voting_takes_the_share_and_disputes_what_lacks_it():
    per = {"start": 0, "end": 7, "label": "PER"}
    near = {"start": 0, "end": 3, "label": "PER"}
    spans, confidence, disputed = span_consensus.vote([[per], [per], [near]], share=0.5)
    assert spans == [per] and disputed and confidence == pytest.approx(2 / 3)
    assert span_consensus.vote([[per], [per]], share=0.5) == ([per], 1.0, False)
    assert span_consensus.vote([[], []], share=0.5) == ([], 1.0, False)
    groups = span_consensus.near_miss_groups([[per], [per], [near]])
    assert len(groups) == 1 and {(s["end"], s["count"]) for s in groups[0]["spans"]} == {
        (7, 2),
        (3, 1),
    }


def _span_f1(truth, found) -> float:
    counts = span_agreement.Counts()
    for reference, guess in zip(truth, found, strict=True):
        counts.add(as_tuples(reference), as_tuples(guess), strict=True)
    return counts.f1() or 0.0


def test_token_dawid_skene_weighs_the_careful_annotator_above_two_careless_ones(corpus):
    annotators = [
        SpanAnnotator("careful", miss=0.02, shift=0.02),
        SpanAnnotator("careless1", miss=0.5, shift=0.4, mislabel=0.3),
        SpanAnnotator("careless2", miss=0.5, shift=0.4, mislabel=0.3),
    ]
    votes = _votes(corpus, annotators, seed=3)
    truth = [spans for _, spans in corpus]
    kind = kind_for("spans")
    context = KindContext(labels=LABELS, settings=kind.validate_settings({}, LABELS))
    majority = kind.consensus(votes, context, "majority")
    ds = kind.consensus(votes, context, "dawid_skene")
    f1_majority = _span_f1(truth, majority["value"].tolist())
    f1_ds = _span_f1(truth, ds["value"].tolist())
    assert f1_ds > f1_majority + 0.1
    assert ds["confidence"].between(0, 1).all() and ds["key"].notna().all()


def test_human_level_ranks_annotators_by_their_error_rates(corpus):
    votes = _votes(corpus, ANNOTATORS)
    kind = kind_for("spans")
    result = kind.human_level(votes, KindContext(labels=LABELS))
    scores = {row["annotator"]: row["span_f1"] for row in result["per_annotator"]}
    assert scores["a"] > scores["b"] > scores["c"]
    assert 0 < result["overall"] < 1 and result["n_annotations_scored"] == 3 * len(corpus)


def test_agreement_figures_say_how_to_read_them(corpus):
    kind = kind_for("spans")
    figures = kind.agreement(_votes(corpus, ANNOTATORS), KindContext(labels=LABELS))
    assert [f.name for f in figures][0] == "Pairwise span F1 (strict)"
    assert all(f.how_to_read and f.value is not None and -1 <= f.value <= 1 for f in figures)


def test_the_array_token_table_agrees_with_the_one_text_functions(corpus):
    votes = _votes(corpus, ANNOTATORS)
    table = span_frames.token_table(votes)
    at = 0
    for row in votes.itertuples():
        tokens = tokenize(row.text)
        expected = bio_tags(row.value, tokens)
        got = [table.tag_names[c] for c in table.tags[at : at + len(tokens)]]
        assert got == expected
        at += len(tokens)
    # and back: the tags of the first annotator's votes read as their spans again
    first = votes[votes["annotator"] == "a"]
    mine = span_frames.token_table(first)
    found = span_frames.units_to_spans(mine, mine.tags)
    assert [found[item] for item in first["item"]] == first["value"].tolist()
    dangling = mine.tags.copy()
    dangling[dangling % 2 == 1] += 1  # every B- becomes I-: both repair alike
    repaired = span_frames.units_to_spans(mine, dangling)
    for item, base, n in zip(mine.items, mine.base, mine.n_tokens, strict=True):
        tags = [mine.tag_names[c] for c in dangling[base : base + n]]
        window = slice(base, base + n)
        tokens = list(zip(mine.token_start[window], mine.token_end[window], strict=True))
        assert repaired[item] == spans_from_tags(tags, tokens)


def test_voting_over_the_whole_frame_matches_voting_item_by_item(corpus):
    votes = _votes(corpus, ANNOTATORS)
    table = span_consensus.vote_many(votes, share=0.5)
    for item, group in votes.groupby("item"):
        spans, confidence, disputed = span_consensus.vote(group["value"].tolist(), 0.5)
        row = table.loc[item]
        assert (row["value"], row["confidence"], row["disputed"]) == (spans, confidence, disputed)
    assert table["disputed"].any() and not table["disputed"].all()
