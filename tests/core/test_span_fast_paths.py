"""The array code paths of span agreement and consensus against simple per-item loops.

The frames are random: hostile texts (emoji with joiners and skin tones, combining
marks, CRLF, right-to-left marks, markup), overlapping spans, empty and missing
answers, items with one to five annotators, rows in shuffled order. The reference for
each figure is the plain implementation: a loop over items and pairs with
:class:`Counts`, :func:`vote` item by item, the ``krippendorff`` package, and the
pattern keys summed coder by coder.
"""

from __future__ import annotations

from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd
import pytest

from labeler.core import span_agreement, span_consensus, span_formats, span_frames
from labeler.core.kinds import KindContext, kind_for
from labeler.core.kinds.base import bounded_key, canonical_json
from labeler.core.span_agreement import Counts
from labeler.core.span_text import as_tuples, bio_tags, tokenize

PIECES = [
    "Paris", "nai\u0308ve", "\U0001f469\u200d\U0001f469\u200d\U0001f467", "\U0001f44d\U0001f3fd",
    "\u202e", "\u200f", "\u05e9\u05dc\u05d5\u05dd", "\r\n", "\u0645\u0631\u062d\u0628\u0627",
    "<script>", "x\u0301", "07700 900123", "&amp;", "\"quoted\"", "\u00e9t\u00e9", "--", "\t",
]  # fmt: skip
LABELS = ("PER", "LOC", 'Q"\u540d', "B-X")


def _text(rng: np.random.Generator) -> str:
    n = int(rng.integers(0, 14))
    return " ".join(PIECES[i] for i in rng.integers(len(PIECES), size=n))


def _value(rng: np.random.Generator, text: str, overlap: bool) -> list | None:
    if rng.random() < 0.05:
        return None  # a vote without a stored value
    tokens = tokenize(text)
    if not tokens or rng.random() < 0.25:
        return []
    spans = set()
    for _ in range(int(rng.integers(0, 5))):
        first = int(rng.integers(len(tokens)))
        last = min(len(tokens), first + int(rng.integers(1, 4)))
        spans.add((tokens[first][0], tokens[last - 1][1], LABELS[rng.integers(len(LABELS))]))
    chosen = sorted(spans)
    if not overlap:
        kept: list = []
        for span in chosen:
            if not kept or kept[-1][1] <= span[0]:
                kept.append(span)
        chosen = kept
    return [{"start": s, "end": e, "label": lab} for s, e, lab in chosen]


def random_votes(seed: int, n_items: int = 300, overlap: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for item in range(n_items):
        text = _text(rng)
        # a few items share one text's spans among all (unanimous), the rest are random
        shared = _value(rng, text, overlap) if rng.random() < 0.2 else None
        for annotator in rng.choice(6, size=int(rng.integers(1, 6)), replace=False):
            value = shared if shared is not None else _value(rng, text, overlap)
            rows.append((f"item {item}", f"annotator {annotator}", text, value))
    votes = pd.DataFrame(rows, columns=["item", "annotator", "text", "value"])
    return votes.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def reference_pairwise_f1(votes: pd.DataFrame, strict: bool) -> dict:
    counts = Counts()
    for _, group in votes.groupby("item", sort=False):
        values = [as_tuples(v or []) for v in group["value"]]  # frame order within the item
        for reference, predicted in combinations(values, 2):
            counts.add(reference, predicted, strict)
    if not counts.table:
        return {"overall": None}
    return {"overall": counts.f1(""), **{label: counts.f1(label) for label in counts.labels()}}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("strict", [True, False])
def test_pairwise_f1_equals_the_loop_over_pairs(seed, strict):
    votes = random_votes(seed)
    ours = span_agreement.pairwise_f1(votes, strict=strict)
    expected = reference_pairwise_f1(votes, strict)
    assert set(ours) == set(expected)
    assert ours == pytest.approx(expected, rel=1e-12, abs=0)
    # and with the exploded spans handed in
    spans = span_frames.explode(votes)
    assert span_agreement.pairwise_f1(votes, strict=strict, spans=spans) == ours


def test_pairwise_f1_without_any_span_is_undefined():
    votes = pd.DataFrame(
        {"item": [1, 1], "annotator": ["a", "b"], "text": ["x y", "x y"], "value": [[], None]}
    )
    assert span_agreement.pairwise_f1(votes, strict=True) == {"overall": None}
    assert span_agreement.pairwise_f1(votes, strict=False) == {"overall": None}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_token_alpha_equals_the_package_and_the_sorting_path(seed):
    votes = random_votes(seed, overlap=False)
    annotators = sorted(votes["annotator"].unique())
    columns = []
    for _, group in votes.groupby("item", sort=False):
        tokens = tokenize(group["text"].iloc[0])
        block = np.full((len(annotators), len(tokens)), np.nan)
        for annotator, value in zip(group["annotator"], group["value"], strict=True):
            tags = bio_tags(value or [], tokens)
            codes = [hash(tag) % 1_000_003 for tag in tags]
            block[annotators.index(annotator)] = codes
        columns.append(block)
    matrix = np.concatenate(columns, axis=1)
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    ours = span_agreement.token_alpha(votes)
    assert ours == pytest.approx(expected, rel=1e-9)
    table = span_frames.token_table(votes)
    assert span_agreement.nominal_alpha(table.units, table.tags) == ours  # sorting path


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("overlap", [True, False])
@pytest.mark.parametrize("share", [0.5, 0.67, 1.0])
def test_voting_over_the_frame_equals_voting_item_by_item(seed, overlap, share):
    votes = random_votes(seed, overlap=overlap)
    table = span_consensus.vote_many(votes, share, overlap)
    assert list(table.index) == sorted(votes["item"].unique())
    for item, group in votes.groupby("item"):
        values = [v or [] for v in group["value"]]
        spans, confidence, disputed = span_consensus.vote(values, share, overlap)
        row = table.loc[item]
        assert (row["value"], row["confidence"], row["disputed"]) == (spans, confidence, disputed)
        assert row["unanimous"] == (len({as_tuples(v) for v in values}) == 1)


def _loop_pattern_keys(table: span_frames.TokenTable, n_units: int, n_tags: int) -> np.ndarray:
    codes = np.random.default_rng(0).integers(
        1, 2**63, size=(len(table.annotators), n_tags), dtype=np.uint64
    )
    keys = np.zeros(n_units, dtype=np.uint64)
    for coder in range(len(table.annotators)):
        mine = table.coders == coder
        keys[table.units[mine]] += codes[coder, table.tags[mine]]
    return keys


@pytest.mark.parametrize("seed", [0, 1])
def test_dawid_skene_pattern_keys_equal_the_sum_coder_by_coder(seed):
    votes = random_votes(seed, overlap=False)
    table = span_frames.token_table(votes)
    n_units, n_tags = int(table.units.max()) + 1, len(table.tag_names)
    expected = _loop_pattern_keys(table, n_units, n_tags)
    assert (span_consensus._pattern_keys(table, n_units, n_tags) == expected).all()
    # and with many votes on each item
    many = pd.concat(
        [votes] + [votes.assign(annotator=votes["annotator"] + f" copy {i}") for i in range(2)]
    )
    wide = span_frames.token_table(many)
    assert int(wide.ranks.max()) >= 8
    expected = _loop_pattern_keys(wide, int(wide.units.max()) + 1, len(wide.tag_names))
    got = span_consensus._pattern_keys(wide, int(wide.units.max()) + 1, len(wide.tag_names))
    assert (got == expected).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_kind_consensus_keys_are_the_bounded_canonical_json(seed):
    votes = random_votes(seed, overlap=False)
    kind = kind_for("spans")
    context = KindContext(labels=LABELS, settings=kind.validate_settings({}, LABELS))
    for method in kind.consensus_methods():
        table = kind.consensus(votes, context, method)
        assert table["key"].tolist() == [bounded_key(canonical_json(v)) for v in table["value"]]


def test_spans_json_writes_what_json_dumps_writes():
    values = [
        [],
        [{"start": 0, "end": 3, "label": 'a"\\\u202e\U0001f600\n'}],
        [{"start": 1, "end": 2, "label": "X"}, {"start": 4, "end": 9, "label": "Y"}],
        [{"start": True, "end": 2, "label": "X"}],  # not an int: json.dumps decides
        [{"start": 1, "end": 2, "label": "X", "text": "b"}],
        [{"start": np.int64(1), "end": 2, "label": "X"}],
        "a key",
        None,
    ]
    for value in values:
        try:
            expected = canonical_json(value)
        except TypeError:
            with pytest.raises(TypeError):
                span_formats.spans_json(value)
            continue
        assert span_formats.spans_json(value) == expected
    plain = values[:3] * 3
    assert span_formats.spans_json_many(plain) == [canonical_json(v) for v in plain]
    for odd in values[3:5]:  # one value that is not plain spans: each goes to json.dumps
        mixed = [*plain, odd]
        assert span_formats.spans_json_many(mixed) == [canonical_json(v) for v in mixed]


@pytest.mark.parametrize("tokenizer", ["words", "characters"])
def test_the_array_tokenizer_equals_the_regex_on_hostile_texts(tokenizer):
    from labeler.core.span_text import tokenize_many

    rng = np.random.default_rng(7)
    texts = [_text(rng) for _ in range(400)] + [
        "",
        " ",
        "\u0301a",
        "a\u0301\u0301",
        "!\u0301",
        " \u0301x",
        "a \u0301\u0301 !\u0301b",
    ]
    owner, starts, ends = tokenize_many(texts, tokenizer)
    got = [[] for _ in texts]
    for i, s, e in zip(owner.tolist(), starts.tolist(), ends.tolist(), strict=True):
        got[i].append((s, e))
    assert got == [tokenize(text, tokenizer) for text in texts]


def test_empty_frames_and_texts_without_tokens_give_empty_figures():
    kind = kind_for("spans")
    context = KindContext(labels=LABELS, settings=kind.validate_settings({}, LABELS))
    empty = pd.DataFrame(
        {c: pd.Series([], dtype=object) for c in ("item", "annotator", "text", "value")}
    )
    blank = pd.DataFrame(
        {"item": [1, 1], "annotator": ["a", "b"], "text": [" \r\n", " \r\n"], "value": [[], None]}
    )
    for votes, n_items in ((empty, 0), (blank, 1)):
        assert [f.value for f in kind.agreement(votes, context)] == [None, None, None]
        for method in kind.consensus_methods():
            table = kind.consensus(votes, context, method)
            assert len(table) == n_items
            assert table["value"].tolist() == [[]] * n_items
